"""Research exports: the `report experiments` rows (experiment velocity per team and ISO week)
and the `report initiatives` rows (each research initiative's stage in a quarter), each defined
once, with the documentation of their columns (the commands' --help and the README use it).

JSON and CSV get plain values (times ISO 8601 UTC, durations in whole seconds); the table gets
readable ones (durations as "3d 4h", dates in the organisation's timezone).
"""

from __future__ import annotations

import re
import textwrap
from datetime import date, datetime, timedelta
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

from bot.formatting import duration, iso_utc, local_date
from bot.metrics.funnel import InitiativeStage, Quarter
from bot.metrics.handoffs import NO_TEAM, WINDOWS, window_start
from bot.metrics.research import Velocity

MAX_WEEKS = 104
INACTIVE = "inactive"

EXPERIMENT_DOC = (
    ("team", 'the [[team]] of the people behind the activity, or "unassigned"'),
    ("week", "ISO week in the organisation's timezone, e.g. 2026-W48"),
    ("week_start", "that week's Monday, YYYY-MM-DD"),
    ("runs", "training runs started in the week (any status)"),
    ("experiments", "distinct experiments with a run started in the week"),
    ("runs_per_experiment", "runs / experiments (null without runs)"),
    ("finished", "runs that finished"),
    ("failed", "runs that failed"),
    ("killed", "runs killed (stopped before they ended)"),
    ("running", "runs still running"),
    ("median_run_seconds", "median duration of the finished runs, whole seconds (null without)"),
    ("commits", "distinct commits dated in the week on research repositories"),
    ("branches", "branches first created in the week on research repositories"),
)
EXPERIMENT_FIELDS = tuple(name for name, _ in EXPERIMENT_DOC)
EXPERIMENT_COLUMNS = [
    ("team", "team"), ("week", "week"), ("runs", "runs"), ("experiments", "experiments"),
    ("runs_per_experiment", "runs/exp"), ("finished", "finished"), ("failed", "failed"), ("killed", "killed"),
    ("running", "running"), ("median_run_seconds", "median run"), ("commits", "commits"), ("branches", "branches"),
]

INITIATIVE_DOC = (
    ("quarter", "the quarter reported, e.g. 2026-Q4"),
    ("key", "the initiative's Jira key"),
    ("summary", "its summary"),
    ("team", "the team owning its project (else its reporter's team); null without one"),
    ("stage", "active, handed off, delivered, or inactive (not created or changed in the quarter)"),
    ("children", "issues whose parent (or Epic Link) is the initiative"),
    ("first_handoff_at", "first handoff (not withdrawn) on it or a child requested before the quarter's end"),
    ("first_delivered_at", "first such handoff delivered before the quarter's end"),
    ("time_to_production_seconds", "first_delivered_at - first_handoff_at, whole seconds"),
    ("waiting_since", "the oldest of its handoffs waiting for pick-up now, whatever the quarter"),
    ("waiting_key", "the issue that handoff is on"),
    ("url", "the initiative in Jira"),
)
INITIATIVE_FIELDS = tuple(name for name, _ in INITIATIVE_DOC)
INITIATIVE_COLUMNS = [
    ("key", "key"), ("team", "team"), ("stage", "stage"), ("children", "children"),
    ("first_handoff_at", "first handoff"), ("first_delivered_at", "delivered"),
    ("time_to_production_seconds", "to production"), ("waiting_since", "waiting since"), ("summary", "summary"),
]

_WEEKS = re.compile(r"([0-9]{1,3})w")


def columns_help(doc: Sequence[tuple[str, str]], width: int = 76) -> str:
    """The columns as a --help paragraph click keeps as it is: name, then its meaning wrapped
    to `width` characters under itself."""
    indent = max(len(name) for name, _ in doc) + 2
    lines = []
    for name, meaning in doc:
        wrapped = textwrap.wrap(meaning, max(30, width - indent)) or [""]
        lines.append(name.ljust(indent) + wrapped[0])
        lines += [" " * indent + more for more in wrapped[1:]]
    return "\b\n" + "\n".join(lines)


# -- experiments ---------------------------------------------------------------------------------


def parse_weeks_window(text: str) -> str:
    """7d, 30d, 90d, quarter or Nw (N ISO weeks, this one included, 1 to 104), normalised;
    ValueError naming the forms otherwise."""
    window = text.strip().lower()
    match = _WEEKS.fullmatch(window)
    if window in WINDOWS or (match and 1 <= int(match.group(1)) <= MAX_WEEKS):
        return f"{int(match.group(1))}w" if match else window
    raise ValueError(f"{text.strip()!r}: expected 7d, 30d, 90d, quarter, or a number of weeks such as 4w"
                     f" (1 to {MAX_WEEKS})")


def window_weeks(window: str, now: datetime, tz: ZoneInfo) -> int:
    """How many ISO weeks (in `tz`) the window covers: Nw is N; otherwise every week from the
    one holding the window's start (see `window_start`) to the one holding `now`."""
    window = parse_weeks_window(window)
    if window.endswith("w"):
        return int(window[:-1])
    start = window_start(window, now, tz).astimezone(tz).date()
    return (_monday(now.astimezone(tz).date()) - _monday(start)).days // 7 + 1


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def experiment_rows(teams: Mapping[str, Sequence[Velocity]], *, readable: bool = False) -> list[dict]:
    """One dict per team and week, in the given team order, oldest week first. `readable`:
    the median run as "12m" and runs per experiment to one place, for the table."""
    rows = []
    for team, weeks in teams.items():
        for v in weeks:
            year, number = v.week.split("-W")
            per = v.runs_per_experiment
            median = v.median_run_seconds
            rows.append({
                "team": team,
                "week": v.week,
                "week_start": date.fromisocalendar(int(year), int(number), 1).isoformat(),
                "runs": int(v.runs),
                "experiments": int(v.experiments),
                "runs_per_experiment": ("—" if readable else None) if per is None else round(per, 1 if readable else 4),
                "finished": int(v.finished),
                "failed": int(v.failed),
                "killed": int(v.killed),
                "running": int(v.running),
                "median_run_seconds": duration(median) if readable else None if median is None else round(median),
                "commits": int(v.commits),
                "branches": int(v.branches),
            })
    return rows


# -- initiatives ---------------------------------------------------------------------------------


def _key_order(stage: InitiativeStage) -> tuple[str, int]:
    """VIS-9 before VIS-10."""
    project, _, number = stage.initiative.key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (stage.initiative.key, 0)


def initiative_rows(stages: Sequence[InitiativeStage], quarter: Quarter, tz: ZoneInfo | None = None) -> list[dict]:
    """One dict per initiative, by key (VIS-9 before VIS-10). With `tz` (the table): dates in
    `tz`, the time to production as "10d 4h", "(no team)" for no team."""

    def when(at: datetime | None) -> str | None:
        return local_date(at, tz) if tz else iso_utc(at)

    rows = []
    for s in sorted(stages, key=_key_order):
        i = s.initiative
        seconds = s.time_to_production_seconds
        rows.append({
            "quarter": quarter.label,
            "key": i.key,
            "summary": i.summary,
            "team": s.team or (NO_TEAM if tz else None),
            "stage": s.stage or INACTIVE,
            "children": s.children,
            "first_handoff_at": when(s.first_handoff_at),
            "first_delivered_at": when(s.first_delivered_at),
            "time_to_production_seconds": duration(seconds) if tz else None if seconds is None else round(seconds),
            "waiting_since": when(s.waiting_since),
            "waiting_key": s.waiting_key,
            "url": i.url,
        })
    return rows
