"""`Memo`: one computation per version, an older result answered only inside `stale_for`
while exactly one background refresh runs, `strict` never stale, and a failed refresh logged."""

from __future__ import annotations

import threading

import pytest

from bot.queries.memo import Memo


class Versioned:
    """A data version and a clock the test moves by hand."""

    def __init__(self) -> None:
        self.version = 0
        self.now = 0.0
        self.calls = 0

    def compute(self) -> int:
        self.calls += 1
        return self.version


def memo_of(data: Versioned, stale_for: float = 0.0, entries: int = 16) -> Memo:
    return Memo(lambda: data.version, stale_for=stale_for, entries=entries, clock=lambda: data.now)


def wait_for(condition, timeout: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met")


def test_one_computation_per_version():
    data = Versioned()
    memo = memo_of(data)
    assert [memo.get("k", data.compute) for _ in range(3)] == [0, 0, 0] and data.calls == 1
    data.version = 1
    assert memo.get("k", data.compute) == 1 and data.calls == 2


def test_keys_are_separate_and_the_oldest_entry_goes_first():
    data = Versioned()
    memo = memo_of(data, entries=2)
    for key in ("a", "b", "c"):
        memo.get(key, data.compute)
    memo.get("c", data.compute)
    memo.get("b", data.compute)
    assert data.calls == 3
    memo.get("a", data.compute)  # evicted when "c" came
    assert data.calls == 4


def test_an_older_result_is_answered_while_one_refresh_runs():
    data = Versioned()
    memo = memo_of(data, stale_for=60)
    assert memo.get("k", data.compute) == 0
    release = threading.Event()

    def slow() -> int:
        release.wait(5)
        return data.compute()

    data.version = 1
    assert memo.get("k", slow) == 0 and memo.get("k", slow) == 0  # answered at once, twice
    release.set()
    wait_for(lambda: memo.get("k", slow) == 1)
    assert data.calls == 2  # the first computation and exactly one refresh


def test_too_old_a_result_is_recomputed_before_answering():
    data = Versioned()
    memo = memo_of(data, stale_for=60)
    memo.get("k", data.compute)
    data.version, data.now = 1, 61.0
    assert memo.get("k", data.compute) == 1


def test_strict_never_answers_an_older_version():
    data = Versioned()
    memo = memo_of(data, stale_for=60)
    memo.get("k", data.compute, strict=True)
    data.version = 1
    assert memo.get("k", data.compute, strict=True) == 1


def test_a_write_during_the_computation_leaves_the_entry_behind():
    data = Versioned()
    memo = memo_of(data)

    def racing() -> int:
        value = data.compute()
        data.version += 1  # a write lands while computing
        return value

    assert memo.get("k", racing) == 0
    assert memo.get("k", data.compute) == 1  # recomputed: the entry was stored as version 0


def test_a_failed_refresh_is_logged_and_the_old_result_kept(caplog: pytest.LogCaptureFixture):
    data = Versioned()
    memo = memo_of(data, stale_for=60)
    memo.get(("velocity", 1), data.compute)
    data.version = 1

    def broken() -> int:
        raise RuntimeError("database is locked")

    with caplog.at_level("ERROR", logger="bot.queries.memo"):
        assert memo.get(("velocity", 1), broken) == 0
        wait_for(lambda: "Recomputing velocity failed" in caplog.text)
    assert memo.get(("velocity", 1), data.compute) == 0  # still the old result; this refresh works
    wait_for(lambda: memo.get(("velocity", 1), data.compute) == 1)


def test_staleness_counts_from_when_the_entry_was_last_known_current():
    data = Versioned()
    memo = memo_of(data, stale_for=60)
    memo.get("k", data.compute)
    data.now = 100.0
    memo.get("k", data.compute)  # still current at 100
    data.version, data.now = 1, 150.0
    assert memo.get("k", data.compute) == 0  # 50 s since known current: answered, refreshed behind
    wait_for(lambda: memo.get("k", data.compute) == 1)


def test_confirm_keeps_unread_entries_usable_while_nothing_moves():
    data = Versioned()
    memo, unconfirmed = memo_of(data, stale_for=60), memo_of(data, stale_for=60)
    memo.get("k", data.compute)
    unconfirmed.get("k", data.compute)
    data.now = 100.0
    memo.confirm()
    data.version, data.now = 1, 130.0
    assert unconfirmed.get("k", data.compute) == 1  # known current 130 s ago: recomputed first
    assert memo.get("k", data.compute) == 0  # confirmed 30 s ago: answered at once
