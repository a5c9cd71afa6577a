"""What a digest says, as plain data: computed by `bot.digest.compute`, rendered by
`bot.slack.blocks.digest` (Block Kit + text) and `bot.slack.blocks.charts` (PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.metrics.delivery import DeliveryMetrics
from bot.metrics.focus import TeamFocus
from bot.metrics.funnel import Funnel
from bot.metrics.handoffs import HandoffStats
from bot.metrics.reliability import PipelineStats, PipelineSummary
from bot.metrics.research import Velocity
from bot.models import HandoffView


@dataclass(frozen=True)
class Week:
    """One ISO week in a timezone: [start, end), both local midnights (aware datetimes)."""

    label: str  # "2026-W47"
    start: datetime
    end: datetime


@dataclass(frozen=True)
class HandoffSection:
    """Handoffs of the digest's teams: this week against the week before."""

    current: HandoffStats  # events in the week; open_now = open at the week's end
    previous: HandoffStats
    oldest_open: tuple[HandoffView, ...]  # open at the week's end, oldest request first
    oldest_waits: tuple[float, ...]  # their calendar waits at the week's end, seconds
    oldest_business_waits: tuple[float, ...]  # the same waits in business seconds (the SLA's measure)
    owners: tuple[str | None, ...]  # Slack user ID of each one's assignee, when linked
    teams: tuple[tuple[str, HandoffStats], ...]  # per team (this week), by name

    @property
    def quiet(self) -> bool:
        c = self.current
        return not (c.requested or c.picked_up or c.delivered or c.withdrawn or c.open_now)


@dataclass(frozen=True)
class TeamFocusWeek:
    team: str
    current: TeamFocus
    previous: TeamFocus
    below_people: tuple[str, ...] = ()  # Slack IDs, only when the org and the digest opted in


@dataclass(frozen=True)
class FocusSection:
    """Focus Time aggregates over the week's workdays (never individuals unless opted in)."""

    threshold_seconds: float
    overall: TeamFocusWeek  # all members of the digest's teams together
    teams: tuple[TeamFocusWeek, ...]

    @property
    def quiet(self) -> bool:
        return self.overall.current.people_with_data == 0


@dataclass(frozen=True)
class PipelineSection:
    """Reliability of final runs finished in the week, against the week before."""

    overall: PipelineStats
    overall_previous: PipelineStats
    pipelines: tuple[PipelineSummary, ...]  # every pipeline with runs in either week, worst first

    @property
    def quiet(self) -> bool:
        return self.overall.runs == 0


@dataclass(frozen=True)
class DeliverySection:
    current: DeliveryMetrics
    previous: DeliveryMetrics

    @property
    def quiet(self) -> bool:
        return self.current.production_deployments == 0 and self.current.incidents == 0


@dataclass(frozen=True)
class ResearchSection:
    """Experiment velocity of the week against the average of the four before, and the
    quarter's funnel of research initiatives (teams, never people)."""

    overall: tuple[Velocity, Velocity] | None  # (the week, the 4-week average) of everyone; None with a team filter
    teams: tuple[tuple[str, Velocity, Velocity], ...]  # (team, week, 4-week average), teams with activity
    funnel: Funnel  # of the digest's teams' initiatives (all with no team filter)

    @property
    def quiet(self) -> bool:
        weeks = [self.overall[0]] if self.overall else [week for _, week, _ in self.teams]
        return all(w.quiet for w in weeks) and not self.funnel.active and not self.funnel.waiting


@dataclass(frozen=True)
class WeekPoint:
    """One week of the chart's trends, in the units the digest's text prints them from (None:
    no data that week, a gap in the chart, never a zero)."""

    week: str  # "2026-W47"
    handoff_median_business_wait_seconds: float | None  # business seconds, handoffs picked up that week
    handoff_p90_business_wait_seconds: float | None
    focus_seconds_per_day: float | None  # average over person-days with data
    pipeline_reliability: float | None  # 0..1, final runs finished that week


@dataclass(frozen=True)
class History:
    """The last weeks up to and including the digest's week, oldest first."""

    points: tuple[WeekPoint, ...]
    threshold_hours: float  # the Focus Time line (focus.threshold_hours)
    panels: tuple[str, ...]  # which of "handoffs", "focus", "pipelines" the chart draws
    seconds_per_workday: float  # the business day the waits are counted in (work hours' length)


@dataclass(frozen=True)
class Digest:
    """One channel's digest for one week; a section is None when the digest does not include it."""

    channel: str
    name: str  # the digest's name (ledger key with channel and week)
    week: Week
    timezone: str
    teams: tuple[str, ...]  # the teams it covers (empty: all)
    handoffs: HandoffSection | None
    focus: FocusSection | None
    pipelines: PipelineSection | None
    delivery: DeliverySection | None
    history: History | None  # None when the digest has no chart
    research: ResearchSection | None = None

    @property
    def quiet(self) -> bool:
        """True when every included section had nothing this week."""
        sections = [s for s in (self.handoffs, self.focus, self.pipelines, self.delivery, self.research)
                    if s is not None]
        return all(s.quiet for s in sections)
