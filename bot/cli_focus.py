"""`research-bridge report focus`: per person-day Focus Time for scripts and BI tools.

Run by an operator on the server (it reads the database directly); it is not a way around
the privacy rule in Slack. `focus_rows` is the one definition of an exported row.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Sequence

import click

from bot.clock import utc_now
from bot.models import FocusDay
from bot.reports import FORMATS, encode

FOCUS_FIELDS = (
    "slack_user",
    "date",
    "focus_seconds",
    "active_seconds",
    "research_seconds",
    "engineering_seconds",
    "blocks",
)
TABLE_COLUMNS = [
    ("slack_user", "slack user"),
    ("date", "date"),
    ("focus_seconds", "focus s"),
    ("active_seconds", "active s"),
    ("research_seconds", "research s"),
    ("engineering_seconds", "engineering s"),
    ("blocks", "blocks"),
]


def export_range(today: date, days: int) -> tuple[date, date]:
    """The last `days` local dates up to and including `today`."""
    return today - timedelta(days=days - 1), today


def focus_rows(days: Sequence[FocusDay]) -> list[dict]:
    """One dict per person-day with data; `date` is the person's local date, seconds whole."""
    return [
        {
            "slack_user": d.slack_user_id,
            "date": d.day.isoformat(),
            "focus_seconds": round(d.focus_seconds),
            "active_seconds": round(d.active_seconds),
            "research_seconds": round(d.research_seconds),
            "engineering_seconds": round(d.engineering_seconds),
            "blocks": d.blocks,
        }
        for d in days
    ]


def encode_focus(rows: list[dict], fmt: str) -> str:
    """`bot.reports.encode` with the focus columns (also for an empty CSV header)."""
    if fmt == "csv" and not rows:
        return ",".join(FOCUS_FIELDS)
    return encode(rows, fmt, TABLE_COLUMNS)


@click.command("focus")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3660),
              help="How many local dates back, today included.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file (default: $BRIDGE_DB or bridge.db).")
@click.pass_context
def focus(ctx: click.Context, days: int, fmt: str, db: str | None) -> None:
    """Focus Time per person-day (days with data only), by person then date.

    Columns: slack_user, date (the person's local date, YYYY-MM-DD), focus_seconds,
    active_seconds (all session time), research_seconds, engineering_seconds, blocks.
    """
    from bot.cli import (  # the group's helpers (imported late: cli imports us)
        _settings,
        _store,
    )

    settings = _settings(ctx)
    now: datetime = utc_now()
    start, end = export_range(now.astimezone(settings.tz).date(), days)
    # One day past the org's today: people east of the organisation may already be on it.
    rows = focus_rows(_store(settings, db, existing=True).focus_days(start, end + timedelta(days=1)))
    click.echo(encode_focus(rows, fmt))
