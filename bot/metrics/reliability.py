"""Pipeline reliability: final attempts, per-pipeline statistics, failure streaks and trends.

Pure functions: pipeline runs and a `now` in, numbers out. The definitions (product spec,
"Pipeline reliability and delivery"):

- A **run** is one (source, pipeline, run_id); its attempts are re-runs of it. Only the run's
  **final attempt** (the highest attempt number) counts, and it counts in the window its final
  attempt finished in: a run whose attempt 1 failed and attempt 2 succeeded is one successful
  run and no failure. The final state is what the team lives with; counting every failed
  attempt would punish re-running a flaky job and count one run several times. (`/pipelines
  NAME` still links the attempts.)
- **reliability** = success / (success + failed) over the final runs that finished in the
  window [start, end). Cancelled and skipped runs are counted (`runs`, `cancelled`,
  `skipped`) but left out of the ratio; None when success + failed = 0 (e.g. only
  cancelled runs). A status outside `STATUSES` counts in `runs` only.
- **failure streak** = the number of consecutive failed final runs ending with the latest one,
  whatever window they fall in. Cancelled and skipped runs neither break nor extend it (a
  cancelled run says nothing about whether the pipeline works); a success ends it.
- **trend** = current reliability - previous reliability, as a fraction (0.05 = 5 percentage
  points); None when either is None.
- **overall** pools the runs of all pipelines: sum(success) / (sum(success) + sum(failed)),
  so a busy pipeline weighs more than a rare one (not a mean of per-pipeline ratios).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Iterable, Mapping, Sequence

from bot.models import PipelineRun

STATUSES = ("success", "failed", "cancelled", "skipped")
ALL = "(all)"
# PipelineRun fields by position: C-level getters for the per-run hot paths
_NAME, _STATUS, _FINISHED_AT = itemgetter(1), itemgetter(4), itemgetter(5)


def final_attempts(runs: Iterable[PipelineRun]) -> list[PipelineRun]:
    """One attempt per (source, pipeline, run_id): the highest attempt, oldest finish first.

    A re-run replaces the attempts before it (see the module docstring for why)."""
    best: dict[tuple, PipelineRun] = {}
    for run in runs:
        key = run[:3]
        kept = best.get(key)
        if kept is None or run[3] > kept[3]:
            best[key] = run
    return sorted(best.values(), key=_FINISHED_AT)  # stable: ties keep the input's order


@dataclass(frozen=True)
class PipelineStats:
    """Final runs of one pipeline (or of all: pipeline="(all)") that finished in a window."""

    pipeline: str
    source: str
    runs: int
    success: int
    failed: int
    cancelled: int
    skipped: int
    reliability: float | None  # success / (success + failed); None when both are 0
    last_status: str | None = None  # of the latest final run in the window
    last_finished_at: datetime | None = None
    last_url: str | None = None


def _ratio(success: int, failed: int) -> float | None:
    return success / (success + failed) if success + failed else None


class _Window:
    """The final runs (oldest first) that finished in [start, end), counted per pipeline.

    The window is a slice of the time-ordered runs, counted in C (`Counter`, `dict(zip(...))`)
    rather than by a Python loop per run: `/pipelines` reads some 100,000 runs."""

    __slots__ = ("counts", "totals", "last")

    def __init__(self, finals: Sequence[PipelineRun], times: Sequence[datetime], start: datetime, end: datetime):
        part = finals[bisect_left(times, start):bisect_left(times, end)]
        names = list(map(_NAME, part))
        self.counts = Counter(zip(names, map(_STATUS, part)))  # (pipeline, status) -> runs
        self.totals = Counter(names)  # pipeline -> runs
        self.last: dict[str, PipelineRun] = dict(zip(names, part))  # pipeline -> latest run

    def stats(self, pipeline: str, source: str) -> PipelineStats:
        c, last = self.counts, self.last.get(pipeline)
        s, f = c[(pipeline, "success")], c[(pipeline, "failed")]
        return PipelineStats(
            pipeline=pipeline,
            source=last.source if last else source,
            runs=self.totals[pipeline],
            success=s,
            failed=f,
            cancelled=c[(pipeline, "cancelled")],
            skipped=c[(pipeline, "skipped")],
            reliability=_ratio(s, f),
            last_status=last.status if last else None,
            last_finished_at=last.finished_at if last else None,
            last_url=last.url if last else None,
        )


def stats_from_counts(pipeline: str, source: str, counts: Mapping[str, int] | None,
                      last: PipelineRun | None = None) -> PipelineStats:
    """PipelineStats from counts of final runs (keys runs, success, failed, cancelled,
    skipped), e.g. read from day rollups; `last` is the window's latest final run, if known."""
    c = counts or {}
    s, f = c.get("success", 0), c.get("failed", 0)
    return PipelineStats(pipeline, last.source if last else source, c.get("runs", 0), s, f,
                         c.get("cancelled", 0), c.get("skipped", 0), _ratio(s, f),
                         last.status if last else None, last.finished_at if last else None,
                         last.url if last else None)


def empty_stats(pipeline: str, source: str) -> PipelineStats:
    """A window without runs: zero counts, reliability None."""
    return PipelineStats(pipeline, source, 0, 0, 0, 0, 0, None)


def _ordered(runs: Iterable[PipelineRun], until: datetime | None = None
             ) -> tuple[list[PipelineRun], list[datetime]]:
    """Final attempts that finished before `until`, oldest first, and their finish times."""
    finals = final_attempts(runs)
    times = list(map(_FINISHED_AT, finals))
    if until is not None:
        cut = bisect_left(times, until)
        del finals[cut:], times[cut:]
    return finals, times


def _streaks(finals: Sequence[PipelineRun]) -> dict[str, int]:
    """Failure streak of every pipeline in `finals` (oldest first), walking back from the
    newest run until each pipeline has met a success."""
    streaks = dict.fromkeys(map(_NAME, finals), 0)
    ended: set[str] = set()
    for run in reversed(finals):
        name = run[1]
        if name in ended:
            continue
        status = run[4]
        if status == "failed":
            streaks[name] += 1
        elif status == "success":
            ended.add(name)
            if len(ended) == len(streaks):
                break
    return streaks


def overall(stats: Iterable[PipelineStats]) -> PipelineStats:
    """All pipelines pooled (pipeline and source "(all)"): sums of the counts, reliability
    over the pooled success and failed runs, and the latest run of any of them."""
    stats = list(stats)
    s = sum(x.success for x in stats)
    f = sum(x.failed for x in stats)
    timed = [x for x in stats if x.last_finished_at is not None]
    last = max(timed, key=lambda x: x.last_finished_at) if timed else None  # type: ignore[arg-type,return-value]
    return PipelineStats(
        pipeline=ALL,
        source=ALL,
        runs=sum(x.runs for x in stats),
        success=s,
        failed=f,
        cancelled=sum(x.cancelled for x in stats),
        skipped=sum(x.skipped for x in stats),
        reliability=_ratio(s, f),
        last_status=last.last_status if last else None,
        last_finished_at=last.last_finished_at if last else None,
        last_url=last.last_url if last else None,
    )


def failure_streak(runs_of_one_pipeline: Iterable[PipelineRun]) -> int:
    """Consecutive failed final runs ending with the latest; cancelled and skipped runs are
    passed over (they neither break nor extend it). Give all the runs you have, not one window."""
    streak = 0
    for run in reversed(final_attempts(runs_of_one_pipeline)):
        if run.status == "failed":
            streak += 1
        elif run.status == "success":
            break
    return streak


def trend(current: float | None, previous: float | None) -> float | None:
    """current - previous (a fraction: 0.05 is 5 percentage points); None when either is None."""
    if current is None or previous is None:
        return None
    return current - previous


@dataclass(frozen=True)
class PipelineSummary:
    """One pipeline over a window and the window before it."""

    pipeline: str
    source: str  # of its latest run
    current: PipelineStats  # [now - N days, now)
    previous: PipelineStats  # [now - 2N days, now - N days)
    trend: float | None  # current.reliability - previous.reliability
    streak: int  # failure streak at `now`, across windows


def worst_first(summary: PipelineSummary) -> tuple:
    """Sort key: lowest reliability first (None last), then the longest failure streak, then
    the most failed runs, then the name."""
    r = summary.current.reliability
    return (r is None, r if r is not None else 0.0, -summary.streak, -summary.current.failed,
            summary.pipeline.casefold(), summary.pipeline, summary.source)


def summarize_windows(runs: Iterable[PipelineRun], now: datetime, windows: Sequence[int]
                      ) -> dict[int, list[PipelineSummary]]:
    """For each window length N (days), from one sort of the runs: each pipeline with a final
    run in [now - N, now) or in the window before it [now - 2N, now - N), with both windows'
    stats, the trend and the failure streak (over all the runs given that finished before
    `now`), worst first (see `worst_first`).

    A pipeline with runs only in the previous window is listed (it went quiet: current runs 0,
    reliability None) so that silence shows."""
    finals, times = _ordered(runs, now)
    latest = dict(zip(map(_NAME, finals), finals))
    streaks = _streaks(finals)
    result: dict[int, list[PipelineSummary]] = {}
    for days in windows:
        span = timedelta(days=days)
        cur = _Window(finals, times, now - span, now)
        prev = _Window(finals, times, now - 2 * span, now - span)
        rows = []
        for name in cur.last.keys() | prev.last.keys():
            source = latest[name].source
            current, previous = cur.stats(name, source), prev.stats(name, source)
            rows.append(PipelineSummary(name, source, current, previous,
                                        trend(current.reliability, previous.reliability), streaks[name]))
        result[days] = sorted(rows, key=worst_first)
    return result
