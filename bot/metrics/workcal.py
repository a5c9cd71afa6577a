"""Business time: the organisation's workdays and work hours, in its timezone.

Definition: the business time of a span [start, end) is the number of real (UTC) seconds of
the span that fall on a workday between the work hours, read on the wall clock of the
organisation's timezone. Each local workday D contributes the UTC interval
[D start-time, D end-time), both local times converted with zoneinfo (fold=0: a time skipped
by a DST change is read with the offset before the change, an ambiguous one as its first
occurrence). So a DST change inside the work hours shortens or lengthens that day.

Implementation: per local date, the UTC work interval is cached with a prefix sum of
business seconds, extended lazily in both directions. With B(t) = business seconds from the
start of the cache up to t, a span costs B(end) - B(start): two lookups, no loop over days.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timezone
from itertools import accumulate
from typing import TYPE_CHECKING, Iterable
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.config import Settings

_MIN_GROWTH = 400  # days added at least when the cache grows


class WorkCalendar:
    """Business seconds and days between two aware datetimes, O(1) amortised per call."""

    def __init__(self, timezone: str, workdays: Iterable[int], start: time, end: time) -> None:
        if end <= start:
            raise ValueError(f"work hours must end after they start (got {start}-{end})")
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.workdays = frozenset(workdays)
        if not self.workdays <= set(range(7)):
            raise ValueError(f"workdays must be weekday numbers 0-6 (got {sorted(self.workdays)})")
        self.start = start
        self.end = end
        # Cache covering local date ordinals [_lo, _lo + len(starts)), replaced as one tuple
        # so threads sharing the calendar never see halves of two versions:
        # starts = UTC timestamp of each day's work start, lens = its business seconds
        # (0 off workdays), prefix[i] = sum(lens[:i]).
        self._lo = 0
        self._cache: tuple[list[float], list[float], list[float]] = ([], [], [0.0])
        self._grow_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkCalendar:
        """The calendar of `settings.timezone`, `workday_numbers` and `work_hours`."""
        start, end = settings.work_hours
        return cls(settings.timezone, settings.workday_numbers, start, end)

    @property
    def seconds_per_workday(self) -> float:
        """Length of a nominal workday (end - start of the work hours), in seconds."""
        s, e = self.start, self.end
        return float((e.hour - s.hour) * 3600 + (e.minute - s.minute) * 60 + (e.second - s.second))

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Business seconds of [start, end); 0 if end <= start. Naive datetimes are read as UTC."""
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        if end.tzinfo is None:
            end = end.replace(tzinfo=timezone.utc)
        if end <= start:
            return 0.0
        # start first: only a downward growth shifts the prefix sums, and only start can cause one
        before_start = self._before(start)
        return self._before(end) - before_start

    def business_days(self, start: datetime, end: datetime) -> float:
        """Business time of [start, end) in nominal workdays (business_seconds / seconds_per_workday)."""
        return self.business_seconds(start, end) / self.seconds_per_workday

    def moment_after(self, start: datetime, seconds: float) -> datetime:
        """The moment (UTC) by which `seconds` of business time have passed since `start`, e.g.
        when a handoff requested at `start` passes an SLA of that many business seconds."""
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        if seconds <= 0:
            return start.astimezone(timezone.utc)
        if not self.workdays:
            raise ValueError("a calendar without workdays never accumulates business time")
        target = self._before(start) + seconds
        while True:
            starts, lens, prefix = self._cache
            i = bisect_left(prefix, target) - 1  # prefix[i] < target <= prefix[i + 1]: day i reaches it
            if 0 <= i < len(starts) - 1:
                return datetime.fromtimestamp(starts[i] + (target - prefix[i]), tz=timezone.utc)
            with self._grow_lock:  # growing upward appends: the prefix sums before it stay put
                self._grow(self._lo + len(starts))

    # -- internals ---------------------------------------------------------------------

    def _before(self, moment: datetime) -> float:
        """Business seconds from the start of the cache up to `moment` (monotone in moment).

        The day is found by bisecting the UTC work starts (no timezone conversion on the hot
        path): the last day whose work started at or before `moment` holds it, clamped to
        that day's length. The cache grows when `moment` is at or past either end.
        """
        ts = moment.timestamp()
        starts, lens, prefix = self._cache
        i = bisect_right(starts, ts) - 1
        if i < 0 or i >= len(starts) - 1:
            with self._grow_lock:
                self._grow(moment.astimezone(self.tz).toordinal())
            starts, lens, prefix = self._cache
            i = bisect_right(starts, ts) - 1
        into = ts - starts[i]
        length = lens[i]
        return prefix[i] + (into if into < length else length)

    def _day(self, ordinal: int) -> tuple[float, float]:
        """UTC work start timestamp and business seconds of one local date."""
        day = date.fromordinal(ordinal)
        begin = datetime.combine(day, self.start, tzinfo=self.tz).timestamp()
        if day.weekday() not in self.workdays:
            return begin, 0.0
        finish = datetime.combine(day, self.end, tzinfo=self.tz).timestamp()
        return begin, max(0.0, finish - begin)

    def _grow(self, ordinal: int) -> None:
        """Extend the cache so it covers `ordinal`, by at least its own size (amortised O(1))."""
        old_starts, old_lens, _ = self._cache
        size = len(old_starts)
        if size and self._lo + 1 <= ordinal < self._lo + size - 1:
            return  # another thread grew it meanwhile
        if size == 0:
            lo, hi = ordinal - _MIN_GROWTH // 2, ordinal + _MIN_GROWTH // 2
        else:
            pad = max(_MIN_GROWTH, size)
            lo = min(self._lo, ordinal - pad) if ordinal < self._lo else self._lo
            hi = self._lo + size
            hi = max(hi, ordinal + pad) if ordinal >= hi else hi
        lo = max(lo, 1)
        hi = min(hi, date.max.toordinal() + 1)
        before = [self._day(o) for o in range(lo, self._lo)] if size else []
        after = [self._day(o) for o in range(self._lo + size if size else lo, hi)]
        starts = [b for b, _ in before] + old_starts + [b for b, _ in after]
        lens = [n for _, n in before] + old_lens + [n for _, n in after]
        self._cache = (starts, lens, [0.0, *accumulate(lens)])
        self._lo = lo
