"""A digest's figures for one week: store -> metrics through the query layers.

Every section compares the week with the week before; the chart's history covers the last
`HISTORY_WEEKS` weeks. All reads are of pre-aggregated rows (handoff cycles, focus person-days,
pipeline day rollups), so the cost follows the org's size, not its history.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Sequence

from bot.config import DigestSettings, Settings
from bot.digest.model import (
    DeliverySection,
    Digest,
    FocusSection,
    HandoffSection,
    History,
    PipelineSection,
    ResearchSection,
    TeamFocusWeek,
    Week,
    WeekPoint,
)
from bot.digest.period import recent_weeks
from bot.metrics.focus import TeamFocus, team_focus
from bot.metrics.funnel import funnel, quarter_of
from bot.metrics.handoffs import HandoffStats, open_at, summarize, summarize_by_team
from bot.metrics.reliability import overall
from bot.metrics.workcal import WorkCalendar
from bot.models import FocusDay, HandoffView
from bot.queries.focus import FocusQueries
from bot.queries.handoffs import HandoffQueries
from bot.queries.pipelines import PipelineQueries
from bot.queries.research import ResearchQueries, trailing
from bot.store import Store

HISTORY_WEEKS = 8
UTC = timezone.utc
EDGE = timedelta(microseconds=1)  # a week is [start, end): events at the next Monday 00:00 are next week's
ALL_TEAMS, EVERYONE = "All teams", "Everyone"  # the overall line, with and without [[team]]s


def build_digest(store: Store, settings: Settings, digest: DigestSettings, week: Week) -> Digest:
    """Everything `digest` shows for `week` (and the weeks before it, for the chart)."""
    tz = digest.tz
    weeks = recent_weeks(week, HISTORY_WEEKS if digest.chart else 2, tz)
    sections = set(digest.sections)
    handoff_weeks = _handoff_weeks(store, settings, digest, weeks) if "handoffs" in sections else None
    focus_weeks = _focus_weeks(store, settings, digest, weeks) if "focus" in sections else None
    pipelines = PipelineQueries(store, settings)
    pipeline = _pipeline_section(pipelines, week) if "pipelines" in sections else None
    delivery = None
    if "delivery" in sections:
        previous = weeks[-2]
        current_metrics, previous_metrics = pipelines.delivery_windows(
            [(week.start, week.end), (previous.start, previous.end)])
        delivery = DeliverySection(current_metrics, previous_metrics)
    history = None
    if digest.chart:
        panels = tuple(p for p in ("handoffs", "focus", "pipelines") if p in sections)
        reliability = pipelines.pooled_between([w.start for w in weeks] + [week.end]) if "pipelines" in sections else None
        history = _history(weeks, handoff_weeks, focus_weeks, reliability, settings.focus.threshold_hours, panels,
                           WorkCalendar.from_settings(settings).seconds_per_workday)
    return Digest(
        channel=digest.channel,
        name=digest.name,
        week=week,
        timezone=digest.timezone,
        teams=digest.teams,
        handoffs=handoff_weeks[1] if handoff_weeks else None,
        focus=focus_weeks[1] if focus_weeks else None,
        pipelines=pipeline,
        delivery=delivery,
        history=history,
        research=_research_section(store, settings, digest, week) if "research" in sections else None,
    )


# -- handoffs ------------------------------------------------------------------------------


def _handoff_weeks(store: Store, settings: Settings, digest: DigestSettings, weeks: Sequence[Week]
                   ) -> tuple[list[HandoffStats], HandoffSection]:
    """Per week stats (oldest first) and the section for the last week."""
    queries = HandoffQueries(store, settings)
    views = queries.active_since(weeks[0].start, digest.teams)
    cycles = [v.cycle for v in views]
    sla = settings.jira.handoff_sla_workdays
    # Bounds in UTC, like the stored times: comparing datetimes of two zones is 4x slower.
    spans = [(w.start.astimezone(UTC), (w.end - EDGE).astimezone(UTC)) for w in weeks]
    per_week = [summarize(cycles, until, start, queries.calendar, sla) for start, until in spans]
    start, until = spans[-1]
    oldest = [v for v in views if open_at(v.cycle, until)]  # views are oldest request first
    links = queries.slack_links()
    by_team: dict[str, HandoffStats] = {}
    if settings.teams:
        in_week = [v for v in views if _touches(v, start, until)]
        by_team = summarize_by_team(in_week, until, start, queries.calendar, sla)
    section = HandoffSection(
        current=per_week[-1],
        previous=per_week[-2],
        oldest_open=tuple(oldest),
        oldest_waits=tuple((until - v.cycle.requested_at).total_seconds() for v in oldest),
        oldest_business_waits=tuple(queries.calendar.business_seconds(v.cycle.requested_at, until) for v in oldest),
        owners=tuple(links.get((v.assignee_email or "").lower()) for v in oldest),
        teams=tuple(by_team.items()),
    )
    return per_week, section


def _touches(view: HandoffView, start: datetime, until: datetime) -> bool:
    """An event in [start, until], or open at `until`."""
    c = view.cycle
    events = (c.requested_at, c.picked_up_at, c.delivered_at, c.withdrawn_at)
    return any(t is not None and start <= t <= until for t in events) or open_at(c, until)


# -- focus -------------------------------------------------------------------------------------


def workdays_of(week: Week, settings: Settings) -> list[date]:
    """The week's workdays (config `workdays`), as local dates."""
    monday = week.start.date()
    return [monday + timedelta(days=i) for i in range(7) if i in settings.workday_numbers]


def _focus_weeks(store: Store, settings: Settings, digest: DigestSettings, weeks: Sequence[Week]
                 ) -> tuple[list[TeamFocus], FocusSection]:
    """Org (the digest's teams) aggregates per week, oldest first, and the section."""
    queries = FocusQueries(store, settings)
    threshold = queries.threshold_seconds
    wanted = {t.lower() for t in digest.teams}
    teams = [t for t in settings.teams if not wanted or t.name.lower() in wanted]
    members = list(dict.fromkeys(m for t in teams for m in t.members))
    first = weeks[0].start.date()
    last = weeks[-1].end.date() - timedelta(days=1)
    rows = store.focus_days(first, last, members if settings.teams else None)
    if not settings.teams:  # no teams configured: everyone who sends heartbeats
        members = list(dict.fromkeys(r.slack_user_id for r in rows))
    days = [workdays_of(w, settings) for w in weeks]
    by_day: dict[date, list[FocusDay]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)

    def rows_on(some_days: Sequence[date]) -> list[FocusDay]:
        return [r for d in some_days for r in by_day.get(d, ())]

    per_week = [team_focus(rows_on(d), members, d, threshold) for d in days]
    current, previous = days[-1], days[-2]
    current_rows, previous_rows = rows_on(current), rows_on(previous)

    def team_week(name: str, people: Sequence[str]) -> TeamFocusWeek:
        below: tuple[str, ...] = ()
        if digest.show_names and settings.focus.share_individuals_with_leads:
            below = tuple(queries.below(_rows_of(current_rows, people, current), people, current))
        return TeamFocusWeek(name, team_focus(current_rows, people, current, threshold),
                             team_focus(previous_rows, people, previous, threshold), below)

    section = FocusSection(
        threshold_seconds=threshold,
        overall=team_week(ALL_TEAMS if settings.teams else EVERYONE, members),
        teams=tuple(team_week(t.name, list(dict.fromkeys(t.members))) for t in teams),
    )
    return per_week, section


def _rows_of(rows: Sequence[FocusDay], people: Sequence[str], days: Sequence[date]) -> list[FocusDay]:
    wanted, in_days = set(people), set(days)
    return [r for r in rows if r.slack_user_id in wanted and r.day in in_days]


# -- pipelines ---------------------------------------------------------------------------------


def _pipeline_section(queries: PipelineQueries, week: Week) -> PipelineSection:
    """The week's final runs against the week before. `week.end` is a local midnight, and
    aware arithmetic in its zone is wall-clock, so the overview's 7 days are the ISO week."""
    view = queries.overview(week.end)
    rows = tuple(s for s in view.week if s.current.runs or s.previous.runs)
    return PipelineSection(
        overall=view.overall_week,
        overall_previous=overall(s.previous for s in view.week),
        pipelines=rows,
    )


# -- research ----------------------------------------------------------------------------------


def _research_section(store: Store, settings: Settings, digest: DigestSettings, week: Week) -> ResearchSection:
    """Velocity of the digest's week (ISO weeks in the digest's timezone) against the four
    before, per team; the funnel of the quarter the week ends in."""
    queries = ResearchQueries(store, settings)
    last = (week.end - EDGE).astimezone(UTC)
    _, teams, org = queries.velocity(last, tz=digest.tz)
    wanted = {t.lower() for t in digest.teams}
    rows = tuple((name, *trailing(r)) for name, r in teams.items() if not wanted or name.lower() in wanted)
    quarter = quarter_of(last, settings.tz)
    stages = [s for s in queries.stages(quarter) if not wanted or (s.team or "").lower() in wanted]
    return ResearchSection(overall=None if wanted else trailing(org), teams=rows, funnel=funnel(stages, quarter))


# -- history (chart) ----------------------------------------------------------------------------


def _history(weeks: Sequence[Week], handoffs: tuple[list[HandoffStats], HandoffSection] | None,
             focus: tuple[list[TeamFocus], FocusSection] | None, reliability: list | None,
             threshold_hours: float, panels: tuple[str, ...], seconds_per_workday: float) -> History:
    """Each week's figures as the section computes them for its own digest: business waits
    (as the text prints, never calendar ones), focus per person-day, pooled reliability."""
    points = []
    for i, week in enumerate(weeks):
        stats = handoffs[0][i] if handoffs else None
        team = focus[0][i] if focus else None
        pooled = reliability[i] if reliability else None
        points.append(WeekPoint(
            week=week.label,
            handoff_median_business_wait_seconds=stats.median_business_wait_seconds if stats else None,
            handoff_p90_business_wait_seconds=stats.p90_business_wait_seconds if stats else None,
            focus_seconds_per_day=team.average_focus_seconds if team else None,
            pipeline_reliability=pooled.reliability if pooled else None,
        ))
    return History(tuple(points), threshold_hours, panels, seconds_per_workday)
