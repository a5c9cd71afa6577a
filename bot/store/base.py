"""The connection every store module shares: one per thread, one writer at a time.

`StoreBase` declares what the feature stores (`JiraStore`, `FocusStore`, ...) build on:
`db`, this thread's connection, and `transaction()`, the one way to write. WAL mode lets
readers run beside the writer; a write waits up to `busy_timeout` seconds for another
process's lock, then raises `sqlite3.OperationalError` (the web layer's 503).
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlite_utils import Database

BUSY_TIMEOUT_SECONDS = 30.0


class StoreBase:
    """A SQLite database at `path`: per-thread connections and serialised transactions."""

    busy_timeout = BUSY_TIMEOUT_SECONDS  # seconds; for connections opened after it is set

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        self._write_lock = threading.RLock()

    @property
    def db(self) -> Database:
        """This thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            # FULL: a commit is on disk before we answer (WAL keeps that cheap), so nothing
            # acknowledged to Slack, Jira or an IDE plugin is lost to a crash or power cut.
            conn.execute("PRAGMA synchronous=FULL")
            db = Database(conn)
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One writer at a time; everything inside commits together or not at all."""
        with self._write_lock:
            with self.db.atomic() as db:
                yield db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def count(self, table: str) -> int:
        """The rows in `table`."""
        return self.db[table].count
