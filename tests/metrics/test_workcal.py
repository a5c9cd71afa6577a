"""Business time: workdays, work hours, timezones and DST."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.metrics.workcal import WorkCalendar

H = 3600.0
WEEK = range(5)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def cal(tz: str = "UTC", days=WEEK, start: time = time(9), end: time = time(18)) -> WorkCalendar:
    return WorkCalendar(tz, days, start, end)


def reference(c: WorkCalendar, start: datetime, end: datetime) -> float:
    """Day-by-day loop: the obvious (slow) definition."""
    total = 0.0
    day = start.astimezone(c.tz).date() - timedelta(days=1)
    last = end.astimezone(c.tz).date() + timedelta(days=1)
    while day <= last:
        if day.weekday() in c.workdays:
            a = datetime.combine(day, c.start, tzinfo=c.tz).astimezone(UTC)
            b = datetime.combine(day, c.end, tzinfo=c.tz).astimezone(UTC)
            total += max(0.0, (min(b, end) - max(a, start)).total_seconds())
        day += timedelta(days=1)
    return total


# -- plain days (UTC) ----------------------------------------------------------------------


def test_same_day_inside_hours() -> None:
    assert cal().business_seconds(utc(2024, 3, 4, 10), utc(2024, 3, 4, 11, 30)) == 1.5 * H


def test_span_starting_and_ending_outside_hours() -> None:
    c = cal()
    assert c.business_seconds(utc(2024, 3, 4, 6), utc(2024, 3, 4, 22)) == 9 * H
    assert c.business_seconds(utc(2024, 3, 4, 6), utc(2024, 3, 4, 10)) == 1 * H
    assert c.business_seconds(utc(2024, 3, 4, 17), utc(2024, 3, 4, 23)) == 1 * H
    assert c.business_seconds(utc(2024, 3, 4, 19), utc(2024, 3, 5, 8)) == 0.0


def test_boundaries_are_half_open() -> None:
    c = cal()
    assert c.business_seconds(utc(2024, 3, 4, 8), utc(2024, 3, 4, 9)) == 0.0
    assert c.business_seconds(utc(2024, 3, 4, 18), utc(2024, 3, 4, 19)) == 0.0
    assert c.business_seconds(utc(2024, 3, 4, 17, 59, 59), utc(2024, 3, 4, 18)) == 1.0
    assert c.business_seconds(utc(2024, 3, 4, 9), utc(2024, 3, 4, 9, 0, 1)) == 1.0


def test_empty_or_reversed_span_is_zero() -> None:
    c = cal()
    assert c.business_seconds(utc(2024, 3, 4, 12), utc(2024, 3, 4, 12)) == 0.0
    assert c.business_seconds(utc(2024, 3, 4, 12), utc(2024, 3, 4, 10)) == 0.0


def test_weekends_do_not_count() -> None:
    c = cal()
    assert c.business_seconds(utc(2024, 3, 9), utc(2024, 3, 11)) == 0.0  # Sat-Sun
    assert c.business_seconds(utc(2024, 3, 9, 12), utc(2024, 3, 10, 12)) == 0.0
    # Friday 17:00 -> Monday 10:00: one hour each side of the weekend
    assert c.business_seconds(utc(2024, 3, 8, 17), utc(2024, 3, 11, 10)) == 2 * H
    # starting and ending on weekends
    assert c.business_seconds(utc(2024, 3, 9, 12), utc(2024, 3, 17, 12)) == 5 * 9 * H


def test_whole_weeks_and_a_year() -> None:
    c = cal()
    assert c.business_seconds(utc(2024, 3, 4), utc(2024, 3, 11)) == 45 * H
    assert c.business_seconds(utc(2024, 1, 1), utc(2024, 12, 30)) == 52 * 45 * H
    assert c.business_days(utc(2024, 1, 1), utc(2024, 12, 30)) == 260.0


def test_business_days_and_nominal_day() -> None:
    c = cal()
    assert c.seconds_per_workday == 9 * H
    assert c.business_days(utc(2024, 3, 4, 9), utc(2024, 3, 5, 13, 30)) == 1.5
    assert cal(start=time(8, 30), end=time(17, 15)).seconds_per_workday == 8.75 * H


def test_custom_workdays() -> None:
    c = cal(days=(6, 0, 1, 2, 3))  # Sunday-Thursday
    assert c.business_seconds(utc(2024, 3, 8), utc(2024, 3, 11)) == 9 * H  # Fri, Sat off; Sun on
    assert cal(days=()).business_seconds(utc(2024, 1, 1), utc(2024, 2, 1)) == 0.0


def test_naive_datetimes_are_utc_and_other_offsets_are_converted() -> None:
    c = cal()
    assert c.business_seconds(datetime(2024, 3, 4, 10), datetime(2024, 3, 4, 12)) == 2 * H
    plus2 = timezone(timedelta(hours=2))
    assert c.business_seconds(datetime(2024, 3, 4, 12, tzinfo=plus2), utc(2024, 3, 4, 12)) == 2 * H


def test_work_hours_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="end after"):
        cal(start=time(18), end=time(9))
    with pytest.raises(ValueError, match="weekday"):
        cal(days=(7,))


def test_from_settings() -> None:
    s = Settings(timezone="Europe/Berlin", workdays=("sun", "mon"), work_hours=(time(8), time(12)))
    c = WorkCalendar.from_settings(s)
    assert (c.workdays, c.start, c.end, c.seconds_per_workday) == (frozenset({6, 0}), time(8), time(12), 4 * H)
    # Sunday 2024-03-10 08:00-12:00 Berlin = 07:00-11:00 UTC
    assert c.business_seconds(utc(2024, 3, 10), utc(2024, 3, 11)) == 4 * H
    assert c.business_seconds(utc(2024, 3, 10, 10), utc(2024, 3, 10, 12)) == 1 * H


# -- timezones -----------------------------------------------------------------------------


def test_local_date_differs_from_utc_date() -> None:
    c = cal("America/New_York")
    # Mon 2024-07-08 20:00 EDT -> Tue 10:00 EDT: one business hour (Tue 09-10)
    assert c.business_seconds(utc(2024, 7, 9, 0), utc(2024, 7, 9, 14)) == 1 * H
    # Saturday 01:00 UTC is still Friday 21:00 in New York: nothing after 18:00
    assert c.business_seconds(utc(2024, 7, 13, 1), utc(2024, 7, 13, 2)) == 0.0
    # Friday 21:00 UTC = 17:00 EDT
    assert c.business_seconds(utc(2024, 7, 12, 21), utc(2024, 7, 13, 2)) == 1 * H


def test_berlin_week_across_spring_change_uses_summer_offset() -> None:
    c = cal("Europe/Berlin")
    # Fri 2024-03-29 12:00 CET -> Mon 2024-04-01 12:00 CEST: Fri 6 h + Mon 3 h
    assert c.business_seconds(local("Europe/Berlin", 2024, 3, 29, 12), local("Europe/Berlin", 2024, 4, 1, 12)) == 9 * H
    # 08:00 UTC on Monday is 10:00 CEST: one hour (a fixed +01:00 would give 0)
    assert c.business_seconds(utc(2024, 4, 1, 6), utc(2024, 4, 1, 8)) == 1 * H
    # the Friday before: 08:00 UTC is 09:00 CET, nothing yet
    assert c.business_seconds(utc(2024, 3, 29, 6), utc(2024, 3, 29, 8)) == 0.0


def test_berlin_autumn_change_week() -> None:
    c = cal("Europe/Berlin")
    # Fri 2024-10-25 17:00 CEST (15:00 UTC) -> Mon 2024-10-28 10:00 CET (09:00 UTC)
    assert c.business_seconds(utc(2024, 10, 25, 15), utc(2024, 10, 28, 9)) == 2 * H
    assert c.business_seconds(utc(2024, 10, 21), utc(2024, 11, 4)) == 90 * H


@pytest.mark.parametrize(
    ("tz", "day", "expected_hours"),
    [
        ("Europe/Berlin", date(2024, 3, 31), 2),  # 01:00 CET -> 04:00 CEST
        ("Europe/Berlin", date(2024, 10, 27), 4),  # 01:00 CEST -> 04:00 CET
        ("America/New_York", date(2024, 3, 10), 2),  # 01:00 EST -> 04:00 EDT
        ("America/New_York", date(2024, 11, 3), 4),  # 01:00 EDT (fold=0) -> 04:00 EST
        ("America/New_York", date(2024, 11, 14), 3),  # an ordinary day
    ],
)
def test_dst_change_inside_work_hours_changes_day_length(tz: str, day: date, expected_hours: int) -> None:
    c = cal(tz, days=range(7), start=time(1), end=time(4))
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert c.business_seconds(start, start + timedelta(days=1)) == expected_hours * H
    assert c.business_seconds(start - timedelta(days=3), start + timedelta(days=4)) == (18 + expected_hours) * H


def test_dst_spans_in_new_york_with_normal_hours() -> None:
    c = cal("America/New_York")
    # Fri 2024-03-08 17:00 EST (22:00 UTC) -> Mon 2024-03-11 10:00 EDT (14:00 UTC)
    assert c.business_seconds(utc(2024, 3, 8, 22), utc(2024, 3, 11, 14)) == 2 * H
    # Fri 2024-11-01 17:00 EDT (21:00 UTC) -> Mon 2024-11-04 10:00 EST (15:00 UTC)
    assert c.business_seconds(utc(2024, 11, 1, 21), utc(2024, 11, 4, 15)) == 2 * H
    # Monday after the spring change: 13:00 UTC = 09:00 EDT
    assert c.business_seconds(utc(2024, 3, 11, 12), utc(2024, 3, 11, 13)) == 0.0


def test_nonexistent_and_ambiguous_work_times_use_fold_0() -> None:
    # 02:30 does not exist on 2024-03-31 in Berlin: fold=0 reads it at +01:00 = 01:30 UTC
    spring = cal("Europe/Berlin", days=range(7), start=time(2, 30), end=time(5))
    assert spring.business_seconds(utc(2024, 3, 30, 12), utc(2024, 3, 31, 12)) == 1.5 * H
    # 02:30 happens twice on 2024-10-27: fold=0 is the first (CEST) = 00:30 UTC
    autumn = cal("Europe/Berlin", days=range(7), start=time(0), end=time(2, 30))
    assert autumn.business_seconds(utc(2024, 10, 26, 12), utc(2024, 10, 27, 12)) == 2.5 * H


def test_partial_day_on_a_dst_day() -> None:
    c = cal("Europe/Berlin", days=range(7), start=time(1), end=time(4))
    # 2024-03-31: work runs 00:00-02:00 UTC; half of it lies before 01:00 UTC
    assert c.business_seconds(utc(2024, 3, 30, 12), utc(2024, 3, 31, 1)) == 1 * H
    assert c.business_seconds(utc(2024, 3, 31, 1), utc(2024, 3, 31, 1, 30)) == 0.5 * H


# -- cache ---------------------------------------------------------------------------------


def test_cache_grows_in_both_directions_with_same_answers() -> None:
    c = cal("Europe/Berlin")
    a, b = utc(2030, 6, 3), utc(2030, 6, 10)
    assert c.business_seconds(a, b) == 45 * H
    assert c.business_seconds(utc(2019, 6, 3), utc(2019, 6, 10)) == 45 * H  # far before the cache
    assert c.business_seconds(utc(2019, 6, 3), b) == reference(c, utc(2019, 6, 3), b)
    assert c.business_seconds(a, b) == 45 * H
    assert c.business_seconds(utc(2040, 1, 2), utc(2040, 1, 9)) == 45 * H  # far after
    fresh = cal("Europe/Berlin")
    fresh.business_seconds(a, b)  # cache around 2030 only
    # one call whose start lies far before the cache and whose end lies inside it
    assert fresh.business_seconds(utc(2019, 6, 3), b) == reference(fresh, utc(2019, 6, 3), b)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_matches_day_by_day_reference_on_random_spans(tz: str) -> None:
    rng = random.Random(tz)
    c = cal(tz, days=(0, 1, 2, 3, 6), start=time(1, 30), end=time(17, 45))
    base = utc(2023, 1, 1)
    for _ in range(300):
        start = base + timedelta(seconds=rng.randrange(0, 2 * 365 * 86400))
        end = start + timedelta(seconds=rng.randrange(-86400, 120 * 86400))
        assert c.business_seconds(start, end) == pytest.approx(reference(c, start, end), abs=1e-6)


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])
def test_moment_after_inverts_business_seconds(tz: str) -> None:
    c = cal(tz)
    rng = random.Random(7)
    for _ in range(300):
        start = utc(2025, 1, 1) + timedelta(seconds=rng.randrange(0, 3 * 365 * 86400))
        seconds = rng.choice([1.0, 60.0, 4 * H, 9 * H, 27 * H, rng.uniform(0, 400 * H)])
        moment = c.moment_after(start, seconds)
        assert abs(c.business_seconds(start, moment) - seconds) < 1e-3
        assert c.business_seconds(start, moment - timedelta(seconds=1)) < seconds  # the first such moment


def test_moment_after_an_sla_of_three_workdays() -> None:
    c = cal("Europe/London")
    friday_4pm = local("Europe/London", 2025, 6, 13, 16, 0)
    assert c.moment_after(friday_4pm, 27 * H) == local("Europe/London", 2025, 6, 18, 16, 0)  # Wed 16:00
    saturday = local("Europe/London", 2025, 6, 14, 12, 0)
    assert c.moment_after(saturday, 60) == local("Europe/London", 2025, 6, 16, 9, 1)  # Mon 09:01
    assert c.moment_after(saturday, 0) == saturday
    with pytest.raises(ValueError, match="without workdays"):
        cal(days=()).moment_after(saturday, 60)
