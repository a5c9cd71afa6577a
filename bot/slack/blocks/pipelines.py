"""Block Kit renderers for `/pipelines`: reliability by pipeline, one pipeline's runs, help.

Pure functions from `bot.queries.pipelines` results to typed `slack_sdk` blocks, within Slack's
limits through the shared helpers of `bot.slack.blocks` (50 blocks, 3000 characters per
section, "…and N more" for what does not fit). Pipeline names and run ids come from CI
systems: they are escaped before they go into mrkdwn. The small text helpers at the top are
shared with the terminal renderers (`bot.demo.pipelines`).
"""

from __future__ import annotations

from typing import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, DividerBlock

from bot.formatting import duration, local_time, percent, points_change
from bot.metrics.reliability import PipelineStats, PipelineSummary
from bot.models import PipelineRun
from bot.queries.pipelines import PipelineDetail, PipelinesOverview
from bot.slack.blocks.kit import (
    MAX_MESSAGE_BLOCKS,
    clip,
    context,
    escape,
    fit,
    header,
    link,
    pack_lines,
    section,
)

REPORT_HINT = "use `research-bridge report pipelines` for all"
MAX_NAME = 150
MAX_SUGGESTIONS = 10
STATUS_EMOJI = {
    "success": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
    "skipped": ":fast_forward:",
}
CONNECT = (
    "No pipeline runs yet. To connect a source, point a GitHub webhook (`workflow_run`) at `/webhooks/github`"
    " or a GitLab one (Pipeline Hook) at `/webhooks/gitlab`, set `[airflow] url` in `bridge.toml`,"
    " or POST runs to `/api/v1/pipeline-runs` from any CI step."
)

# -- shared text (also used by the terminal renderers) ------------------------------------------


def reliability(stats: PipelineStats | None) -> str:
    """'83%', or '—' when a window has no success and no failure."""
    return percent(None if stats is None else stats.reliability)


def trend_arrow(trend: float | None) -> str:
    """'↑ 12 pts', '↑ 1 pt', '↓ 5 pts', '→' (steady: under half a point), or '' when there is
    nothing to compare with: `bot.formatting.points_change`, the one trend format."""
    return points_change(trend)


def counts(stats: PipelineStats | None) -> str:
    """'12 runs, 2 failed, 1 cancelled' (cancelled and skipped only when there are some)."""
    if stats is None or not stats.runs:
        return "no runs"
    parts = [f"{stats.runs:,} run{'s' if stats.runs != 1 else ''}", f"{stats.failed:,} failed"]
    if stats.cancelled:
        parts.append(f"{stats.cancelled:,} cancelled")
    if stats.skipped:
        parts.append(f"{stats.skipped:,} skipped")
    return ", ".join(parts)


def streak_text(streak: int) -> str:
    """'3 failed runs in a row' (the failure streak up to now), or '' without one."""
    if streak <= 0:
        return ""
    return f"{streak} failed run{'s' if streak != 1 else ''} in a row"


def run_duration(run: PipelineRun) -> str:
    """How long an attempt took: '42s', '4m 12s', '2h 5m'; '—' without a start time."""
    if run.started_at is None:
        return "—"
    seconds = max(0, round((run.finished_at - run.started_at).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60}s"
    return duration(seconds)


def paired(overview: PipelinesOverview) -> list[tuple[PipelineSummary | None, PipelineSummary | None]]:
    """(7-day, 30-day) summaries of each pipeline, worst first: in the 7-day order (which
    puts pipelines without a 7-day reliability last), then those with no run in the last 14
    days, in the 30-day order. Pipelines are named uniquely across sources."""
    month = {s.pipeline: s for s in overview.month}
    week = {s.pipeline: s for s in overview.week}
    rows: list[tuple[PipelineSummary | None, PipelineSummary | None]] = [
        (s, month.get(s.pipeline)) for s in overview.week]
    rows += [(None, s) for s in overview.month if s.pipeline not in week]
    return rows


def current_streak(week: PipelineSummary | None, month: PipelineSummary | None) -> int:
    """The pipeline's failure streak (the same in both windows: it runs across them)."""
    return max((s.streak for s in (week, month) if s is not None), default=0)


# -- /pipelines ----------------------------------------------------------------------------------


def _window(days: int, summary: PipelineSummary | None) -> str:
    if summary is None or not summary.current.runs:
        before = ""
        if summary is not None and summary.previous.runs:
            before = f" (the {days} days before: {reliability(summary.previous)}, {counts(summary.previous)})"
        return f"{days} days: no runs{before}"
    arrow = trend_arrow(summary.trend)
    return f"{days} days *{reliability(summary.current)}*{' ' + arrow if arrow else ''} · {counts(summary.current)}"


def _pipeline_row(week: PipelineSummary | None, month: PipelineSummary | None) -> Block:
    s = week or month
    assert s is not None
    last = s.current.last_url or (month.current.last_url if month else None)
    title = f"*{escape(clip(s.pipeline, MAX_NAME))}* `{escape(s.source)}`"
    if last:
        title += f" · {link(last, 'last run')}"
    streak = streak_text(current_streak(week, month))
    if streak:
        title += f" · :rotating_light: {streak}"
    return section(f"{title}\n{_window(7, week)}\n{_window(30, month)}")


def _overall(days: int, stats: PipelineStats) -> str:
    return f"{days} days *{reliability(stats)}* · {counts(stats)}"


def overview_blocks(overview: PipelinesOverview, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[Block]:
    """Every pipeline's 7- and 30-day reliability, runs, failures, streak and trend, worst
    first, under one overall line; "…and N more" when they do not fit."""
    rows = paired(overview)
    if not rows:
        return [section("No pipeline runs in the last 30 days.")]
    failing = sum(1 for w, m in rows if current_streak(w, m) > 0)
    who = f"All {len(rows):,} pipelines" if len(rows) != 1 else "1 pipeline"
    overall = f"*{who}*: {_overall(7, overview.overall_week)}  |  {_overall(30, overview.overall_month)}"
    if failing:
        overall += f"\n:rotating_light: {failing} on a failure streak (no success since their last failure)"
    head: list[Block] = [header("Pipeline reliability"), section(overall), DividerBlock()]
    tail = [context("Reliability = success ÷ (success + failed); cancelled and skipped runs are shown but"
                     " left out. Worst first; arrows compare with the window before.")]
    body = [_pipeline_row(w, m) for w, m in rows]
    return fit(head, body, tail, max_blocks=max_blocks, hint=REPORT_HINT)


def empty_blocks() -> list[Block]:
    """No runs have ever been stored: how to connect a source, in one line."""
    return [section(CONNECT)]


# -- /pipelines NAME -----------------------------------------------------------------------------


def run_line(run: PipelineRun, tz: ZoneInfo) -> str:
    """One attempt: status emoji, linked run id, attempt, finish time in `tz`, duration."""
    emoji = STATUS_EMOJI.get(run.status, ":grey_question:")
    line = f"{emoji} {link(run.url, 'run ' + clip(run.run_id, 60))}"
    if run.attempt > 1:
        line += f" (attempt {run.attempt})"
    line += f" · {run.status} · {local_time(run.finished_at, tz)} · {run_duration(run)}"
    if run.branch:
        line += f" · `{escape(clip(run.branch, 60))}`"
    if run.commit_sha:
        line += f" `{escape(run.commit_sha[:7])}`"
    return line


def detail_blocks(detail: PipelineDetail, tz: ZoneInfo, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[Block]:
    """One pipeline: its 7- and 30-day figures, streak, and recent runs (newest first)."""
    week, month = detail.summary_week, detail.summary_month
    summary = f"`{escape(detail.source)}`\n{_window(7, week)}\n{_window(30, month)}"
    streak = streak_text(current_streak(week, month))
    if streak:
        summary += f"\n:rotating_light: {streak}"
    head: list[Block] = [header(f"{clip(detail.pipeline, MAX_NAME - 16)} — recent runs"), section(summary),
                         DividerBlock()]
    recent = sorted(detail.recent, key=lambda r: (r.finished_at, r.attempt), reverse=True)
    if recent:
        rows: list[Block] = [section(run_line(r, tz)) for r in recent]
    else:
        rows = [section("No runs stored for this pipeline yet.")]
    tail = [context(f"Times in {tz.key}. Each run is shown by its final attempt (a re-run replaces the"
                     " attempts before it), as reliability counts it.")]
    return fit(head, rows, tail, max_blocks=max_blocks, hint="older runs are in the CI system's own history")


def unknown_pipeline_blocks(name: str, suggestions: Sequence[str]) -> list[Block]:
    """An unknown name: the pipelines that match it, or how to list them all."""
    if not suggestions:
        return [section(f":information_source: No pipeline matches `{escape(name)}`."
                         " `/pipelines` lists them all.")]
    shown = ", ".join(f"`{escape(clip(s, MAX_NAME))}`" for s in suggestions[:MAX_SUGGESTIONS])
    more = len(suggestions) - MAX_SUGGESTIONS
    text = f":information_source: There is no pipeline `{escape(name)}`. Did you mean {shown}"
    text += f" (and {more} more)?" if more > 0 else "?"
    example = escape(clip(suggestions[0], MAX_NAME))
    return [section(text), context(f"A name, or a part of one only one pipeline has: e.g. `/pipelines {example}`.")]


# -- help ----------------------------------------------------------------------------------------

_HELP = (
    ("/pipelines", "every pipeline's reliability over the last 7 and 30 days, worst first, with failure"
                   " streaks and trends", "/pipelines"),
    ("/pipelines NAME", "one pipeline's recent runs with links (a part of the name will do when only one"
                        " pipeline has it)", "/pipelines nightly-train"),
    ("/pipelines help", "this help", "/pipelines help"),
)


def help_blocks(note: str | None = None) -> list[Block]:
    """Every `/pipelines` form with an example; `note` (already mrkdwn-safe) first."""
    blocks: list[Block] = []
    if note:
        blocks.append(section(f":information_source: {note}"))
    blocks.append(header("/pipelines — pipeline reliability"))
    blocks.extend(pack_lines(f"`{usage}` — {what}. Example: `{example}`" for usage, what, example in _HELP))
    blocks.append(context("Reliability = success ÷ (success + failed). Answers are visible only to you."))
    return blocks
