"""The one place that reads the wall clock (tests pass their own `Clock`), turns a timezone
name into a zone, and finds the local day of an instant and the bounds of a local day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def zone_named(name: Any) -> ZoneInfo | None:
    """The IANA zone `name` ("Europe/Berlin"), or None for anything else: not a string, empty,
    padded ("UTC "), unknown ("Mars/Olympus") or a folder of zones ("Europe", which the
    standard library answers with IsADirectoryError)."""
    if not isinstance(name, str) or not name or name != name.strip():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def day_bounds(day: date, tz: ZoneInfo) -> tuple[float, float]:
    """Epoch seconds of [local midnight of `day`, next local midnight) in `tz` (23 or 25 hours
    long on DST days; a midnight that does not exist maps to the transition instant)."""
    lo = datetime.combine(day, time(0), tzinfo=tz).timestamp()
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).timestamp()
    return lo, hi


def local_date(t: float, tz: ZoneInfo) -> date:
    """The local date of epoch second `t` in `tz`."""
    return datetime.fromtimestamp(t, tz).date()
