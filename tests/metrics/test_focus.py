"""Focus Time rules: sessions, blocks, local days (midnight, DST), streams, alerts, team figures."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.clock import day_bounds, local_date
from bot.config import FocusSettings, Settings
from bot.metrics.focus import (
    FocusRules,
    Session,
    TeamFocus,
    alert_decision,
    average_focus,
    change_window,
    focus_blocks,
    focus_days,
    iso_week,
    recent_workdays,
    session_window,
    sessions,
    stream_of,
    team_focus,
)
from bot.models import FocusDay, Heartbeat

BERLIN = ZoneInfo("Europe/Berlin")
LA = ZoneInfo("America/Los_Angeles")
M, H = 60.0, 3600.0
RULES = FocusRules()  # 15-minute timeout, 30-minute blocks
STREAMS = FocusRules(research=("ml-*", "*-research"), engineering=("*-service", "ml-platform*"))


def at(tz: ZoneInfo, *args: int) -> float:
    """Epoch seconds of a local wall-clock time."""
    return datetime(*args, tzinfo=tz).timestamp()


def hb(t: float, project: str | None = None, user: str = "U1") -> Heartbeat:
    return Heartbeat(user, t, "/src/main.py", project=project)


def beats(start: float, end: float, step: float = 5 * M, project: str | None = None) -> list[Heartbeat]:
    """Heartbeats every `step` seconds from start to end inclusive."""
    n = round((end - start) / step)
    return [hb(start + i * step, project) for i in range(n + 1)]


def lengths(hbs: list[Heartbeat], rules: FocusRules = RULES) -> list[float]:
    return [s.length for s in sessions(hbs, rules)]


def rows(hbs: list[Heartbeat], tz: ZoneInfo = UTC, rules: FocusRules = RULES, days=None) -> dict[date, tuple]:
    return {r.day: tuple(r[2:]) for r in focus_days("U1", hbs, tz, rules, days)}  # type: ignore[arg-type]


# -- sessions ------------------------------------------------------------------------------


def test_wakatime_example_at_15_and_10_minutes() -> None:
    example = [hb(0), hb(2 * M), hb(15 * M), hb(16 * M)]  # 2 min typing, 13 min break, 1 min
    assert lengths(example) == [16 * M]
    assert lengths(example, FocusRules(timeout_seconds=10 * M)) == [2 * M, 1 * M]
    assert sum(lengths(example, FocusRules(timeout_seconds=10 * M))) == 3 * M


def test_gap_equal_to_timeout_joins_and_one_second_more_splits() -> None:
    assert lengths([hb(0), hb(900)]) == [900]
    assert lengths([hb(0), hb(901)]) == [0, 0]
    assert lengths([hb(0), hb(900), hb(1801)]) == [900, 0]
    assert [(s.start, s.end) for s in sessions([hb(0), hb(900), hb(1801)], RULES)] == [(0, 900), (1801, 1801)]


def test_lone_heartbeat_is_zero_seconds_but_has_data() -> None:
    t = at(UTC, 2026, 11, 17, 10, 0)
    assert sessions([hb(t)], RULES) == [Session(t, t, ())]
    assert lengths([hb(t), hb(t + H), hb(t + 2 * H)]) == [0, 0, 0]
    assert rows([hb(t), hb(t + H)]) == {date(2026, 11, 17): (0.0, 0.0, 0.0, 0.0, 0)}
    assert sessions([], RULES) == []
    assert focus_days("U1", [], UTC, RULES) == []


def test_block_threshold_exactly_thirty_minutes() -> None:
    t = at(UTC, 2026, 11, 17, 9, 0)
    exact, short = beats(t, t + 30 * M), beats(t, t + 30 * M - 1, step=(30 * M - 1) / 6)
    assert [s.length for s in focus_blocks(sessions(exact, RULES), RULES)] == [1800]
    assert focus_blocks(sessions(short, RULES), RULES) == []
    assert rows(exact) == {date(2026, 11, 17): (1800, 1800, 0, 0, 1)}
    assert rows(short) == {date(2026, 11, 17): (0, 1799, 0, 0, 0)}
    assert rows(exact, rules=FocusRules(min_block_seconds=1801)) == {date(2026, 11, 17): (0, 1800, 0, 0, 0)}


def test_out_of_order_and_duplicate_heartbeats() -> None:
    t = at(UTC, 2026, 11, 17, 9, 0)
    ordered = beats(t, t + H, project="ml-exp") + beats(t + 2 * H, t + 2 * H + 10 * M, project="ml-exp")
    shuffled = ordered + ordered[::3]  # duplicates at the same time
    random.Random(7).shuffle(shuffled)
    assert sessions(shuffled, STREAMS) == sessions(ordered, STREAMS)
    assert lengths(shuffled) == [H, 10 * M]
    assert rows(shuffled, rules=STREAMS) == {date(2026, 11, 17): (H, H + 10 * M, H, 0, 1)}
    # same-time heartbeats of different projects: the result does not depend on arrival order
    mixed = [hb(t, "billing-service"), hb(t, "ml-exp"), hb(t + 20 * M, "ml-exp"), hb(t + 35 * M)]
    assert sessions(mixed, STREAMS) == sessions(mixed[::-1], STREAMS)


def test_sessions_of_several_runs() -> None:
    t = 1_000_000.0
    hbs = [hb(t), hb(t + 600), hb(t + 1200), hb(t + 3000), hb(t + 9000), hb(t + 9300)]
    assert [(s.start, s.end) for s in sessions(hbs, RULES)] == [
        (t, t + 1200), (t + 3000, t + 3000), (t + 9000, t + 9300)
    ]


# -- local days, midnight and DST ------------------------------------------------------------


def test_block_across_midnight_is_split_between_days_berlin() -> None:
    # 23:45 -> 00:20 local: 35 min qualifies as a block; only 15 min are on the first day
    start, end = at(BERLIN, 2026, 11, 17, 23, 45), at(BERLIN, 2026, 11, 18, 0, 20)
    hbs = beats(start, end)
    assert rows(hbs, BERLIN) == {
        date(2026, 11, 17): (15 * M, 15 * M, 0, 0, 1),
        date(2026, 11, 18): (20 * M, 20 * M, 0, 0, 1),
    }
    # the same instants are mid-afternoon in Los Angeles: one day, nothing split
    assert rows(hbs, LA) == {date(2026, 11, 17): (35 * M, 35 * M, 0, 0, 1)}


def test_block_across_midnight_los_angeles_and_short_session_split() -> None:
    start = at(LA, 2026, 7, 1, 23, 30)
    hbs = beats(start, start + H)  # 23:30 -> 00:30, PDT
    assert rows(hbs, LA) == {
        date(2026, 7, 1): (30 * M, 30 * M, 0, 0, 1),
        date(2026, 7, 2): (30 * M, 30 * M, 0, 0, 1),
    }
    assert rows(hbs, UTC) == {date(2026, 7, 2): (H, H, 0, 0, 1)}  # 06:30 -> 07:30 UTC
    short = beats(at(LA, 2026, 7, 1, 23, 50), at(LA, 2026, 7, 2, 0, 10))  # 20 min: not a block
    assert rows(short, LA) == {date(2026, 7, 1): (0, 10 * M, 0, 0, 0), date(2026, 7, 2): (0, 10 * M, 0, 0, 0)}


def test_session_ending_exactly_at_midnight_touches_the_next_day_with_zeros() -> None:
    hbs = beats(at(BERLIN, 2026, 11, 17, 23, 0), at(BERLIN, 2026, 11, 18, 0, 0))
    assert rows(hbs, BERLIN) == {
        date(2026, 11, 17): (H, H, 0, 0, 1),
        date(2026, 11, 18): (0, 0, 0, 0, 0),
    }


def test_day_bounds_on_dst_days() -> None:
    def hours(day: date, tz: ZoneInfo) -> float:
        lo, hi = day_bounds(day, tz)
        return (hi - lo) / H

    assert hours(date(2026, 3, 29), BERLIN) == 23
    assert hours(date(2026, 10, 25), BERLIN) == 25
    assert hours(date(2026, 3, 8), LA) == 23
    assert hours(date(2026, 11, 1), LA) == 25
    assert hours(date(2026, 11, 17), BERLIN) == 24
    midnights = (at(BERLIN, 2026, 11, 17, 0, 0), at(BERLIN, 2026, 11, 18, 0, 0))
    assert day_bounds(date(2026, 11, 17), BERLIN) == midnights
    assert day_bounds(date(2026, 11, 17), BERLIN)[1] == day_bounds(date(2026, 11, 18), BERLIN)[0]


@pytest.mark.parametrize(
    "tz, day, day_hours",
    [
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
        (LA, date(2026, 3, 8), 23),
        (LA, date(2026, 11, 1), 25),
    ],
)
def test_dst_day_holds_23_or_25_hours_of_session(tz: ZoneInfo, day: date, day_hours: int) -> None:
    # one unbroken session from 23:00 the evening before to 01:00 the morning after
    start = datetime.combine(day - timedelta(days=1), time(23), tzinfo=tz).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(1), tzinfo=tz).timestamp()
    assert rows(beats(start, end, step=10 * M), tz) == {
        day - timedelta(days=1): (H, H, 0, 0, 1),
        day: (day_hours * H, day_hours * H, 0, 0, 1),
        day + timedelta(days=1): (H, H, 0, 0, 1),
    }


def test_block_over_the_skipped_and_repeated_hour_counts_elapsed_time() -> None:
    # Berlin 2026-03-29: 01:30 -> 03:30 on the wall clock is one real hour
    spring = beats(at(BERLIN, 2026, 3, 29, 1, 30), at(BERLIN, 2026, 3, 29, 3, 30))
    assert rows(spring, BERLIN) == {date(2026, 3, 29): (H, H, 0, 0, 1)}
    # Berlin 2026-10-25: 01:30 -> 03:30 on the wall clock is three real hours
    fall = beats(at(BERLIN, 2026, 10, 25, 1, 30), at(BERLIN, 2026, 10, 25, 3, 30))
    assert rows(fall, BERLIN) == {date(2026, 10, 25): (3 * H, 3 * H, 0, 0, 1)}


def test_local_date_depends_on_timezone() -> None:
    t = at(UTC, 2026, 11, 18, 3, 0)
    assert local_date(t, UTC) == date(2026, 11, 18)
    assert local_date(t, LA) == date(2026, 11, 17)
    assert {local_date(t, BERLIN), local_date(t + 22 * H, BERLIN)} == {date(2026, 11, 18), date(2026, 11, 19)}


# -- streams -----------------------------------------------------------------------------------


def test_stream_of_patterns_research_wins_unknown_is_other() -> None:
    assert stream_of("ml-experiments", STREAMS) == "research"
    assert stream_of("vision-research", STREAMS) == "research"
    assert stream_of("ml-platform", STREAMS) == "research"  # matches both: research wins
    assert stream_of("billing-service", STREAMS) == "engineering"
    assert stream_of("Billing-SERVICE", STREAMS) == "engineering"  # case-insensitive
    assert stream_of("website", STREAMS) == "other"
    assert stream_of("ml", STREAMS) == "other"  # "ml-*" needs the dash
    assert stream_of(None, STREAMS) == "other"
    assert stream_of("", FocusRules(engineering=("*",))) == "other"
    assert stream_of("anything", FocusRules(engineering=("*",))) == "engineering"
    assert stream_of("ml-x", FocusRules()) == "other"
    assert stream_of("data[1]", FocusRules(research=("data[[]*",))) == "research"


def test_gap_belongs_to_the_earlier_heartbeats_project() -> None:
    t = at(UTC, 2026, 11, 17, 9, 0)
    projects = ["ml-a", "ml-b", "api-service", "website", "ml-a"]
    hbs = [hb(t + i * 10 * M, p) for i, p in enumerate(projects)]
    (s,) = sessions(hbs, STREAMS)
    assert s.segments == (
        (t, t + 20 * M, "research"),
        (t + 20 * M, t + 30 * M, "engineering"),
        (t + 30 * M, t + 40 * M, "other"),
    )
    assert rows(hbs, rules=STREAMS) == {date(2026, 11, 17): (40 * M, 40 * M, 20 * M, 10 * M, 1)}


def test_streams_count_only_focus_time_and_split_at_midnight() -> None:
    day = date(2026, 11, 17)
    short = beats(at(BERLIN, 2026, 11, 17, 9, 0), at(BERLIN, 2026, 11, 17, 9, 20), project="ml-a")
    cross = beats(at(BERLIN, 2026, 11, 17, 23, 30), at(BERLIN, 2026, 11, 17, 23, 55), project="ml-a") + beats(
        at(BERLIN, 2026, 11, 18, 0, 0), at(BERLIN, 2026, 11, 18, 0, 30), project="api-service"
    )
    # 23:55 -> 00:00 is a research gap (23:55's project); from 00:00 engineering
    assert rows(short + cross, BERLIN, STREAMS) == {
        day: (30 * M, 50 * M, 30 * M, 0, 1),
        day + timedelta(days=1): (30 * M, 30 * M, 0, 30 * M, 1),
    }
    mid = beats(at(BERLIN, 2026, 11, 17, 23, 40), at(BERLIN, 2026, 11, 18, 0, 20), project="ml-a")
    assert rows(mid, BERLIN, STREAMS) == {
        day: (20 * M, 20 * M, 20 * M, 0, 1),
        day + timedelta(days=1): (20 * M, 20 * M, 20 * M, 0, 1),
    }


# -- focus_days ---------------------------------------------------------------------------------


def test_focus_days_filter_and_rows_for_days_with_data_only() -> None:
    d1, d2, d3, d4 = (date(2026, 11, 16) + timedelta(days=i) for i in range(4))
    hbs = (
        beats(at(UTC, 2026, 11, 16, 9, 0), at(UTC, 2026, 11, 16, 10, 0))
        + [hb(at(UTC, 2026, 11, 17, 9, 0))]  # a lone heartbeat: data, zero seconds
        + beats(at(UTC, 2026, 11, 18, 9, 0), at(UTC, 2026, 11, 18, 9, 10))
    )
    assert rows(hbs) == {d1: (H, H, 0, 0, 1), d2: (0, 0, 0, 0, 0), d3: (0, 10 * M, 0, 0, 0)}
    assert rows(hbs, days=[d2, d3, d4]) == {d2: (0, 0, 0, 0, 0), d3: (0, 10 * M, 0, 0, 0)}
    assert rows(hbs, days=[d4]) == {}
    result = focus_days("U1", list(reversed(hbs)), UTC, RULES, days=iter([d3, d1]))
    assert [r.day for r in result] == [d1, d3]
    assert result[0] == FocusDay("U1", d1, H, H, 0.0, 0.0, 1)


def test_focus_days_refuses_another_users_heartbeats() -> None:
    with pytest.raises(ValueError, match="U2"):
        focus_days("U1", [hb(0), hb(60, user="U2")], UTC, RULES)


def _reference(hbs: list[Heartbeat], tz: ZoneInfo, rules: FocusRules) -> dict[date, list[float]]:
    """Slow, obvious definition: walk every gap, cut it at each local midnight."""
    pts = sorted((h.time, h.project or "") for h in hbs)
    groups: list[list[tuple[float, str]]] = [[pts[0]]]
    for p in pts[1:]:
        (groups[-1].append(p) if p[0] - groups[-1][-1][0] <= rules.timeout_seconds else groups.append([p]))
    out: dict[date, list[float]] = {}
    for g in groups:
        block = g[-1][0] - g[0][0] >= rules.min_block_seconds
        for t, _ in g:
            out.setdefault(datetime.fromtimestamp(t, tz).date(), [0.0] * 4)
        for (a, proj), (b, _) in pairwise(g):
            while a < b:
                day = datetime.fromtimestamp(a, tz).date()
                cut = min(b, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).timestamp())
                r = out.setdefault(day, [0.0] * 4)
                r[1] += cut - a
                if block:
                    r[0] += cut - a
                    s = stream_of(proj, rules)
                    r[2] += (cut - a) if s == "research" else 0
                    r[3] += (cut - a) if s == "engineering" else 0
                a = cut
    return out


@pytest.mark.parametrize("tz", [BERLIN, LA, UTC])
def test_focus_days_matches_a_slow_reference(tz: ZoneInfo) -> None:
    rnd = random.Random(42)
    t, hbs = at(tz, 2026, 3, 1, 0, 0), []
    while t < at(tz, 2026, 4, 5, 0, 0):  # over the spring DST change in both zones
        t += rnd.choice([30, 60, 120, 300, 600, 900, 901, 1200, 3 * H, 9 * H])
        hbs.append(hb(t, rnd.choice(["ml-a", "api-service", "misc", None])))
    expected = _reference(hbs, tz, STREAMS)
    got = focus_days("U1", hbs, tz, STREAMS)
    assert [r.day for r in got] == sorted(expected)
    for r in got:
        assert list(r[2:6]) == pytest.approx(expected[r.day], abs=1e-6)
    assert sum(r.focus_seconds for r in got) > 10 * H  # the data set does exercise blocks


# -- session_window -------------------------------------------------------------------------------


def test_session_window_widens_to_whole_sessions() -> None:
    times = [0.0, 600.0, 1200.0, 5000.0, 5600.0, 10000.0]
    assert session_window(times, 1000, 5100, RULES) == (0.0, 5600.0)
    assert session_window(times, 2000, 3000, RULES) == (2000, 3000)  # nothing touches it
    assert session_window(times, 700, 800, RULES) == (0.0, 1200.0)  # a session spans the window
    assert session_window(times, 0, 10000, RULES) == (0, 10000)  # 10000 is outside [0, 10000)
    assert session_window(times, 9000, 20000, RULES) == (9000, 20000)
    assert session_window([], 5, 6, RULES) == (5, 6)


# -- change_window --------------------------------------------------------------------------------


def test_change_window_without_old_heartbeats_within_a_timeout_is_the_new_range() -> None:
    assert change_window([], 100, 200, RULES) == (100, 200)
    assert change_window([0.0, 5000.0], 901, 4099, RULES) == (901, 4099)  # 901 s and 901 s away
    assert change_window([1000.0, 1500.0], 900, 2100, RULES) == (900, 2100)  # old inside: no matter


def test_change_window_walks_to_the_ends_of_sessions_shorter_than_a_block() -> None:
    times = [0.0, 600.0, 1200.0, 5000.0, 5600.0, 6000.0, 9000.0]
    assert change_window(times, 1500, 1500, RULES) == (0.0, 1500)  # joins 0-1200; 5000 is too far
    assert change_window(times, 2100, 4100, RULES) == (0.0, 6000.0)  # 2100 - 1200 = 900: joins
    assert change_window(times, 900, 900, RULES) == (0.0, 1200.0)  # inside a session


def test_change_window_clips_sessions_once_the_walked_part_is_a_block() -> None:
    """New heartbeats bridging two sessions (5100 and 6600 are 25 minutes apart): each side is
    walked until it is min_block long on its own."""
    times = [i * 300.0 for i in range(18)] + [6600 + i * 300.0 for i in range(18)]
    a, b = change_window(times, 5850, 5850, RULES)
    assert (a, b) == (3300.0, 8400.0)  # p0 = 5100 and n0 = 6600, each walked 30 minutes
    assert 5100 - a == b - 6600 == RULES.min_block_seconds
    # Just short of min_block: each walk goes one heartbeat further.
    assert change_window(times, 5850, 5850, FocusRules(min_block_seconds=1801)) == (3000.0, 8700.0)


def test_change_window_inside_one_session_needs_min_block_only_in_all() -> None:
    """Late heartbeats inside one old session (every 5 minutes, 0-11700): that piece is one
    session before and after, so [a, b] is min_block long in all, not on each side."""
    times = [i * 300.0 for i in range(40)]
    assert change_window(times, 5150, 5160, RULES) == (3600.0, 5400.0)
    assert change_window(times, 5150, 7000, RULES) == (5100.0, 7200.0)  # long enough already
    assert change_window(times, 600, 700, RULES) == (0.0, 1800.0)  # the session starts at 0: walk right
    # A window is never clipped at new_hi itself (there the new heartbeat's project counts).
    assert change_window(times, 3600, 5400, RULES) == (3600.0, 5700.0)


def test_change_window_duplicates_and_a_zero_timeout() -> None:
    rules = FocusRules(timeout_seconds=0, min_block_seconds=60)
    assert change_window([100.0, 100.0, 200.0], 100, 100, rules) == (100.0, 100.0)
    assert change_window([100.0, 100.0, 200.0], 150, 150, rules) == (150, 150)
    assert change_window([50.0, 100.0, 100.0], 100, 120, RULES) == (50.0, 120)


def _change(after: list[FocusDay], before: list[FocusDay]) -> dict[date, list[float]]:
    """Per day with data in `after`: its figures minus those in `before` (none: zeros)."""
    old = {r.day: r[2:] for r in before}
    return {r.day: [x - y for x, y in zip(r[2:], old.get(r.day, [0] * 5))] for r in after}


@pytest.mark.parametrize("rules", [RULES, STREAMS, FocusRules(600, 7200, research=("ml-*",)),
                                   FocusRules(0, 5), FocusRules(300, 1, engineering=("*-service",))])
@pytest.mark.parametrize("tz", [BERLIN, LA])
def test_change_window_holds_every_change_new_heartbeats_make(tz: ZoneInfo, rules: FocusRules) -> None:
    """Adding the change over [a, b] alone to the figures of the old heartbeats gives the
    figures of old and new, for random histories over midnights and the spring DST change."""
    rnd = random.Random(11)
    for _ in range(150):
        t, old = at(tz, 2026, 3, 28, 20, 0), []
        while t < at(tz, 2026, 3, 30, 3, 0):
            t += rnd.choice([0, 10, 60, 300, 599, 600, 899, 900, 901, 1800, 3 * H])
            old.append(hb(t, rnd.choice(["ml-a", "api-service", None])))
        lo = rnd.uniform(old[0].time - H, old[-1].time + H)
        span = rnd.choice([0, 60, 1200, 3 * H])
        base = rnd.choice(old).time  # some new heartbeats exactly a timeout (or 0 s, ...) from old ones
        new = [hb(rnd.uniform(lo, lo + span) if rnd.random() < 0.5 else
                  base + rnd.choice([-901, -900, -300, 0, 1, 300, 900, 901]) + rnd.choice([0, 0, 60, 600]),
                  rnd.choice(["ml-a", "api-service", None]))
               for _ in range(rnd.randint(1, 8))]
        new_lo, new_hi = min(h.time for h in new), max(h.time for h in new)
        a, b = change_window(sorted(h.time for h in old), new_lo, new_hi, rules)
        reach = 2 * rules.timeout_seconds + rules.min_block_seconds
        assert new_lo - reach < a <= new_lo and new_hi <= b < new_hi + reach
        inside = [h for h in old if a <= h.time <= b]
        got = {r.day: list(r[2:]) for r in focus_days("U1", old, tz, rules)}
        for day, change in _change(focus_days("U1", inside + new, tz, rules),
                                   focus_days("U1", inside, tz, rules)).items():
            got[day] = [x + y for x, y in zip(got.get(day, [0] * 5), change)]
        expected = {r.day: list(r[2:]) for r in focus_days("U1", old + new, tz, rules)}
        assert sorted(got) == sorted(expected)
        for day, figures in expected.items():
            assert got[day] == pytest.approx(figures, abs=1e-6)


# -- config ----------------------------------------------------------------------------------------


def test_rules_from_settings_and_validation() -> None:
    settings = Settings(
        focus=FocusSettings(heartbeat_timeout_minutes=10, min_block_minutes=45),
        streams={"research": ("ml-*",), "engineering": ("svc-*",)},
    )
    assert FocusRules.from_settings(settings) == FocusRules(600, 2700, ("ml-*",), ("svc-*",))
    assert FocusRules.from_settings(Settings()) == FocusRules(900, 1800, (), ())
    with pytest.raises(ValueError):
        FocusRules(min_block_seconds=0)
    with pytest.raises(ValueError):
        FocusRules(timeout_seconds=-1)


# -- alert rules --------------------------------------------------------------------------------------


def test_recent_workdays_skip_weekends_and_exclude_today() -> None:
    monday = date(2026, 11, 23)
    week_before = [date(2026, 11, d) for d in (16, 17, 18, 19, 20)]
    assert recent_workdays(monday, range(5), 5) == week_before
    assert recent_workdays(date(2026, 11, 22), range(5), 5) == week_before  # a Sunday
    assert recent_workdays(monday, range(5), 5, include_today=True) == week_before[1:] + [monday]
    wednesday = date(2026, 11, 25)
    assert recent_workdays(wednesday, range(5), 3) == [date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)]
    sun_to_thu = (6, 0, 1, 2, 3)
    assert recent_workdays(monday, sun_to_thu, 2) == [date(2026, 11, 19), date(2026, 11, 22)]
    assert recent_workdays(monday, range(5), 0) == []
    assert recent_workdays(monday, (), 5) == []


def test_average_focus_leaves_out_days_without_data() -> None:
    window = [date(2026, 11, d) for d in (16, 17, 18, 19, 20)]
    assert average_focus({window[0]: 3600, window[2]: 7200}, window) == (5400, 2)
    assert average_focus({window[0]: 0.0, window[1]: 3600}, window) == (1800, 2)  # zero is data
    assert average_focus({date(2026, 11, 21): 9000}, window) == (None, 0)  # outside the window
    assert average_focus({}, window) == (None, 0)
    assert average_focus({window[0]: 100}, window + window[:1]) == (100, 1)


@pytest.mark.parametrize(
    "average, currently_low, alerted, action",
    [
        (None, False, False, "none"),  # no data: never an alert
        (None, True, False, "none"),
        (3 * H - 1, False, False, "alert"),
        (3 * H - 1, True, False, "alert"),  # still low in a new week: one alert this week
        (3 * H - 1, True, True, "none"),  # already alerted this week
        (0.0, False, True, "none"),
        (3 * H, True, False, "recover"),  # at the threshold is not below it
        (4 * H, True, True, "recover"),
        (3 * H, False, False, "none"),
        (4 * H, False, True, "none"),
    ],
)
def test_alert_decision_table(average: float | None, currently_low: bool, alerted: bool, action: str) -> None:
    assert alert_decision(average, 3 * H, currently_low, alerted) == action


def test_alert_average_is_over_the_window_days_with_data() -> None:
    window = recent_workdays(date(2026, 11, 23), range(5), 5)
    days = {window[0]: 2 * H, window[3]: 3 * H, date(2026, 11, 23): 0.0}  # today is not in the window
    average, n = average_focus(days, window)
    assert (average, n) == (2.5 * H, 2) and alert_decision(average, 3 * H, False, False) == "alert"
    assert average_focus({}, window) == (None, 0) and alert_decision(None, 3 * H, True, False) == "none"


def test_iso_week_at_year_boundary() -> None:
    assert iso_week(date(2026, 11, 17)) == "2026-W47"
    assert iso_week(date(2026, 12, 31)) == "2026-W53"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"
    assert iso_week(date(2027, 1, 4)) == "2027-W01"
    assert iso_week(date(2025, 12, 29)) == "2026-W01"


# -- team figures ---------------------------------------------------------------------------------------


def test_team_focus_figures_by_hand() -> None:
    d1, d2, d3 = date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)
    window = [d1, d2, d3]
    days = [
        FocusDay("UA", d1, 4 * H, 5 * H, 10000, 2000, 2),
        FocusDay("UA", d2, 2 * H, 2 * H, 0, 7200, 1),
        FocusDay("UB", d1, 1 * H, 3 * H, 3600, 0, 1),
        FocusDay("UB", date(2026, 11, 13), 9 * H, 9 * H, 9 * H, 0, 3),  # outside the window
        FocusDay("UX", d1, 8 * H, 8 * H, 8 * H, 0, 2),  # not a member
    ]
    result = team_focus(days, ["UA", "UB", "UC", "UA"], window, 3 * H)
    # per person-day: (4h + 2h + 1h) / 3 = 8400 s; UA averages 3h (not below), UB 1h (below)
    assert result == TeamFocus(
        people=3,
        people_with_data=2,
        average_focus_seconds=8400.0,
        below_threshold=1,
        research_share=13600 / 22800,
        median_person_seconds=2 * H,
    )
    assert team_focus([], ["UA"], window, 3 * H) == TeamFocus(1, 0, None, 0, None, None)
    assert team_focus(days, [], window, 3 * H) == TeamFocus(0, 0, None, 0, None, None)
    no_streams = [FocusDay("UA", d1, 0.0, H, 0.0, 0.0, 0)]
    assert team_focus(no_streams, ["UA"], window, 3 * H) == TeamFocus(1, 1, 0.0, 1, None, 0.0)
