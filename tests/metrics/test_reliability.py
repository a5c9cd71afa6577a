"""Pipeline reliability: final attempts, stats, streaks, trends, ordering, and `PipelineQueries`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.ingest.pipelines import record_pipeline_runs
from bot.metrics.reliability import (
    STATUSES,
    PipelineStats,
    PipelineSummary,
    empty_stats,
    failure_streak,
    final_attempts,
    overall,
    summarize_windows,
    trend,
)
from bot.models import PipelineRun
from bot.queries.pipelines import PipelineQueries
from bot.store import Store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
_ids = iter(range(1, 1_000_000))


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def run(days_ago: float, status: str, pipeline: str = "train", *, run_id: str | None = None, attempt: int = 1,
        source: str = "github") -> PipelineRun:
    rid = run_id or f"r{next(_ids)}"
    return PipelineRun(source, pipeline, rid, attempt, status, ago(days_ago), ago(days_ago + 0.01),
                       f"https://ci.example/{pipeline}/{rid}/{attempt}")


def summaries(runs: list[PipelineRun], days: int = 7) -> list[PipelineSummary]:
    return summarize_windows(runs, NOW, (days,))[days]


def window(runs: list[PipelineRun], days: int = 7) -> dict[str, PipelineStats]:
    """Each pipeline's final runs in the last `days` (pipelines without runs there left out)."""
    return {s.pipeline: s.current for s in summaries(runs, days) if s.current.runs}


# -- final attempts ---------------------------------------------------------------------------


def test_final_attempts_keep_the_highest_attempt_of_each_run_oldest_finish_first():
    a1 = run(3, "failed", run_id="1", attempt=1)
    a2 = run(2, "success", run_id="1", attempt=2)
    other_source = run(2.5, "failed", run_id="1", attempt=1, source="gitlab")
    b = run(1, "cancelled", run_id="2")
    assert final_attempts([a2, b, a1, other_source]) == [other_source, a2, b]


def test_rerun_whose_second_attempt_succeeds_is_one_success_and_no_failure():
    stats = window([run(2, "failed", run_id="9", attempt=1), run(1, "success", run_id="9", attempt=2)])["train"]
    assert (stats.runs, stats.success, stats.failed, stats.reliability) == (1, 1, 0, 1.0)


def test_rerun_counts_in_the_window_its_final_attempt_finished_in():
    runs = [run(8, "failed", run_id="9", attempt=1), run(6, "success", run_id="9", attempt=2)]
    assert window(runs)["train"].success == 1
    assert [s.pipeline for s in summaries(runs) if s.previous.runs] == []  # not in the week before


# -- stats ---------------------------------------------------------------------------------------


def test_only_cancelled_runs_are_counted_with_no_reliability():
    stats = window([run(1, "cancelled"), run(2, "cancelled")])["train"]
    assert (stats.runs, stats.cancelled, stats.success, stats.failed, stats.reliability) == (2, 2, 0, 0, None)


def test_skipped_and_cancelled_runs_are_left_out_of_the_ratio():
    stats = window([run(1, "success"), run(2, "failed"), run(3, "skipped"), run(4, "skipped"),
                    run(5, "cancelled"), run(6, "success"), run(6.5, "success")])["train"]
    assert (stats.runs, stats.success, stats.failed, stats.cancelled, stats.skipped) == (7, 3, 1, 1, 2)
    assert stats.reliability == 0.75


def test_stats_keep_the_latest_run_and_respect_the_window_bounds():
    newest = run(0.5, "failed")
    runs = [run(7, "success"), run(3, "success"), newest, run(0, "success")]  # 7d ago: in; now: out
    stats = window(runs)["train"]
    assert (stats.runs, stats.success, stats.failed) == (3, 2, 1)
    assert (stats.last_status, stats.last_finished_at, stats.last_url) == ("failed", newest.finished_at, newest.url)


def test_empty_window_has_no_pipelines_and_empty_stats_are_zero():
    assert window([]) == {}
    assert window([run(10, "success")]) == {}
    assert empty_stats("x", "api") == PipelineStats("x", "api", 0, 0, 0, 0, 0, None)


def test_stats_are_keyed_by_pipeline_in_name_order():
    stats = window([run(1, "success", "b"), run(1, "failed", "a", source="airflow")])
    assert list(stats) == ["a", "b"]
    assert stats["a"].source == "airflow"


def test_overall_pools_the_runs_not_the_ratios():
    stats = window([run(1 + i * 0.1, "success", "busy") for i in range(9)]
                   + [run(1, "failed", "busy"), run(2, "failed", "rare"), run(3, "cancelled", "rare")])
    total = overall(stats.values())
    assert (total.pipeline, total.source, total.runs, total.success, total.failed, total.cancelled) == (
        "(all)", "(all)", 12, 9, 2, 1)
    assert total.reliability == 9 / 11  # the mean of 0.9 and 0.0 would be 0.45
    assert total.last_finished_at == ago(1)
    assert overall([]) == PipelineStats("(all)", "(all)", 0, 0, 0, 0, 0, None)


# -- streaks and trends ----------------------------------------------------------------------


def test_failure_streak_counts_consecutive_failures_ending_with_the_latest():
    assert failure_streak([run(5, "failed"), run(4, "success"), run(3, "failed"), run(2, "failed")]) == 2
    assert failure_streak([run(3, "failed"), run(2, "success")]) == 0
    assert failure_streak([]) == 0


def test_failure_streak_passes_over_cancelled_and_skipped_runs():
    runs = [run(6, "success"), run(5, "failed"), run(4, "cancelled"), run(3, "failed"), run(2, "skipped")]
    assert failure_streak(runs) == 2
    assert failure_streak([run(2, "cancelled"), run(1, "skipped")]) == 0


def test_failure_streak_ends_when_a_rerun_succeeds():
    rerun = [run(3, "failed"), run(2, "failed", run_id="x"), run(1, "success", run_id="x", attempt=2)]
    assert failure_streak(rerun) == 0


def test_streak_reaches_across_window_boundaries():
    runs = [run(40, "success"), run(35, "failed"), run(20, "failed"), run(10, "failed"), run(2, "failed"),
            run(1, "cancelled")]
    [week] = summaries(runs)
    assert (week.current.runs, week.current.failed, week.streak) == (2, 1, 4)


def test_trend_is_the_difference_in_reliability_or_none():
    assert trend(0.75, 0.5) == 0.25
    assert trend(0.5, 0.75) == -0.25
    assert trend(None, 0.5) is None
    assert trend(0.5, None) is None


# -- summaries ---------------------------------------------------------------------------------


def test_summary_compares_the_window_with_the_one_before():
    runs = [run(10, "success"), run(9, "failed"), run(3, "success"), run(2, "success"), run(1, "success"),
            run(1.5, "failed")]
    [s] = summaries(runs)
    assert (s.pipeline, s.source) == ("train", "github")
    assert (s.current.runs, s.current.reliability, s.previous.runs, s.previous.reliability) == (4, 0.75, 2, 0.5)
    assert s.trend == 0.25
    assert s.streak == 0


def test_summary_lists_a_pipeline_that_went_quiet_with_no_trend():
    [s] = summaries([run(10, "failed")])
    assert (s.current.runs, s.current.reliability, s.previous.failed, s.trend, s.streak) == (0, None, 1, None, 1)
    assert summaries([run(20, "failed")]) == []
    assert summaries([]) == []


def test_summary_ignores_runs_at_or_after_now():
    [s] = summaries([run(1, "success"), run(0, "failed"), run(-1, "failed")])
    assert (s.current.runs, s.streak) == (1, 0)


def test_summaries_are_worst_first():
    runs = [
        run(1, "success", "healthy"),
        run(1, "cancelled", "only-cancelled"),
        *(run(d, "success", "half-a") for d in (6, 5)), *(run(d, "failed", "half-a") for d in (4, 3)),
        run(6, "success", "half-b"), run(5, "failed", "half-b"),  # same ratio, streak 1 < 2
        *(run(d, s, "half-d") for d, s in ((6, "success"), (5, "failed"), (4, "success"), (3, "failed"))),
        *(run(6 - i / 2, ("success", "failed")[i % 2], "half-e") for i in range(6)),  # streak 1, 3 failed
        *(run(d, "success", "half-c") for d in (6, 5)), run(4, "failed", "half-c"), run(3, "success", "x"),
        run(3, "failed", "half-c"), run(2, "success", "half-c"),  # 3/5
        run(2, "failed", "broken"),
        run(2, "failed", "also-broken"), run(1, "failed", "also-broken"),
        run(2, "failed", "b-broken"), run(1, "failed", "b-broken"),
    ]
    order = [s.pipeline for s in summaries(runs)]
    assert order == ["also-broken", "b-broken", "broken", "half-a", "half-e", "half-d", "half-b", "half-c",
                     "healthy", "x", "only-cancelled"]


def test_summarize_windows_matches_separate_summaries():
    runs = [run(d / 3, ("success", "failed", "cancelled", "success")[d % 4]) for d in range(180)]
    runs += [run(d, "failed", "other") for d in (1, 12, 45)]
    both = summarize_windows(runs, NOW, (7, 30))
    assert both[7] == summaries(runs)
    assert both[30] == summaries(runs, 30)
    assert set(STATUSES) == {"success", "failed", "cancelled", "skipped"}


# -- PipelineQueries against a real store ---------------------------------------------------------


@pytest.fixture
def queries(tmp_path):
    store = Store(tmp_path / "bridge.db")
    record_pipeline_runs(store, [
        run(1, "success", "org/ml: train.yml", run_id="t1"),
        run(2, "failed", "org/ml: train.yml", run_id="t2"),
        run(10, "success", "org/ml: train.yml", run_id="t3"),
        run(40, "failed", "org/ml: train.yml", run_id="t4"),  # previous 30-day window
        run(70, "failed", "org/ml: train.yml", run_id="t5"),  # outside what the overview reads
        run(3, "failed", "feature_refresh", run_id="f1", source="airflow"),
        run(2.5, "failed", "feature_refresh", run_id="f2", source="airflow", attempt=1),
        run(2, "success", "feature_refresh", run_id="f2", source="airflow", attempt=2),
        run(20, "cancelled", "Nightly-Eval", run_id="n1", source="gitlab"),
        run(-1, "failed", "org/ml: train.yml", run_id="future"),
    ])
    yield PipelineQueries(store, Settings())
    store.close()


def test_overview_summarizes_seven_and_thirty_days_worst_first(queries):
    ov = queries.overview(NOW)
    assert ov.now == NOW
    assert [(s.pipeline, s.current.runs, s.current.reliability) for s in ov.week] == [
        ("feature_refresh", 2, 0.5), ("org/ml: train.yml", 2, 0.5)]
    assert [s.pipeline for s in ov.month] == ["feature_refresh", "org/ml: train.yml", "Nightly-Eval"]
    train = ov.month[1]
    assert (train.current.runs, train.current.reliability, train.previous.failed, train.trend) == (3, 2 / 3, 1, 2 / 3)
    assert train.streak == 0 and ov.month[0].streak == 0
    assert ov.month[0].source == "airflow"
    assert ov.week[1].previous.runs == 1  # t3, ten days ago
    assert (ov.overall_week.runs, ov.overall_week.success, ov.overall_week.failed) == (4, 2, 2)
    assert (ov.overall_month.runs, ov.overall_month.cancelled, ov.overall_month.reliability) == (6, 1, 0.6)


def test_overview_of_an_empty_store(tmp_path):
    ov = PipelineQueries(Store(tmp_path / "empty.db"), Settings()).overview(NOW)
    assert (ov.week, ov.month, ov.overall_week.runs, ov.overall_month.reliability) == ([], [], 0, None)


def test_detail_by_exact_name_ignoring_case(queries):
    d = queries.detail("NIGHTLY-eval", NOW)
    assert (d.pipeline, d.source) == ("Nightly-Eval", "gitlab")
    assert d.summary_week.current.runs == 0 and d.summary_week.current.reliability is None
    assert d.summary_month.current.cancelled == 1
    assert [r.run_id for r in d.recent] == ["n1"]


def test_detail_by_unique_substring_lists_final_attempts_newest_first(queries):
    d = queries.detail("refresh", NOW)
    assert d.pipeline == "feature_refresh"
    assert [(r.run_id, r.attempt) for r in d.recent] == [("f2", 2), ("f1", 1)]
    assert all(r.url for r in d.recent)
    assert d.summary_week.current.success == 1 and d.summary_week.current.failed == 1


def test_detail_reaches_back_past_sixty_days_for_recent_runs_and_honours_limit(queries):
    d = queries.detail("train.yml", NOW)
    assert [r.run_id for r in d.recent] == ["t1", "t2", "t3", "t4", "t5"]
    assert [r.run_id for r in queries.detail("train.yml", NOW, limit=2).recent] == ["t1", "t2"]


def test_detail_of_an_unknown_or_ambiguous_name_is_none(queries):
    assert queries.detail("deploy", NOW) is None
    assert queries.detail("e", NOW) is None  # in two names
    assert queries.detail("   ", NOW) is None


def test_matching_suggests_substrings_then_close_spellings(queries):
    assert queries.matching("E") == ["Nightly-Eval", "feature_refresh"]
    assert queries.matching("feature_refrsh") == ["feature_refresh"]
    assert queries.matching("zzz") == []
