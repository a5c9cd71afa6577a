"""`research-bridge report pipelines` and `report delivery`: the `/pipelines` figures and the
delivery (DORA) metrics for scripts and BI tools.

`pipeline_rows` and `delivery_rows` are the one definition of an exported row; table, JSON
and CSV are three encodings of it (`bot.reports.encode`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Sequence

import click

from bot.clock import utc_now
from bot.formatting import iso_utc
from bot.metrics.delivery import DeliveryMetrics
from bot.metrics.reliability import ALL, PipelineSummary
from bot.reports import FORMATS, encode
from bot.store import Store

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


def encode_rows(rows: list[dict], fmt: str, fields: Sequence[str], columns: Sequence[tuple[str, str]]) -> str:
    """`bot.reports.encode` with these columns (also for an empty CSV header)."""
    if fmt == "csv" and not rows:
        return ",".join(fields)
    return encode(rows, fmt, columns)


def _open_store(ctx: click.Context, db: str | None) -> tuple[Any, Store]:
    from bot.cli import (  # the group's helpers (imported late: cli imports us)
        _settings,
        _store,
    )

    settings = _settings(ctx)
    return settings, _store(settings, db, existing=True)


@click.command("pipelines")
@click.option("--window", type=click.Choice(list(WINDOW_DAYS)), default="30d", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file (default: $BRIDGE_DB or bridge.db).")
@click.pass_context
def pipelines(ctx: click.Context, window: str, fmt: str, db: str | None) -> None:
    """Reliability per pipeline over the window, worst first.

    Columns: pipeline, source, runs, success, failed, cancelled, skipped, reliability
    (success / (success + failed), 0..1, null when neither), previous_reliability (the window
    before), trend (reliability - previous_reliability), failure_streak (failed runs in a row
    up to now), last_status, last_finished_at (ISO 8601 UTC), last_url.
    """
    from bot.queries.pipelines import PipelineQueries

    settings, store = _open_store(ctx, db)
    summaries = PipelineQueries(store, settings).summaries(utc_now(), WINDOW_DAYS[window])  # as /pipelines
    rows = pipeline_rows(summaries)
    click.echo(encode_rows(rows, fmt, PIPELINE_FIELDS, PIPELINE_COLUMNS))


@click.command("delivery")
@click.option("--window", type=click.Choice(["30d", "90d"]), default="30d", show_default=True)
@click.option("--by-target", is_flag=True, help="Add one row per deployed service or model.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file (default: $BRIDGE_DB or bridge.db).")
@click.pass_context
def delivery(ctx: click.Context, window: str, by_target: bool, fmt: str, db: str | None) -> None:
    """Delivery metrics (deployment frequency, lead time, change failure rate, time to
    restore, model rollback rate) over the window: one row for all targets (`target` null in
    JSON, empty in CSV, "(all)" in the table), then one per service or model with
    --by-target. Columns: the `DeliveryMetrics` fields (formulas in bot/metrics/delivery.py);
    seconds whole, rates 0..1 (null when there is nothing to divide by), times ISO 8601 UTC.
    """
    from bot.queries.pipelines import PipelineQueries

    settings, store = _open_store(ctx, db)
    queries = PipelineQueries(store, settings)
    now, days = utc_now(), WINDOW_DAYS[window]
    targets = queries.delivery_by_target(now, days) if by_target else None
    rows = delivery_rows(queries.delivery(now, days), targets)
    if fmt == "table":
        rows[0]["target"] = ALL
    click.echo(encode(rows, fmt, DELIVERY_COLUMNS))
