"""The weekly digest's trend chart: `bot.digest.model.History` to PNG bytes.

One panel per included metric (handoff waits, focus hours, pipeline reliability), stacked
on a shared week axis, the digest's week last and in bold. A week without data is a gap,
never a zero, and a panel without any data is left out. Drawn with matplotlib's Agg canvas
directly, never pyplot: no global state, no display, safe in a server's worker threads.
matplotlib is imported on the first render so importing this module stays cheap.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Callable, Sequence

from bot.digest.model import Digest, History, WeekPoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_IN, PANEL_IN, TITLE_IN, DPI = 8.0, 2.4, 0.5, 100  # 800 px wide, 240 px per panel
FONT = 11
Getter = Callable[[WeekPoint], float | None]
# Okabe-Ito, safe for the common colour-vision deficiencies
BLUE, ORANGE, GREEN, VERMILLION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#777777"


def _values(points: Sequence[WeekPoint], get: Getter) -> list[float]:
    """One value per week, NaN for no data (matplotlib leaves a gap there)."""
    return [math.nan if (v := get(p)) is None else v for p in points]


def _present(*series: list[float]) -> list[float]:
    return [v for s in series for v in s if not math.isnan(v)]


def _handoffs(ax: Axes, x: list[int], series: list[list[float]], _: float) -> None:
    median, p90 = series
    ax.plot(x, median, color=BLUE, marker="o", linewidth=2, label="median")
    ax.plot(x, p90, color=ORANGE, marker="s", linewidth=2, linestyle="--", label="p90")
    ax.set_ylim(0, max(_present(median, p90) + [1.0]) * 1.25)
    ax.set_ylabel("wait (days)", fontsize=FONT)


def _focus(ax: Axes, x: list[int], series: list[list[float]], threshold: float) -> None:
    (hours,) = series
    ax.plot(x, hours, color=GREEN, marker="o", linewidth=2, label="focus h/day")
    ax.axhline(threshold, color=VERMILLION, linestyle="--", linewidth=1.5, label=f"{threshold:g} h line")
    ax.set_ylim(0, max(_present(hours) + [threshold, 1.0]) * 1.25)
    ax.set_ylabel("focus (h/day)", fontsize=FONT)


def _pipelines(ax: Axes, x: list[int], series: list[list[float]], _: float) -> None:
    percent = [v * 100 for v in series[0]]
    ax.plot(x, percent, color=BLUE, marker="o", linewidth=2, label="reliability")
    low = min(_present(percent) + [90.0])  # at least 80-100% shown
    ax.set_ylim(max(0.0, math.floor((low - 5) / 10) * 10), 103)
    ax.yaxis.set_major_formatter("{x:.0f}%")
    ax.set_ylabel("reliability", fontsize=FONT)


Draw = Callable[["Axes", list[int], list[list[float]], float], None]  # (ax, x, series, threshold)
PANELS: dict[str, tuple[Draw, tuple[Getter, ...]]] = {
    "handoffs": (_handoffs, (lambda p: p.handoff_median_wait_days, lambda p: p.handoff_p90_wait_days)),
    "focus": (_focus, (lambda p: p.focus_hours_per_day,)),
    "pipelines": (_pipelines, (lambda p: p.pipeline_reliability,)),
}


def render_chart(history: History, title: str) -> bytes | None:
    """The chart as PNG bytes, or None when no included panel has a single data point."""
    points = history.points
    panels = []  # (draw, series) in the fixed order handoffs, focus, pipelines
    for name, (draw, getters) in PANELS.items():
        series = [_values(points, get) for get in getters]
        if name in history.panels and _present(*series):
            panels.append((draw, series))
    if not panels:
        return None

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, TITLE_IN + PANEL_IN * len(panels)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    x = list(range(len(points)))
    for ax, (draw, series) in zip(axes, panels):
        draw(ax, x, series, history.threshold_hours)
        if len(points) > 1:  # the digest's week
            ax.axvspan(len(points) - 1.5, len(points) - 0.5, color=GREY, alpha=0.12, linewidth=0)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(labelsize=FONT)
        if len(ax.get_legend_handles_labels()[0]) > 1:
            ax.legend(fontsize=FONT, frameon=False, loc="upper left", ncols=2)
    last = axes[-1]
    last.set_xlim(-0.5, len(points) - 0.5)
    last.set_xticks(x, [p.week.rsplit("-", 1)[-1] for p in points])
    last.get_xticklabels()[-1].set_fontweight("bold")

    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def digest_chart(digest: Digest) -> bytes | None:
    """The chart of a digest (None without a chart or without data to draw)."""
    if digest.history is None:
        return None
    return render_chart(digest.history, f"Trends to {digest.week.label}")
