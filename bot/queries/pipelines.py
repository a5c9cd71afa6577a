"""Pipeline and delivery queries for Slack, the CLI, the digest and the demo: store -> metrics.

Presentation layers call these and render; none of them touches SQL or the rules
(`bot.metrics.reliability`, `bot.metrics.delivery`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence

from bot.config import Settings
from bot.metrics.delivery import DeliveryMetrics, delivery_by_target, delivery_metrics
from bot.metrics.reliability import (
    PipelineStats,
    PipelineSummary,
    empty_stats,
    failure_streak,
    final_attempts,
    overall,
    stats_from_counts,
    summarize_windows,
    trend,
    worst_first,
)
from bot.models import Deployment, Incident, PipelineRun
from bot.store import Store

WEEK_DAYS = 7
MONTH_DAYS = 30
READ_DAYS = 2 * MONTH_DAYS  # the 30-day window and the one before it: all the overview reads
HISTORY = timedelta(days=365)  # deployments read before a delivery window (rollback inference)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_SUGGESTIONS = 10
STREAK_READ = 10  # latest attempts read per pipeline for its streak (more when all failed)
_COUNTED = ("runs", "success", "failed", "cancelled", "skipped")


def _add(bucket: dict[str, dict], pipeline: str, source: str, counts: dict) -> None:
    into = bucket.setdefault(pipeline, {"source": source})
    for key, value in counts.items():
        into[key] = into.get(key, 0) + value


def _merge(*buckets: dict[str, dict]) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for bucket in buckets:
        for pipeline, counts in bucket.items():
            _add(merged, pipeline, counts["source"], {k: v for k, v in counts.items() if k != "source"})
    return merged


def _day_start(day) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


@dataclass(frozen=True)
class PipelinesOverview:
    """Every pipeline over 7 and 30 days, worst first (see `reliability.worst_first`)."""

    now: datetime
    week: list[PipelineSummary]  # [now - 7d, now) against [now - 14d, now - 7d)
    month: list[PipelineSummary]  # [now - 30d, now) against [now - 60d, now - 30d)
    overall_week: PipelineStats  # all pipelines pooled, last 7 days
    overall_month: PipelineStats  # all pipelines pooled, last 30 days


@dataclass(frozen=True)
class PipelineDetail:
    """One pipeline: its 7- and 30-day summaries and its latest runs."""

    pipeline: str
    source: str
    summary_week: PipelineSummary
    summary_month: PipelineSummary
    recent: list[PipelineRun]  # final attempts, newest first


class PipelineQueries:
    """Read side of pipelines and delivery, bound to a store and the settings."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        # Which deployment targets are models ([delivery] model_targets; without it, all).
        self.is_model = settings.delivery.is_model if settings.delivery.model_targets else None

    def pipeline_names(self) -> list[str]:
        """Every pipeline name with runs, for suggestions and "nothing connected yet"."""
        return self.store.pipeline_names()

    # -- reliability -----------------------------------------------------------------------

    def overview(self, now: datetime) -> PipelinesOverview:
        """7- and 30-day summaries of every pipeline with runs in the last 60 days.

        Counts come from the per-day rollups for the whole UTC days inside each window and from
        raw final attempts only for the partial days at its two edges, so the cost follows the
        number of pipelines, not the number of runs. Failure streaks and the latest run come
        from each pipeline's most recent attempts (the (pipeline, finished_at) index)."""
        # Four consecutive buckets between five boundaries serve both window pairs:
        # week = b3, the week before = b2, month = b1 + b2 + b3, the month before = b0.
        b0, b1, b2, b3 = self._bucket_counts([now - timedelta(days=d) for d in (60, 30, 14, 7, 0)])
        result = self._summaries(now, {WEEK_DAYS: (b3, b2), MONTH_DAYS: (_merge(b1, b2, b3), b0)})
        week, month = result[WEEK_DAYS], result[MONTH_DAYS]
        return PipelinesOverview(now=now, week=week, month=month,
                                 overall_week=overall(s.current for s in week),
                                 overall_month=overall(s.current for s in month))

    def summaries(self, now: datetime, days: int) -> list[PipelineSummary]:
        """Every pipeline over [now - days, now) against the window before, worst first: the
        figures `/pipelines` shows (for 7 and 30 days) and `report pipelines` exports."""
        before, current = self._bucket_counts([now - timedelta(days=d) for d in (2 * days, days, 0)])
        return self._summaries(now, {days: (current, before)})[days]

    def _summaries(self, now: datetime, windows: dict[int, tuple[dict, dict]]) -> dict[int, list[PipelineSummary]]:
        """Per window length: (counts in the window, counts in the window before) -> summaries,
        with each pipeline's latest run and failure streak from its state row."""
        names = {name for cur, prev in windows.values() for name in cur.keys() | prev.keys()}
        states: dict[str, PipelineRun] = {}
        streaks: dict[str, int] = {}
        for name, source, run_id, attempt, status, finished, url, streak in self.store.pipeline_states():
            if name not in names or (name in states and states[name].finished_at >= finished):
                continue
            states[name] = PipelineRun(source, name, run_id, attempt, status, finished, url=url)
            streaks[name] = streak
        latest: dict[str, PipelineRun | None] = dict(states)
        for name in names:
            if name not in states or states[name].finished_at >= now:  # state is newer than `now`
                finals = self._recent_finals(name, now)
                latest[name], streaks[name] = (finals[-1] if finals else None), failure_streak(finals)
        result: dict[int, list[PipelineSummary]] = {}
        for days, (cur, prev) in windows.items():
            start = now - timedelta(days=days)
            rows = []
            for name in cur.keys() | prev.keys():
                last = latest[name]
                source = last.source if last else (cur.get(name) or prev[name])["source"]
                in_window = last if last is not None and last.finished_at >= start else None
                current = stats_from_counts(name, source, cur.get(name), in_window)
                previous = stats_from_counts(name, source, prev.get(name))
                rows.append(PipelineSummary(name, source, current, previous,
                                            trend(current.reliability, previous.reliability), streaks[name]))
            result[days] = sorted(rows, key=worst_first)
        return result

    def pooled_between(self, bounds: list[datetime]) -> list[PipelineStats]:
        """All pipelines pooled, per period [bounds[i], bounds[i+1]) (e.g. weeks for a chart)."""
        stats = []
        for bucket in self._bucket_counts(bounds):
            stats.append(overall(stats_from_counts(name, c["source"], c) for name, c in bucket.items()))
        return stats

    def _bucket_counts(self, bounds: list[datetime]) -> list[dict[str, dict]]:
        """Per bucket [bounds[i], bounds[i+1]), pipeline -> counts of final attempts (and a
        source). Whole UTC days between two boundaries come from the day rollups; the days
        the boundaries fall on are read raw and split at the boundary."""
        bounds = [b.astimezone(timezone.utc) for b in bounds]
        buckets: list[dict[str, dict]] = [{} for _ in bounds[:-1]]
        days = [b.date() for b in bounds]
        cuts = []
        for i, day in enumerate(days):  # full days of bucket i: (days[i], days[i+1])
            cuts += [day.isoformat()] if i == 0 else [day.isoformat(), (day + timedelta(days=1)).isoformat()]
        cuts[0] = (days[0] + timedelta(days=1)).isoformat()
        for pipeline, source, k, *counts in self.store.pipeline_day_totals(cuts):
            if k % 2 == 0:  # odd buckets are the boundary days, read raw below
                _add(buckets[k // 2], pipeline, source, dict(zip(_COUNTED, counts)))
        last = len(bounds) - 1
        for i, bound in enumerate(bounds):
            since = bound if i == 0 else _day_start(days[i])
            until = bound if i == last else _day_start(days[i] + timedelta(days=1))
            for pipeline, source, before, status, n in self.store.final_run_counts_between(since, until, bound):
                k = i - 1 if before else i
                if 0 <= k < last:
                    _add(buckets[k], pipeline, source, {"runs": n, status: n})
        return buckets

    def _recent_finals(self, pipeline: str, now: datetime) -> list[PipelineRun]:
        """Final attempts of a pipeline's latest runs before `now`, oldest first: enough of
        them to reach back to a success (or the very first run), so the streak is complete.
        A run counts by its final attempt even when that attempt came after `now` (it then
        drops out), as in `reliability.summarize_windows`: hence final attempts only."""
        limit = STREAK_READ
        while True:
            recent = self.store.latest_runs(pipeline, now, limit, finals_only=True)
            finals = recent[::-1]
            if len(recent) < limit or any(r.status == "success" for r in finals):
                return finals
            limit *= 4

    def resolve(self, name: str) -> str | None:
        """The stored pipeline name `name` means: equal ignoring case, else the only name that
        contains it (ignoring case); None when unknown or ambiguous."""
        wanted = " ".join(name.split()).casefold()
        if not wanted:
            return None
        names = self.store.pipeline_names()
        exact = [n for n in names if n.casefold() == wanted]
        if exact:
            return exact[0] if len(exact) == 1 else (name if name in exact else None)
        partial = [n for n in names if wanted in n.casefold()]
        return partial[0] if len(partial) == 1 else None

    def detail(self, name: str, now: datetime, limit: int = 20) -> PipelineDetail | None:
        """One pipeline by name (see `resolve`): 7- and 30-day summaries and its `limit`
        latest final attempts, newest first (older than 60 days when it ran less lately);
        None when the name matches no pipeline, or several."""
        pipeline = self.resolve(name)
        if pipeline is None:
            return None
        runs = self.store.pipeline_runs(now - timedelta(days=READ_DAYS), now, pipeline=pipeline)
        finals = final_attempts(runs)
        if len(finals) < limit:
            finals = final_attempts(self.store.pipeline_runs(EPOCH, now, pipeline=pipeline))
        recent = finals[::-1][:limit]
        by_window = summarize_windows(runs, now, (WEEK_DAYS, MONTH_DAYS))
        source = recent[0].source if recent else ""

        def summary(days: int) -> PipelineSummary:
            found = by_window[days]
            if found:
                return found[0]
            empty = empty_stats(pipeline, source)
            streak = next((s.streak for rows in by_window.values() for s in rows), 0)
            return PipelineSummary(pipeline, source, empty, empty, None, streak)

        week, month = summary(WEEK_DAYS), summary(MONTH_DAYS)
        return PipelineDetail(pipeline, month.source or source, week, month, recent)

    def matching(self, text: str) -> list[str]:
        """Pipeline names to suggest for `text`: those containing it (ignoring case), then
        close spellings; at most 10."""
        wanted = " ".join(text.split()).casefold()
        if not wanted:
            return []
        names = self.store.pipeline_names()
        found = [n for n in names if wanted in n.casefold()]
        folded = {n.casefold(): n for n in names}
        for close in difflib.get_close_matches(wanted, list(folded), n=MAX_SUGGESTIONS, cutoff=0.6):
            if folded[close] not in found:
                found.append(folded[close])
        return found[:MAX_SUGGESTIONS]

    # -- delivery ----------------------------------------------------------------------------

    def _delivery_inputs(self, now: datetime, window_days: int
                         ) -> tuple[datetime, list[Deployment], list[Incident], dict[str, datetime]]:
        start = now - timedelta(days=window_days)
        deployments = self.store.deployments(start - HISTORY, now)
        incidents = self.store.incidents(start, now)
        unknown = [d.commit_sha for d in deployments
                   if d.commit_at is None and d.commit_sha and start <= d.finished_at]
        commits = self.store.commit_times(unknown) if unknown else {}
        return start, deployments, incidents, commits

    def delivery(self, now: datetime, window_days: int = 30) -> DeliveryMetrics:
        """DORA metrics over [now - window_days, now), all services and models together."""
        return self.delivery_windows([(now - timedelta(days=window_days), now)])[0]

    def delivery_windows(self, windows: Sequence[tuple[datetime, datetime]]) -> list[DeliveryMetrics]:
        """`delivery` for each [start, end) window (e.g. a week and the week before), from one
        read; each window sees only what was known at its end, as a run at that time would."""
        bounds = [(s.astimezone(timezone.utc), e.astimezone(timezone.utc)) for s, e in windows]
        first, last = min(s for s, _ in bounds), max(e for _, e in bounds)
        deployments = self.store.deployments(first - HISTORY, last)
        incidents = self.store.incidents(first, last)
        unknown = [d.commit_sha for d in deployments
                   if d.commit_at is None and d.commit_sha and first <= d.finished_at]
        commits = self.store.commit_times(unknown) if unknown else {}
        results = []
        for start, end in bounds:
            known = [d for d in deployments if d.finished_at < end]
            open_or_started = [i for i in incidents if i.started_at < end and (
                i.started_at >= start or i.resolved_at is None or i.resolved_at >= start)]
            results.append(delivery_metrics(known, open_or_started, start, end, commits,
                                            tz=self.settings.tz, is_model=self.is_model))
        return results

    def delivery_by_target(self, now: datetime, window_days: int = 30) -> dict[str, DeliveryMetrics]:
        """`delivery` per service or model, keyed and ordered by target."""
        start, deployments, incidents, commits = self._delivery_inputs(now, window_days)
        return delivery_by_target(deployments, incidents, start, now, commits,
                                  tz=self.settings.tz, is_model=self.is_model)
