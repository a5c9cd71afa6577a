"""Benchmark: MLflow sync throughput and API calls against the fake tracking server.

BENCH_RUNS runs (100,000) across BENCH_EXPERIMENTS experiments (500; a skewed share of runs
each, as real sweeps are), started over the last 300 days, 1% of them deleted. A first (full)
sync into a fresh SQLite store in a temp file, then an incremental one after ~1% new runs
(and a few running runs finished). The fake runs in a child process on loopback, so the wall
time, CPU time and peak memory printed for the sync are the sync's own; API calls are counted
at the fake, which answers with open-source MLflow's limits by default: pages of up to 50,000
(BENCH_PAGE_MAX) and any number of experiment ids in one runs/search (BENCH_IDS_PER_CALL,
"none"; 100 to see a server that refuses more). BENCH_PAGE_SIZE overrides the sync's page
size (`bot.sources.mlflow.PAGE_SIZE`).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import settings_from_mapping  # noqa: E402
from bot.sources.mlflow import IDS_PER_SEARCH, LOOKBACK, PAGE_SIZE, MlflowSync  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.fake_mlflow import FakeMlflow, ms  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "100000"))
EXPERIMENTS = int(os.environ.get("BENCH_EXPERIMENTS", "500"))
SYNC_PAGE = int(os.environ.get("BENCH_PAGE_SIZE", str(PAGE_SIZE)))
PAGE_MAX = int(os.environ.get("BENCH_PAGE_MAX", "50000"))
_IDS = os.environ.get("BENCH_IDS_PER_CALL", "none")
IDS_LIMIT = None if _IDS.lower() == "none" else int(_IDS)
NEW_SHARE = 0.01
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=6)
SPAN = timedelta(days=300)
USERS = [f"researcher-{n:02d}" for n in range(60)]


# -- the fake, in its own process --------------------------------------------------------------

def _add_runs(fake: FakeMlflow, rng: random.Random, count: int, start: datetime, end: datetime,
              weights: list[float]) -> None:
    """`count` runs in the fake's experiments (by `weights`), started uniformly in [start, end)."""
    ids = list(fake.experiments)
    span = (end - start).total_seconds()
    for eid in rng.choices(ids, weights=weights, k=count):
        began = start + timedelta(seconds=rng.random() * span)
        status = rng.choices(("FINISHED", "FAILED", "KILLED", "RUNNING"), (85, 9, 4, 2))[0]
        if began > end - timedelta(hours=2):
            status = "RUNNING"  # the newest runs are still going
        finished = began + timedelta(minutes=rng.randint(2, 90)) if status != "RUNNING" else None
        tags = {"jira": f"RES-{rng.randint(1, 900)}"} if rng.random() < 0.2 else None
        fake.add_run(eid, user=rng.choice(USERS), status=status, start=began, end=finished, tags=tags,
                     deleted=rng.random() < 0.01, run_id=f"{rng.getrandbits(128):032x}",
                     params={"lr": f"{rng.random():.4f}"}, metrics={"loss": rng.random()})


def _active_since(fake: FakeMlflow, since: datetime) -> dict[str, int]:
    """Active runs started at or after `since`, per experiment id."""
    counts: dict[str, int] = {}
    floor = ms(since)
    for run in fake.runs.values():
        if run.lifecycle_stage == "active" and run.start_time >= floor:
            counts[run.experiment_id] = counts.get(run.experiment_id, 0) + 1
    return counts


def _calls(fake: FakeMlflow) -> dict[str, int]:
    return {"experiments": len(fake.calls("/experiments/search")), "runs": len(fake.calls("/runs/search")),
            "all": len(fake.calls())}


def serve_fake(conn: Connection) -> None:
    """Child process: populate and serve the fake; answer the parent's commands over `conn`."""
    rng = random.Random(11)
    with FakeMlflow(page_max=PAGE_MAX, max_experiment_ids=IDS_LIMIT) as fake:
        fake.clock = lambda: NOW - SPAN - timedelta(days=1)
        for n in range(EXPERIMENTS):
            fake.add_experiment(f"team-{n % 20:02d}/model-{n:03d}")
        weights = [1 / (rank + 1) ** 0.8 for rank in range(EXPERIMENTS)]  # a few large sweeps, a long tail
        rng.shuffle(weights)
        _add_runs(fake, rng, RUNS, NOW - SPAN, NOW - timedelta(minutes=5), weights)
        conn.send(fake.url)
        answers = {"counts": lambda since: _active_since(fake, since), "calls": lambda _: _calls(fake),
                   "experiments": lambda _: sorted(fake.experiments), "grow": lambda n: _grow(fake, rng, n, weights)}
        while (message := conn.recv())[0] != "stop":
            command, arg = message
            conn.send(answers[command](arg))


def _grow(fake: FakeMlflow, rng: random.Random, count: int, weights: list[float]) -> int:
    """The running runs of the last day finished, and `count` new runs; the fake's run total."""
    for run in fake.runs.values():
        if run.status == "RUNNING" and run.start_time >= ms(NOW - timedelta(days=1)):
            fake.update_run(run.run_id, status="FINISHED", end=NOW + timedelta(minutes=30))
    _add_runs(fake, rng, count, NOW, LATER - timedelta(minutes=5), weights)
    return len(fake.runs)


class FakeProcess:
    """The fake MLflow server in a child process, and the calls it has counted."""

    def __init__(self) -> None:
        self.conn, child = multiprocessing.get_context("fork").Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=serve_fake, args=(child,), daemon=True)
        self.process.start()
        self.url: str = self.conn.recv()

    def ask(self, command: str, arg: Any = None) -> Any:
        self.conn.send((command, arg))
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop", None))
        self.process.join(timeout=30)


# -- the sync, measured here -------------------------------------------------------------------

def pages(n: int, page: int, token_on_full_page: bool) -> int:
    """Calls to read `n` items `page` at a time. The fake (like MLflow 2.x's SQL store) sends a
    next_page_token after every FULL page, so a count that is a multiple of the page ends with an
    empty page; MLflow 3.x sends none once nothing is left. No items is still one call."""
    return n // page + 1 if token_on_full_page else max(1, math.ceil(n / page))


def minimum_calls(per_experiment: dict[str, int], experiment_ids: list[str], page: int, ids_limit: int | None,
                  token_on_full_page: bool = True) -> tuple[int, int, int]:
    """(experiments pages, runs pages, runs pages with every id in one call) a perfect client needs:
    ceil(E / P) experiments pages (a token only while more remain, on both), then the ids in sorted
    chunks of at most K (the server's limit), as the sync sends them, each chunk read in pages."""
    ids = sorted(experiment_ids)
    size = len(ids) if ids_limit is None else ids_limit
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)] or [[]]
    runs_pages = sum(pages(sum(per_experiment.get(e, 0) for e in chunk), page, token_on_full_page)
                     for chunk in chunks)
    single = pages(sum(per_experiment.values()), page, token_on_full_page)
    return max(1, math.ceil(len(ids) / page)), runs_pages, single


def rss_mib() -> float:
    """Resident memory now, from /proc (the high-water mark comes from getrusage)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed_sync(sync: MlflowSync, trace: bool) -> tuple[Any, float, float, str]:
    """(result, wall seconds, this process's CPU seconds, peak memory line) of one sync. With
    `trace`, tracemalloc's peak of Python allocations (slower, so only for the small sync);
    else the process's RSS high-water mark, and its growth over the RSS before the sync."""
    rss_before = rss_mib()
    if trace:
        tracemalloc.start()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = sync.run()
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    if trace:
        memory = f"peak Python allocations during the sync {tracemalloc.get_traced_memory()[1] / 2**20:,.1f} MiB (tracemalloc)"
        tracemalloc.stop()
    else:
        peak = after.ru_maxrss / 1024
        memory = f"peak RSS {peak:,.0f} MiB, {peak - rss_before:,.0f} MiB above the RSS before the sync (getrusage)"
    return result, elapsed, (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime), memory


def report(label: str, fake: FakeProcess, measured: tuple[Any, float, float, str], calls_before: dict[str, int],
           since: datetime, experiment_ids: list[str]) -> None:
    result, elapsed, cpu, memory = measured
    calls = {k: v - calls_before[k] for k, v in fake.ask("calls").items()}
    per_experiment = fake.ask("counts", since)
    page = min(SYNC_PAGE, PAGE_MAX)
    exp_pages, run_pages, single = minimum_calls(per_experiment, experiment_ids, page, IDS_LIMIT)
    _, run_pages_3x, single_3x = minimum_calls(per_experiment, experiment_ids, page, IDS_LIMIT, False)
    print(f"{label}: {result.runs:,} runs stored ({sum(per_experiment.values()):,} active runs started since "
          f"{since:%Y-%m-%d %H:%M}) of {result.experiments} experiments, {result.skipped} skipped")
    print(f"  wall {elapsed:.1f} s = {result.runs / elapsed:,.0f} runs/s; the sync's own CPU {cpu:.1f} s = "
          f"{result.runs / max(cpu, 1e-9):,.0f} runs/s (the fake serves from another process)")
    print(f"  API calls at the fake {calls['all']} (experiments/search {calls['experiments']}, runs/search "
          f"{calls['runs']}; the sync counted {result.api_calls}); minimum {exp_pages + run_pages} = "
          f"{exp_pages} + {run_pages}; with every id in one runs/search (OSS MLflow has no ids limit) "
          f"{exp_pages + single} = {exp_pages} + {single}")
    print(f"  the same minimums where no token follows the last page (MLflow 3.x): {exp_pages + run_pages_3x} "
          f"and {exp_pages + single_3x}")
    print(f"  {memory}")


def main() -> None:
    print(f"MLflow sync: {RUNS:,} runs across {EXPERIMENTS} experiments in the fake tracking server (loopback); "
          f"sync page size {SYNC_PAGE}, fake page max {PAGE_MAX}, experiment ids per runs/search: sync "
          f"{IDS_PER_SEARCH}, fake {IDS_LIMIT or 'no limit'}; {os.cpu_count()} cores")
    print("minimum calls = ceil(E / P) experiments pages + the sum, over the chunks of <= K experiment ids "
          "(sorted, as the sync sends them), of floor(n_chunk / P) + 1 runs pages; E experiments, n_chunk "
          "active runs in the window, P = min(the sync's max_results, the server's page cap), K = the ids "
          "the server takes in one runs/search. The +1: the fake (like MLflow 2.x) sends a next_page_token "
          "after every full page, so no client can stop before a short or empty page; MLflow 3.x sends "
          "none once nothing is left, so there it is ceil(n_chunk / P) (at least 1).")
    started = time.perf_counter()
    fake = FakeProcess()
    print(f"fake populated in {time.perf_counter() - started:.1f} s")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.db")
            settings = settings_from_mapping({"mlflow": {"url": fake.url}}, {})
            sync = MlflowSync(settings, store, clock=lambda: NOW, sleep=lambda s: None, page_size=SYNC_PAGE)
            experiment_ids = fake.ask("experiments")
            before = fake.ask("calls")
            measured = timed_sync(sync, trace=False)
            result = measured[0]
            assert store.count("experiment_runs") == result.runs, "every run read is stored"
            report("full sync", fake, measured, before, NOW - sync.initial_window,
                   experiment_ids)
            cursor = result.cursor
            files = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
            print(f"  store files (database and WAL) {files / 2**20:,.1f} MiB")

            new = int(RUNS * NEW_SHARE)
            fake.ask("grow", new)
            sync.clock = lambda: LATER
            before = fake.ask("calls")
            stored_before = store.count("experiment_runs")
            measured = timed_sync(sync, trace=True)
            added = store.count("experiment_runs") - stored_before
            report(f"incremental sync (+{new:,} new runs, lookback {LOOKBACK.days} days re-read)", fake, measured,
                   before, cursor - sync.lookback, experiment_ids)
            print(f"  rows added {added:,} (new active runs); the rest were re-read inside the lookback and "
                  "upserted unchanged or with a new status")
            sync.close()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
