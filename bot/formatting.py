"""Human-readable numbers shared by Block Kit and terminal renderers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def duration(seconds: float | None) -> str:
    """Calendar duration, two largest units: '3d 4h', '5h 10m', '12m', '—' for None."""
    if seconds is None:
        return "—"
    seconds = max(0, int(round(seconds)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def business_days(seconds: float | None, seconds_per_workday: float) -> str:
    """Business time as workdays with one decimal: '2.5 bd'."""
    if seconds is None:
        return "—"
    return f"{seconds / seconds_per_workday:.1f} bd"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def local_time(at: datetime | None, tz: ZoneInfo) -> str:
    """'Mon 24 Nov 14:05' in the given timezone."""
    if at is None:
        return "—"
    return at.astimezone(tz).strftime("%a %d %b %H:%M")


def local_date(at: datetime | None, tz: ZoneInfo) -> str:
    return "—" if at is None else at.astimezone(tz).strftime("%Y-%m-%d")


def iso_utc(at: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, for exports; None stays None."""
    if at is None:
        return None
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
