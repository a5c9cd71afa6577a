"""Human-readable numbers shared by Block Kit and terminal renderers."""

from __future__ import annotations

import math
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


def hours_minutes(seconds: float | None) -> str:
    """Time per day against a line (Focus Time): hours and whole minutes, cut, never rounded
    up: '2h 53m', '3h 6m', '45m', '—' for None.

    The rule: the figure is truncated to the minute. A line is a whole number of minutes
    (the 3 h Focus Time line) and "below the line" is decided on the exact seconds, so a
    value under the line always prints under it (2.96 h is '2h 57m', never '3.0 h'; 2 h 59 m
    59.9 s is '2h 59m'), a value on or above it never prints under it, and two values a
    minute or more apart never print the same (2 h 53 m and 3 h 6 m stay apart).
    """
    if seconds is None:
        return "—"
    minutes = max(0, math.floor(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def line_cells(seconds: float, threshold_seconds: float, half: int) -> int:
    """How many cells of a bar to fill when the line sits after `half` cells (one cell is
    threshold / half): the same cut as `hours_minutes`, so a value under the line fills fewer
    than `half` cells and a value on or above it at least `half` (at most 2 * half). Rounding
    would draw 2 h 53 m and 3 h 6 m as the same six cells at a 3 h line; cut, they are 5 and 6."""
    if threshold_seconds <= 0 or half <= 0:
        return 0
    return max(0, min(2 * half, math.floor(seconds * half / threshold_seconds)))


def whole_percent(share: float) -> int:
    """A share as the whole percent `percent` prints (0.906 -> 91)."""
    return round(share * 100)


def number(value: float) -> str:
    """'42', '4.5' (a mean), '1,204'."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def plural(value: float, word: str, many: str | None = None) -> str:
    """'1 run', '3 runs', '1,204 runs', '2 branches' (with `many`)."""
    return f"{number(value)} {word if value == 1 else many or word + 's'}"


def percent(share: float | None) -> str:
    """'91%' (whole percent), '—' for None."""
    return "—" if share is None else f"{whole_percent(share)}%"


def points_change(delta: float | None) -> str:
    """A change of a share (a fraction: 0.05 is 5 percentage points) as an arrow and whole
    points: '↑ 12 pts', '↑ 1 pt', '↓ 1 pt', '→' when it is under half a point (it would
    print as 0), '' for None (nothing to compare with). Every trend arrow is this one."""
    if delta is None:
        return ""
    points = math.floor(abs(delta) * 100 + 0.5)  # half a point rounds up, either way
    return _arrow(points if delta > 0 else -points)


def percent_change(current: float | None, previous: float | None) -> str:
    """`points_change` between two shares printed side by side, counted between the whole
    percents as printed: '91% → (last week 91%)', never '91% ↓ 1 pt (last week 91%)'."""
    if current is None or previous is None:
        return ""
    return _arrow(whole_percent(current) - whole_percent(previous))


def _arrow(points: int) -> str:
    if points == 0:
        return "→"
    return f"{'↑' if points > 0 else '↓'} {abs(points)} pt{'s' if abs(points) != 1 else ''}"


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
