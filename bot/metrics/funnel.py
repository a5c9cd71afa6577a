"""The research-to-production funnel of research initiatives, per quarter. Pure functions.

Definitions (also in the README), for a quarter [start, end):
- an *initiative* is a Jira issue of `[research] initiative_issue_types`; its *children* are
  the issues whose parent (or Epic Link) is it;
- **active**: the initiative or a child was created or changed (any changelog entry) in the
  quarter;
- **handed off**: active, and a handoff of the initiative or a child was requested before the
  quarter's end and not withdrawn (a withdrawn cycle handed nothing over; a re-added label
  starts a new cycle, which counts);
- **delivered** (in production): handed off, and such a handoff was delivered before the
  quarter's end;
- **time to production**: from the initiative's first handoff request to its first delivery;
  the quarter's median is over its delivered initiatives;
- **waiting for engineering**: an initiative with a handoff requested and not yet picked up now.
Each stage counts initiatives, never people.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from bot.metrics.handoffs import percentile
from bot.models import HandoffCycle, HandoffState, JiraIssue

ACTIVE, HANDED_OFF, DELIVERED = "active", "handed off", "delivered"


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter in the organisation's timezone; `start`/`end` in UTC."""

    year: int
    number: int  # 1-4
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"


def quarter_of(at: datetime, tz: ZoneInfo) -> Quarter:
    """The quarter `at` falls in, in `tz`."""
    local = at.astimezone(tz)
    return quarter_named(f"{local.year}-Q{(local.month - 1) // 3 + 1}", tz)


def quarter_named(text: str, tz: ZoneInfo) -> Quarter:
    """"2026-Q4" (or "2026q4") as a Quarter; ValueError naming the expected form otherwise."""
    cleaned = text.strip().upper().replace(" ", "")
    year_text, _, number_text = cleaned.partition("-Q") if "-Q" in cleaned else cleaned.partition("Q")
    if not (year_text.isdigit() and len(year_text) == 4 and number_text in ("1", "2", "3", "4")):
        raise ValueError(f"quarter {text.strip()!r}: expected a year and quarter such as 2026-Q4")
    year, number = int(year_text), int(number_text)
    first = date(year, 3 * (number - 1) + 1, 1)
    after = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    to_utc = lambda d: datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(timezone.utc)  # noqa: E731
    return Quarter(year, number, to_utc(first), to_utc(after))


def previous_quarter(q: Quarter, tz: ZoneInfo) -> Quarter:
    return quarter_of(q.start - timedelta(days=1), tz)


@dataclass(frozen=True)
class InitiativeStage:
    """One initiative in one quarter: its stage and the dates behind it."""

    initiative: JiraIssue
    team: str | None
    stage: str | None  # active | handed off | delivered; None when not active in the quarter
    children: int
    first_handoff_at: datetime | None  # first request (not withdrawn) before the quarter's end
    first_delivered_at: datetime | None  # first delivery before the quarter's end
    waiting_since: datetime | None  # the oldest handoff waiting for pick-up now
    waiting_key: str | None  # the issue that handoff is on

    @property
    def time_to_production_seconds(self) -> float | None:
        if self.first_handoff_at is None or self.first_delivered_at is None:
            return None
        return (self.first_delivered_at - self.first_handoff_at).total_seconds()


@dataclass(frozen=True)
class Funnel:
    """The quarter's funnel of one team (or of every initiative)."""

    quarter: str
    active: int
    handed_off: int
    delivered: int
    median_time_to_production_seconds: float | None
    waiting: list[InitiativeStage]  # initiatives with a handoff waiting for pick-up now, oldest first

    @property
    def conversion(self) -> float | None:
        """Delivered ÷ active."""
        return self.delivered / self.active if self.active else None


def initiative_stages(
    initiatives: Sequence[JiraIssue],
    children: Sequence[JiraIssue],
    cycles: Iterable[HandoffCycle],
    changed: Mapping[str, Sequence[datetime]],
    quarter: Quarter,
    team_of: Mapping[str, str | None],
) -> list[InitiativeStage]:
    """Each initiative's stage in `quarter`. `changed` holds each issue's changelog times (any
    that fall in the quarter suffice); `team_of` maps initiative keys to teams."""
    family: dict[str, list[str]] = {i.key: [i.key] for i in initiatives}
    created = {i.key: i.created for i in (*initiatives, *children)}
    for child in children:
        if child.parent_key in family and child.key != child.parent_key:
            family[child.parent_key].append(child.key)
    by_issue: dict[str, list[HandoffCycle]] = defaultdict(list)
    for cycle in cycles:
        by_issue[cycle.issue_key].append(cycle)

    def in_quarter(at: datetime | None) -> bool:
        return at is not None and quarter.start <= at < quarter.end

    stages = []
    for initiative in initiatives:
        keys = family[initiative.key]
        active = any(in_quarter(created.get(k)) or any(in_quarter(t) for t in changed.get(k, ())) for k in keys)
        kept = [c for k in keys for c in by_issue.get(k, ()) if c.state != HandoffState.WITHDRAWN]
        requested = [c.requested_at for c in kept if c.requested_at < quarter.end]
        delivered = [c.delivered_at for c in kept if c.delivered_at is not None and c.delivered_at < quarter.end]
        waiting = sorted((c.requested_at, c.issue_key) for c in kept if c.state == HandoffState.OPEN)
        stage = None
        if active:
            stage = DELIVERED if requested and delivered else HANDED_OFF if requested else ACTIVE
        stages.append(InitiativeStage(
            initiative=initiative, team=team_of.get(initiative.key), stage=stage, children=len(keys) - 1,
            first_handoff_at=min(requested) if requested else None,
            first_delivered_at=min(delivered) if delivered else None,
            waiting_since=waiting[0][0] if waiting else None, waiting_key=waiting[0][1] if waiting else None,
        ))
    return stages


def funnel(stages: Sequence[InitiativeStage], quarter: Quarter) -> Funnel:
    """Count the stages (each stage includes the ones after it: delivered ⊂ handed off ⊂ active)."""
    active = [s for s in stages if s.stage is not None]
    handed = [s for s in active if s.stage in (HANDED_OFF, DELIVERED)]
    delivered = [s for s in active if s.stage == DELIVERED]
    times = [t for s in delivered if (t := s.time_to_production_seconds) is not None]
    # Waiting is about now: an initiative whose handoff has waited since an earlier quarter,
    # untouched since, is listed too (that is the valley of death), though not active.
    waiting = sorted((s for s in stages if s.waiting_since is not None),
                     key=lambda s: (s.waiting_since, s.initiative.key))
    return Funnel(quarter=quarter.label, active=len(active), handed_off=len(handed), delivered=len(delivered),
                  median_time_to_production_seconds=percentile(times, 50), waiting=waiting)


def funnel_by_team(stages: Sequence[InitiativeStage], quarter: Quarter, no_team: str) -> dict[str, Funnel]:
    """`funnel` per team (`no_team` for initiatives of no team), teams in name order."""
    groups: dict[str, list[InitiativeStage]] = defaultdict(list)
    for s in stages:
        groups[s.team or no_team].append(s)
    ordered = sorted(groups, key=lambda t: (t == no_team, t.casefold()))
    return {team: funnel(groups[team], quarter) for team in ordered}
