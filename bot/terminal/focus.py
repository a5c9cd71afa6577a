"""Focus Time for the terminal: the `report focus` rows (one definition of an exported row),
and the demo's `/focus` and `/focus team` views."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Sequence

from bot.config import Settings
from bot.formatting import duration, percent
from bot.models import FocusDay
from bot.queries.focus import FocusQueries, PersonFocus, TeamReport
from bot.queries.people import People
from bot.slack.blocks.focus import average_sentence, day_lines, hours

FOCUS_FIELDS = (
    "slack_user",
    "date",
    "focus_seconds",
    "active_seconds",
    "research_seconds",
    "engineering_seconds",
    "blocks",
)


FOCUS_COLUMNS = [
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


def person_focus_text(person: PersonFocus, name: str | None = None) -> str:
    """The terminal twin of `/focus`."""
    who = f" of {name}" if name else ""
    lines = [f"Focus Time{who} — last {len(person.window)} workdays (the line is {hours(person.threshold_seconds)})"]
    lines += [f"  {line}" for line in day_lines(person)]
    if not person.has_data:
        lines.append("  No data in these days (vacation, or not tracked): no alert.")
    else:
        where = "under" if person.below else "at or above"
        lines.append(f"  Average {average_sentence(person)} — {where} the line.")
    return "\n".join(lines)


def team_focus_text(report: TeamReport) -> str:
    """The terminal twin of `/focus team NAME` (aggregates only)."""
    f, line = report.focus, hours(report.threshold_seconds)
    window = f"{report.window[0]:%a %d %b} – {report.window[-1]:%a %d %b}" if report.window else "no workdays"
    split = "—" if f.research_share is None else (
        f"{percent(f.research_share)} research / {percent(1 - f.research_share)} engineering")
    return "\n".join([
        f"Team focus — {report.team}, last {len(report.window)} workdays ({window})",
        f"  people {f.people} ({f.people_with_data} with data) · average {duration(f.average_focus_seconds)}"
        f" per person-day · median person {duration(f.median_person_seconds)}",
        f"  below the {line} line: {f.below_threshold} of {f.people_with_data} with data · focus split {split}",
    ])


def demo_focus_text(queries: FocusQueries, people: People, settings: Settings, now: datetime,
                    person: str = "U0VIS0002") -> str:
    """What the demo prints: one researcher's `/focus` and every team's `/focus team`."""
    tz, name = people.timezone(person), people.name(person)
    parts = [f"/focus (as {name or person})", person_focus_text(queries.person(person, now.astimezone(tz).date()), name)]
    today = queries.org_today(now)
    for team in settings.teams:
        report = queries.team_report(team.name, today)
        if report is not None:
            parts += ["", f"/focus team {team.name}", team_focus_text(report)]
    return "\n".join(parts)
