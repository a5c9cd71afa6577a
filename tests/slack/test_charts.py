"""`bot.slack.blocks.charts.render_chart`: the digest's trend chart as PNG, read back with PIL."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from dataclasses import replace

import pytest
from PIL import Image

from bot.digest.model import History, WeekPoint
from bot.slack.blocks.charts import chart_figure, chart_series, render_chart

PNG = b"\x89PNG\r\n\x1a\n"
ALL = ("handoffs", "focus", "pipelines")
TITLE = "Research Bridge · ML Platform · 2026-W47"
H = 3600.0
BD = 8 * H  # the business day of 09:00-17:00 work hours
WAITS = ("handoff_median_business_wait_seconds", "handoff_p90_business_wait_seconds")
EVERY = (*WAITS, "focus_seconds_per_day", "pipeline_reliability")


def _weeks(n: int = 8) -> tuple[WeekPoint, ...]:
    return tuple(
        WeekPoint(f"2026-W{48 - n + i}", (1.0 + i / 4) * BD, (3.0 + i / 2) * BD, (2.5 + (i % 3) / 2) * H, 0.85 + i / 60)
        for i in range(n)
    )


def _history(points: tuple[WeekPoint, ...] | None = None, panels: tuple[str, ...] = ALL) -> History:
    return History(points=_weeks() if points is None else points, threshold_hours=3.0, panels=panels,
                   seconds_per_workday=BD)


def _size(png: bytes | None) -> tuple[int, int]:
    assert png is not None and png.startswith(PNG)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        image.load()  # decodes every pixel: a truncated or corrupt PNG raises here
        return image.size


def _blank(point: WeekPoint, *fields: str) -> WeekPoint:
    return replace(point, **{field: None for field in fields})


def test_three_panels_are_a_phone_sized_png():
    width, height = _size(render_chart(_history(), TITLE))
    assert 780 <= width <= 820
    assert 3 * 220 <= height <= 3 * 260 + 80


def test_height_grows_with_the_number_of_panels():
    heights = [_size(render_chart(_history(panels=ALL[:n]), TITLE))[1] for n in (1, 2, 3)]
    assert heights[0] < heights[1] < heights[2]
    assert 220 <= heights[1] - heights[0] <= 260
    widths = {_size(render_chart(_history(panels=(p,)), TITLE))[0] for p in ALL}
    assert widths == {_size(render_chart(_history(), TITLE))[0]}


def test_nothing_to_draw_is_none():
    empty = tuple(_blank(p, *EVERY) for p in _weeks())
    assert render_chart(_history(empty), TITLE) is None
    assert render_chart(_history(()), TITLE) is None
    assert render_chart(_history(panels=()), TITLE) is None
    # data only in a panel the digest does not include
    only_focus = tuple(_blank(p, *WAITS, "pipeline_reliability") for p in _weeks())
    assert render_chart(_history(only_focus, panels=("handoffs", "pipelines")), TITLE) is None


def test_a_panel_without_data_is_left_out():
    no_focus = tuple(_blank(p, "focus_seconds_per_day") for p in _weeks())
    dropped = render_chart(_history(no_focus), TITLE)
    assert _size(dropped)[1] < _size(render_chart(_history(), TITLE))[1]
    # the very chart drawn when the digest does not include the panel at all
    assert dropped == render_chart(_history(panels=("handoffs", "pipelines")), TITLE)


def test_a_panel_with_one_of_two_series_is_kept():
    no_p90 = tuple(_blank(p, "handoff_p90_business_wait_seconds") for p in _weeks())
    assert _size(render_chart(_history(no_p90, panels=("handoffs",)), TITLE))[1] >= 220


def test_gaps_are_gaps_not_zeros():
    points = list(_weeks())
    for i in (2, 3, 6):
        points[i] = _blank(points[i], *EVERY)
    gaps = render_chart(_history(tuple(points)), TITLE)
    assert _size(gaps) == _size(render_chart(_history(), TITLE))
    zeros = tuple(replace(p, **{f: 0.0 for f in EVERY}) if i in (2, 3, 6) else p for i, p in enumerate(points))
    assert gaps != render_chart(_history(zeros), TITLE)
    # the series drawn: None (a gap) in those weeks, a zero only where a zero was measured
    for panel in chart_series(_history(tuple(points))):
        for series in panel.series:
            assert [i for i, v in enumerate(series.values) if v is None] == [2, 3, 6], (panel.name, series.label)
    for panel in chart_series(_history(zeros)):
        assert all(s.values[2] == 0.0 for s in panel.series)


def test_a_gap_in_the_digests_own_week_and_a_lone_point():
    points = [_blank(p, "focus_seconds_per_day") for p in _weeks()]
    points[3] = _weeks()[3]  # one isolated focus point, no line to draw
    points[-1] = _blank(points[-1], *WAITS, "pipeline_reliability")
    _size(render_chart(_history(tuple(points)), TITLE))
    # no figure for the digest's own week: the legend says nothing about it
    labels = [s.current for panel in chart_series(_history(tuple(points))) for s in panel.series]
    assert labels == [None, None, None, None]


def test_a_single_week():
    one = _weeks(1)
    assert one[0].week == "2026-W47"
    width, height = _size(render_chart(_history(one), TITLE))
    assert 780 <= width <= 820 and height >= 3 * 220


def test_extreme_values_render():
    points = (WeekPoint("2025-W52", 0.0, 0.0, 0.0, 0.0), WeekPoint("2026-W01", 40.0 * BD, 120.0 * BD, 9.5 * H, 1.0))
    _size(render_chart(_history(points), TITLE))


def test_same_input_same_bytes():
    first = render_chart(_history(), TITLE)
    assert first is not None and first == render_chart(_history(), TITLE)
    assert b"Matplotlib" not in first  # no version string embedded
    assert first != render_chart(_history(), "another title")


def test_importing_is_cheap_and_rendering_never_loads_pyplot():
    code = (
        "import sys\n"
        "import bot.slack.blocks.charts as charts\n"
        "assert 'matplotlib' not in sys.modules\n"
        "from bot.digest.model import History, WeekPoint\n"
        "png = charts.render_chart(History((WeekPoint('2026-W47', 1.0, 2.0, 3.0, 0.9),), 3.0, ('focus',), 28800.0),"
        " 't')\n"
        "assert png and 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- what is drawn, and in which unit ------------------------------------------------------------


def test_each_panel_is_titled_with_what_it_shows_and_its_unit():
    fig = chart_figure(_history(), TITLE)
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "Handoff wait, business days (median, p90)",
        "Focus Time, hours per workday",
        "Pipeline reliability, %",
    ]
    assert [p.title for p in chart_series(_history())] == [ax.get_title(loc="left") for ax in fig.axes]
    # no calendar-day label left over from the old chart
    assert all("days)" not in ax.get_ylabel() for ax in fig.axes)
    only = chart_figure(_history(panels=("pipelines",)), TITLE)
    assert [ax.get_title(loc="left") for ax in only.axes] == ["Pipeline reliability, %"]


def test_waits_are_drawn_in_business_days_of_the_histories_workday():
    """A wait of 12 business hours is 1.5 business days at 8-hour days, drawn at 1.5, not at
    the 0.5 calendar days of 12 hours; the legend names the digest's week as the text does."""
    point = WeekPoint("2026-W48", 12 * H, 36 * H, None, None)
    [handoffs] = chart_series(History((point,), 3.0, ("handoffs",), seconds_per_workday=BD))
    median, p90 = handoffs.series
    assert (median.values, p90.values) == ((1.5,), (4.5,))
    assert (median.current, p90.current) == ("1.5 bd", "4.5 bd")
    [longer_days] = chart_series(History((point,), 3.0, ("handoffs",), seconds_per_workday=9 * H))
    assert [s.values for s in longer_days.series] == [(12 / 9,), (4.0,)]


def test_the_lines_drawn_are_the_series():
    points = list(_weeks())
    points[4] = _blank(points[4], *EVERY)
    history = _history(tuple(points))
    fig = chart_figure(history, TITLE)
    panels = chart_series(history)
    for ax, panel in zip(fig.axes, panels):
        lines = [line for line in ax.get_lines() if len(line.get_xdata()) == len(points)]  # not the 3 h line
        assert len(lines) == len(panel.series)
        for line, series in zip(lines, panel.series):
            drawn = [None if math.isnan(y) else float(y) for y in line.get_ydata()]  # NaN is a gap
            assert drawn == list(series.values), (panel.name, series.label)
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend[:len(panel.series)] == [f"{s.label}, W47: {s.current}" for s in panel.series]
    assert panels[0].series[0].values[-1] == 1.0 + 7 / 4  # business days, as stored in business seconds
    assert panels[2].series[0].values[-1] == pytest.approx((0.85 + 7 / 60) * 100)  # percent


def test_focus_just_under_the_line_is_labelled_under_it():
    """2.96 h is below the 3 h line: drawn at 2.96 and labelled '2h 57m', never '3.0 h'."""
    weeks = (WeekPoint("2026-W47", None, None, (2 * 60 + 53) * 60.0, None),
             WeekPoint("2026-W48", None, None, 2.96 * H, None))
    [focus] = chart_series(History(weeks, 3.0, ALL, seconds_per_workday=BD))
    [average] = focus.series
    assert average.values == (2 + 53 / 60, 2.96) and average.values[-1] < 3.0
    assert average.current == "2h 57m"
    fig = chart_figure(History(weeks, 3.0, ALL, seconds_per_workday=BD), TITLE)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["team average, W48: 2h 57m",
                                                                             "the 3h line"]
