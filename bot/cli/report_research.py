"""`research-bridge report experiments|initiatives`: the research exports, registered on the
`report` group. Rows and their columns are defined in `bot.terminal.research`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from bot.cli.options import db_option, format_option, settings_of, store_of
from bot.clock import utc_now
from bot.metrics.funnel import quarter_named, quarter_of
from bot.queries.research import WEEKS_SHOWN, ResearchQueries
from bot.terminal.encode import encode
from bot.terminal.research import (
    EXPERIMENT_COLUMNS,
    EXPERIMENT_DOC,
    EXPERIMENT_FIELDS,
    INITIATIVE_COLUMNS,
    INITIATIVE_DOC,
    INITIATIVE_FIELDS,
    MAX_WEEKS,
    columns_help,
    experiment_rows,
    initiative_rows,
    parse_weeks_window,
    window_weeks,
)

EXPERIMENTS_HELP = f"""Experiment velocity per team and ISO week (organisation's timezone), by team
("unassigned" last), then week, oldest first.

The weeks are whole ISO weeks: every week from the one holding the window's start to this one,
so far (7d: last week and this one; quarter: from the week holding the quarter's first day; Nw:
this week and the N - 1 before it). The default, {WEEKS_SHOWN}w, is what `/research` shows. A
team with no runs, commits or branches in any of the weeks is left out; activity of no team's
member is counted as "unassigned".

Columns (JSON and CSV; the table shows the median run as a duration, without week_start):

{columns_help(EXPERIMENT_DOC)}
"""

UTC = ZoneInfo("UTC")

INITIATIVES_HELP = f"""Research initiatives (Jira issues of [research] initiative_issue_types) and
their stage in a quarter of the organisation's timezone, one row per initiative, by key.

Columns (JSON and CSV: times ISO 8601 UTC or null; the table shows dates in the organisation's
timezone and the time to production as a duration):

{columns_help(INITIATIVE_DOC)}
"""


def _window(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return parse_weeks_window(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _quarter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return quarter_named(value, UTC).label  # the form only: the label is the same in every timezone
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("experiments", help=EXPERIMENTS_HELP)
@click.option("--window", default=f"{WEEKS_SHOWN}w", show_default=True, callback=_window,
              help=f"7d, 30d, 90d, quarter, or Nw: N ISO weeks up to this one (1 to {MAX_WEEKS}).")
@format_option
@db_option
@click.pass_context
def report_experiments(ctx: click.Context, window: str, fmt: str, db: str | None) -> None:
    """Velocity rows of the window's weeks (help: EXPERIMENTS_HELP)."""
    settings = settings_of(ctx)
    store = store_of(settings, db, existing=True)
    now = utc_now()
    _, teams, _ = ResearchQueries(store, settings).velocity(now, window_weeks(window, now, settings.tz))
    rows = experiment_rows(teams, readable=fmt == "table")
    click.echo(encode(rows, fmt, EXPERIMENT_FIELDS, EXPERIMENT_COLUMNS))


@click.command("initiatives", help=INITIATIVES_HELP)
@click.option("--quarter", callback=_quarter, metavar="YYYY-QN",
              help="The quarter, e.g. 2026-Q4 (default: the current one, in the organisation's timezone).")
@format_option
@db_option
@click.pass_context
def report_initiatives(ctx: click.Context, quarter: str | None, fmt: str, db: str | None) -> None:
    """Initiative rows of the quarter (help: INITIATIVES_HELP)."""
    settings = settings_of(ctx)
    store = store_of(settings, db, existing=True)
    tz = settings.tz
    chosen = quarter_named(quarter, tz) if quarter else quarter_of(utc_now(), tz)
    stages = ResearchQueries(store, settings).stages(chosen)
    rows = initiative_rows(stages, chosen, tz if fmt == "table" else None)
    click.echo(encode(rows, fmt, INITIATIVE_FIELDS, INITIATIVE_COLUMNS))


COMMANDS = (report_experiments, report_initiatives)
