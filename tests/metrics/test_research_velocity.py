"""Experiment velocity: runs, experiments, statuses, run times, commits and branches per team (or
person, or everyone) and ISO week; who is who through `Identities`; the four-week average; and
the week boundaries in the timezone given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, Sequence
from zoneinfo import ZoneInfo

import pytest

from bot.config import Team, settings_from_mapping
from bot.metrics.research import (
    ALL,
    UNASSIGNED,
    Identities,
    RepoTally,
    RunDuration,
    RunTally,
    Velocity,
    average,
    velocity,
)
from bot.models import ExperimentRun
from bot.queries.research import ResearchQueries, trailing, weeks_until

WEEKS = ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]
THIS = WEEKS[-1]
TEAMS = (Team("vision", ("U0VIS1", "U0VIS2")), Team("language", ("U0NLP1",)))
PEOPLE = Identities(identities={"mlflow:alice": "U0VIS1", "github:alice-gh": "U0VIS1", "mlflow:olga": "U0OUT1"},
                    emails={"bob@example.com": "U0NLP1", "vic@example.com": "U0VIS2", "carol@example.com": None},
                    teams=TEAMS)
LONDON = ZoneInfo("Europe/London")


def tally(user: str | None, experiment: str = "ranker", status: str = "finished", runs: int = 1, week: str = THIS,
          source: str = "mlflow") -> RunTally:
    return RunTally(source, user, experiment, status, week, runs)


def took(user: str | None, seconds: float, week: str = THIS, source: str = "mlflow") -> RunDuration:
    return RunDuration(source, user, week, seconds)


def repo(login: str | None, number: int = 1, email: str | None = None, week: str = THIS,
         source: str = "github") -> RepoTally:
    return RepoTally(source, login, email, week, number)


def vel(runs: Sequence[RunTally] = (), durations: Sequence[RunDuration] = (), commits: Sequence[RepoTally] = (),
        branches: Sequence[RepoTally] = (), *, people: Identities = PEOPLE, weeks: Sequence[str] = WEEKS,
        by: Literal["team", "person", "all"] = "team") -> dict[str, list[Velocity]]:
    return velocity(runs, durations, commits, branches, people, weeks, by=by)


def week(rows: dict[str, list[Velocity]], who: str, label: str = THIS) -> Velocity:
    (v,) = [v for v in rows[who] if v.week == label]
    return v


# -- runs, experiments, statuses -----------------------------------------------------------------


def test_runs_count_per_team_in_the_week_they_started() -> None:
    rows = vel([tally("alice", runs=3), tally("alice", runs=2, week="2026-W46"), tally("bob@example.com"),
                tally("alice", runs=50, week="2026-W40")])  # a week not asked for: ignored
    assert list(rows) == ["language", "vision"]
    assert [v.week for v in rows["vision"]] == WEEKS
    assert [v.runs for v in rows["vision"]] == [0, 0, 2, 0, 3]
    assert [v.runs for v in rows["language"]] == [0, 0, 0, 0, 1]
    assert rows["vision"][0] == Velocity("2026-W44") and rows["vision"][0].quiet


def test_weeks_come_back_in_the_order_asked_and_idle_owners_are_left_out() -> None:
    backwards = list(reversed(WEEKS))
    rows = vel([tally("alice", week="2026-W45"), tally("bob@example.com", week="2026-W30")], weeks=backwards)
    assert list(rows) == ["vision"]  # language ran nothing in these weeks
    assert [(v.week, v.runs) for v in rows["vision"]] == [(w, 1 if w == "2026-W45" else 0) for w in backwards]
    assert vel([]) == {}


def test_a_sweep_of_200_runs_reads_as_one_experiment() -> None:
    rows = vel([tally("alice", "lr-sweep", "finished", 190), tally("alice", "lr-sweep", "failed", 10)])
    v = week(rows, "vision")
    assert (v.runs, v.experiments, v.runs_per_experiment) == (200, 1, 200.0)


def test_experiments_are_distinct_source_and_name_per_owner_and_week() -> None:
    rows = vel([tally("alice", "ranker"), tally("vic@example.com", "ranker"),  # one experiment, two people
                tally("vic@example.com", "ranker", source="wandb"),  # the same name elsewhere: another experiment
                tally("alice", "probe", "failed", 2), tally("alice", "ranker", week="2026-W47")])
    assert week(rows, "vision").experiments == 3
    assert week(rows, "vision").runs == 5
    assert week(rows, "vision").runs_per_experiment == pytest.approx(5 / 3)
    assert week(rows, "vision", "2026-W47").experiments == 1  # counted again in its own week
    assert week(rows, "vision", "2026-W46").runs_per_experiment is None


def test_status_shares_are_over_ended_runs_and_running_runs_count_only_in_runs() -> None:
    rows = vel([tally("alice", status="finished", runs=6), tally("alice", status="failed", runs=3),
                tally("alice", status="killed", runs=1), tally("alice", status="running", runs=5),
                tally("alice", status="scheduled", runs=2)])  # an unknown status: in runs, nowhere else
    v = week(rows, "vision")
    assert (v.runs, v.finished, v.failed, v.killed, v.running, v.ended) == (17, 6, 3, 1, 5, 10)
    assert (v.share("finished"), v.share("failed"), v.share("killed")) == (0.6, 0.3, 0.1)
    only_running = week(vel([tally("alice", status="running", runs=4)]), "vision")
    assert (only_running.runs, only_running.share("finished"), only_running.share("failed")) == (4, None, None)


@pytest.mark.parametrize("seconds, median", [([600], 600), ([60, 600, 120], 120), ([60, 120], 90),
                                             ([10, 40, 20, 30], 25)])
def test_the_median_run_time_of_the_weeks_finished_runs(seconds: list[float], median: float) -> None:
    rows = vel([tally("alice", runs=len(seconds))], [took("alice", s) for s in seconds])
    assert week(rows, "vision").median_run_seconds == median


def test_run_times_are_kept_per_owner_and_week() -> None:
    rows = vel([tally("alice"), tally("bob@example.com"), tally("alice", status="running", week="2026-W47")],
               [took("alice", 100), took("bob@example.com", 900), took("alice", 5000, week="2026-W40")])
    assert week(rows, "vision").median_run_seconds == 100
    assert week(rows, "language").median_run_seconds == 900
    assert week(rows, "vision", "2026-W47").median_run_seconds is None  # nothing finished that week


def test_the_median_leaves_out_runs_that_did_not_finish(store) -> None:
    """The durations come from the store: only *finished* runs with a finish time. A failed or
    killed run that has both times is not in the median, nor is a running one."""
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    store.save_experiment_runs([
        ExperimentRun("mlflow", "a", "ranker", "finished", start, start + timedelta(minutes=10), "alice"),
        ExperimentRun("mlflow", "b", "ranker", "finished", start, start + timedelta(minutes=30), "alice"),
        ExperimentRun("mlflow", "c", "ranker", "failed", start, start + timedelta(minutes=1), "alice"),
        ExperimentRun("mlflow", "d", "ranker", "killed", start, start + timedelta(minutes=2), "alice"),
        ExperimentRun("mlflow", "e", "ranker", "running", start, None, "alice"),
    ], start)
    labels, teams, org = ResearchQueries(store, _settings()).velocity(datetime(2026, 11, 25, tzinfo=UTC))
    v = teams["vision"][-1]
    assert (labels[-1], v.runs, v.ended) == (THIS, 5, 4)
    assert v.median_run_seconds == pytest.approx(20 * 60, abs=0.01)  # SQLite's julianday: sub-millisecond noise
    assert org[-1].median_run_seconds == pytest.approx(20 * 60, abs=0.01)


# -- commits and branches ------------------------------------------------------------------------


def test_commits_and_branches_are_summed_per_team() -> None:
    rows = vel(commits=[repo("alice-gh", 3), repo("bobby", 2, "Bob@Example.com"), repo("alice-gh", 1, week="2026-W47")],
               branches=[repo("bobby", 1, "bob@example.com"), repo("alice-gh", 2, source="gitlab")])
    assert (week(rows, "vision").commits, week(rows, "vision", "2026-W47").commits) == (3, 1)
    assert (week(rows, "language").commits, week(rows, "language").branches) == (2, 1)
    assert week(rows, UNASSIGNED).branches == 2  # "gitlab:alice-gh" is not in [identities]
    assert week(rows, "vision").branches == 0 and week(rows, "vision").runs == 0
    assert not week(rows, "language").quiet
    elsewhere = vel(commits=[repo("alice-gh", 5, week="2026-W40")], branches=[repo("bobby", 1, "bob@example.com",
                                                                                  week="2026-W49")])
    assert elsewhere == {}  # commits and branches of other weeks are ignored, owners and all


# -- who is who ----------------------------------------------------------------------------------


def test_identities_map_source_names_first_then_e_mails() -> None:
    assert PEOPLE.person("mlflow", "alice") == "U0VIS1"
    assert PEOPLE.person("MLflow", "Alice") == "U0VIS1"  # keys compared without case
    assert PEOPLE.person("github", "alice-gh", "someone@else.com") == "U0VIS1"  # [identities] wins over e-mail
    assert PEOPLE.person("wandb", "alice") is None  # the source is part of the key
    assert PEOPLE.person("github", "bobby", " Bob@Example.COM ") == "U0NLP1"
    assert PEOPLE.person("mlflow", "bob@example.com") == "U0NLP1"  # a user name that is an e-mail
    assert PEOPLE.person("github", None, "bob@example.com") == "U0NLP1"
    assert PEOPLE.person("github", "bob@example.com", "other@example.com") is None  # the given e-mail is used
    assert PEOPLE.person("mlflow", "carol@example.com") is None  # looked up in Slack, no match
    assert PEOPLE.person("mlflow", None) is None and PEOPLE.person("mlflow", "") is None


def test_a_person_counts_for_their_first_team_in_config_order() -> None:
    both = Identities(identities={"mlflow:dana": "U0BOTH"},
                      teams=(Team("vision", ("U0BOTH",)), Team("language", ("U0NLP1", "U0BOTH"))))
    assert both.team("U0BOTH") == "vision"
    assert both.team("U0NLP1") == "language"
    assert both.team("U0NOBODY") == UNASSIGNED and both.team(None) == UNASSIGNED
    rows = velocity([tally("dana", runs=4)], [], [], [], both, WEEKS)
    assert list(rows) == ["vision"]  # once, in the first team; the second team gets nothing
    assert week(rows, "vision").runs == 4
    swapped = Identities(identities=both.identities, teams=tuple(reversed(both.teams)))
    assert list(velocity([tally("dana", runs=4)], [], [], [], swapped, WEEKS)) == ["language"]


def test_unmapped_activity_is_unassigned_never_dropped_and_listed_last() -> None:
    runs = [tally("alice", runs=2), tally(None, runs=3), tally("ci-bot", runs=4), tally("olga", runs=5),
            tally("carol@example.com", runs=6), tally("bob@example.com", runs=1)]
    commits = [repo(None, 7, "stranger@example.com"), repo("alice-gh", 1)]
    rows = vel(runs, commits=commits)
    assert list(rows) == ["language", "vision", UNASSIGNED]
    unassigned = week(rows, UNASSIGNED)
    assert (unassigned.runs, unassigned.commits) == (3 + 4 + 5 + 6, 7)  # olga is mapped but in no team
    assert sum(week(rows, who).runs for who in rows) == sum(t.runs for t in runs)
    assert sum(week(rows, who).commits for who in rows) == 8


def test_by_person_keys_rows_by_slack_user() -> None:
    runs = [tally("alice", runs=2), tally("vic@example.com", runs=3), tally("olga", runs=1), tally("ci-bot", runs=9)]
    rows = vel(runs, [took("alice", 60), took("alice", 120)], [repo("alice-gh", 4)], by="person")
    assert list(rows) == ["U0OUT1", "U0VIS1", "U0VIS2", UNASSIGNED]  # olga has her own row though in no team
    alice = week(rows, "U0VIS1")
    assert (alice.runs, alice.commits, alice.median_run_seconds) == (2, 4, 90)
    assert week(rows, UNASSIGNED).runs == 9


def test_by_all_pools_everyone_and_counts_shared_experiments_once() -> None:
    runs = [tally("alice", "ranker", runs=2), tally("bob@example.com", "ranker", runs=3), tally(None, "ranker"),
            tally("bob@example.com", "ner", "killed")]
    teams = vel(runs)
    pooled = vel(runs, [took("alice", 10), took("bob@example.com", 30), took(None, 20)],
                 [repo("alice-gh", 2), repo(None, 1)], [repo("bobby", 1, "bob@example.com")], by="all")
    assert list(pooled) == [ALL]
    v = week(pooled, ALL)
    assert (v.runs, v.experiments, v.killed, v.median_run_seconds, v.commits, v.branches) == (7, 2, 1, 20, 3, 1)
    assert sum(week(teams, t).experiments for t in teams) == 4  # "ranker" counts once per team


# -- this week against the four before -----------------------------------------------------------


def test_the_average_of_four_weeks_counts_quiet_weeks_as_zero() -> None:
    rows = [Velocity("a", runs=4, finished=2, failed=2, experiments=1, commits=2, median_run_seconds=100),
            Velocity("b"),
            Velocity("c", runs=8, finished=6, killed=2, running=0, experiments=2, branches=4, median_run_seconds=300),
            Velocity("d", runs=4, finished=4, experiments=1, commits=6, median_run_seconds=200)]
    mean = average(rows)
    assert mean.week == "4-week average"
    assert (mean.runs, mean.finished, mean.failed, mean.killed, mean.experiments) == (4, 3, 0.5, 0.5, 1)
    assert (mean.commits, mean.branches, mean.running) == (2, 1, 0)
    assert mean.median_run_seconds == 200  # the median of the weeks' medians, weeks without one left out
    assert mean.runs_per_experiment == 4.0 and mean.share("finished") == 0.75


def test_the_average_of_nothing_is_an_empty_week() -> None:
    mean = average([])
    assert (mean.week, mean.runs, mean.median_run_seconds, mean.quiet) == ("0-week average", 0, None, True)
    assert average([Velocity("a"), Velocity("b")]).median_run_seconds is None


def test_this_week_is_compared_with_the_mean_of_the_four_weeks_before() -> None:
    runs = [tally("alice", runs=n, week=w) for w, n in zip(WEEKS, [2, 4, 0, 6, 10])]
    runs.append(tally("alice", runs=100, week="2026-W43"))  # a fifth week back: not in the average
    this, before = trailing(vel(runs, weeks=WEEKS)["vision"])
    assert (this.week, this.runs) == (THIS, 10)
    assert (before.week, before.runs) == ("4-week average", 3)


# -- ISO weeks in the timezone given -------------------------------------------------------------


def test_weeks_are_iso_weeks_from_monday_midnight_in_the_timezone() -> None:
    weeks = weeks_until(datetime(2026, 10, 21, 12, tzinfo=UTC), 5, LONDON)
    assert weeks.labels == ["2026-W39", "2026-W40", "2026-W41", "2026-W42", "2026-W43"]
    assert weeks.current == "2026-W43"
    assert weeks.bounds[0] == datetime(2026, 9, 20, 23, tzinfo=UTC)  # Monday 00:00 BST
    assert weeks.bounds[-2:] == [datetime(2026, 10, 18, 23, tzinfo=UTC),
                                 datetime(2026, 10, 26, 0, tzinfo=UTC)]  # a 169-hour week: the clocks go back
    assert len(weeks.bounds) == len(weeks.labels) + 1


def test_a_monday_begins_at_local_midnight_not_utc() -> None:
    sunday_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 08:30 in Tokyo
    assert weeks_until(sunday_utc, 1, ZoneInfo("Asia/Tokyo")).labels == ["2026-W48"]
    assert weeks_until(sunday_utc, 1, ZoneInfo("UTC")).labels == ["2026-W47"]
    monday_utc = datetime(2026, 11, 23, 3, tzinfo=UTC)  # still Sunday evening in New York
    assert weeks_until(monday_utc, 1, ZoneInfo("America/New_York")).labels == ["2026-W47"]
    assert weeks_until(monday_utc, 1, ZoneInfo("America/New_York")).bounds == [
        datetime(2026, 11, 16, 5, tzinfo=UTC), datetime(2026, 11, 23, 5, tzinfo=UTC)]


def test_weeks_use_the_iso_year_at_new_year() -> None:
    assert weeks_until(datetime(2027, 1, 1, 12, tzinfo=UTC), 1, LONDON).labels == ["2026-W53"]
    assert weeks_until(datetime(2027, 1, 4, 12, tzinfo=UTC), 2, LONDON).labels == ["2026-W53", "2027-W01"]
    assert weeks_until(datetime(2025, 12, 31, 12, tzinfo=UTC), 1, LONDON).labels == ["2026-W01"]


def _settings():
    return settings_from_mapping({"timezone": "Europe/London", "identities": {"mlflow:alice": "U0VIS1"},
                                  "team": [{"name": "vision", "members": ["U0VIS1"]}]}, {})


def test_a_run_counts_in_the_local_week_it_started(store) -> None:
    """Sunday 23:30 UTC on 18 October is Monday 00:30 BST: week 43 in London, week 42 in UTC; after
    the clocks go back, Sunday 23:30 UTC is Sunday in London too."""
    at = [datetime(2026, 10, 18, 23, 30, tzinfo=UTC), datetime(2026, 10, 18, 22, 59, tzinfo=UTC),
          datetime(2026, 10, 25, 23, 30, tzinfo=UTC)]
    store.save_experiment_runs([ExperimentRun("mlflow", f"r{i}", "ranker", "running", t, None, "alice")
                                for i, t in enumerate(at)], at[-1])
    queries, now = ResearchQueries(store, _settings()), datetime(2026, 10, 27, 12, tzinfo=UTC)
    labels, teams, _ = queries.velocity(now, count=3)
    assert (labels, [v.runs for v in teams["vision"]]) == (["2026-W42", "2026-W43", "2026-W44"], [1, 2, 0])
    labels, teams, _ = queries.velocity(now, count=3, tz=ZoneInfo("UTC"))
    assert (labels, [v.runs for v in teams["vision"]]) == (["2026-W42", "2026-W43", "2026-W44"], [2, 1, 0])
