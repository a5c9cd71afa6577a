"""Large synthetic Jira histories for benchmarks (not tests): realistic shapes, fixed seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Iterator

from bot.models import ChangeItem, JiraIssue

LABEL = "research-handoff"
NOISE_FIELDS = ("description", "priority", "Sprint", "Story Points", "comment", "Fix Version", "Component")


def synthetic_issues(
    count: int, items_per_issue: int, now: datetime, years: float = 2.0, seed: int = 1
) -> Iterator[tuple[JiraIssue, list[ChangeItem]]]:
    """Yield (issue, changelog items); about half are handoffs, the rest noise edits."""
    rng = random.Random(seed)
    span = timedelta(days=365 * years)
    projects = [f"P{n:02d}" for n in range(20)]
    for n in range(count):
        project = projects[n % len(projects)]
        key = f"{project}-{n + 1}"
        created = now - span * (1 - n / count) + timedelta(minutes=rng.randint(0, 600))
        events: list[tuple[datetime, str, str | None, str | None]] = []
        labels, status = ["ml"], "To Do"
        t = created
        if rng.random() < 0.5:
            t += timedelta(hours=rng.uniform(1, 200))
            events.append((t, "labels", "ml", f"ml {LABEL}"))
            labels.append(LABEL)
            t += timedelta(hours=rng.lognormvariate(3.4, 1.0))
            if t < now:
                events.append((t, "status", "To Do", "In Progress"))
                status = "In Progress"
                t += timedelta(hours=rng.lognormvariate(4.5, 0.7))
                if t < now:
                    events.append((t, "status", "In Progress", "Done"))
                    status = "Done"
        events = [e for e in events if e[0] < now]
        while len(events) < items_per_issue:
            at = created + (min(now, created + timedelta(days=120)) - created) * rng.random()
            events.append((at, rng.choice(NOISE_FIELDS), "old", "new"))
        events.sort()
        issue = JiraIssue(
            key=key, id=str(100000 + n), project=project, summary=f"Synthetic research task {n}",
            issue_type="Story", status=status, labels=tuple(labels), created=created,
            updated=events[-1][0] if events else created, url=f"https://bench.example/browse/{key}",
            reporter_name="Researcher", reporter_email=f"r{n % 300}@bench.example",
        )
        items = [
            ChangeItem(issue_key=key, history_id=str(n * 100 + i), item_index=0, created=at,
                       field=f, from_string=a, to_string=b, author_name="Someone")
            for i, (at, f, a, b) in enumerate(events)
        ]
        yield issue, items


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
