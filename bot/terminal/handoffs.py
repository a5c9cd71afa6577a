"""Handoff exports and terminal views: the same data as `/handoffs`, for people and scripts.

`handoff_rows` is the one definition of an exported row; table, JSON and CSV are three
encodings of it. The terminal views mirror the Slack ones for the demo and the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence
from zoneinfo import ZoneInfo

from bot import formatting as fmt
from bot.metrics.handoffs import (
    HandoffStats,
    business_wait_seconds,
    productionization_seconds,
    wait_seconds,
)
from bot.metrics.workcal import WorkCalendar
from bot.models import HandoffState, HandoffView
from bot.queries.handoffs import StatsReport
from bot.terminal.encode import text_table

HANDOFF_FIELDS = (
    "key",
    "cycle",
    "summary",
    "state",
    "team",
    "project",
    "requested_by",
    "requested_at",
    "picked_up_at",
    "delivered_at",
    "withdrawn_at",
    "wait_seconds",
    "business_wait_seconds",
    "productionization_seconds",
    "url",
)


def handoff_rows(views: Sequence[HandoffView], now: datetime, calendar: WorkCalendar) -> list[dict]:
    """One dict per handoff cycle; times ISO 8601 UTC or None, durations in seconds.

    `wait_seconds` runs to pick-up (to withdrawal for withdrawn cycles, to `now` while open).
    """
    rows = []
    for view in views:
        c = view.cycle
        rows.append(
            {
                "key": c.issue_key,
                "cycle": c.cycle_no,
                "summary": view.summary,
                "state": c.state.value,
                "team": view.team,
                "project": view.project,
                "requested_by": c.requested_by_name,
                "requested_at": fmt.iso_utc(c.requested_at),
                "picked_up_at": fmt.iso_utc(c.picked_up_at),
                "delivered_at": fmt.iso_utc(c.delivered_at),
                "withdrawn_at": fmt.iso_utc(c.withdrawn_at),
                "wait_seconds": round(wait_seconds(c, now)),
                "business_wait_seconds": round(business_wait_seconds(c, now, calendar)),
                "productionization_seconds": _round(productionization_seconds(c)),
                "url": view.url,
            }
        )
    return rows


def open_handoffs_text(
    views: Sequence[HandoffView], now: datetime, calendar: WorkCalendar, sla_workdays: int, limit: int = 25
) -> str:
    """The terminal twin of `/handoffs`."""
    if not views:
        return "No research handoffs are waiting. Nice."
    rows = []
    for view in views[:limit]:
        c = view.cycle
        business = business_wait_seconds(c, now, calendar)
        late = " !" if business > sla_workdays * calendar.seconds_per_workday else ""
        rows.append(
            [
                c.issue_key,
                f"{fmt.business_days(business, calendar.seconds_per_workday)} ({fmt.duration(wait_seconds(c, now))}){late}",
                view.team or "—",
                c.requested_by_name or "—",
                _shorten(view.summary, 48),
            ]
        )
    title = f"Open research handoffs: {len(views)}, oldest first (! = over the {sla_workdays}-workday SLA)"
    more = f"\n…and {len(views) - limit} more (research-bridge report handoffs --state open)" if len(views) > limit else ""
    return title + "\n" + text_table(rows, ["key", "waited", "team", "handed over by", "summary"]) + more


def stats_text(report: StatsReport, calendar: WorkCalendar, tz: ZoneInfo) -> str:
    """The terminal twin of `/handoffs stats`."""
    head = f"Handoff stats, {_window_label(report.window)} (since {fmt.local_date(report.start, tz)})"
    lines = [head, _stats_line(report.overall, calendar)]
    if report.by_team:
        rows = [
            [
                team,
                str(s.requested),
                str(s.picked_up),
                _wait_pair(s.median_business_wait_seconds, s.median_wait_seconds, calendar),
                _wait_pair(s.p90_business_wait_seconds, s.p90_wait_seconds, calendar),
                fmt.percent(s.conversion),
                str(s.open_now),
            ]
            for team, s in report.by_team.items()
        ]
        lines += ["", text_table(rows, ["team", "requested", "picked up", "median wait", "p90 wait", "conversion", "open"])]
    return "\n".join(lines)


def _stats_line(s: HandoffStats, calendar: WorkCalendar) -> str:
    return (
        f"  requested {s.requested} · picked up {s.picked_up} · delivered {s.delivered}"
        f" · withdrawn {s.withdrawn} · open now {s.open_now} ({s.sla_breaches} over SLA)\n"
        f"  wait to pick-up: median {_wait_pair(s.median_business_wait_seconds, s.median_wait_seconds, calendar)}"
        f" · p90 {_wait_pair(s.p90_business_wait_seconds, s.p90_wait_seconds, calendar)}\n"
        f"  conversion (requested in window and delivered): {fmt.percent(s.conversion)}"
        f" · productionization median {fmt.duration(s.median_productionization_seconds)}"
    )


def _wait_pair(business: float | None, calendar_seconds: float | None, calendar: WorkCalendar) -> str:
    if business is None:
        return "—"
    return f"{fmt.business_days(business, calendar.seconds_per_workday)} ({fmt.duration(calendar_seconds)})"


def _window_label(window: str) -> str:
    return "this quarter" if window == "quarter" else f"last {window[:-1]} days"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def parse_state(text: str | None) -> HandoffState | None:
    return None if text is None else HandoffState(text)
