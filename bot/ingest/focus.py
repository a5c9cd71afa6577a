"""Per person-day Focus Time rollups, kept up to date as heartbeats arrive.

Queries read `focus_days` only. Each batch of heartbeats is stored and, in the same
transaction, the rollups are moved by the change the new heartbeats make. Every figure of a
day is a sum over sessions, and only the sessions new heartbeats join change, so for each
cluster of new heartbeats a window of the person's heartbeats around it is enough
(`change_window`: the sessions it joins, each cut off once it is a focus block either way).
The change per day, `focus_days` over old and new heartbeats in the window minus over the
old ones, is added to the stored rows (of each heartbeat only time, project and id are read:
`Store.heartbeat_points`). So a post costs what the sessions near it hold (about min_block
either side), not what the day holds; late and out-of-order heartbeats are clusters like
any other. A window reaching back before the raw horizon (raw heartbeats there may be
pruned) recomputes its days instead (`refresh_days`), which never overwrites a rollup from
partial data. Raw heartbeats are pruned after the retention; rollups stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from bot.clock import day_bounds, local_date
from bot.config import Settings
from bot.metrics.focus import FocusRules, change_window, focus_days, session_window
from bot.models import FocusDay, Heartbeat
from bot.queries.people import People
from bot.store import Store
from bot.store.focus import heartbeat_id

log = logging.getLogger(__name__)

# Raw heartbeats are kept this much longer than the retention, so the oldest day a heartbeat
# may still be accepted for (retention days ago, a local day starting up to ~26 h earlier)
# is always complete when a late heartbeat makes it recompute.
PRUNE_MARGIN = timedelta(days=2)
_FAR_FUTURE = 1e12  # epoch seconds (year 33658): "no upper bound" for heartbeat queries


def raw_horizon(settings: Settings, now: datetime) -> float:
    """Epoch seconds from which raw heartbeats are guaranteed not to have been pruned."""
    return (now - timedelta(days=settings.focus.heartbeat_retention_days) - PRUNE_MARGIN).timestamp()


def _dates(lo: float, hi: float, tz: ZoneInfo) -> set[date]:
    """Every local date from the one of `lo` to the one of `hi`, inclusive."""
    first, last = local_date(lo, tz), local_date(hi, tz)
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


def whole_sessions(store: Store, slack_user_id: str, lo: float, hi: float, rules: FocusRules) -> list[Heartbeat]:
    """A person's heartbeats in [lo, hi) plus enough of every session touching it to know its
    figures inside [lo, hi): the whole session, or at least `min_block` of it (a session
    already that long is a focus block however far it goes on). In time order."""
    timeout, min_block = rules.timeout_seconds, rules.min_block_seconds
    pad = max(timeout, 60.0) * 4
    while True:
        beats = store.heartbeats_between(slack_user_id, lo - pad, hi + pad)
        times = [b.time for b in beats]
        a, b = session_window(times, lo, hi, rules)
        # An edge is settled when no unloaded heartbeat can be within the timeout of the
        # widened window, or when the session there is a block on what is loaded already.
        left = a - (lo - pad) > timeout or lo - a >= min_block
        right = (hi + pad) - b > timeout or b - hi >= min_block
        if left and right:
            return [x for x in beats if a <= x.time <= b]
        pad *= 8


def affected_days(new_times: Iterable[float], tz: ZoneInfo, rules: FocusRules) -> set[date]:
    """The local days whose figures new heartbeats can change.

    A new heartbeat changes the gaps within a timeout of it, and the block status of the
    sessions it joins; a joined session that was not a block already is shorter than
    `min_block` and ends (or starts) within a timeout of the heartbeat. So every change lies
    within timeout + min_block of a new heartbeat: its own day, and the neighbouring day
    when it is that close to midnight.
    """
    reach = rules.timeout_seconds + rules.min_block_seconds
    days: set[date] = set()
    for t in new_times:
        days |= _dates(t - reach, t + reach, tz)
    return days


def _runs(days: Iterable[date]) -> list[list[date]]:
    """Consecutive dates grouped: [d1, d2, d3], [d9], ..."""
    runs: list[list[date]] = []
    for d in sorted(days):
        if runs and (d - runs[-1][-1]).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def refresh_days(store: Store, slack_user_id: str, days: Iterable[date], tz: ZoneInfo, rules: FocusRules,
                 horizon: float, now: datetime) -> list[FocusDay]:
    """Recompute a person's rollups of `days` from raw heartbeats (call inside a transaction);
    return the rows written (a day without data gets none). A day that begins before
    `horizon` may be partly pruned: it is computed only when it has no rollup yet (a
    backfill), never recomputed over a rollup made when its heartbeats were complete."""
    days = set(days)
    old = sorted(d for d in days if day_bounds(d, tz)[0] < horizon)
    kept = {r.day for r in store.focus_days(old[0], old[-1], [slack_user_id])} & set(old) if old else set()
    if kept:
        log.warning("rollups of %s for %s kept: their raw heartbeats may already be pruned",
                    slack_user_id, ", ".join(str(d) for d in sorted(kept)))
    complete = days - kept
    written: list[FocusDay] = []
    for run in _runs(complete):
        lo, hi = day_bounds(run[0], tz)[0], day_bounds(run[-1], tz)[1]
        rows = focus_days(slack_user_id, whole_sessions(store, slack_user_id, lo, hi, rules), tz, rules, days=run)
        store.save_focus_days(slack_user_id, run, rows, now)
        written += rows
    return written


def _clusters(times: Sequence[float], rules: FocusRules) -> list[tuple[float, float]]:
    """Sorted times as (first, last) runs, split where a gap is over 2 * (timeout + min_block)
    plus a minute: more than a timeout and than a window reaches (under 2 * timeout +
    min_block), so a window holds no other run's heartbeats, and runs whose windows do not
    overlap change the rollups independently."""
    split = 2 * (rules.timeout_seconds + rules.min_block_seconds) + 60.0
    runs: list[list[float]] = []
    for t in times:
        if runs and t - runs[-1][1] <= split:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return [(lo, hi) for lo, hi in runs]


_Point = tuple[float, str | None, str]  # a stored heartbeat as (time, project, id): `Store.heartbeat_points`


@dataclass
class _Window:
    """A change window [a, b], the new times it was made for, the heartbeats loaded around it
    (old and new, in time order) and whether that load began before the raw horizon."""

    a: float
    b: float
    new_times: set[float]
    points: list[_Point]
    partial: bool


def _load_window(store: Store, slack_user_id: str, lo: float, hi: float, new_ids: set[str],
                 rules: FocusRules, horizon: float) -> _Window:
    """The `change_window` of new heartbeats in [lo, hi], from the heartbeats loaded around it.

    An edge is settled when its walk stopped on a loaded heartbeat that has a loaded one
    beyond it, or when nothing unloaded can be within a timeout of it; else the load is
    widened. A pad >= 3 * timeout + min_block always settles; in a dense session the first
    (min_block + up to 2 minutes) does."""
    timeout = rules.timeout_seconds
    pad = max(timeout, rules.min_block_seconds) + min(timeout, 120.0)
    while True:
        start, end = lo - pad, hi + pad
        points = store.heartbeat_points(slack_user_id, start, end)
        old = [t for t, _, key in points if key not in new_ids]
        a, b = change_window(old, lo, hi, rules)
        if (a - start >= timeout or a > old[0]) and (end - b > timeout or b < old[-1]):
            mine = {t for t, _, key in points if key in new_ids and lo <= t <= hi}
            return _Window(a, b, mine, points, start < horizon)
        pad *= 2


def _merged(windows: list[_Window]) -> list[_Window]:
    """Windows that overlap or touch joined into one (their loads then cover it together)."""
    out: list[_Window] = []
    for w in sorted(windows, key=lambda w: w.a):
        last = out[-1] if out else None
        if last is None or w.a > last.b:
            out.append(w)
            continue
        points = sorted(dict.fromkeys(last.points + w.points), key=lambda p: p[0])
        out[-1] = _Window(last.a, max(last.b, w.b), last.new_times | w.new_times, points, False)
    return out


def _change(slack_user_id: str, w: _Window, new_ids: set[str], tz: ZoneInfo, rules: FocusRules) -> list[FocusDay]:
    """Per day, the figures of all heartbeats in [a, b] minus those of the old ones: every day
    with data after, except unchanged days that had data before too."""
    before: list[Heartbeat] = []
    after: list[Heartbeat] = []
    for t, project, key in w.points:
        if w.a <= t <= w.b:
            hb = Heartbeat(slack_user_id, t, "", "file", None, project)
            after.append(hb)
            if key not in new_ids:
                before.append(hb)
    old = {r.day: r for r in focus_days(slack_user_id, before, tz, rules)}
    out: list[FocusDay] = []
    for r in focus_days(slack_user_id, after, tz, rules):
        o = old.get(r.day)
        if o is None:
            out.append(r)
            continue
        d = FocusDay(slack_user_id, r.day, r.focus_seconds - o.focus_seconds, r.active_seconds - o.active_seconds,
                     r.research_seconds - o.research_seconds, r.engineering_seconds - o.engineering_seconds,
                     r.blocks - o.blocks)
        if any(d[2:]):
            out.append(d)
    return out


def apply_new_heartbeats(store: Store, slack_user_id: str, fresh: Sequence[Heartbeat], tz: ZoneInfo,
                         rules: FocusRules, horizon: float, now: datetime) -> None:
    """Move a person's rollups by the change just-stored new heartbeats `fresh` make (call in
    the transaction that stored them). Per window (see the module docstring) the change is
    added to the rows; a window whose load reaches before `horizon` recomputes its days."""
    new_ids = {heartbeat_id(h) for h in fresh}
    windows: list[_Window] = []
    fallback: list[_Window] = []
    for lo, hi in _clusters(sorted({float(h.time) for h in fresh}), rules):
        w = _load_window(store, slack_user_id, lo, hi, new_ids, rules, horizon)
        if w.partial:
            fallback.append(w)
        else:
            windows.append(w)
    for w in _merged(windows):
        store.add_focus_days(slack_user_id, _change(slack_user_id, w, new_ids, tz, rules), now)
    if fallback:
        days = affected_days([t for w in fallback for t in w.new_times], tz, rules)
        refresh_days(store, slack_user_id, days, tz, rules, horizon, now)


def record_heartbeats(store: Store, slack_user_id: str, heartbeats: Sequence[Heartbeat],
                      settings: Settings, now: datetime) -> list[bool]:
    """Store one person's heartbeats and update the rollups of the days they change, in one
    transaction; per heartbeat, True when it was new (a duplicate is stored once)."""
    if not heartbeats:
        return []
    rules = FocusRules.from_settings(settings)
    with store.transaction():
        new = store.insert_heartbeats(heartbeats, now.timestamp())
        fresh = [hb for hb, is_new in zip(heartbeats, new) if is_new]
        if fresh:
            tz = People(store, settings).timezone(slack_user_id)
            apply_new_heartbeats(store, slack_user_id, fresh, tz, rules, raw_horizon(settings, now), now)
    return new


def rebuild_rollups(store: Store, settings: Settings, slack_user_id: str, now: datetime) -> int:
    """Recompute a person's rollups for every day still covered by raw heartbeats (after their
    timezone changed: local days move). Older days keep their rollups. Returns days written."""
    rules = FocusRules.from_settings(settings)
    horizon = raw_horizon(settings, now)
    with store.transaction():
        tz = People(store, settings).timezone(slack_user_id)
        first = local_date(horizon, tz)
        if day_bounds(first, tz)[0] < horizon:
            first += timedelta(days=1)  # that day is partly pruned: leave it
        start = day_bounds(first, tz)[0]
        beats = store.heartbeats_between(slack_user_id, start, _FAR_FUTURE)
        if not beats:
            return 0  # nothing to recut from: keep what there is
        existing = store.focus_days(first, date.max, [slack_user_id])  # rows of days that may move away
        last = max([r.day for r in existing] + ([local_date(beats[-1].time, tz)] if beats else []), default=None)
        if last is None or last < first:
            return 0
        return len(refresh_days(store, slack_user_id, _dates(start, day_bounds(last, tz)[0], tz), tz, rules,
                                horizon, now))


def prune_heartbeats_job(store: Store, settings: Settings, now: datetime) -> int:
    """Delete raw heartbeats older than the retention (plus `PRUNE_MARGIN`); rollups stay."""
    return store.prune_heartbeats(raw_horizon(settings, now))

