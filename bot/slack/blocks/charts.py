"""The weekly digest's trend chart: `bot.digest.model.History` to PNG bytes.

One panel per included metric (handoff waits, focus hours, pipeline reliability), stacked
on a shared week axis, the digest's week last and in bold. Each panel is titled with what it
shows and its unit, in the units the digest's text prints: waits in business days (as
"1.4 bd"), Focus Time in hours per workday against the line, reliability in percent. What
is drawn comes from `chart_series`, a pure function the tests compare with the digest's
figures; each legend ends with the digest's week as the text prints it. A week without data
is a gap, never a zero, and a panel without any data is left out. Drawn with matplotlib's
Agg canvas directly, never pyplot: no global state, no display, safe in a server's worker
threads. matplotlib is imported on the first render so importing this module stays cheap.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from bot.digest.model import Digest, History, WeekPoint
from bot.formatting import business_days, hours_minutes, percent

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN, PANEL_IN, TITLE_IN, DPI = 8.0, 2.4, 0.5, 100  # 800 px wide, 240 px per panel
FONT = 11
# Okabe-Ito, safe for the common colour-vision deficiencies
BLUE, ORANGE, GREEN, VERMILLION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#777777"
TITLES = {
    "handoffs": "Handoff wait, business days (median, p90)",
    "focus": "Focus Time, hours per workday",
    "pipelines": "Pipeline reliability, %",
}


@dataclass(frozen=True)
class Series:
    """One line of a panel: a value per week in the panel's unit (None: no data, a gap) and
    the digest's own week as the digest's text prints it ("1.4 bd", "3h 24m", "91%")."""

    label: str
    values: tuple[float | None, ...]
    current: str | None  # None when the digest's week has no value


@dataclass(frozen=True)
class Panel:
    name: str  # "handoffs", "focus" or "pipelines"
    title: str  # what it shows and its unit
    series: tuple[Series, ...]


def chart_series(history: History) -> tuple[Panel, ...]:
    """What the chart draws, in its order (handoffs, focus, pipelines): the included panels
    with at least one value. Waits are the digest's business waits over the business day of
    the text (`History.seconds_per_workday`), focus the team average per person-day in hours,
    reliability in percent; each series' `current` is the text's figure for the last week."""
    points = history.points
    per_day = history.seconds_per_workday

    def series(label: str, get: Callable[[WeekPoint], float | None], unit: Callable[[float], float],
               text: Callable[[float], str]) -> Series:
        raw = [get(p) for p in points]
        last = raw[-1] if raw else None
        return Series(label, tuple(None if v is None else unit(v) for v in raw), None if last is None else text(last))

    def workdays(seconds: float) -> float:
        return seconds / per_day

    def bd(seconds: float) -> str:
        return business_days(seconds, per_day)

    made = {
        "handoffs": lambda: (series("median", lambda p: p.handoff_median_business_wait_seconds, workdays, bd),
                             series("p90", lambda p: p.handoff_p90_business_wait_seconds, workdays, bd)),
        "focus": lambda: (series("team average", lambda p: p.focus_seconds_per_day, lambda s: s / 3600,
                                 hours_minutes),),
        "pipelines": lambda: (series("reliability", lambda p: p.pipeline_reliability, lambda r: r * 100, percent),),
    }
    panels = []
    for name, make in made.items():
        if name not in history.panels:
            continue
        lines = make()
        if any(v is not None for s in lines for v in s.values):
            panels.append(Panel(name, TITLES[name], lines))
    return tuple(panels)


def _nan(values: Sequence[float | None]) -> list[float]:
    """NaN for no data: matplotlib leaves a gap there."""
    return [math.nan if v is None else v for v in values]


def _present(panel: Panel) -> list[float]:
    return [v for s in panel.series for v in s.values if v is not None]


def _label(series: Series, week: str) -> str:
    return series.label if series.current is None else f"{series.label}, {week}: {series.current}"


def _handoffs(ax: Axes, x: list[int], panel: Panel, week: str, _: float) -> None:
    median, p90 = panel.series
    ax.plot(x, _nan(median.values), color=BLUE, marker="o", linewidth=2, label=_label(median, week))
    ax.plot(x, _nan(p90.values), color=ORANGE, marker="s", linewidth=2, linestyle="--", label=_label(p90, week))
    ax.set_ylim(0, max(_present(panel) + [1.0]) * 1.15)


def _focus(ax: Axes, x: list[int], panel: Panel, week: str, threshold: float) -> None:
    (hours,) = panel.series
    ax.plot(x, _nan(hours.values), color=GREEN, marker="o", linewidth=2, label=_label(hours, week))
    ax.axhline(threshold, color=VERMILLION, linestyle="--", linewidth=1.5, label=f"the {threshold:g}h line")
    ax.set_ylim(0, max(_present(panel) + [threshold, 1.0]) * 1.15)


def _pipelines(ax: Axes, x: list[int], panel: Panel, week: str, _: float) -> None:
    (share,) = panel.series
    ax.plot(x, _nan(share.values), color=BLUE, marker="o", linewidth=2, label=_label(share, week))
    low = min(_present(panel) + [90.0])  # at least 80-100% shown
    ax.set_ylim(max(0.0, math.floor((low - 5) / 10) * 10), 103)
    ax.yaxis.set_major_formatter("{x:.0f}%")


Draw = Callable[["Axes", list[int], Panel, str, float], None]  # (ax, x, panel, week, threshold hours)
DRAW: dict[str, Draw] = {"handoffs": _handoffs, "focus": _focus, "pipelines": _pipelines}


def chart_figure(history: History, title: str) -> Figure | None:
    """The chart as a matplotlib Figure (on an Agg canvas), or None when no included panel
    has a single data point. Each axes is one `chart_series` panel, titled with its unit."""
    panels = chart_series(history)
    if not panels:
        return None

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = history.points
    fig = Figure(figsize=(WIDTH_IN, TITLE_IN + PANEL_IN * len(panels)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    x = list(range(len(points)))
    week = points[-1].week.rsplit("-", 1)[-1]
    for ax, panel in zip(axes, panels):
        DRAW[panel.name](ax, x, panel, week, history.threshold_hours)
        ax.set_title(panel.title, fontsize=FONT, loc="left")
        if len(points) > 1:  # the digest's week
            ax.axvspan(len(points) - 1.5, len(points) - 0.5, color=GREY, alpha=0.12, linewidth=0)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(labelsize=FONT)
        # above the plot, right of the title: the lines are never hidden under it
        ax.legend(fontsize=FONT - 1, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                  ncols=len(ax.get_legend_handles_labels()[0]), borderaxespad=0.0, handlelength=1.8,
                  columnspacing=1.2)
    last = axes[-1]
    last.set_xlim(-0.5, len(points) - 0.5)
    last.set_xticks(x, [p.week.rsplit("-", 1)[-1] for p in points])
    last.get_xticklabels()[-1].set_fontweight("bold")
    return fig


def render_chart(history: History, title: str) -> bytes | None:
    """The chart as PNG bytes, or None when no included panel has a single data point."""
    fig = chart_figure(history, title)
    if fig is None:
        return None
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def digest_chart(digest: Digest) -> bytes | None:
    """The chart of a digest (None without a chart or without data to draw)."""
    if digest.history is None:
        return None
    weeks = len(digest.history.points)
    return render_chart(digest.history, f"Trends, {weeks} week{'s' if weeks != 1 else ''} to {digest.week.label}")
