"""Per person-day Focus Time rollups, kept up to date as heartbeats arrive.

Queries read `focus_days` only. Each batch of heartbeats is stored and, in the same
transaction, the rollups of every day it can change are recomputed (`affected_days`: a new
heartbeat's own local day, and the neighbouring one when it is within timeout + min_block of
midnight) from raw heartbeats widened to whole sessions, so a session crossing midnight or
joined to its neighbours by a late heartbeat is seen whole. Late and out-of-order heartbeats
simply recompute their days. Raw heartbeats are pruned after the retention; rollups stay.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Settings
from bot.metrics.focus import (
    FocusRules,
    day_bounds,
    focus_days,
    local_date,
    session_window,
)
from bot.models import FocusDay, Heartbeat
from bot.store import Store

log = logging.getLogger(__name__)

# Raw heartbeats are kept this much longer than the retention, so the oldest day a heartbeat
# may still be accepted for (retention days ago, a local day starting up to ~26 h earlier)
# is always complete when a late heartbeat makes it recompute.
PRUNE_MARGIN = timedelta(days=2)
_FAR_FUTURE = 1e12  # epoch seconds (year 33658): "no upper bound" for heartbeat queries


def person_timezone(store: Store, settings: Settings, slack_user_id: str) -> ZoneInfo:
    """The person's Slack timezone when known (cached profile), else the organisation's."""
    profile = store.profile(slack_user_id)
    name = profile.get("tz") if profile else None
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: e.g. "Europe" is a directory
            log.warning("unknown timezone %r for %s; using %s", name, slack_user_id, settings.timezone)
    return settings.tz


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


def record_heartbeats(store: Store, slack_user_id: str, heartbeats: Sequence[Heartbeat],
                      settings: Settings, now: datetime) -> list[bool]:
    """Store one person's heartbeats and update the rollups of the days they change, in one
    transaction; per heartbeat, True when it was new (a duplicate is stored once)."""
    if not heartbeats:
        return []
    rules = FocusRules.from_settings(settings)
    with store.transaction():
        new = store.insert_heartbeats(heartbeats, now.timestamp())
        fresh = sorted({hb.time for hb, is_new in zip(heartbeats, new) if is_new})
        if fresh:
            tz = person_timezone(store, settings, slack_user_id)
            refresh_days(store, slack_user_id, affected_days(fresh, tz, rules), tz, rules,
                         raw_horizon(settings, now), now)
    return new


def rebuild_rollups(store: Store, settings: Settings, slack_user_id: str, now: datetime) -> int:
    """Recompute a person's rollups for every day still covered by raw heartbeats (after their
    timezone changed: local days move). Older days keep their rollups. Returns days written."""
    rules = FocusRules.from_settings(settings)
    horizon = raw_horizon(settings, now)
    with store.transaction():
        tz = person_timezone(store, settings, slack_user_id)
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

