"""How a weekly digest reads: terminal text, wording edge cases, and the display rules that
make printed figures agree with the decisions (never a value under the line printed on it,
'1 pt', nothing left saying '—'). The seeded org is in tests/digest_support.py."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from bot.config import settings_from_mapping
from bot.digest.compute import build_digest
from bot.digest.period import week_named
from bot.formatting import hours_minutes, line_cells, percent_change, points_change
from bot.ingest.pipelines import record_pipeline_runs
from bot.metrics.workcal import WorkCalendar
from bot.slack.blocks.digest import blocks_as_text, digest_text
from bot.store import Store
from tests.support.digests import (
    TZ,
    WEEK,
    H,
    deploy,
    focus_days,
    local,
    org,
    parts,
    render,
    run,
    texts,
    workdays,
)

# -- terminal text -------------------------------------------------------------------------------------


def test_blocks_as_text_shows_links_as_label_and_url_without_bold(seeded: Store):
    settings, digest = org()
    text = blocks_as_text(render(settings, build_digest(seeded, settings, digest, WEEK)))
    lines = text.splitlines()
    assert lines[:3] == ["Weekly digest · 2026-W46", "=" * len("Weekly digest · 2026-W46"),
                         "  9–15 Nov 2026 (Europe/Berlin) · all teams"]
    assert "• VIS-4 (https://jira.example.com/browse/VIS-4) Handoff VIS-4 — waiting 4.0 bd (5d 15h), over the SLA" \
           " · owner @U0ANA · from Rae Searcher" in lines
    assert "• train (https://ci.example.com/train/r3/1) 75% ↑ 75 pts · 4 runs, 1 failed · 1 failed run in a row" \
           in lines
    assert ("All teams: 3h 20m a day (last week 2h 40m) · 2 of 4 with IDE data below the line"
            " · research 59% / engineering 41%") in lines
    assert "Research handoffs" in lines and "-" * 72 in lines
    assert "*" not in text and "<" not in text and ":handshake:" not in text and "`" not in text


# -- wording edge cases ---------------------------------------------------------------------------


def test_a_one_team_digest_labels_focus_with_the_team(seeded: Store):
    settings, digest = org(teams=["nlp"], sections=["focus"], chart=False)
    focus = "\n".join(texts(render(settings, build_digest(seeded, settings, digest, WEEK))))
    assert "*nlp*: *3h 34m a day*" in focus and "All teams" not in focus


def test_a_week_across_new_year_names_both_years(tmp_path):
    settings, digest = org()
    built = build_digest(Store(tmp_path / "b.db"), settings, digest, week_named("2026-W53", TZ))
    assert texts(render(settings, built))[1].startswith("28 Dec 2026 – 3 Jan 2027 (Europe/Berlin)")


def test_staging_only_deployments_make_a_quiet_delivery_week(tmp_path):
    store = Store(tmp_path / "b.db")
    store.save_deployments([deploy("s1", "ranker", "r1", local(11, 10, 10), env="staging")])
    settings, digest = org(sections=["delivery"], chart=False)
    built = build_digest(store, settings, digest, WEEK)
    assert built.delivery.current.deployments == 1 and built.delivery.quiet
    assert texts(render(settings, built))[-1].startswith(":zzz: A quiet week")


def test_a_pipeline_that_did_not_run_this_week_is_not_among_the_worst(tmp_path):
    store = Store(tmp_path / "b.db")
    record_pipeline_runs(store, [
        run("stale", "s1", "failed", local(11, 4, 10)),  # W45 only: a failure streak, no run in W46
        run("busy", "b1", "failed", local(11, 10, 10)),
        run("busy", "b2", "success", local(11, 11, 10)),
    ])
    settings, digest = org(sections=["pipelines"], chart=False)
    lines = "\n".join(texts(render(settings, build_digest(store, settings, digest, WEEK))))
    assert re.search(r"across 1 pipeline$", lines, re.MULTILINE)
    assert "busy" in lines and "stale" not in lines and "  " not in lines


def test_a_digest_channel_must_be_a_channel_id():
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"digest\[0\].channel: expected a channel ID"):
        settings_from_mapping({"digest": [{"channel": "U0123ABCD"}]}, {})


# -- display rules (bot.formatting): figures that agree with the decisions ---------------------------


def test_hours_and_minutes_never_round_across_the_line():
    assert hours_minutes(2.96 * H) == "2h 57m"  # below the 3 h line: never "3.0 h"
    assert hours_minutes(3 * H - 0.1) == "2h 59m"
    assert hours_minutes(3 * H) == "3h 0m"  # on the line is not below it
    assert hours_minutes((2 * 60 + 53) * 60) == "2h 53m" and hours_minutes((3 * 60 + 6) * 60) == "3h 6m"
    assert hours_minutes(50 / 15 * H) == "3h 20m" and hours_minutes(45 * 60 + 59) == "45m"
    assert hours_minutes(None) == "—" and hours_minutes(0) == "0m" and hours_minutes(-5) == "0m"
    line = 3 * H
    for seconds in [line + d for d in (-3600, -61, -60, -59, -1, -0.001, 0, 0.001, 59, 60, 3600)]:
        h, m = re.fullmatch(r"(?:(\d+)h )?(\d+)m", hours_minutes(seconds)).groups()
        printed = int(h or 0) * 60 + int(m)
        assert (printed < 180) == (seconds < line), seconds  # printed under the line iff it is under


def test_bar_cells_never_fill_across_the_line():
    """At a 3 h line after 6 cells (half an hour a cell), rounding drew 2 h 53 m and 3 h 6 m as
    the same six cells; cut, 2 h 53 m stays under the line."""
    line = 3 * H
    assert line_cells((2 * 60 + 53) * 60, line, 6) == 5
    assert line_cells((3 * 60 + 6) * 60, line, 6) == 6
    assert line_cells(line, line, 6) == 6 and line_cells(line - 1, line, 6) == 5
    assert line_cells(10 * H, line, 6) == 12 and line_cells(0, line, 6) == 0 and line_cells(H, 0, 6) == 0
    for minutes in range(0, 400, 7):
        assert (line_cells(minutes * 60, line, 6) < 6) == (minutes * 60 < line), minutes


def test_a_team_just_under_the_line_reads_under_it(tmp_path):
    """2.96 h a day is below the 3 h line, so the digest says 2h 57m, not 3.0 h beside
    '1 of 1 below the line'; 2 h 53 m and 3 h 6 m read apart."""
    store = Store(tmp_path / "b.db")
    focus_days(store, "U0ANA", workdays(date(2026, 11, 9)), 2.96, 2, 0.96)
    focus_days(store, "U0ANA", workdays(date(2026, 11, 2)), 3.1, 2, 1.1)
    focus_days(store, "U0DAN", workdays(date(2026, 11, 9)), 2 + 53 / 60, 1, 1 + 53 / 60)
    settings, digest = org(sections=["focus"], chart=False)
    built = build_digest(store, settings, digest, WEEK)
    vision, nlp = built.focus.teams
    assert vision.current.below_threshold == 1 and vision.current.average_focus_seconds < 3 * H
    lines = texts(render(settings, built))[2].splitlines()
    assert "• vision: *2h 57m a day* (last week 3h 6m) · 1 of 1 with IDE data below the line" in lines[2]
    assert "• nlp: *2h 53m a day* · 1 of 1 with IDE data below the line" in lines[3]  # no "(last week —)"
    assert "3.0 h" not in "\n".join(lines)
    assert lines[1].startswith("*All teams*: *2h 55m a day* (last week 3h 6m) · 2 of 2 with IDE data below")
    assert digest_text(built, WorkCalendar.from_settings(settings)) == "Weekly digest 2026-W46: focus 2h 55m a day"


def test_trend_points_are_singular_for_one():
    assert points_change(0.01) == "↑ 1 pt" and points_change(-0.01) == "↓ 1 pt"
    assert points_change(0.02) == "↑ 2 pts" and points_change(-0.2333) == "↓ 23 pts"
    assert points_change(0.0) == "→" and points_change(0.004) == "→" and points_change(-0.004) == "→"
    assert points_change(0.005) == "↑ 1 pt"  # half a point: never "↑ 0 pts"
    assert points_change(None) == ""
    # beside last week's figure, the change is the one between the two figures as printed
    assert percent_change(0.906, 0.914) == "→"  # 91% and 91%, not "↓ 1 pt"
    assert percent_change(0.904, 0.916) == "↓ 2 pts"  # 90% and 92%, not "↓ 1 pt"
    assert percent_change(0.91, 0.9) == "↑ 1 pt" and percent_change(None, 0.9) == ""


def test_a_one_point_change_in_the_digest_reads_one_pt(tmp_path):
    """W45 10 of 11 runs succeeded (91%), W46 9 of 10 (90%): one point down, said once."""
    store = Store(tmp_path / "b.db")
    record_pipeline_runs(store, 
        [run("train", f"p{i}", "failed" if i == 0 else "success", local(11, 3, 10) + timedelta(hours=i))
         for i in range(11)]
        + [run("train", f"c{i}", "failed" if i == 0 else "success", local(11, 10, 10) + timedelta(hours=i))
           for i in range(10)])
    settings, digest = org(sections=["pipelines"], chart=False)
    [head] = [t for t in texts(render(settings, build_digest(store, settings, digest, WEEK))) if "Pipelines" in t]
    assert head.splitlines()[0].startswith(":gear: *Pipelines*: reliability *90%* ↓ 1 pt (last week 91%)")
    assert "• *<https://ci.example.com/train/c9/1|train>* 90% ↓ 1 pt · 10 runs, 1 failed" in head
    assert "pts" not in head


def test_nothing_to_compare_is_left_unsaid(seeded: Store):
    """No '—' figures read out: no pick-up this week, no commit times, no incidents, one
    deployment (singular), no runs or focus data the week before."""
    settings, digest = org(teams=["NLP"])
    w46 = build_digest(seeded, settings, digest, WEEK)
    text = "\n".join(texts(render(settings, w46)))
    assert "Wait for pick-up: none picked up this week\n" in text and "median —" not in text
    assert digest_text(w46, WorkCalendar.from_settings(settings)).startswith(
        "Weekly digest 2026-W46: 2 handoffs requested, 2 waiting · ")
    w47 = build_digest(seeded, settings, digest, week_named("2026-W47", TZ))
    delivery = parts(render(settings, w47))[-1][0].splitlines()
    assert delivery == [  # d5 at Mon 16 Nov 00:10 has no commit time
        ":rocket: *ML delivery*: 1 (−2) production deployment on 1 day",
        "Lead time (commit → production): no commit times this week (last week median 5h 0m)",
        "Change failure rate 0% (last week 50%) · rollbacks 0 (model rollback rate 0%)",
        "No incidents",
    ]
    assert digest_text(w47, WorkCalendar.from_settings(settings)).endswith(" · 1 production deployment")


def test_a_first_week_reads_without_last_week(tmp_path):
    """Runs and focus data only this week: no '(last week —)'."""
    store = Store(tmp_path / "b.db")
    record_pipeline_runs(store, [run("train", "r1", "success", local(11, 10, 10)),
                              run("train", "r2", "failed", local(11, 11, 10))])
    focus_days(store, "U0ANA", workdays(date(2026, 11, 9)), 3.5, 2, 1.5)
    settings, digest = org(sections=["focus", "pipelines"], chart=False)
    blocks = render(settings, build_digest(store, settings, digest, WEEK))
    text = "\n".join(texts(blocks))
    assert ":gear: *Pipelines*: reliability *50%* · 2 runs, 1 failed across 1 pipeline" in text
    assert "*All teams*: *3h 30m a day* · 0 of 1 with IDE data below the line" in text
    assert "last week" not in text and "—" not in text
