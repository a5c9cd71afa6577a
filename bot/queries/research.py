"""Research queries for `/research`, the digest, reports and the demo: store -> metrics.

Experiment velocity is read as SQL tallies per ISO week (this week and the four before), so
the cost follows the number of distinct (user, experiment, status) per week, not the runs.
What is computed is remembered under the store's research version (bumped by triggers on
every write to the tables read; `bot.queries.memo`): calls between writes reuse it, and while
writes keep coming a result at most `STALE_FOR` old is answered as a background thread
recomputes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.metrics.focus import iso_week
from bot.metrics.funnel import (
    Funnel,
    InitiativeStage,
    Quarter,
    funnel,
    funnel_by_team,
    initiative_stages,
    quarter_of,
)
from bot.metrics.handoffs import NO_TEAM, team_for
from bot.metrics.research import (
    ALL,
    Identities,
    RepoTally,
    RunDuration,
    RunTally,
    Velocity,
    average,
    velocity,
)
from bot.queries.memo import Memo
from bot.store import Store

WEEKS_SHOWN = 5  # this week and the four before it
STALE_FOR = 300.0  # seconds a result may be answered while it is recomputed after a write
UTC = timezone.utc
Tallies = tuple[list[RunTally], list[RunDuration], list[RepoTally], list[RepoTally]]


@dataclass(frozen=True)
class Weeks:
    """Consecutive ISO weeks in the organisation's timezone, oldest first."""

    labels: list[str]
    bounds: list[datetime]  # len(labels) + 1 Monday midnights, in UTC

    @property
    def current(self) -> str:
        return self.labels[-1]


def weeks_until(now: datetime, count: int, tz: ZoneInfo) -> Weeks:
    """The ISO week holding `now` in `tz` and the `count - 1` before it."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    mondays = [monday - timedelta(weeks=count - 1 - i) for i in range(count + 1)]
    return Weeks(labels=[iso_week(d) for d in mondays[:-1]],
                 bounds=[datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC) for d in mondays])


@dataclass(frozen=True)
class ResearchOverview:
    """What `/research` and the digest show: velocity per team for five weeks, the quarter's funnel."""

    now: datetime
    weeks: list[str]  # oldest first; the last is this week
    teams: dict[str, list[Velocity]]  # per team ("unassigned" last), one Velocity per week
    org: list[Velocity]  # everyone pooled
    quarter: Quarter
    funnel: Funnel  # every initiative
    funnels: dict[str, Funnel]  # per team ("(no team)" last)

    @property
    def this_week(self) -> Velocity:
        return self.org[-1]

    @property
    def quiet(self) -> bool:
        """No runs, commits or branches in five weeks and no initiative active or waiting."""
        return all(v.quiet for v in self.org) and not self.funnel.active and not self.funnel.waiting


@dataclass(frozen=True)
class PersonalResearch:
    """A person's own runs and research activity (`/research mine`, private)."""

    weeks: list[str]
    velocity: list[Velocity]
    experiments: list[tuple[str, str, int, datetime]]  # (source, experiment, runs, latest start), newest first
    identities: list[tuple[str, str]]  # the (source, user) names counted as this person


def trailing(rows: Sequence[Velocity]) -> tuple[Velocity, Velocity]:
    """(this week, the mean of the weeks before) of a five-week row."""
    return rows[-1], average(rows[:-1])


class ResearchQueries:
    """Read side of the research metrics, bound to a store and the settings."""

    def __init__(self, store: Store, settings: Settings, *, stale_for: float = STALE_FOR):
        self.store = store
        self.settings = settings
        self._memo = Memo(store.research_version, stale_for=stale_for)
        self._warmed: tuple | None = None  # (version, week, quarter) `warm` last computed for

    def identities(self) -> Identities:
        """Who each foreign identity is: `[identities]`, then the Slack users linked by e-mail."""
        def read() -> Identities:
            emails = {e.lower(): s for e, s in self.store.user_links().items() if "@" in e and s}
            return Identities(identities=self.settings.identities, emails=emails, teams=self.settings.teams)

        return self._memo.get(("identities",), read, strict=True)

    def warm(self, now: datetime) -> bool:
        """Recompute what `/research` shows (the overview, everyone's own rows) if the data moved
        or a new week began since the last time; True when it did. Run by the `research-refresh` job, so commands
        answer from current figures without computing them."""
        weeks = weeks_until(now, WEEKS_SHOWN, self.settings.tz)
        state = (self._memo.version(), weeks.current, quarter_of(now, self.settings.tz))
        if state == self._warmed:
            self._memo.confirm()  # still current: answers may lean on them for another STALE_FOR
            return False
        with self._memo.strictly():
            self.overview(now)
            self._person_rows(weeks)
        self._warmed = state
        return True

    # -- velocity ------------------------------------------------------------------------------

    def _tallies(self, weeks: Weeks) -> Tallies:
        return self._memo.get(("tallies", tuple(weeks.bounds)), lambda: self._read_tallies(weeks), strict=True)

    def _read_tallies(self, weeks: Weeks) -> Tallies:
        label = weeks.labels
        runs = [RunTally(s, u, e, st, label[b], n) for b, s, u, e, st, n in self.store.run_tallies(weeks.bounds)]
        durations = [RunDuration(s, u, label[b], sec) for b, s, u, sec in self.store.run_durations(weeks.bounds)]
        commits = [RepoTally(s, login, mail, label[b], n)
                   for b, s, login, mail, n in self.store.commit_tallies(weeks.bounds)]
        branches = [RepoTally(s, login, mail, label[b], n)
                    for b, s, login, mail, n in self.store.branch_tallies(weeks.bounds)]
        return runs, durations, commits, branches

    def velocity(self, now: datetime, count: int = WEEKS_SHOWN, tz: ZoneInfo | None = None,
                 ) -> tuple[list[str], dict[str, list[Velocity]], list[Velocity]]:
        """(weeks, velocity per team, everyone pooled) for the `count` ISO weeks up to `now`,
        weeks in `tz` (default: the organisation's)."""
        weeks = weeks_until(now, count, tz or self.settings.tz)

        def compute() -> tuple[list[str], dict[str, list[Velocity]], list[Velocity]]:
            tallies = self._tallies(weeks)
            people = self.identities()
            teams = velocity(*tallies, people, weeks.labels)
            org = velocity(*tallies, people, weeks.labels, by="all").get(ALL) or _empty(weeks.labels)
            return weeks.labels, teams, org

        return self._memo.get(("velocity", tuple(weeks.bounds)), compute)

    def overview(self, now: datetime, team: str | None = None) -> ResearchOverview:
        """Five weeks of velocity and this quarter's funnel; with `team`, that team's rows only
        (its funnel as `funnel`)."""
        labels, teams, org = self.velocity(now)
        quarter = quarter_of(now, self.settings.tz)
        stages = self.stages(quarter)
        funnels = funnel_by_team(stages, quarter, NO_TEAM)
        overall = funnel(stages, quarter)
        if team is not None:
            teams = {team: teams.get(team) or _empty(labels)}
            org = teams[team]
            overall = funnels.get(team) or funnel([], quarter)
            funnels = {team: overall}
        return ResearchOverview(now=now, weeks=labels, teams=teams, org=org, quarter=quarter, funnel=overall,
                                funnels=funnels)

    def mine(self, slack_user_id: str, now: datetime) -> PersonalResearch:
        """The person's own five weeks: their runs (through `[identities]` and e-mail), commits
        and branches, and the experiments they ran."""
        weeks = weeks_until(now, WEEKS_SHOWN, self.settings.tz)
        people = self.identities()
        rows, users = self._person_rows(weeks)
        own = [(s, u) for s, u in users if people.person(s, u) == slack_user_id]
        experiments = [(s, e, n, datetime.fromisoformat(at))
                       for s, e, n, at in self.store.experiment_names(own, weeks.bounds[0], weeks.bounds[-1])]
        return PersonalResearch(weeks=weeks.labels, velocity=rows.get(slack_user_id) or _empty(weeks.labels),
                                experiments=experiments, identities=own)

    def _person_rows(self, weeks: Weeks) -> tuple[dict[str, list[Velocity]], list[tuple[str, str]]]:
        """(velocity per Slack user, the (source, user) names with runs) for `weeks`."""
        def compute() -> tuple[dict[str, list[Velocity]], list[tuple[str, str]]]:
            tallies = self._tallies(weeks)
            users = list(dict.fromkeys((t.source, t.user) for t in tallies[0] if t.user))
            return velocity(*tallies, self.identities(), weeks.labels, by="person"), users

        return self._memo.get(("people", tuple(weeks.bounds)), compute)

    # -- initiatives ---------------------------------------------------------------------------

    def stages(self, quarter: Quarter) -> list[InitiativeStage]:
        """Every research initiative's stage in `quarter`, by key."""
        return self._memo.get(("stages", quarter), lambda: self._read_stages(quarter))

    def _read_stages(self, quarter: Quarter) -> list[InitiativeStage]:
        research = self.settings.research
        initiatives, children = self.store.initiatives(research.initiative_issue_types, research.initiative_projects)
        keys = [i.key for i in initiatives] + [c.key for c in children]
        people = self.identities()
        user_map = self.settings.jira.user_map
        team_of = {}
        for i in initiatives:
            reporter = (user_map.get(i.reporter_account_id or "") or user_map.get(i.reporter_email or "")
                        or people.person("jira", None, i.reporter_email))
            team_of[i.key] = team_for(i.project, reporter, self.settings.teams)
        return initiative_stages(initiatives, children, self.store.cycles_of(keys),
                                 self.store.changed_between(keys, quarter.start, quarter.end), quarter, team_of)


def _empty(labels: Sequence[str]) -> list[Velocity]:
    return [Velocity(w) for w in labels]
