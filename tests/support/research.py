"""A small research org for the `/research` and digest tests: runs, commits, branches and Jira
initiatives with known figures, seeded through the store's upserts (the path every source ends in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.ingest.jira import record_jira_issue
from bot.metrics.handoffs import HandoffRules
from bot.models import ChangeItem, ExperimentRun, JiraIssue, RepoBranch, RepoCommit
from bot.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday of 2026-W48
MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Europe/London is on UTC in November
CONFIG = {
    "timezone": "Europe/London",
    "team": [{"name": "vision", "members": ["U0VIS1", "U0VIS2"], "jira_projects": ["VIS"]},
             {"name": "language", "members": ["U0NLP1"], "jira_projects": ["NLP"]}],
    "identities": {"mlflow:alice": "U0VIS1", "github:alice-gh": "U0VIS1"},
    "streams": {"research_repos": ["acme/*-research"]},
}


def run(run_id: str, user: str | None, experiment: str, status: str, start: datetime, minutes: float) -> ExperimentRun:
    end = None if status == "running" else start + timedelta(minutes=minutes)
    return ExperimentRun("mlflow", run_id, experiment, status, start, end, user)


def issue(key: str, issue_type: str, created: datetime, parent: str | None = None, summary: str = "") -> JiraIssue:
    return JiraIssue(key=key, id=key.split("-")[1], project=key.split("-")[0], summary=summary or key,
                     issue_type=issue_type, status="To Do", labels=(), created=created, updated=created,
                     url=f"https://jira.example.com/browse/{key}", parent_key=parent)


def labelled(key: str, at: datetime, n: int) -> ChangeItem:
    return ChangeItem(key, f"{key}-{n}", 0, at, "labels", "", "research-handoff")


def moved(key: str, at: datetime, n: int, status: str) -> ChangeItem:
    return ChangeItem(key, f"{key}-{n}", 0, at, "status", "To Do", status)


def seed(store: Store) -> None:
    """This week: alice (vision, by [identities]) a 10-run sweep finishing in 10..19 minutes and
    2 failed probes; bob (language, by e-mail) 2 finished + 1 killed; an unknown CI user 1
    running run. The four weeks before: alice 4 runs a week of one experiment. Research
    commits: 3 by alice-gh this week, 1 by an unknown e-mail; one branch by bob's e-mail."""
    store.link_user("bob@example.com", "U0NLP1", "email", NOW)
    runs = [run(f"s{i}", "alice", "ranker-sweep", "finished", MONDAY + timedelta(hours=9, minutes=i), 10 + i)
            for i in range(10)]
    runs += [run(f"p{i}", "alice", "probe", "failed", MONDAY + timedelta(hours=10 + i), 3) for i in range(2)]
    runs += [run("b1", "bob@example.com", "ner", "finished", MONDAY + timedelta(days=1), 60),
             run("b2", "bob@example.com", "ner", "finished", MONDAY + timedelta(days=1, hours=2), 120),
             run("b3", "bob@example.com", "ner", "killed", MONDAY + timedelta(days=1, hours=4), 5),
             run("c1", "ci-bot", "nightly", "running", NOW - timedelta(minutes=30), 0)]
    runs += [run(f"w{w}-{i}", "alice", "ranker", "finished", MONDAY - timedelta(weeks=w) + timedelta(hours=i), 30)
             for w in range(1, 5) for i in range(4)]
    runs.append(run("old", "alice", "ranker", "finished", MONDAY - timedelta(weeks=6), 30))  # outside the 5 weeks
    store.save_experiment_runs(runs, NOW)
    commits = [RepoCommit("github", "acme/vision-research", f"{i:040x}", MONDAY + timedelta(hours=9 + i), "alice-gh",
                          "alice@example.com") for i in range(3)]
    commits.append(RepoCommit("github", "acme/vision-research", "f" * 40, MONDAY + timedelta(hours=15), None,
                              "stranger@example.com"))
    branches = [RepoBranch("github", "acme/nlp-research", "bob/ner-v2", MONDAY + timedelta(hours=8), "bobby",
                           "bob@example.com")]
    store.save_repo_activity(commits, branches)
    rules = HandoffRules(labels=frozenset({"research-handoff"}))
    q_start = datetime(2026, 10, 1, tzinfo=UTC)
    # VIS-1: a child handed off on Monday, still waiting. NLP-1: a child handed off and delivered.
    # VIS-9: an epic untouched since last quarter (not active). NLP-5: an epic with no children, changed.
    record_jira_issue(store, issue("VIS-1", "Epic", q_start - timedelta(days=30), summary="Distil the detector"), [],
                      rules)
    record_jira_issue(store, issue("VIS-2", "Story", q_start + timedelta(days=5), parent="VIS-1"),
                      [labelled("VIS-2", MONDAY + timedelta(hours=9), 1)], rules)
    record_jira_issue(store, issue("NLP-1", "Epic", q_start - timedelta(days=60)), [], rules)
    record_jira_issue(store, issue("NLP-2", "Story", q_start + timedelta(days=1), parent="NLP-1"),
                      [labelled("NLP-2", q_start + timedelta(days=10), 1),
                       moved("NLP-2", q_start + timedelta(days=12), 2, "In Progress"),
                       ChangeItem("NLP-2", "NLP-2-3", 0, q_start + timedelta(days=20), "status", "In Progress", "Done")],
                      rules)
    record_jira_issue(store, issue("VIS-9", "Epic", q_start - timedelta(days=100)), [], rules)
    record_jira_issue(store, issue("NLP-5", "Epic", q_start - timedelta(days=100)),
                      [moved("NLP-5", q_start + timedelta(days=3), 1, "In Progress")], rules)
