"""Benchmark: `/research` at a 1,000-person org with a year of runs.

1,000 people in 20 teams of 50 (`[[team]] members`), 600 of them running experiments: a year
of MLflow-like runs (~15 a person a week, sweeps and single runs: ~470,000 rows), research
commits (~300,000) and branches, and 300 research initiatives (epics) with 3,000 children and
their handoff cycles, written through the store's upserts and `record_jira_issue`, cached in
/tmp (BENCH_RESEARCH_DB; delete it to rebuild). Half the platform users are matched through
`[identities]`, the other half by e-mail (user links), as a real org would be.

The real server (FastAPI + Bolt in uvicorn, as `serve` builds it) answers signed `/research`,
`/research team NAME` and `/research mine`; the time runs from sending the request to the
answer arriving at the fake Slack's response_url. p50/p99 over BENCH_REQUESTS (200) each,
between writes (the queries reuse what they computed while the research version stands still),
and over BENCH_COLD (30) requests with one run written before each (answered from the last
result while a background thread recomputes it). The in-process figures add the cold path:
computed from scratch, as after a quiet spell of more than STALE_FOR or in a new process.
Target: p99 < 100 ms. Not part of the test run.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import latency_line, measure_slash, percentile  # noqa: E402
from bot.app import build_server  # noqa: E402
from bot.config import Settings, settings_from_mapping  # noqa: E402
from bot.digest.compute import build_digest  # noqa: E402
from bot.digest.period import last_complete_week  # noqa: E402
from bot.ingest.jira import record_jira_issue  # noqa: E402
from bot.metrics.handoffs import HandoffRules  # noqa: E402
from bot.models import ChangeItem, ExperimentRun, JiraIssue, RepoBranch, RepoCommit  # noqa: E402
from bot.queries.research import STALE_FOR, ResearchQueries  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.support.live import serve  # noqa: E402

TOKEN, SECRET = "xoxb-bench", "bench-signing-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
COLD = int(os.environ.get("BENCH_COLD", "30"))
PEOPLE, TEAMS, RESEARCHERS, WEEKS = 1000, 20, 600, 52
EPICS, CHILDREN = 300, 10
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
DB = Path(os.environ.get("BENCH_RESEARCH_DB", "/tmp/research-bridge-bench-research.db"))


def person(n: int) -> str:
    return f"U{n:08d}"


def config() -> dict:
    teams = [{"name": f"team-{t:02d}", "members": [person(n) for n in range(t, PEOPLE, TEAMS)],
              "jira_projects": [f"P{t:02d}"]} for t in range(TEAMS)]
    identities = {f"mlflow:user{n}": person(n) for n in range(0, RESEARCHERS, 2)}
    identities |= {f"github:gh{n}": person(n) for n in range(0, RESEARCHERS, 2)}
    return {"timezone": "Europe/Berlin", "team": teams, "identities": identities,
            "streams": {"research_repos": ["acme/*"]}}


def build(path: Path = DB, seed: int = 5) -> Store:
    """The org's year, built once (a minute or so) and reused."""
    if path.exists():
        return Store(path)
    rng = random.Random(seed)
    store = Store(path)
    started = time.monotonic()
    for n in range(1, RESEARCHERS, 2):  # the odd half is found by e-mail
        store.link_user(f"user{n}@example.com", person(n), "email", NOW)
    start = NOW - timedelta(weeks=WEEKS)
    for week in range(WEEKS):
        runs: list[ExperimentRun] = []
        commits: list[RepoCommit] = []
        branches: list[RepoBranch] = []
        monday = start + timedelta(weeks=week)
        for n in range(RESEARCHERS):
            user = f"user{n}" if n % 2 == 0 else f"user{n}@example.com"
            left = rng.randint(5, 25)
            while left > 0:
                size = rng.randint(5, 20) if rng.random() < 0.2 else 1
                experiment = f"exp-{n}-{rng.randint(0, 9)}"
                for _ in range(min(size, left)):
                    began = monday + timedelta(minutes=rng.randint(0, 7 * 24 * 60 - 1))
                    if began >= NOW:
                        continue
                    roll = rng.random()
                    status = "failed" if roll < 0.1 else "killed" if roll < 0.15 else "finished"
                    end = began + timedelta(minutes=rng.lognormvariate(3.7, 0.8))
                    run_id = hashlib.blake2b(f"{n}{began}{left}".encode(), digest_size=16).hexdigest()
                    runs.append(ExperimentRun("mlflow", run_id, experiment, status, began, end, user))
                left -= size
            login = f"gh{n}" if n % 2 == 0 else None
            email = None if n % 2 == 0 else f"user{n}@example.com"
            for c in range(rng.randint(0, 20)):
                at = monday + timedelta(minutes=rng.randint(0, 7 * 24 * 60 - 1))
                if at < NOW:
                    sha = hashlib.sha1(f"{n}{week}{c}".encode()).hexdigest()
                    commits.append(RepoCommit("github", f"acme/repo-{n % 50}", sha, at, login, email))
            if rng.random() < 0.3:
                at = monday + timedelta(days=rng.randint(0, 6))
                if at < NOW:
                    branches.append(RepoBranch("github", f"acme/repo-{n % 50}", f"b{n}-{week}", at, login, email))
        store.save_experiment_runs(runs, NOW)
        store.save_repo_activity(commits, branches)
    _initiatives(store, rng)
    print(f"built {path} in {time.monotonic() - started:.0f} s")
    return store


def _initiatives(store: Store, rng: random.Random) -> None:
    rules = HandoffRules(labels=frozenset({"research-handoff"}))
    for e in range(EPICS):
        project = f"P{e % TEAMS:02d}"
        created = NOW - timedelta(days=rng.randint(30, 400))
        epic = f"{project}-{e + 1}"
        record_jira_issue(store, _issue(epic, project, "Epic", created, None), [], rules)
        for c in range(CHILDREN):
            key = f"{project}-{10_000 + e * CHILDREN + c}"
            at = created + timedelta(days=rng.randint(1, 300))
            items = []
            if rng.random() < 0.4 and at < NOW:
                items.append(ChangeItem(key, f"{key}-1", 0, at, "labels", "", "research-handoff"))
                picked = at + timedelta(days=rng.randint(1, 20))
                if picked < NOW and rng.random() < 0.8:
                    items.append(ChangeItem(key, f"{key}-2", 0, picked, "status", "To Do", "In Progress"))
                    done = picked + timedelta(days=rng.randint(2, 40))
                    if done < NOW and rng.random() < 0.7:
                        items.append(ChangeItem(key, f"{key}-3", 0, done, "status", "In Progress", "Done"))
            record_jira_issue(store, _issue(key, project, "Story", min(at, NOW - timedelta(hours=1)), epic), items, rules)


def _issue(key: str, project: str, issue_type: str, created: datetime, parent: str | None) -> JiraIssue:
    return JiraIssue(key=key, id=key.split("-")[1], project=project, summary=f"Initiative {key}",
                     issue_type=issue_type, status="To Do", labels=(), created=created, updated=created,
                     url=f"https://jira.example.com/browse/{key}", parent_key=parent)


def write_a_run(store: Store, n: int) -> None:
    """One new run (a training platform posting it): moves the research version."""
    began = NOW - timedelta(hours=1)
    store.save_experiment_runs([ExperimentRun("mlflow", f"bench-write-{n % 500}", "exp-4-0", "finished", began, NOW,
                                              "user4")], NOW)


def in_process(store: Store, settings: Settings) -> None:
    """The query alone (no HTTP, no rendering): between writes ("warm"), with a write before each
    call ("writes": answered from the last result while it is recomputed behind), and computed
    from scratch ("cold": the first call after a quiet spell, or in a new process)."""
    writes = iter(range(10**6))
    for label, call in (("overview", lambda q: q.overview(NOW)),
                        ("team", lambda q: q.overview(NOW, team="team-03")),
                        ("mine", lambda q: q.mine(person(4), NOW))):
        for state, calls in (("warm", 50), ("writes", 50), ("cold", 10)):
            queries = ResearchQueries(store, settings, stale_for=0 if state == "cold" else STALE_FOR)
            call(queries)
            times = []
            for _ in range(calls):
                if state != "warm":
                    write_a_run(store, next(writes))
                t = time.perf_counter()
                call(queries)
                times.append((time.perf_counter() - t) * 1000)
            print(f"  query {label:<9} {state:<6}  p50 {percentile(times, 0.5):6.1f} ms"
                  f"  p99 {percentile(times, 0.99):6.1f} ms")


def digest_section(store: Store) -> None:
    """The digest's research section for the whole org, as the Monday job computes it (fresh
    queries each time, so always from scratch)."""
    settings = settings_from_mapping({**config(), "digest": [{"channel": "C0BENCH", "sections": ["research"]}]}, {})
    digest = settings.digests[0]
    week = last_complete_week(NOW, digest.tz)
    build_digest(store, settings, digest, week)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        build_digest(store, settings, digest, week)
        times.append((time.perf_counter() - t) * 1000)
    print(f"  digest research section ({week.label}, whole org): median {percentile(times, 0.5):.0f} ms,"
          f" max {max(times):.0f} ms")


def main() -> None:
    store = build()
    print(f"database: {PEOPLE:,} people in {TEAMS} teams, {store.count('experiment_runs'):,} runs,"
          f" {store.count('repo_commits'):,} commits, {store.count('repo_branches'):,} branches over {WEEKS} weeks,"
          f" {store.count('jira_issues'):,} Jira issues ({EPICS} initiatives); {os.cpu_count()} cores")
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user(person(4), "bench", tz="Europe/Berlin")
        settings = settings_from_mapping(
            config(), {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url})
        in_process(store, settings)
        digest_section(store)
        server = build_server(settings, store, lambda: NOW, scheduler=False)  # as `serve` runs it, minus jobs
        with serve(server.web) as url:
            for text, expect in (("", "Initiatives"), ("team team-03", "team-03"), ("mine", "Your research")):
                measure_slash(url, fake, SECRET, "/research", text, person(4), 5, expect=expect)  # warm-up
                acks, totals = measure_slash(url, fake, SECRET, "/research", text, person(4), REQUESTS, expect=expect)
                print(latency_line(f"/research {text}".strip(), acks, totals))
                acks, totals = [], []
                for n in range(COLD):
                    write_a_run(store, n)
                    ack, total = measure_slash(url, fake, SECRET, "/research", text, person(4), 1, expect=expect)
                    acks += ack
                    totals += total
                print(latency_line(f"/research {text} (a write before each)".replace("  ", " "), acks, totals))
    store.close()


if __name__ == "__main__":
    main()
