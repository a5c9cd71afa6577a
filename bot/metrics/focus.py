"""Focus Time from WakaTime heartbeats: sessions, focus blocks, per-day figures, alerts.

Definitions (times are epoch seconds, UTC; days are the person's local dates):

- session: one person's heartbeats sorted by time, joined while the gap between two
  consecutive heartbeats is <= timeout; length = last - first (every joined gap counts in
  full, a lone heartbeat is 0 s). WakaTime's example: 0:00, 0:02, 0:15, 0:16 -> 16 min at a
  15-minute timeout, 2 + 1 = 3 min at 10.
- focus block: a session with length >= min_block.
- stream of a gap (heartbeat i -> i+1): heartbeat i's project, mapped by `stream_of`.
- per local day D = [local midnight, next local midnight) (23 or 25 hours on DST days):
  focus_seconds = sum over focus blocks of |block ∩ D|, active_seconds = sum over all sessions
  of |session ∩ D|, research/engineering_seconds = focus time on that stream's gaps ∩ D,
  blocks = number of focus blocks with |block ∩ D| > 0. A block that crosses midnight
  qualifies by its whole length; its time is split between the days.
- low-focus alert: average = mean focus_seconds over the window's workdays that have data
  (no row = no data, not zero); alert when average < threshold, once per ISO week.
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.clock import day_bounds, local_date
from bot.metrics.handoffs import percentile
from bot.models import FocusDay, Heartbeat

if TYPE_CHECKING:
    from bot.config import Settings

RESEARCH, ENGINEERING, OTHER = "research", "engineering", "other"
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class FocusRules:
    """Session timeout, minimum focus block and the project patterns of the two streams."""

    timeout_seconds: float = 900
    min_block_seconds: float = 1800
    research: tuple[str, ...] = ()
    engineering: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.timeout_seconds < 0:
            raise ValueError(f"timeout_seconds must be >= 0 (got {self.timeout_seconds})")
        if self.min_block_seconds <= 0:
            raise ValueError(f"min_block_seconds must be > 0 (got {self.min_block_seconds})")
        object.__setattr__(self, "research", tuple(self.research))
        object.__setattr__(self, "engineering", tuple(self.engineering))

    @classmethod
    def from_settings(cls, settings: Settings) -> FocusRules:
        return cls(
            timeout_seconds=settings.focus.heartbeat_timeout_minutes * 60.0,
            min_block_seconds=settings.focus.min_block_minutes * 60.0,
            research=tuple(settings.streams.get(RESEARCH, ())),
            engineering=tuple(settings.streams.get(ENGINEERING, ())),
        )


@lru_cache(maxsize=256)
def _matcher(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(p.casefold()) for p in patterns))


def stream_of(project: str | None, rules: FocusRules) -> str:
    """"research" if the project matches any `rules.research` fnmatch pattern (research wins
    when both streams match), else "engineering" if it matches `rules.engineering`, else
    "other". Matching is case-insensitive (casefolded); no project (None or "") is "other"."""
    if not project:
        return OTHER
    name = project.casefold()
    for stream, patterns in ((RESEARCH, rules.research), (ENGINEERING, rules.engineering)):
        matcher = _matcher(patterns)
        if matcher is not None and matcher.match(name):
            return stream
    return OTHER


@dataclass(frozen=True)
class Session:
    """A run of joined heartbeats: [start, end] and its gaps as (start, end, stream) spans
    (adjacent gaps of the same stream merged, zero-length gaps left out)."""

    start: float
    end: float
    segments: tuple[tuple[float, float, str], ...] = ()

    @property
    def length(self) -> float:
        return self.end - self.start


def sessions(heartbeats: Iterable[Heartbeat], rules: FocusRules) -> list[Session]:
    """One person's sessions in time order. Input may be in any order and hold duplicates;
    heartbeats at the same time are ordered by project so the result does not depend on
    arrival order (the last of them gives the stream of the following gap)."""
    beats = sorted((h.time, h.project or "") for h in heartbeats)
    out: list[Session] = []
    if not beats:
        return out
    timeout = rules.timeout_seconds
    streams: dict[str, str] = {}

    def stream(project: str) -> str:
        s = streams.get(project)
        if s is None:
            s = streams[project] = stream_of(project, rules)
        return s

    start, prev_project = beats[0]
    prev = start
    segs: list[tuple[float, float, str]] = []
    for t, project in beats[1:]:
        gap = t - prev
        if gap > timeout:
            out.append(Session(start, prev, tuple(segs)))
            start, segs = t, []
        elif gap > 0:
            s = stream(prev_project)
            if segs and segs[-1][2] == s and segs[-1][1] == prev:
                segs[-1] = (segs[-1][0], t, s)
            else:
                segs.append((prev, t, s))
        prev, prev_project = t, project
    out.append(Session(start, prev, tuple(segs)))
    return out


def focus_blocks(sessions: Iterable[Session], rules: FocusRules) -> list[Session]:
    """The sessions with length >= `rules.min_block_seconds`."""
    return [s for s in sessions if s.length >= rules.min_block_seconds]


@lru_cache(maxsize=4096)
def _pieces(start: float, end: float, tz: ZoneInfo) -> list[tuple[date, float, float]]:
    """[start, end) cut at local midnights: (day, lo, hi) with hi > lo, in order."""
    day = local_date(start, tz)
    out: list[tuple[date, float, float]] = []
    while True:
        lo, hi = day_bounds(day, tz)
        a, b = max(start, lo), min(end, hi)
        if b > a:
            out.append((day, a, b))
        if end <= hi:
            return out
        day += _DAY


def _split_segments(
    segments: Sequence[tuple[float, float, str]], pieces: Sequence[tuple[date, float, float]]
) -> Iterable[tuple[date, str, float]]:
    """(day, stream, seconds) for each part of each segment, walking both lists in order."""
    k = 0
    for a, b, stream in segments:
        while a < b:
            while k < len(pieces) - 1 and pieces[k][2] <= a:
                k += 1
            day, _, hi = pieces[k]
            cut = min(b, hi) if k < len(pieces) - 1 else b
            yield day, stream, cut - a
            a = cut


def focus_days(
    slack_user_id: str,
    heartbeats: Iterable[Heartbeat],
    tz: ZoneInfo,
    rules: FocusRules,
    days: Iterable[date] | None = None,
) -> list[FocusDay]:
    """Per-local-day figures of one person, sorted by day. A day gets a row when it has data:
    a heartbeat or session time on it (so a day of lone heartbeats is a row of zeros, not "no
    data"). With `days`, only those of them that have data. Heartbeats of another user:
    ValueError. Sessions at the edges must be complete (see `session_window`), or cut where
    they are focus blocks either way (see `change_window`)."""
    beats = list(heartbeats)
    for h in beats:
        if h.slack_user_id != slack_user_id:
            raise ValueError(f"heartbeat of {h.slack_user_id} passed for {slack_user_id}")
    wanted = None if days is None else set(days)
    # [focus, active, research, engineering, blocks] per day
    acc: dict[date, list[float]] = {}

    def row(day: date) -> list[float]:
        r = acc.get(day)
        if r is None:
            r = acc[day] = [0.0, 0.0, 0.0, 0.0, 0]
        return r

    for s in sessions(beats, rules):
        row(local_date(s.start, tz))  # a day with a heartbeat has data even at 0 seconds
        row(local_date(s.end, tz))
        if s.length == 0:
            continue
        pieces = _pieces(s.start, s.end, tz)
        is_block = s.length >= rules.min_block_seconds
        for day, a, b in pieces:
            r = row(day)
            r[1] += b - a
            if is_block:
                r[0] += b - a
                r[4] += 1
        if is_block and pieces:
            for day, stream, seconds in _split_segments(s.segments, pieces):
                if stream == RESEARCH:
                    acc[day][2] += seconds
                elif stream == ENGINEERING:
                    acc[day][3] += seconds
    return [
        FocusDay(slack_user_id, day, r[0], r[1], r[2], r[3], int(r[4]))
        for day, r in sorted(acc.items())
        if wanted is None or day in wanted
    ]


def session_window(
    heartbeats_sorted_times: Sequence[float], start: float, end: float, rules: FocusRules
) -> tuple[float, float]:
    """Widen [start, end) to whole sessions: (lo, hi) with lo <= start and hi >= end such that
    every session touching [start, end) has all its heartbeats in lo <= time <= hi. Walks
    outwards from the edges while the gap to the neighbour is <= the timeout."""
    times, timeout, n = heartbeats_sorted_times, rules.timeout_seconds, len(heartbeats_sorted_times)
    lo, hi = start, end
    i = bisect_left(times, start)  # first heartbeat at or after start
    if i < n:
        while i > 0 and times[i] - times[i - 1] <= timeout:
            i -= 1
        lo = min(lo, times[i])
    j = bisect_left(times, end) - 1  # last heartbeat before end
    if j >= 0:
        while j + 1 < n and times[j + 1] - times[j] <= timeout:
            j += 1
        hi = max(hi, times[j])
    return lo, hi


def change_window(
    old_times_sorted: Sequence[float], new_lo: float, new_hi: float, rules: FocusRules
) -> tuple[float, float]:
    """The stretch [a, b] (a <= new_lo, b >= new_hi) of a person's heartbeats that new ones
    in [new_lo, new_hi] can change: per day, the change of every figure is `focus_days` of
    old and new heartbeats in [a, b] minus `focus_days` of the old ones in [a, b].

    Left edge: from p0, the last old time <= new_lo within a timeout of it (none: a =
    new_lo), walk left while the gap is <= timeout and the walked part [time, p0] is shorter
    than min_block. So a either starts an old session (nothing before it joins the change),
    or clips one where [a, p0] is already a focus block: the clipped piece is then a block
    before and after the change, like the whole session, and the part before a is the same
    old heartbeats both times, so its seconds and its days' block counts cancel out. The
    right edge is symmetric from n0, the first old time >= new_hi within a timeout. When p0
    and n0 are in one old session (late heartbeats inside it), [a, b] is one session before
    and after, so it need be min_block long only as a whole: the left walk measures [time,
    n0], the right one [a, time]. b is never new_hi itself: the gap after b takes the
    project of the last heartbeat at b, which could be a new one.

    The result depends only on old times in [a - timeout, b + timeout], and new_lo - a and
    b - new_hi are under 2 * timeout + min_block. Clusters of new heartbeats more than a
    timeout apart whose windows do not overlap change the rollups independently."""
    times, n = old_times_sorted, len(old_times_sorted)
    timeout, min_block = rules.timeout_seconds, rules.min_block_seconds
    i, j = bisect_right(times, new_lo) - 1, bisect_left(times, new_hi)  # p0 and n0, when close enough
    has_p0 = i >= 0 and new_lo - times[i] <= timeout
    has_n0 = j < n and times[j] - new_hi <= timeout
    inside = has_p0 and has_n0 and all(times[k + 1] - times[k] <= timeout for k in range(i, j))
    a, b = new_lo, new_hi
    if has_p0:
        far = times[j] if inside else times[i]
        while i > 0 and times[i] - times[i - 1] <= timeout and far - times[i] < min_block:
            i -= 1
        a = times[i]
    if has_n0:
        far = a if inside else times[j]
        while j + 1 < n and times[j + 1] - times[j] <= timeout and (times[j] - far < min_block or times[j] <= new_hi):
            j += 1
        b = times[j]
    return a, b


# -- alert and aggregates ----------------------------------------------------------------


def recent_workdays(
    today: date, workdays: Iterable[int], count: int, include_today: bool = False
) -> list[date]:
    """The last `count` workdays (`date.weekday()` numbers) before `today`, oldest first.
    Today is left out by default (it is not over yet); `include_today=True` counts it."""
    allowed = set(workdays) & set(range(7))
    if count <= 0 or not allowed:
        return []
    out: list[date] = []
    day = today if include_today else today - _DAY
    while len(out) < count:
        if day.weekday() in allowed:
            out.append(day)
        day -= _DAY
    return out[::-1]


def average_focus(days: Mapping[date, float], window: Sequence[date]) -> tuple[float | None, int]:
    """(mean of days[d] over the window days d present in `days`, how many); (None, 0) when
    none is present. A missing day is "no data" and left out, not counted as zero."""
    values = [days[d] for d in dict.fromkeys(window) if d in days]
    if not values:
        return None, 0
    return sum(values) / len(values), len(values)


def alert_decision(
    average_seconds: float | None,
    threshold_seconds: float,
    currently_low: bool,
    alerted_this_week: bool,
) -> str:
    """"alert" | "recover" | "none":
    no data -> none; average < threshold -> alert unless already alerted this ISO week (being
    low since an earlier week does not stop one alert per week); average >= threshold ->
    recover if currently low, else none."""
    if average_seconds is None:
        return "none"
    if average_seconds < threshold_seconds:
        return "none" if alerted_this_week else "alert"
    return "recover" if currently_low else "none"


def iso_week(day: date) -> str:
    """The ISO week of `day`, as "2026-W47" (ISO year, which differs from the calendar year
    around new year: 2027-01-01 is in 2026-W53)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class TeamFocus:
    """Team aggregates over a window (no individual figures).

    people: distinct members; people_with_data: members with at least one row in the window;
    average_focus_seconds: sum(focus) / person-days with data; below_threshold: members whose
    own `average_focus` < threshold; research_share: research / (research + engineering)
    focus seconds (None when both are 0); median_person_seconds: median of the members' own
    averages (members with data only). Averages are None without data."""

    people: int
    people_with_data: int
    average_focus_seconds: float | None
    below_threshold: int
    research_share: float | None
    median_person_seconds: float | None


def team_focus(
    days: Iterable[FocusDay], members: Iterable[str], window: Sequence[date], threshold_seconds: float
) -> TeamFocus:
    """Aggregate the members' FocusDay rows on the window's days (see `TeamFocus`). Rows of
    non-members or other days are ignored; a repeated (person, day) row counts once (last)."""
    team, in_window = set(members), set(window)
    rows: dict[tuple[str, date], FocusDay] = {}
    for d in days:
        if d.slack_user_id in team and d.day in in_window:
            rows[(d.slack_user_id, d.day)] = d
    per_person: dict[str, dict[date, float]] = defaultdict(dict)
    for (user, day), d in rows.items():
        per_person[user][day] = d.focus_seconds
    averages = [sum(focus.values()) / len(focus) for focus in per_person.values()]
    research = sum(d.research_seconds for d in rows.values())
    engineering = sum(d.engineering_seconds for d in rows.values())
    return TeamFocus(
        people=len(team),
        people_with_data=len(per_person),
        average_focus_seconds=sum(d.focus_seconds for d in rows.values()) / len(rows) if rows else None,
        below_threshold=sum(1 for a in averages if a < threshold_seconds),
        research_share=research / (research + engineering) if research + engineering else None,
        median_person_seconds=percentile(averages, 50),
    )
