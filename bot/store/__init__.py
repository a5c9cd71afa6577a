"""SQLite storage: the only package that writes SQL.

One `Store` per process, made of one store per feature on a shared base (`base.StoreBase`:
a connection per thread, one writer at a time, short transactions). Every write is an
idempotent upsert, so a redelivered webhook or a sync overlapping a webhook stores a
change once. Opening a store applies any migration it has not seen.
"""

from __future__ import annotations

from pathlib import Path

from bot.store.digests import DigestStore
from bot.store.experiments import ExperimentStore
from bot.store.focus import FocusStore
from bot.store.jira import JiraStore
from bot.store.migrations import migrations
from bot.store.pipelines import PipelineStore
from bot.store.posts import PostStore
from bot.store.repos import RepoStore
from bot.store.research import ResearchStore
from bot.store.sync import SyncStore


class Store(JiraStore, SyncStore, FocusStore, PipelineStore, DigestStore, PostStore, ExperimentStore,
            ResearchStore, RepoStore):
    """Typed reads and idempotent writes over the Research Bridge database."""

    def __init__(self, path: str | Path):
        super().__init__(path)
        db = self.db
        db.enable_wal()
        migrations.apply(db)
