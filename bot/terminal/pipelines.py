"""Pipelines and delivery for the terminal: the `report pipelines` and `report delivery` rows
(one definition of an exported row each), and the demo's `/pipelines` and delivery views."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.formatting import duration, iso_utc, local_time, percent, plural
from bot.metrics.delivery import DeliveryMetrics
from bot.metrics.reliability import PipelineSummary
from bot.queries.pipelines import PipelineDetail, PipelineQueries, PipelinesOverview
from bot.slack.blocks.pipelines import (
    counts,
    current_streak,
    paired,
    reliability,
    run_duration,
    streak_text,
    trend_arrow,
)
from bot.terminal.encode import text_table

WINDOW_DAYS = {"7d": 7, "30d": 30, "90d": 90}


PIPELINE_FIELDS = (
    "pipeline", "source", "runs", "success", "failed", "cancelled", "skipped", "reliability",
    "previous_reliability", "trend", "failure_streak", "last_status", "last_finished_at", "last_url",
)


PIPELINE_COLUMNS = [
    ("pipeline", "pipeline"), ("source", "source"), ("runs", "runs"), ("success", "success"),
    ("failed", "failed"), ("cancelled", "cancelled"), ("skipped", "skipped"), ("reliability", "reliability"),
    ("trend", "trend"), ("failure_streak", "streak"), ("last_status", "last status"),
    ("last_finished_at", "last finished"),
]


DELIVERY_COLUMNS = [
    ("target", "target"), ("production_deployments", "prod deploys"),
    ("deployment_frequency_per_week", "per week"), ("lead_time_median_seconds", "lead time median s"),
    ("change_failure_rate", "change failure rate"), ("time_to_restore_median_seconds", "restore median s"),
    ("rollbacks", "rollbacks"), ("rollback_rate", "rollback rate"), ("open_incidents", "open incidents"),
]


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def pipeline_rows(summaries: Sequence[PipelineSummary]) -> list[dict]:
    """One dict per pipeline, worst first; `reliability` 0..1 or None (no success or failure),
    `trend` its change against the window before (None without one), times ISO 8601 UTC."""
    return [
        {
            "pipeline": s.pipeline,
            "source": s.source,
            "runs": s.current.runs,
            "success": s.current.success,
            "failed": s.current.failed,
            "cancelled": s.current.cancelled,
            "skipped": s.current.skipped,
            "reliability": _ratio(s.current.reliability),
            "previous_reliability": _ratio(s.previous.reliability),
            "trend": _ratio(s.trend),
            "failure_streak": s.streak,
            "last_status": s.current.last_status,
            "last_finished_at": iso_utc(s.current.last_finished_at),
            "last_url": s.current.last_url,
        }
        for s in summaries
    ]


def _plain(name: str, value: Any) -> Any:
    """A JSON/CSV-ready value: times ISO 8601 UTC, seconds whole, other numbers to 4 places."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, float):
        return round(value) if name.endswith("_seconds") else round(value, 4)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return None  # nested detail stays out of a flat row
    return value


def metrics_dict(metrics: DeliveryMetrics) -> dict:
    """The scalar fields of a `DeliveryMetrics`, in their declared order."""
    if dataclasses.is_dataclass(metrics):
        raw = {f.name: getattr(metrics, f.name) for f in dataclasses.fields(metrics)}
    else:
        raw = metrics._asdict()  # a NamedTuple
    return {k: _plain(k, v) for k, v in raw.items() if not isinstance(v, (list, tuple, set, frozenset, dict))}


def delivery_rows(overall: DeliveryMetrics, by_target: dict[str, DeliveryMetrics] | None = None) -> list[dict]:
    """The overall row (`target` None), then one row per target when asked."""
    rows = [{"target": None, **metrics_dict(overall)}]
    for target, metrics in sorted((by_target or {}).items()):
        rows.append({"target": target, **metrics_dict(metrics)})
    return rows


def pipelines_text(overview: PipelinesOverview, limit: int = 25) -> str:
    """The terminal twin of `/pipelines`."""
    rows = paired(overview)
    if not rows:
        return "No pipeline runs in the last 30 days."
    lines = [
        "Pipeline reliability, worst first (success ÷ (success + failed); ! = on a failure streak)",
        f"  all pipelines: 7 days {reliability(overview.overall_week)} ({counts(overview.overall_week)})"
        f" · 30 days {reliability(overview.overall_month)} ({counts(overview.overall_month)})",
    ]
    table = []
    for week, month in rows[:limit]:
        s = week or month
        if s is None:
            raise ValueError("paired() gave a row with neither summary")
        streak = current_streak(week, month)
        table.append([
            s.pipeline + (" !" if streak else ""),
            s.source,
            reliability(week.current if week else None),
            trend_arrow(week.trend) if week else "",
            str(week.current.runs if week else 0),
            reliability(month.current if month else None),
            trend_arrow(month.trend) if month else "",
            str(month.current.runs if month else 0),
            str(month.current.failed if month else 0),
            streak_text(streak) or "—",
        ])
    lines.append(text_table(table, ["pipeline", "source", "7d", "trend", "runs", "30d", "trend", "runs",
                                    "failed", "failure streak"]))
    if len(rows) > limit:
        lines.append(f"…and {len(rows) - limit} more (research-bridge report pipelines)")
    return "\n".join(lines)


def delivery_text(metrics: DeliveryMetrics) -> str:
    """The terminal twin of the delivery summary (DORA for ML services and models)."""
    m = metrics
    days = max(1, round((m.end - m.start).total_seconds() / 86400))
    frequency = "—" if m.deployment_frequency_per_week is None else f"{m.deployment_frequency_per_week:.1f} a week"
    return "\n".join([
        f"Delivery, last {days} days ({m.start:%Y-%m-%d} – {m.end:%Y-%m-%d})",
        f"  deployment frequency: {frequency} to production ({m.successful_production_deployments} successful of"
        f" {plural(m.production_deployments, 'production deployment')}, on {plural(m.deployment_days, 'day')};"
        f" {m.deployments} in all environments)",
        f"  lead time for changes: median {duration(m.lead_time_median_seconds)}"
        f" · p90 {duration(m.lead_time_p90_seconds)} ({plural(m.lead_time_samples, 'deployment')} with a known commit)",
        f"  change failure rate: {percent(m.change_failure_rate)}"
        f" ({m.failed_deployments} failed, rolled back or causing an incident)",
        f"  time to restore: median {duration(m.time_to_restore_median_seconds)}"
        f" · p90 {duration(m.time_to_restore_p90_seconds)} ({plural(m.incidents, 'incident')}, {m.open_incidents} open)",
        f"  model rollback rate: {percent(m.model_rollback_rate)} ({m.model_rollbacks} of"
        f" {plural(m.model_production_deployments, 'production model deployment')})"
        f" · all targets {percent(m.rollback_rate)} ({plural(m.rollbacks, 'rollback')})",
    ])


def pipeline_detail_text(detail: PipelineDetail, tz: ZoneInfo, limit: int = 10) -> str:
    """The terminal twin of `/pipelines NAME`."""
    week, month = detail.summary_week, detail.summary_month
    streak = streak_text(current_streak(week, month))
    lines = [
        f"{detail.pipeline} ({detail.source}) — recent runs, times in {tz.key}",
        f"  7 days {reliability(week.current)} {trend_arrow(week.trend)} ({counts(week.current)})"
        f" · 30 days {reliability(month.current)} {trend_arrow(month.trend)} ({counts(month.current)})"
        + (f" · {streak}" if streak else ""),
    ]
    rows = [[r.status, str(r.attempt), local_time(r.finished_at, tz), run_duration(r), r.url or ""]
            for r in detail.recent[:limit]]
    lines.append(text_table(rows, ["status", "attempt", "finished", "took", "link"]))
    return "\n".join(lines)


def demo_pipelines_text(queries: PipelineQueries, settings: Settings, now: datetime) -> str:
    """What the demo prints: `/pipelines`, the detail of the worst pipeline, and delivery."""
    overview = queries.overview(now)
    parts = ["/pipelines", pipelines_text(overview)]
    if overview.week:
        name = overview.week[0].pipeline
        detail = queries.detail(name, now)
        if detail is not None:
            parts += ["", f"/pipelines {name}", pipeline_detail_text(detail, settings.tz)]
    parts += ["", "Delivery (DORA for ML services and models)", delivery_text(queries.delivery(now, 30))]
    return "\n".join(parts)
