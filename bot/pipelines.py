"""Pipeline and delivery queries for Slack, the CLI, the digest and the demo: store -> metrics.

Presentation layers call these and render; none of them touches SQL or the rules
(`bot.metrics.reliability`, `bot.metrics.delivery`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from bot.config import Settings
from bot.metrics.delivery import DeliveryMetrics, delivery_by_target, delivery_metrics
from bot.metrics.reliability import (
    PipelineStats,
    PipelineSummary,
    empty_stats,
    final_attempts,
    overall,
    summarize_windows,
)
from bot.models import Deployment, Incident, PipelineRun
from bot.store import Store

WEEK_DAYS = 7
MONTH_DAYS = 30
READ_DAYS = 2 * MONTH_DAYS  # the 30-day window and the one before it: all the overview reads
HISTORY = timedelta(days=365)  # deployments read before a delivery window (rollback inference)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_SUGGESTIONS = 10


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

    def __init__(self, store: Store, settings: Settings, is_model: Callable[[str], bool] | None = None):
        self.store = store
        self.settings = settings
        self.is_model = is_model  # which deployment targets are models (default: all)

    # -- reliability -----------------------------------------------------------------------

    def overview(self, now: datetime) -> PipelinesOverview:
        """7- and 30-day summaries of every pipeline, from one read of the last 60 days.
        Failure streaks therefore reach back at most 60 days."""
        runs = self.store.pipeline_runs(now - timedelta(days=READ_DAYS), now)
        by_window = summarize_windows(runs, now, (WEEK_DAYS, MONTH_DAYS))
        week, month = by_window[WEEK_DAYS], by_window[MONTH_DAYS]
        return PipelinesOverview(
            now=now,
            week=week,
            month=month,
            overall_week=overall(s.current for s in week),
            overall_month=overall(s.current for s in month),
        )

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
        start, deployments, incidents, commits = self._delivery_inputs(now, window_days)
        return delivery_metrics(deployments, incidents, start, now, commits,
                                tz=self.settings.tz, is_model=self.is_model)

    def delivery_by_target(self, now: datetime, window_days: int = 30) -> dict[str, DeliveryMetrics]:
        """`delivery` per service or model, keyed and ordered by target."""
        start, deployments, incidents, commits = self._delivery_inputs(now, window_days)
        return delivery_by_target(deployments, incidents, start, now, commits,
                                  tz=self.settings.tz, is_model=self.is_model)
