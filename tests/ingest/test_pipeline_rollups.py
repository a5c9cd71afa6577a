"""The `/pipelines` overview read from day rollups equals the same figures computed from
every raw run (the pure `summarize_windows`), and the rollups follow re-runs and late states."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.ingest.pipelines import record_pipeline_runs
from bot.metrics.reliability import summarize_windows
from bot.models import PipelineRun
from bot.queries.pipelines import PipelineQueries
from bot.store import Store

NOW = datetime(2026, 3, 10, 14, 37, 12, tzinfo=UTC)
STATUSES = ("success", "success", "success", "failed", "failed", "cancelled", "skipped")


def random_runs(seed: int, pipelines: int = 12, runs: int = 600) -> list[PipelineRun]:
    rng = random.Random(seed)
    out = []
    for n in range(runs):
        pipeline = f"pipe-{rng.randrange(pipelines)}"
        source = "github" if pipeline < "pipe-5" else "airflow"
        # times across 62 days, with some exactly on window edges and at midnight
        # (microseconds keep finish times distinct: the order of runs that finish at the very
        # same instant, and so a streak through them, is not defined)
        if rng.random() < 0.1:
            finished = NOW - timedelta(days=rng.choice((7, 14, 30, 60)), seconds=rng.choice((-1, 0, 1)),
                                       microseconds=-n)
        elif rng.random() < 0.05:
            midnight = (NOW - timedelta(days=rng.randrange(1, 60))).replace(hour=0, minute=0, second=0, microsecond=0)
            finished = midnight + timedelta(microseconds=n)
        else:
            finished = NOW - timedelta(seconds=rng.uniform(-3600, 62 * 86400))
        out.append(PipelineRun(source, pipeline, f"r{n}", 1, rng.choice(STATUSES), finished, url=f"https://ci/{n}"))
        if rng.random() < 0.15:  # a re-run, sometimes finishing on a later day
            later = finished + timedelta(hours=rng.uniform(0.1, 30))
            out.append(PipelineRun(source, pipeline, f"r{n}", 2, rng.choice(STATUSES), later, url=f"https://ci/{n}/2"))
    return out


def counts(stats):
    return (stats.pipeline, stats.source, stats.runs, stats.success, stats.failed, stats.cancelled,
            stats.skipped, stats.reliability)


def comparable(summaries):
    return [(s.pipeline, s.source, counts(s.current), s.current.last_finished_at, s.current.last_url,
             counts(s.previous), s.trend, s.streak) for s in summaries]


@pytest.mark.parametrize("seed", range(12))
def test_overview_from_rollups_equals_the_raw_computation(tmp_path, seed):
    runs = random_runs(seed)
    store = Store(tmp_path / "r.db")
    rng = random.Random(seed)
    shuffled = runs[:]
    rng.shuffle(shuffled)
    for start in range(0, len(shuffled), 37):  # arrive in batches, out of order
        record_pipeline_runs(store, shuffled[start:start + 37])
    overview = PipelineQueries(store, Settings()).overview(NOW)
    oracle = summarize_windows(runs, NOW, (7, 30))
    assert comparable(overview.week) == comparable(oracle[7])
    assert comparable(overview.month) == comparable(oracle[30])


def test_a_rerun_moves_its_run_to_the_day_the_final_attempt_finished(tmp_path):
    store = Store(tmp_path / "r.db")
    day1 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    record_pipeline_runs(store, [PipelineRun("github", "p", "1", 1, "failed", day1)])
    assert store.pipeline_day_totals(["2026-03-01", "2026-03-03"]) == [("p", "github", 0, 1, 0, 1, 0, 0)]
    record_pipeline_runs(store, [PipelineRun("github", "p", "1", 2, "success", day1 + timedelta(hours=2))])
    rows = store.db.conn.execute("SELECT day, runs, success, failed FROM pipeline_days ORDER BY day").fetchall()
    assert rows == [("2026-03-02", 1, 1, 0)]
    # a late, different state of the same attempt replaces it
    record_pipeline_runs(store, [PipelineRun("github", "p", "1", 2, "failed", day1 + timedelta(hours=3))])
    rows = store.db.conn.execute("SELECT day, runs, success, failed FROM pipeline_days ORDER BY day").fetchall()
    assert rows == [("2026-03-02", 1, 0, 1)]


def test_long_failure_streaks_are_counted_in_full(tmp_path):
    store = Store(tmp_path / "r.db")
    runs = [PipelineRun("api", "flaky", "ok", 1, "success", NOW - timedelta(days=50))]
    runs += [PipelineRun("api", "flaky", f"f{n}", 1, "failed", NOW - timedelta(hours=n + 1)) for n in range(120)]
    record_pipeline_runs(store, runs)
    [summary] = PipelineQueries(store, Settings()).overview(NOW).month
    assert summary.streak == 120
    assert store.pipeline_names() == ["flaky"]
