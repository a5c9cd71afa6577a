"""The one place that reads the wall clock (tests pass their own `Clock`) and turns a
timezone name into a zone."""

from __future__ import annotations

from datetime import datetime, timezone
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
