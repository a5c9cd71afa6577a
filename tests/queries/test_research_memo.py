"""The research queries remember what they computed only while nothing they read has changed:
every write to runs, commits, branches, Jira issues, changelogs, cycles or user links (from
this process or another one) moves the research version and the next answer is recomputed."""

from __future__ import annotations

import time
from datetime import timedelta

from bot.app import build_server
from bot.config import settings_from_mapping
from bot.jobs import Services, run_job
from bot.models import RepoCommit
from bot.queries.research import ResearchQueries
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support.research import CONFIG, MONDAY, NOW, issue, run, seed


def queries(store: Store) -> ResearchQueries:
    """Queries that never answer from an older version (see the last tests for the other way)."""
    return ResearchQueries(store, settings_from_mapping(CONFIG, {}), stale_for=0)


def test_a_new_run_is_counted_at_once(store: Store) -> None:
    seed(store)
    research = queries(store)
    before = research.overview(NOW).teams["vision"][-1].runs
    assert research.overview(NOW).teams["vision"][-1].runs == before  # remembered: the same answer
    store.save_experiment_runs([run("late", "alice", "ranker-sweep", "finished", MONDAY + timedelta(days=1), 5)], NOW)
    assert research.overview(NOW).teams["vision"][-1].runs == before + 1


def test_a_write_from_another_connection_is_seen(store: Store) -> None:
    seed(store)
    research = queries(store)
    commits = research.overview(NOW).org[-1].commits
    other = Store(store.path)  # another process would open its own connection like this
    try:
        other.save_repo_activity([RepoCommit("github", "acme/vision-research", "f00d", MONDAY + timedelta(hours=3),
                                             "alice-gh")], [])
    finally:
        other.close()
    assert research.overview(NOW).org[-1].commits == commits + 1


def test_linking_a_person_moves_their_runs_to_their_team(store: Store) -> None:
    seed(store)
    research = queries(store)
    store.save_experiment_runs([run("c1", "carol@example.com", "probe", "finished", MONDAY + timedelta(hours=5), 5)],
                               NOW)
    unassigned = research.overview(NOW).teams["unassigned"][-1].runs
    store.link_user("carol@example.com", "U0VIS2", "email", NOW)
    after = research.overview(NOW).teams
    assert after["unassigned"][-1].runs == unassigned - 1


def test_a_new_initiative_is_in_the_funnel_at_once(store: Store) -> None:
    seed(store)
    research = queries(store)
    quarter = research.overview(NOW).quarter
    keys = {s.initiative.key for s in research.stages(quarter)}
    store.save_issue(issue("VIS-900", "Epic", MONDAY))
    assert {s.initiative.key for s in research.stages(quarter)} == keys | {"VIS-900"}


def test_the_version_moves_on_every_research_write_and_only_then(store: Store) -> None:
    first = store.research_version()
    assert store.research_version() == first  # reading moves nothing
    store.save_experiment_runs([run("r1", "alice", "e", "finished", MONDAY, 5)], NOW)
    second = store.research_version()
    store.link_user("dana@example.com", "U0DANA", "email", NOW)
    assert first < second < store.research_version()


def test_while_writes_arrive_the_last_result_is_answered_and_refreshed(store: Store) -> None:
    seed(store)
    research = ResearchQueries(store, settings_from_mapping(CONFIG, {}), stale_for=60)
    before = research.overview(NOW).teams["vision"][-1].runs
    store.save_experiment_runs([run("late", "alice", "ranker-sweep", "finished", MONDAY + timedelta(days=1), 5)], NOW)
    assert research.overview(NOW).teams["vision"][-1].runs == before  # answered at once, refreshed behind
    deadline = time.monotonic() + 10
    while research.overview(NOW).teams["vision"][-1].runs == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert research.overview(NOW).teams["vision"][-1].runs == before + 1


def test_the_refresh_job_recomputes_only_when_the_data_moved(store: Store) -> None:
    seed(store)
    settings = settings_from_mapping(CONFIG, {})
    research = ResearchQueries(store, settings, stale_for=300)
    services = Services(settings, store, clock=lambda: NOW, research=research)
    assert run_job("research-refresh", services).startswith("research figures recomputed in")
    before = research.overview(NOW).teams["vision"][-1].runs
    assert run_job("research-refresh", services) == "research figures are current"

    store.save_experiment_runs([run("late", "alice", "ranker-sweep", "finished", MONDAY + timedelta(days=1), 5)], NOW)
    assert run_job("research-refresh", services).startswith("research figures recomputed in")
    assert research.overview(NOW).teams["vision"][-1].runs == before + 1  # current at once, nothing stale


def test_serve_schedules_the_research_refresh_every_two_minutes(store: Store) -> None:
    with FakeSlack(tokens=("xoxb-test",)) as slack:
        settings = settings_from_mapping(CONFIG, {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s3cret",
                                                  "SLACK_API_URL": slack.api_url})
        server = build_server(settings, store, lambda: NOW)
    assert "research-refresh" in {job.id for job in server.scheduler.get_jobs()}
    job = server.scheduler.get_job("research-refresh")
    assert job.trigger.interval.total_seconds() == 120


def test_the_refresh_job_computes_a_new_week_before_anyone_asks(store: Store) -> None:
    seed(store)
    settings = settings_from_mapping(CONFIG, {})
    research = ResearchQueries(store, settings, stale_for=300)
    monday_after = MONDAY + timedelta(weeks=1, hours=1)
    assert research.warm(NOW) and not research.warm(NOW)
    assert research.warm(monday_after)  # nothing written, but the week changed
    assert not research.warm(monday_after)
