"""Synthetic research activity for the demo organisation: MLflow-like training runs, pushes
and branches on research repositories, and the research initiatives (Jira epics) the demo's
stories belong to, written through the same store upserts the sources use.

Runs are sweeps (one experiment, many runs) and single runs, mostly finished, some failed or
killed, a few still running; users are matched through `[identities]` (demo.toml), e-mail,
or not at all (a CI account, counted as "unassigned"). Epics: one per theme of the stories
(`bot.demo.handoffs.PROJECTS`), plus one per project nobody touched this quarter.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from bot.demo import demo_settings
from bot.demo.handoffs import EPIC_AGE_WEEKS, PROJECTS, epic_key
from bot.ingest.jira import record_jira_issue
from bot.metrics.handoffs import HandoffRules
from bot.models import ChangeItem, ExperimentRun, JiraIssue, RepoBranch, RepoCommit
from bot.store import Store

# (MLflow user, GitHub login, e-mail, Slack user, research repository)
RESEARCHERS = (
    ("ada", "ada-ok", "ada@demo.example", "U0VIS0001", "acme/vision-research"),
    ("ben.ito", "benito", "ben@demo.example", "U0VIS0002", "acme/vision-research"),
    ("chen", "chenwu", "chen@demo.example", "U0NLP0001", "acme/nlp-experiments"),
    ("dara@demo.example", "dsingh", "dara@demo.example", "U0NLP0002", "acme/nlp-experiments"),
    ("eva", "eva-n", "eva@demo.example", "U0RL00001", "acme/rl-research"),
)
CI_USER = "ci-trainer"  # no identity, no e-mail: its runs are "unassigned"
EXPERIMENTS = {
    "acme/vision-research": ["vit-distillation", "sam-finetune", "depth-robotics"],
    "acme/nlp-experiments": ["reranker-sweep", "summariser-eval", "code-tokenizer"],
    "acme/rl-research": ["reward-model", "offline-rl-pricing"],
}


def build_demo_research(store: Store, now: datetime, *, weeks: int = 12, seed: int = 11) -> tuple[int, int, int]:
    """Write runs, commits, branches and epics; link the demo's e-mails to Slack users.
    Returns (runs, commits, branches)."""
    rng = random.Random(seed)
    start = now - timedelta(weeks=weeks)
    for _, _, email, slack_id, _ in RESEARCHERS:
        store.link_user(email, slack_id, "email", now)  # what the link-users job does from Slack
    runs = _runs(rng, start, now)
    store.save_experiment_runs(runs, now)
    commits, branches = _repo_activity(rng, start, now)
    store.save_repo_activity(commits, branches)
    _epics(store, now)
    return len(runs), len(commits), len(branches)


def _runs(rng: random.Random, start: datetime, now: datetime) -> list[ExperimentRun]:
    runs: list[ExperimentRun] = []
    people = [(r[0], r[4]) for r in RESEARCHERS] + [(CI_USER, "acme/nlp-experiments")]
    day = start
    while day < now:
        for user, repo in people:
            if day.weekday() >= 5 or rng.random() < 0.35:
                continue
            experiment = rng.choice(EXPERIMENTS[repo])
            sweep = rng.random() < 0.2
            for _ in range(rng.randint(8, 30) if sweep else rng.randint(1, 3)):
                began = day.replace(hour=rng.randint(8, 19), minute=rng.randint(0, 59))
                if began >= now:
                    continue
                minutes = rng.lognormvariate(3.7, 0.8)  # median ~40 minutes
                end = began + timedelta(minutes=minutes)
                roll = rng.random()
                status = "failed" if roll < 0.12 else "killed" if roll < 0.17 else "finished"
                if end >= now:
                    status, end_at = "running", None
                else:
                    end_at = end if status != "failed" else began + timedelta(minutes=minutes * rng.uniform(0.05, 0.5))
                run_id = hashlib.sha1(f"{user}{began.isoformat()}{len(runs)}".encode()).hexdigest()[:32]
                runs.append(ExperimentRun("mlflow", run_id, experiment, status, began, end_at, user, None,
                                          f"https://mlflow.demo.example/#/experiments/1/runs/{run_id}"))
        day += timedelta(days=1)
    return runs


def _repo_activity(rng: random.Random, start: datetime, now: datetime) -> tuple[list[RepoCommit], list[RepoBranch]]:
    commits: list[RepoCommit] = []
    branches: list[RepoBranch] = []
    day = start
    while day < now:
        for _, login, email, _, repo in RESEARCHERS:
            if day.weekday() >= 5:
                continue
            for _ in range(rng.choice((0, 0, 1, 2, 3, 5))):
                at = day.replace(hour=rng.randint(9, 18), minute=rng.randint(0, 59))
                if at < now:
                    sha = hashlib.sha1(f"{login}{at.isoformat()}{len(commits)}".encode()).hexdigest()
                    commits.append(RepoCommit("github", repo, sha, at, login, email, login))
            if rng.random() < 0.15:
                at = day.replace(hour=rng.randint(9, 18))
                if at < now:
                    branches.append(RepoBranch("github", repo, f"{login}/exp-{len(branches)}", at, login, email))
        day += timedelta(days=1)
    return commits, branches


def _epics(store: Store, now: datetime) -> None:
    """One epic per story theme (the stories carry it as parent), and one untouched per project."""
    rules = HandoffRules.from_settings(demo_settings().jira)
    for project, themes in PROJECTS.items():
        for i, theme in enumerate([*themes, "Exploratory ideas backlog"]):
            key = epic_key(project, i)
            untouched = i == len(themes)
            created = now - timedelta(weeks=30 if untouched else EPIC_AGE_WEEKS[i], hours=1)
            changed = created + timedelta(days=3)
            epic = JiraIssue(key=key, id=str(int(key.split("-")[1]) + 900000), project=project, summary=theme,
                             issue_type="Epic", status="To Do" if untouched else "In Progress", labels=(),
                             created=created, updated=created if untouched else changed,
                             url=f"https://demo.atlassian.net/browse/{key}", reporter_name="Ada Okafor",
                             reporter_email="ada@demo.example")
            items = [] if untouched else [ChangeItem(key, f"{key}-1", 0, changed, "status", "To Do", "In Progress")]
            record_jira_issue(store, epic, items, rules)
