"""`research-bridge report handoffs|focus|pipelines|delivery|experiments|initiatives`: exports
for scripts and BI tools (the research ones live in `bot.cli.report_research`).

Each row is defined once in `bot.terminal` and encoded by `bot.terminal.encode`. `report focus`
is run by an operator on the server (it reads the database directly); it is not a way
around the privacy rule in Slack."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from bot.cli.options import db_option, format_option, settings_of, store_of
from bot.cli.report_research import COMMANDS as RESEARCH_COMMANDS
from bot.clock import utc_now
from bot.config import Settings
from bot.metrics.reliability import ALL
from bot.store import Store
from bot.terminal.encode import encode
from bot.terminal.focus import FOCUS_COLUMNS, FOCUS_FIELDS, export_range, focus_rows
from bot.terminal.pipelines import (
    DELIVERY_COLUMNS,
    PIPELINE_COLUMNS,
    PIPELINE_FIELDS,
    WINDOW_DAYS,
    delivery_rows,
    pipeline_rows,
)


@click.group()
def report() -> None:
    """Export metrics for scripts and BI tools (table, JSON or CSV)."""


@report.command("handoffs")
@click.option("--window", type=click.Choice(["7d", "30d", "90d", "quarter"]), default="30d", show_default=True)
@click.option("--state", type=click.Choice(["open", "picked_up", "delivered", "withdrawn"]), help="Only cycles in this state.")
@format_option
@db_option
@click.pass_context
def report_handoffs(ctx: click.Context, window: str, state: str | None, fmt: str, db: str | None) -> None:
    """Handoff cycles active in the window (plus every open one), oldest first."""
    from bot.formatting import business_days
    from bot.queries.handoffs import HandoffQueries
    from bot.terminal.handoffs import HANDOFF_FIELDS, handoff_rows, parse_state

    settings = settings_of(ctx)
    queries = HandoffQueries(store_of(settings, db, existing=True), settings)
    now = utc_now()
    rows = handoff_rows(queries.filtered(window, now, parse_state(state)), now, queries.calendar)
    if fmt == "table":  # for people: business days, as Slack shows them; JSON and CSV keep seconds
        per_day = queries.calendar.seconds_per_workday
        rows = [{**r, "business_wait": business_days(r["business_wait_seconds"], per_day)} for r in rows]
    columns = [("key", "key"), ("state", "state"), ("team", "team"), ("requested_at", "requested"),
               ("picked_up_at", "picked up"), ("business_wait", "business wait"), ("summary", "summary")]
    click.echo(encode(rows, fmt, HANDOFF_FIELDS, columns))


@report.command("focus")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3660),
              help="How many local dates back, today included.")
@format_option
@db_option
@click.pass_context
def report_focus(ctx: click.Context, days: int, fmt: str, db: str | None) -> None:
    """Focus Time per person-day (days with data only), by person then date.

    Columns: slack_user, date (the person's local date, YYYY-MM-DD), focus_seconds,
    active_seconds (all session time), research_seconds, engineering_seconds, blocks.
    """

    settings = settings_of(ctx)
    now: datetime = utc_now()
    start, end = export_range(now.astimezone(settings.tz).date(), days)
    # One day past the org's today: people east of the organisation may already be on it.
    rows = focus_rows(store_of(settings, db, existing=True).focus_days(start, end + timedelta(days=1)))
    click.echo(encode(rows, fmt, FOCUS_FIELDS, FOCUS_COLUMNS))


@report.command("pipelines")
@click.option("--window", type=click.Choice(list(WINDOW_DAYS)), default="30d", show_default=True)
@format_option
@db_option
@click.pass_context
def report_pipelines(ctx: click.Context, window: str, fmt: str, db: str | None) -> None:
    """Reliability per pipeline over the window, worst first.

    Columns: pipeline, source, runs, success, failed, cancelled, skipped, reliability
    (success / (success + failed), 0..1, null when neither), previous_reliability (the window
    before), trend (reliability - previous_reliability), failure_streak (failed runs in a row
    up to now), last_status, last_finished_at (ISO 8601 UTC), last_url.
    """
    from bot.queries.pipelines import PipelineQueries

    settings, store = _read(ctx, db)
    summaries = PipelineQueries(store, settings).summaries(utc_now(), WINDOW_DAYS[window])  # as /pipelines
    rows = pipeline_rows(summaries)
    click.echo(encode(rows, fmt, PIPELINE_FIELDS, PIPELINE_COLUMNS))


@report.command("delivery")
@click.option("--window", type=click.Choice(["30d", "90d"]), default="30d", show_default=True)
@click.option("--by-target", is_flag=True, help="Add one row per deployed service or model.")
@format_option
@db_option
@click.pass_context
def report_delivery(ctx: click.Context, window: str, by_target: bool, fmt: str, db: str | None) -> None:
    """Delivery metrics (deployment frequency, lead time, change failure rate, time to
    restore, model rollback rate) over the window: one row for all targets (`target` null in
    JSON, empty in CSV, "(all)" in the table), then one per service or model with
    --by-target. Columns: the `DeliveryMetrics` fields (formulas in bot/metrics/delivery.py);
    seconds whole, rates 0..1 (null when there is nothing to divide by), times ISO 8601 UTC.
    """
    from bot.queries.pipelines import PipelineQueries

    settings, store = _read(ctx, db)
    queries = PipelineQueries(store, settings)
    now, days = utc_now(), WINDOW_DAYS[window]
    targets = queries.delivery_by_target(now, days) if by_target else None
    rows = delivery_rows(queries.delivery(now, days), targets)
    if fmt == "table":
        rows[0]["target"] = ALL
    click.echo(encode(rows, fmt, list(rows[0]), DELIVERY_COLUMNS))


def _read(ctx: click.Context, db: str | None) -> tuple[Settings, Store]:
    settings = settings_of(ctx)
    return settings, store_of(settings, db, existing=True)


for research_command in RESEARCH_COMMANDS:
    report.add_command(research_command)
command = report
