"""Results computed from the store, remembered under a version of the data they read.

`Memo.get(key, compute)` answers from the entry computed at the current version. When the
version has moved (new runs, a Jira sync), an entry computed less than `stale_for` seconds ago
is answered at once while one background thread recomputes it, so a reader never waits for a
recomputation that writers keep triggering; an older entry (or none) is recomputed before
answering. `strict=True` never answers from an older version (for inputs of another entry,
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


@dataclass(frozen=True)
class _Entry(Generic[T]):
    version: int
    computed_at: float  # monotonic seconds
    value: T


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
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry.version == version:
            return entry.value
        if not strict and entry is not None and self._clock() - entry.computed_at < self.stale_for:
            self._refresh_in_background(key, compute)
            return entry.value
        return self._compute(key, compute, version)

    def _compute(self, key: Hashable, compute: Callable[[], T], version: int) -> T:
        value = compute()
        with self._lock:
            current = self._entries.get(key)
            if current is None or current.version <= version:
                self._entries.pop(key, None)
                while len(self._entries) >= self._max_entries:
                    self._entries.pop(next(iter(self._entries)))
                self._entries[key] = _Entry(version, self._clock(), value)
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
