"""Benchmark: Jira sync throughput and API calls against the fake Jira (Cloud shapes).

A first (full) sync of ISSUES issues through the real `jira` library over loopback HTTP,
10% of them with changelogs longer than Jira Cloud's inline limit (100 histories), then an
incremental run with 50 issues changed. Prints issues per second and API calls made
against the minimum: ceil(issues / 100) search pages + the changelog pages truncated
issues need. The fake runs in the same process, so its own work is inside the timing.
"""

from __future__ import annotations

import math
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import settings_from_mapping  # noqa: E402
from bot.sources.jira import JiraSync  # noqa: E402
from bot.sources.jira_client import connect  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.fake_jira import FakeJira  # noqa: E402

ISSUES = int(os.environ.get("BENCH_ISSUES", "3000"))
INLINE, PAGE = 100, 100
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def populate(fake: FakeJira, rng: random.Random) -> int:
    """Add issues; return the changelog pages a perfect client needs for the truncated ones."""
    needed = 0
    for n in range(ISSUES):
        at = T0 + timedelta(minutes=7 * n)
        issue = fake.add_issue(f"RES-{n + 1}", at, labels=["ml"])
        long_history = rng.random() < 0.10
        histories = rng.randint(120, 260) if long_history else rng.randint(3, 12)
        issue.add_label(at + timedelta(minutes=5), "research-handoff")
        for h in range(histories - 2):
            issue.edit_summary(at + timedelta(minutes=6 + h), f"Summary revision {h}")
        issue.transition(at + timedelta(minutes=6 + histories), "In Progress")
        if histories > INLINE:
            needed += math.ceil((histories - INLINE) / PAGE)
    return needed


def main() -> None:
    rng = random.Random(3)
    with FakeJira("Cloud", inline_changelog_max=INLINE, changelog_page_max=PAGE) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        changelog_pages_needed = populate(fake, rng)
        histories = sum(len(i.histories) for i in fake.issues.values())
        settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, fake.env())
        store = Store(Path(tmp) / "sync.db")
        now = max(i.updated for i in fake.issues.values()) + timedelta(minutes=1)
        sync = JiraSync(connect(settings), store, settings, clock=lambda: now)

        started, cpu_started = time.perf_counter(), time.thread_time()
        result = sync.run()
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
        minimum = math.ceil(ISSUES / PAGE) + changelog_pages_needed
        print(f"full sync: {result.issues:,} issues, {store.count('jira_changelog'):,} changelog items "
              f"({histories:,} histories) in {elapsed:.1f} s = {result.issues / elapsed:,.0f} issues/s; "
              f"{os.cpu_count()} cores")
        print(f"  the sync's own CPU time {cpu:.1f} s = {result.issues / cpu:,.0f} issues/s "
              "(the rest is the in-process fake Jira rendering JSON)")
        print(f"  API calls {result.api_calls} (search pages {result.pages}, changelog pages "
              f"{result.changelog_pages}); minimum {minimum} = {math.ceil(ISSUES / PAGE)} + {changelog_pages_needed}")

        later = now + timedelta(hours=1)
        for issue in rng.sample(list(fake.issues.values()), 50):
            issue.transition(later - timedelta(minutes=rng.randint(1, 50)), "Done")
        sync.clock = lambda: later
        started = time.perf_counter()
        result = sync.run()
        elapsed = time.perf_counter() - started
        print(f"incremental sync (50 changed): {result.issues} issues in {elapsed * 1000:.0f} ms, "
              f"{result.api_calls} API calls (search pages {result.pages}, changelog pages {result.changelog_pages})")


if __name__ == "__main__":
    main()
