"""Results computed from the store, remembered under a version of the data they read.

`Memo.get(key, compute)` answers from the entry computed at the current version. When the
version has moved (new runs, a Jira sync), an entry last known current less than `stale_for`
seconds ago (computed, or found current by a `get` or `confirm`) is answered at once while one
background thread recomputes it, so a reader never waits for a recomputation that writers keep
triggering and misses at most `stale_for` of writes; an older entry (or none) is recomputed
before answering. `strict=True` never answers from an older version (for inputs of another entry,
so a refresh never builds on stale parts); inside `with memo.strictly():` every `get` of this
thread is strict (a scheduled refresh that must leave everything current).

An entry is stored under the version read *before* computing it: a write landing during the
computation leaves the entry a version behind, so the next reader refreshes it.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, Iterator, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    version: int
    value: T
    current_at: float  # monotonic seconds: when it was last known to be current


class Memo:
    """A small, thread-safe cache of computed results, keyed and versioned."""

    def __init__(self, version: Callable[[], int], *, stale_for: float = 0.0, entries: int = 16,
                 clock: Callable[[], float] = time.monotonic):
        self._version = version
        self.stale_for = stale_for
        self._max_entries = entries
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()
        self._strict = threading.local()

    @contextmanager
    def strictly(self) -> Iterator[None]:
        """Every `get` of this thread inside the block is strict."""
        before = getattr(self._strict, "on", False)
        self._strict.on = True
        try:
            yield
        finally:
            self._strict.on = before

    def get(self, key: Hashable, compute: Callable[[], T], *, strict: bool = False) -> T:
        """`compute()`'s result for `key`, reused as described in the module docstring."""
        version = self._version()
        strict = strict or getattr(self._strict, "on", False)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version:
                entry.current_at = now
                return entry.value
        if not strict and entry is not None and now - entry.current_at < self.stale_for:
            self._refresh_in_background(key, compute)
            return entry.value
        return self._compute(key, compute, version)

    def confirm(self) -> None:
        """Mark the entries computed at the current version as current now (nothing moved)."""
        version, now = self._version(), self._clock()
        with self._lock:
            for entry in self._entries.values():
                if entry.version == version:
                    entry.current_at = now

    def _compute(self, key: Hashable, compute: Callable[[], T], version: int) -> T:
        started = self._clock()
        value = compute()
        with self._lock:
            current = self._entries.get(key)
            if current is None or current.version <= version:
                self._entries.pop(key, None)
                while len(self._entries) >= self._max_entries:
                    self._entries.pop(next(iter(self._entries)))
                self._entries[key] = _Entry(version, value, started)
        return value

    def _refresh_in_background(self, key: Hashable, compute: Callable[[], T]) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def refresh() -> None:
            try:
                self._compute(key, compute, self._version())
            except Exception:  # logged; the next reader tries again
                log.exception("Recomputing %s failed", key[0] if isinstance(key, tuple) and key else "a result")
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=refresh, name="memo-refresh", daemon=True).start()

    def version(self) -> int:
        """The data version now."""
        return self._version()
