"""Research repository activity (commits and branches from push webhooks) into the store, once
per delivery.

`record_repo_activity` remembers the delivery id and writes the commits and branches in one
`store.transaction()` (the store's transactions nest as savepoints), like
`bot.ingest.pipelines.store_once` does for runs: a delivery that fails half-way is neither
remembered nor half-stored, and its redelivery is processed. The same commit in two pushes is
one row (by sha), and a branch is kept at its first creation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from bot.models import RepoBranch, RepoCommit
from bot.store import Store


def record_repo_activity(store: Store, source: str, delivery: str | None, commits: Sequence[RepoCommit],
                         branches: Sequence[RepoBranch], received_at: datetime) -> dict[str, Any]:
    """Store one delivery's commits and branches, once per delivery id, in one transaction:
    {"ok": true, "commits": carried, "branches": newly created}, or {"ok": true, "duplicate": true}."""
    with store.transaction():
        if delivery and not store.remember_delivery(source, delivery[:200], received_at):
            return {"ok": True, "duplicate": True}
        commit_count, new_branches = store.save_repo_activity(commits, branches)
        return {"ok": True, "commits": commit_count, "branches": new_branches}
