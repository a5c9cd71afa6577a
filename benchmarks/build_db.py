"""Build (once) the benchmark database: 50,000 issues, 1,000,000 changelog items.

Writes through `bot.ingest.jira.record_jira_issue`, the path sync and webhooks use, batched
in transactions of 500 issues. Reused when it already exists (delete it to rebuild).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic import NOW, synthetic_issues  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.ingest.jira import record_jira_issue  # noqa: E402
from bot.metrics.handoffs import HandoffRules  # noqa: E402
from bot.store import Store  # noqa: E402

ISSUES, ITEMS_PER_ISSUE = 50_000, 20
DEFAULT_PATH = Path(os.environ.get("BENCH_DB", "/tmp/research-bridge-bench.db"))


def build(path: Path = DEFAULT_PATH, issues: int = ISSUES, items_per_issue: int = ITEMS_PER_ISSUE) -> Store:
    if path.exists():
        store = Store(path)
        if store.count("jira_issues") == issues:
            return store
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    store = Store(path)
    started = time.perf_counter()
    write_issues(store, issues, items_per_issue, NOW)
    print(
        f"\n  {store.count('jira_issues'):,} issues, {store.count('jira_changelog'):,} changelog items, "
        f"{store.count('handoff_cycles'):,} handoff cycles in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return store


def write_issues(store: Store, issues: int, items_per_issue: int, now: datetime, years: float = 2.0) -> None:
    """Write `synthetic_issues` (ending at `now`, spread over `years`) into `store` through
    `record_jira_issue`, in transactions of 500 issues (also used by bench_digest.py)."""
    rules = HandoffRules.from_settings(settings_from_mapping({}, {}).jira)
    batch = []
    for n, (issue, items) in enumerate(synthetic_issues(issues, items_per_issue, now, years), 1):
        batch.append((issue, items))
        if len(batch) == 500 or n == issues:
            with store.transaction():
                for issue_, items_ in batch:
                    record_jira_issue(store, issue_, items_, rules)
            batch.clear()
            print(f"\r  built {n:,} issues", end="", file=sys.stderr)


if __name__ == "__main__":
    build()
