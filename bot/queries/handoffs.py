"""Handoff queries for Slack, the CLI and the demo: store -> metrics, with teams resolved.

Presentation layers call these and render; none of them touches SQL or the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from bot.config import Settings
from bot.metrics.handoffs import (
    HandoffRules,
    HandoffStats,
    TimelineEvent,
    issue_timeline,
    summarize,
    summarize_by_team,
    team_for,
    window_start,
)
from bot.metrics.workcal import WorkCalendar
from bot.models import HandoffState, HandoffView, JiraIssue
from bot.store import Store


@dataclass(frozen=True)
class StatsReport:
    window: str
    start: datetime
    now: datetime
    overall: HandoffStats
    by_team: Mapping[str, HandoffStats]


@dataclass(frozen=True)
class HandoffCard:
    """What a handoff's card in its team's channel shows (and the App Home and unfurls)."""

    view: HandoffView
    sla_due: datetime  # when an open wait passes the SLA (business time)
    claimed_by: str | None = None  # the Slack user who claimed it with the Claim button
    picked_up_by: str | None = None  # the Slack user Jira says picked it up, when linked
    waited_workdays: float | None = None  # business days from request to pick-up (or withdrawal)
    deleted: bool = False  # the issue was deleted in Jira (the card stays, without buttons)

    @property
    def is_open(self) -> bool:
        """Still waiting for someone to claim it (so it shows a Claim button)."""
        return not self.deleted and self.view.cycle.state == HandoffState.OPEN and self.claimed_by is None


@dataclass(frozen=True)
class IssueReport:
    issue: JiraIssue
    cycles: Sequence[HandoffView]
    events: Sequence[TimelineEvent]


class HandoffQueries:
    """Read-side of handoffs, bound to a store and the settings."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self.calendar = WorkCalendar.from_settings(settings)
        self.rules = HandoffRules.from_settings(settings.jira)

    # -- people and teams --------------------------------------------------------------

    def slack_links(self) -> dict[str, str]:
        """Jira user (account id or e-mail, lower-cased) -> Slack user ID."""
        return self._links()

    def _links(self) -> dict[str, str]:
        """Jira user (account id or e-mail, lower-cased) -> Slack user ID; config overrides win."""
        links = {k.lower(): v for k, v in self.store.user_links().items() if v}
        links.update({k.lower(): v for k, v in self.settings.jira.user_map.items()})
        return links

    def _with_teams(self, views: Sequence[HandoffView]) -> list[HandoffView]:
        """Set each view's team: its Jira project's team, else its requester's."""
        if not self.settings.teams:
            return list(views)
        links = self._links()
        teams = self.settings.teams
        cache: dict[tuple, str | None] = {}
        out = []
        for view in views:
            c = view.cycle
            requester = links.get((c.requested_by_account_id or "").lower()) or links.get(
                (c.requested_by_email or "").lower()
            )
            key = (view.project, requester)
            if key in cache:
                team = cache[key]
            else:
                team = cache[key] = team_for(view.project, requester, teams)
            out.append(HandoffView(c, view.summary, view.project, view.url, view.assignee_name, view.assignee_email, team))
        return out

    # -- queries -------------------------------------------------------------------------

    def open_handoffs(self, team: str | None = None) -> list[HandoffView]:
        """Open handoffs, oldest request first."""
        views = self._with_teams(self.store.handoffs(states=[HandoffState.OPEN]))
        if team is not None:
            views = [v for v in views if v.team and v.team.lower() == team.lower()]
        return views

    def handoffs_of_user(self, slack_user_id: str, email: str | None) -> list[HandoffView]:
        """Active handoffs the user requested or is assigned to (open or picked up)."""
        mine = {u for u, s in self._links().items() if s == slack_user_id}
        if email:
            mine.add(email.lower())
        views = self.store.handoffs(states=[HandoffState.OPEN, HandoffState.PICKED_UP])
        result = []
        for view in views:
            c = view.cycle
            people = {
                (c.requested_by_email or "").lower(),
                (c.requested_by_account_id or "").lower(),
                (view.assignee_email or "").lower(),
            }
            if mine & people:
                result.append(view)
        return self._with_teams(result)

    def stats(self, window: str, now: datetime, team: str | None = None) -> StatsReport:
        """Count, median and p90 wait, conversion: overall and per team, over a window."""
        start = window_start(window, now, self.settings.tz)
        views = self._with_teams(self.store.handoffs(active_since=start))
        if team is not None:
            views = [v for v in views if v.team and v.team.lower() == team.lower()]
        sla = self.settings.jira.handoff_sla_workdays
        overall = summarize((v.cycle for v in views), now, start, self.calendar, sla)
        by_team = summarize_by_team(views, now, start, self.calendar, sla) if self.settings.teams else {}
        return StatsReport(window=window, start=start, now=now, overall=overall, by_team=by_team)

    def active_since(self, start: datetime, teams: Sequence[str] = ()) -> list[HandoffView]:
        """Cycles with an event at or after `start`, plus every open one, with teams; only
        those of `teams` (case-insensitive) when given."""
        views = self._with_teams(self.store.handoffs(active_since=start))
        if teams:
            wanted = {t.lower() for t in teams}
            views = [v for v in views if v.team and v.team.lower() in wanted]
        return views

    def issue_report(self, key: str) -> IssueReport | None:
        """An issue's handoff cycles and timeline, or None when the issue is unknown."""
        issue = self.store.issue(key.upper())
        if issue is None:
            return None
        cycles = self._with_teams(self.store.handoffs(issue_key=issue.key))
        events = issue_timeline(issue, self.store.changelog(issue.key), self.rules)
        return IssueReport(issue=issue, cycles=cycles, events=events)

    def projects(self) -> list[str]:
        """Jira projects a handoff can be created in: the synced ones and the teams' own."""
        keys = set(self.store.projects()) | {p for t in self.settings.teams for p in t.jira_projects}
        return sorted(keys)

    def requested_since(self, start: datetime, issue_key: str | None = None) -> list[HandoffView]:
        """Cycles requested at or after `start` (of `issue_key` only, when given), with teams,
        oldest first: the ones that get cards."""
        views = (self.store.handoffs(issue_key=issue_key) if issue_key is not None
                 else self.store.handoffs(active_since=start))
        return [v for v in self._with_teams(views) if v.cycle.requested_at >= start]

    def cycle(self, issue_key: str, cycle_no: int) -> HandoffView | None:
        """One cycle of a (not deleted) issue, with its team."""
        views = [v for v in self.store.handoffs(issue_key=issue_key) if v.cycle.cycle_no == cycle_no]
        return self._with_teams(views)[0] if views else None

    def card(self, view: HandoffView) -> HandoffCard:
        """The card facts of a cycle: its SLA due time, who claimed or picked it up, the wait."""
        c = view.cycle
        sla = self.settings.jira.handoff_sla_workdays * self.calendar.seconds_per_workday
        claim = self.store.claim_of(c.issue_key, c.cycle_no)
        ended = c.picked_up_at or c.withdrawn_at or c.delivered_at
        waited = self.calendar.business_days(c.requested_at, ended) if ended else None
        picker = None
        if c.picked_up_by_name and view.assignee_email and c.state != HandoffState.OPEN:
            picker = self._links().get(view.assignee_email.lower())
        return HandoffCard(view, self.calendar.moment_after(c.requested_at, sla),
                           claimed_by=claim.slack_user_id if claim else None, picked_up_by=picker,
                           waited_workdays=waited)

    def latest_card(self, key: str) -> tuple[JiraIssue, HandoffCard | None] | None:
        """An issue and the card of its latest handoff cycle (None when it never was one), or
        None when the issue is unknown (what a pasted Jira link unfurls to)."""
        issue = self.store.issue(key.upper())
        if issue is None:
            return None
        views = self._with_teams(self.store.handoffs(issue_key=issue.key))
        return issue, (self.card(views[-1]) if views else None)

    def filtered(self, window: str, now: datetime, state: HandoffState | None) -> list[HandoffView]:
        """For exports: cycles active in the window, optionally of one state."""
        start = window_start(window, now, self.settings.tz)
        views = self.store.handoffs(active_since=start, states=[state] if state else None)
        return self._with_teams(views)
