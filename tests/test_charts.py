"""`bot.slack.charts.render_chart`: the digest's trend chart as PNG, read back with PIL."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace

from PIL import Image

from bot.digest.model import History, WeekPoint
from bot.slack.charts import render_chart

PNG = b"\x89PNG\r\n\x1a\n"
ALL = ("handoffs", "focus", "pipelines")
TITLE = "Research Bridge · ML Platform · 2026-W47"


def _weeks(n: int = 8) -> tuple[WeekPoint, ...]:
    return tuple(
        WeekPoint(f"2026-W{48 - n + i}", 1.0 + i / 4, 3.0 + i / 2, 2.5 + (i % 3) / 2, 0.85 + i / 60)
        for i in range(n)
    )


def _history(points: tuple[WeekPoint, ...] | None = None, panels: tuple[str, ...] = ALL) -> History:
    return History(points=_weeks() if points is None else points, threshold_hours=3.0, panels=panels)


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
    empty = tuple(_blank(p, "handoff_median_wait_days", "handoff_p90_wait_days", "focus_hours_per_day",
                         "pipeline_reliability") for p in _weeks())
    assert render_chart(_history(empty), TITLE) is None
    assert render_chart(_history(()), TITLE) is None
    assert render_chart(_history(panels=()), TITLE) is None
    # data only in a panel the digest does not include
    only_focus = tuple(_blank(p, "handoff_median_wait_days", "handoff_p90_wait_days", "pipeline_reliability")
                       for p in _weeks())
    assert render_chart(_history(only_focus, panels=("handoffs", "pipelines")), TITLE) is None


def test_a_panel_without_data_is_left_out():
    no_focus = tuple(_blank(p, "focus_hours_per_day") for p in _weeks())
    dropped = render_chart(_history(no_focus), TITLE)
    assert _size(dropped)[1] < _size(render_chart(_history(), TITLE))[1]
    # the very chart drawn when the digest does not include the panel at all
    assert dropped == render_chart(_history(panels=("handoffs", "pipelines")), TITLE)


def test_a_panel_with_one_of_two_series_is_kept():
    no_p90 = tuple(_blank(p, "handoff_p90_wait_days") for p in _weeks())
    assert _size(render_chart(_history(no_p90, panels=("handoffs",)), TITLE))[1] >= 220


def test_gaps_are_gaps_not_zeros():
    points = list(_weeks())
    for i in (2, 3, 6):
        points[i] = _blank(points[i], "handoff_median_wait_days", "handoff_p90_wait_days",
                           "focus_hours_per_day", "pipeline_reliability")
    gaps = render_chart(_history(tuple(points)), TITLE)
    assert _size(gaps) == _size(render_chart(_history(), TITLE))
    zeros = tuple(replace(p, handoff_median_wait_days=0.0, handoff_p90_wait_days=0.0, focus_hours_per_day=0.0,
                          pipeline_reliability=0.0) if i in (2, 3, 6) else p for i, p in enumerate(points))
    assert gaps != render_chart(_history(zeros), TITLE)


def test_a_gap_in_the_digests_own_week_and_a_lone_point():
    points = [_blank(p, "focus_hours_per_day") for p in _weeks()]
    points[3] = _weeks()[3]  # one isolated focus point, no line to draw
    points[-1] = _blank(points[-1], "handoff_median_wait_days", "handoff_p90_wait_days", "pipeline_reliability")
    _size(render_chart(_history(tuple(points)), TITLE))


def test_a_single_week():
    one = _weeks(1)
    assert one[0].week == "2026-W47"
    width, height = _size(render_chart(_history(one), TITLE))
    assert 780 <= width <= 820 and height >= 3 * 220


def test_extreme_values_render():
    points = (WeekPoint("2025-W52", 0.0, 0.0, 0.0, 0.0), WeekPoint("2026-W01", 40.0, 120.0, 9.5, 1.0))
    _size(render_chart(_history(points), TITLE))


def test_same_input_same_bytes():
    first = render_chart(_history(), TITLE)
    assert first is not None and first == render_chart(_history(), TITLE)
    assert b"Matplotlib" not in first  # no version string embedded
    assert first != render_chart(_history(), "another title")


def test_importing_is_cheap_and_rendering_never_loads_pyplot():
    code = (
        "import sys\n"
        "import bot.slack.charts as charts\n"
        "assert 'matplotlib' not in sys.modules\n"
        "from bot.digest.model import History, WeekPoint\n"
        "png = charts.render_chart(History((WeekPoint('2026-W47', 1.0, 2.0, 3.0, 0.9),), 3.0, ('focus',)), 't')\n"
        "assert png and 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
