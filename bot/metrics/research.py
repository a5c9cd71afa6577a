"""Experiment velocity: training runs, experiments and research-repository activity per team
and ISO week. Pure functions over pre-aggregated tallies (the store groups the raw runs).

Definitions (also in the README):
- a run counts in the week it *started* (the organisation's timezone, ISO weeks);
- experiments = distinct (source, experiment name) with a run that week, so a sweep of 200
  runs of one experiment reads as one experiment; runs per experiment = runs / experiments;
- status shares are over runs that ended (finished + failed + killed); running runs are
  counted in `runs` but in no share;
- median run time = the median duration (finished - started) of that week's *finished* runs;
- commits = distinct commits (by sha) with their timestamp in the week; branches = branches
  first created in the week, on repositories matching `[streams] research_repos`;
- every run, commit and branch belongs to a person through `Identities` and to that person's
  first team in config order; anything unmapped, or of a person in no team, is "unassigned".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping, NamedTuple, Sequence

from bot.config import Team
from bot.metrics.handoffs import percentile

UNASSIGNED = "unassigned"
ALL = "all"
ENDED = ("finished", "failed", "killed")


class RunTally(NamedTuple):
    """Runs of one platform user, experiment and status that started in one week."""

    source: str
    user: str | None
    experiment: str
    status: str
    week: str  # ISO week, "2026-W48"
    runs: int


class RunDuration(NamedTuple):
    """The duration of one finished run, with whose it is and its week."""

    source: str
    user: str | None
    week: str
    seconds: float


class RepoTally(NamedTuple):
    """Commits or branches of one repository user in one week."""

    source: str  # github | gitlab
    login: str | None
    email: str | None
    week: str
    number: int  # commits or branches


@dataclass(frozen=True)
class Identities:
    """Who a foreign identity is: `[identities]` first ("mlflow:alice"), then the e-mail the
    source gives (or a user name that is an e-mail), through the Slack users linked by e-mail."""

    identities: Mapping[str, str] = field(default_factory=dict)  # "source:name" (casefolded) -> Slack ID
    emails: Mapping[str, str | None] = field(default_factory=dict)  # lower-case e-mail -> Slack ID
    teams: Sequence[Team] = ()

    def person(self, source: str, name: str | None, email: str | None = None) -> str | None:
        """The Slack user behind (source, name, e-mail), or None."""
        if name:
            mapped = self.identities.get(f"{source}:{name}".casefold())
            if mapped:
                return mapped
            if "@" in name and not email:
                email = name
        return self.emails.get(email.strip().lower()) if email else None

    def team(self, person: str | None) -> str:
        """The first team (config order) listing `person`, else "unassigned"."""
        if person:
            for team in self.teams:
                if person in team.members:
                    return team.name
        return UNASSIGNED


@dataclass
class Velocity:
    """Experiment velocity of one team (or person) in one ISO week. The counts are whole
    numbers, except in `average` (the mean of several weeks)."""

    week: str
    runs: float = 0
    finished: float = 0
    failed: float = 0
    killed: float = 0
    running: float = 0
    experiments: float = 0
    median_run_seconds: float | None = None
    commits: float = 0
    branches: float = 0

    @property
    def ended(self) -> float:
        return self.finished + self.failed + self.killed

    @property
    def runs_per_experiment(self) -> float | None:
        return self.runs / self.experiments if self.experiments else None

    def share(self, status: str) -> float | None:
        """The share of ended runs with `status` (finished, failed or killed); None without any."""
        return getattr(self, status) / self.ended if self.ended else None

    @property
    def quiet(self) -> bool:
        return not (self.runs or self.commits or self.branches)


Owner = tuple[str, str]  # (team or person, week)


def velocity(
    runs: Iterable[RunTally],
    durations: Iterable[RunDuration],
    commits: Iterable[RepoTally],
    branches: Iterable[RepoTally],
    people: Identities,
    weeks: Sequence[str],
    *,
    by: Literal["team", "person", "all"] = "team",
) -> dict[str, list[Velocity]]:
    """Velocity per team, per Slack user (`by="person"`) or of everyone pooled (`by="all"`,
    under the key "all"); unmapped activity under "unassigned". One `Velocity` per week of
    `weeks`, in that order. Owners with no activity in any of the weeks are left out;
    tallies of other weeks are ignored."""
    memo: dict[tuple[str, str | None, str | None], str] = {}  # thousands of tallies, a few hundred people

    def owner(source: str, name: str | None, email: str | None = None) -> str:
        if by == "all":
            return ALL
        key = (source, name, email)
        if key not in memo:
            person = people.person(source, name, email)
            memo[key] = (person or UNASSIGNED) if by == "person" else people.team(person)
        return memo[key]

    wanted = set(weeks)
    cells: dict[Owner, Velocity] = {}
    experiments: dict[Owner, set[tuple[str, str]]] = defaultdict(set)
    seconds: dict[Owner, list[float]] = defaultdict(list)

    def cell(who: str, week: str) -> Velocity:
        key = (who, week)
        if key not in cells:
            cells[key] = Velocity(week)
        return cells[key]

    for t in runs:
        if t.week in wanted:
            who = owner(t.source, t.user)
            v = cell(who, t.week)
            v.runs += t.runs
            if t.status in ENDED or t.status == "running":
                setattr(v, t.status, getattr(v, t.status) + t.runs)
            experiments[(who, t.week)].add((t.source, t.experiment))
    for d in durations:
        if d.week in wanted:
            seconds[(owner(d.source, d.user), d.week)].append(d.seconds)
    for attr, tallies in (("commits", commits), ("branches", branches)):
        for r in tallies:
            if r.week in wanted:
                v = cell(owner(r.source, r.login, r.email), r.week)
                setattr(v, attr, getattr(v, attr) + r.number)
    for key, v in cells.items():
        v.experiments = len(experiments.get(key, ()))
        v.median_run_seconds = percentile(seconds.get(key, ()), 50)
    owners = sorted({who for who, _ in cells}, key=lambda w: (w == UNASSIGNED, w.casefold()))
    return {who: [cells.get((who, w)) or Velocity(w) for w in weeks] for who in owners}


def average(rows: Sequence[Velocity]) -> Velocity:
    """The mean week of `rows` (the previous four weeks, for "this week against the last
    four"); counts become means, the median run time is the median of the weeks' medians."""
    n = len(rows)
    mean = Velocity(f"{n}-week average")
    if not n:
        return mean
    for attr in ("runs", "finished", "failed", "killed", "running", "experiments", "commits", "branches"):
        setattr(mean, attr, sum(getattr(v, attr) for v in rows) / n)
    mean.median_run_seconds = percentile([v.median_run_seconds for v in rows if v.median_run_seconds is not None], 50)
    return mean
