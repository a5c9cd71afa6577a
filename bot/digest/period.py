"""Which week a digest covers and when it is due: pure functions of the clock and the config.

A digest covers the last ISO week (Monday 00:00 to the next Monday 00:00 in the digest's
timezone) that has ended by its scheduled time. A run is due from the latest scheduled time
at or before `now` until `grace_hours` after it; outside that, nothing is due (a digest
missed for longer is not sent late).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.config import WEEKDAYS, DigestSettings
from bot.digest.model import Week

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> tuple[int, int]:
    """(ISO year, week) from "2026-W47"; ValueError naming the expected form otherwise."""
    match = _WEEK.match(text.strip().upper())
    if match:
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
            return year, week
        except ValueError:
            pass
    raise ValueError(f"week {text.strip()!r} is not an ISO week: use the form 2026-W47 (weeks 01-52, or 53 in long years)")


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def week_starting(monday: date, tz: ZoneInfo) -> Week:
    """The ISO week that starts on `monday`, in `tz` (23 or 25 h days around DST included)."""
    year, number, _ = monday.isocalendar()
    return Week(f"{year}-W{number:02d}", _local_midnight(monday, tz), _local_midnight(monday + timedelta(days=7), tz))


def week_named(text: str, tz: ZoneInfo) -> Week:
    """The week called e.g. "2026-W47", in `tz`."""
    year, number = parse_week(text)
    return week_starting(date.fromisocalendar(year, number, 1), tz)


def week_before(week: Week, tz: ZoneInfo) -> Week:
    return week_starting(week.start.date() - timedelta(days=7), tz)


def last_complete_week(now: datetime, tz: ZoneInfo) -> Week:
    """The latest ISO week in `tz` that has ended at `now`."""
    today = now.astimezone(tz).date()
    this_monday = today - timedelta(days=today.weekday())
    return week_starting(this_monday - timedelta(days=7), tz)


def latest_schedule(digest: DigestSettings, now: datetime) -> datetime:
    """The latest scheduled time of `digest` at or before `now` (aware, in the digest's tz)."""
    tz = digest.tz
    local = now.astimezone(tz)
    weekday = WEEKDAYS.index(digest.schedule_weekday)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    at = digest.schedule_time
    scheduled = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=tz)
    if scheduled > now:
        day -= timedelta(days=7)
        scheduled = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=tz)
    return scheduled


def due_week(digest: DigestSettings, now: datetime) -> tuple[datetime, Week] | None:
    """(scheduled time, week) of the run due at `now`, or None when the latest scheduled
    time is more than `grace_hours` ago."""
    scheduled = latest_schedule(digest, now)
    # In UTC: between two times of the digest's own zone, `-` would count wall-clock hours.
    if now.astimezone(timezone.utc) - scheduled.astimezone(timezone.utc) > timedelta(hours=digest.grace_hours):
        return None
    return scheduled, last_complete_week(scheduled, digest.tz)


def recent_weeks(week: Week, count: int, tz: ZoneInfo) -> list[Week]:
    """`count` weeks ending with `week`, oldest first."""
    weeks = [week]
    while len(weeks) < count:
        weeks.append(week_before(weeks[-1], tz))
    return weeks[::-1]
