"""`bot.digest.period` (which ISO week a digest covers and when it is due) and the
`[[digest]]` keys of `bot.config`: pure functions of the clock and the config, no store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, DigestSettings, settings_from_mapping
from bot.digest.period import (
    due_week,
    last_complete_week,
    latest_schedule,
    parse_week,
    week_before,
    week_named,
    week_starting,
)

BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")
HOUR = timedelta(hours=1)


def berlin(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    """A Berlin wall-clock time, given to the functions as UTC (as the scheduler does)."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def hours(start: datetime, end: datetime) -> float:
    """Elapsed (not wall-clock) hours: same-zone aware subtraction ignores DST, so go via UTC."""
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600


def digest(**kw: object) -> DigestSettings:
    return DigestSettings(**{"channel": "C0123ABCD", "timezone": "Europe/Berlin", **kw})


# -- parse_week ------------------------------------------------------------------------------


def test_parse_week_reads_the_iso_form_in_any_case_and_with_spaces():
    assert parse_week("2026-W47") == (2026, 47)
    assert parse_week("2026-w05") == (2026, 5)
    assert parse_week("  2026-W01 ") == (2026, 1)


def test_week_53_only_exists_in_long_iso_years():
    assert parse_week("2026-W53") == (2026, 53)  # 1 Jan 2026 is a Thursday: 53 weeks
    assert week_named("2026-W53", BERLIN).start.date() == date(2026, 12, 28)
    with pytest.raises(ValueError, match="2025-W53"):  # 2025 has 52
        parse_week("2025-W53")


@pytest.mark.parametrize("text", ["2026-47", "2026W47", "W47", "2026-W7", "2026-W00", "2026-W54", "", "last week"])
def test_anything_else_is_a_value_error_naming_the_form(text):
    with pytest.raises(ValueError) as err:
        parse_week(text)
    assert "2026-W47" in str(err.value)


# -- weeks -------------------------------------------------------------------------------------


def test_a_week_runs_from_monday_to_monday_local_midnight():
    week = week_named("2026-W46", BERLIN)
    assert week.label == "2026-W46"
    assert week.start == datetime(2026, 11, 9, tzinfo=BERLIN)
    assert week.end == datetime(2026, 11, 16, tzinfo=BERLIN)
    assert week.start.astimezone(UTC) == datetime(2026, 11, 8, 23, tzinfo=UTC)  # CET = UTC+1
    assert week.start.utcoffset() == HOUR
    assert hours(week.start, week.end) == 168
    assert week_starting(date(2026, 11, 9), BERLIN) == week
    assert week_before(week, BERLIN) == week_named("2026-W45", BERLIN)


def test_the_week_of_a_dst_change_is_169_or_167_hours_long():
    autumn = week_named("2026-W43", BERLIN)  # Mon 19 Oct - Mon 26 Oct; clocks go back Sun 25 Oct
    assert (autumn.start.date(), autumn.end.date()) == (date(2026, 10, 19), date(2026, 10, 26))
    assert autumn.start.utcoffset() == 2 * HOUR and autumn.end.utcoffset() == HOUR
    assert hours(autumn.start, autumn.end) == 169
    spring = week_named("2026-W13", BERLIN)  # Mon 23 Mar - Mon 30 Mar; clocks go forward Sun 29 Mar
    assert hours(spring.start, spring.end) == 167
    assert spring.end == datetime(2026, 3, 30, tzinfo=BERLIN)
    after = week_named("2026-W44", BERLIN)  # the week after the change
    assert hours(after.start, after.end) == 168


def test_the_iso_year_of_a_week_can_differ_from_the_calendar_year():
    week = week_starting(date(2026, 12, 28), BERLIN)
    assert week.label == "2026-W53" and week.end.date() == date(2027, 1, 4)
    assert week_starting(date(2027, 1, 4), BERLIN).label == "2027-W01"


def test_last_complete_week_turns_over_at_monday_midnight_local():
    # Monday 00:30 in Berlin is still Sunday 23:30 in UTC, but W46 has ended in Berlin.
    assert last_complete_week(berlin(11, 16, 0, 30), BERLIN).label == "2026-W46"
    assert last_complete_week(berlin(11, 15, 23, 30), BERLIN).label == "2026-W45"
    assert last_complete_week(berlin(11, 16, 0, 0), BERLIN).label == "2026-W46"
    # the same instant read in UTC is Sunday: the week in progress there has not ended
    assert last_complete_week(berlin(11, 16, 0, 30), UTC).label == "2026-W45"


# -- schedule and due ----------------------------------------------------------------------------


def test_latest_schedule_is_the_last_monday_0900_local_at_or_before_now():
    d = digest(schedule_weekday="mon", schedule_time=time(9, 0))
    assert latest_schedule(d, berlin(11, 16, 8, 59)) == datetime(2026, 11, 9, 9, 0, tzinfo=BERLIN)
    assert latest_schedule(d, berlin(11, 16, 9, 0)) == datetime(2026, 11, 16, 9, 0, tzinfo=BERLIN)
    assert latest_schedule(d, berlin(11, 16, 9, 1)) == datetime(2026, 11, 16, 9, 0, tzinfo=BERLIN)
    assert latest_schedule(d, berlin(11, 16, 9, 1)).astimezone(UTC) == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    assert latest_schedule(d, berlin(11, 20, 12)) == datetime(2026, 11, 16, 9, 0, tzinfo=BERLIN)  # Friday


def test_a_schedule_whose_monday_is_still_sunday_in_utc():
    d = digest(timezone="Pacific/Auckland")  # NZDT = UTC+13 in November
    scheduled = datetime(2026, 11, 16, 9, 0, tzinfo=AUCKLAND)
    assert scheduled.astimezone(UTC) == datetime(2026, 11, 15, 20, 0, tzinfo=UTC)  # a Sunday
    now = datetime(2026, 11, 15, 20, 30, tzinfo=UTC)
    assert latest_schedule(d, now) == scheduled
    due = due_week(d, now)
    assert due is not None and due[0] == scheduled
    week = due[1]
    assert week.label == "2026-W46"
    assert week.start == datetime(2026, 11, 9, tzinfo=AUCKLAND)
    assert week.end.astimezone(UTC) == datetime(2026, 11, 15, 11, 0, tzinfo=UTC)
    # half an hour earlier it is 08:30 Monday in Auckland: the last run was a week ago, long past grace
    assert latest_schedule(d, now - HOUR) == datetime(2026, 11, 9, 9, 0, tzinfo=AUCKLAND)
    assert due_week(d, now - HOUR) is None


def test_due_within_the_12_hour_grace_and_not_after_it():
    d = digest()
    assert d.grace_hours == 12
    scheduled = datetime(2026, 11, 16, 9, 0, tzinfo=BERLIN)
    at_time = due_week(d, berlin(11, 16, 9, 0))
    assert at_time is not None and at_time[0] == scheduled and at_time[1].label == "2026-W46"
    late = due_week(d, berlin(11, 16, 20, 59))
    assert late is not None and late[1].label == "2026-W46"
    assert due_week(d, berlin(11, 16, 21, 0)) is not None  # exactly 12 h: still due
    assert due_week(d, berlin(11, 16, 21, 1)) is None
    assert due_week(d, berlin(11, 17, 9, 0)) is None  # a day late: not sent late
    assert due_week(d, berlin(11, 16, 8, 59)) is None  # before the time: last week's run is long gone


def test_a_custom_grace():
    d = digest(grace_hours=2.0)
    assert due_week(d, berlin(11, 16, 10, 59)) is not None
    assert due_week(d, berlin(11, 16, 11, 1)) is None
    wide = digest(grace_hours=48.0)
    found = due_week(wide, berlin(11, 18, 8, 0))  # Wednesday morning, 47 h after
    assert found is not None and found[1].label == "2026-W46"


def test_the_week_due_at_monday_0900_is_the_previous_iso_week():
    d = digest()
    for monday in (date(2026, 11, 16), date(2026, 10, 26), date(2027, 1, 4)):
        now = berlin(monday.month, monday.day, 9, 30, year=monday.year)
        _, week = due_week(d, now)
        assert week.end == datetime(monday.year, monday.month, monday.day, tzinfo=BERLIN)
        assert week.start.date() == monday - timedelta(days=7)
        assert week.label == "{}-W{:02d}".format(*(monday - timedelta(days=7)).isocalendar()[:2])
    assert due_week(d, berlin(1, 4, 9, 30, year=2027))[1].label == "2026-W53"


def test_a_later_weekday_schedule_covers_the_last_week_that_has_ended():
    d = digest(schedule_weekday="wed", schedule_time=time(17, 30))
    scheduled, week = due_week(d, berlin(11, 18, 18, 0))
    assert scheduled == datetime(2026, 11, 18, 17, 30, tzinfo=BERLIN)
    assert week.label == "2026-W46"  # W47 is still running on Wednesday


# -- [[digest]] config ---------------------------------------------------------------------------

TEAMS = [{"name": "vision", "members": ["U0ANA"], "jira_projects": ["VIS"]},
         {"name": "nlp", "members": ["U0DAN"], "jira_projects": ["NLP"]}]


def config(*digests: dict, **top: object) -> dict:
    return {"timezone": "Europe/Berlin", "team": TEAMS, "digest": list(digests), **top}


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        settings_from_mapping(data, {})
    return err.value.problems


def test_digest_defaults():
    [d] = settings_from_mapping(config({"channel": "C0123ABCD"}), {}).digests
    assert d.name == "weekly" and d.job_id == "digest:C0123ABCD"
    assert (d.schedule_weekday, d.schedule_time) == ("mon", time(9, 0))
    assert d.timezone == "Europe/Berlin" and d.tz == BERLIN  # the org's timezone
    assert d.sections == ("handoffs", "focus", "pipelines", "delivery")
    assert d.teams == () and d.chart is True
    assert d.grace_hours == 12.0 and d.show_names is False


def test_digest_keys_are_read():
    [d] = settings_from_mapping(config({
        "channel": "C0123ABCD", "name": "vision-leads", "schedule": "fri 16:45", "timezone": "Pacific/Auckland",
        "sections": ["focus", "handoffs", "focus"], "teams": ["Vision"], "chart": False, "grace_hours": 3,
        "show_names": True}, focus={"share_individuals_with_leads": True}), {}).digests
    assert (d.name, d.job_id) == ("vision-leads", "digest:C0123ABCD:vision-leads")
    assert (d.schedule_weekday, d.schedule_time, d.timezone) == ("fri", time(16, 45), "Pacific/Auckland")
    assert d.sections == ("focus", "handoffs") and d.teams == ("Vision",)
    assert (d.chart, d.grace_hours, d.show_names) == (False, 3.0, True)


def test_an_unknown_key_in_a_digest_is_an_error_naming_it():
    [problem] = problems(config({"channel": "C0123ABCD", "weekday": "mon"}))
    assert "digest[0].weekday" in problem and "unknown key" in problem


def test_a_team_that_is_not_a_team_is_an_error():
    [problem] = problems(config({"channel": "C0123ABCD", "teams": ["vision", "robotics"]}))
    assert problem.startswith("digest[0].teams") and "'robotics'" in problem
    assert "vision" not in problem.split("(got")[1]


def test_show_names_needs_the_org_to_share_individuals_with_leads():
    [problem] = problems(config({"channel": "C0123ABCD", "show_names": True}))
    assert "digest[0].show_names" in problem and "focus.share_individuals_with_leads" in problem
    ok = settings_from_mapping(config({"channel": "C0123ABCD", "show_names": True},
                                      focus={"share_individuals_with_leads": True}), {})
    assert ok.digests[0].show_names is True


def test_two_digests_for_one_channel_need_different_names():
    [problem] = problems(config({"channel": "C0123ABCD"}, {"channel": "C0123ABCD", "schedule": "fri 16:00"}))
    assert problem.startswith("digest[1]") and "C0123ABCD" in problem and "'weekly'" in problem
    named = settings_from_mapping(config({"channel": "C0123ABCD"}, {"channel": "C0123ABCD", "name": "friday"},
                                         {"channel": "C0456EFGH", "name": "friday"}), {})
    assert [d.job_id for d in named.digests] == ["digest:C0123ABCD", "digest:C0123ABCD:friday", "digest:C0456EFGH:friday"]


def test_every_digest_problem_is_raised_together():
    found = problems(config(
        {"channel": "C0123ABCD", "colour": "blue"},
        {"channel": "C0456EFGH", "teams": ["robotics"], "show_names": True},
        {"channel": "C0123ABCD"},
        {"channel": "C0789IJKL", "schedule": "monday 9am", "grace_hours": 0, "sections": ["weather"]},
    ))
    keys = sorted(p.split(":")[0] for p in found)
    assert keys == ["digest[0].colour", "digest[1].show_names", "digest[1].teams", "digest[2]",
                    "digest[3].grace_hours", "digest[3].schedule", "digest[3].sections"]
