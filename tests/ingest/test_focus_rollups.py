"""Per person-day Focus Time rollups as heartbeats arrive: late, out of order, twice, across
midnight and DST, in any batch; always equal to a recomputation from scratch, and each post
reads only the heartbeats near it; the prune job keeps them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import settings_from_mapping
from bot.ingest.focus import prune_heartbeats_job, rebuild_rollups, record_heartbeats
from bot.models import Heartbeat
from bot.store import Store
from tests.support.heartbeats import (  # noqa: F401 (client and key are fixtures)
    ADA,
    BOB,
    BULK,
    NOW,
    SINGLE,
    UA,
    T,
    basic,
    beat,
    client,
    day_row,
    key,
    make_settings,
    post,
    stored,
)

# -- rollups maintained as heartbeats arrive ---------------------------------------------------------


def session(start: float, minutes: int, step: int = 2, **extra) -> list[dict]:
    """Heartbeats every `step` minutes from `start` for `minutes` (both ends included)."""
    return [beat(start + m * 60, **extra) for m in range(0, minutes + 1, step)]


def test_rollup_of_an_out_of_order_batch_equals_the_in_order_one(client, store, key):
    start = T - 3 * 3600
    beats = session(start, 40)
    random.Random(7).shuffle(beats)
    assert post(client, beats, key).status_code == 201
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.research_seconds, row.blocks) == (2400, 2400, 2400, 1)


def test_a_late_heartbeat_joining_two_sessions_makes_a_focus_block(client, store, key):
    start = T - 4 * 3600
    post(client, session(start, 20) + session(start + 40 * 60, 20), key)  # 20 min, 20-min gap, 20 min
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.blocks) == (0, 2400, 0)
    post(client, [beat(start + 30 * 60)], key)  # arrives late: both gaps are now 10 min
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.blocks) == (3600, 3600, 1)


def test_a_late_heartbeat_after_midnight_recomputes_the_day_before(client, store, key):
    """In the person's own timezone: 23:30-23:50 and 00:10-00:25 are joined by 00:00."""
    store.save_profile(ADA, "Ada", "America/New_York", NOW)
    ny = datetime(2026, 3, 3, 23, 30, tzinfo=__import__("zoneinfo").ZoneInfo("America/New_York")).timestamp()
    post(client, session(ny, 20) + session(ny + 40 * 60, 15, step=5), key)
    day1, day2 = date(2026, 3, 3), date(2026, 3, 4)
    assert (day_row(store, day1).focus_seconds, day_row(store, day2).focus_seconds) == (0, 0)
    post(client, [beat(ny + 30 * 60)], key)  # 00:00 local, on day 2
    a, b = day_row(store, day1), day_row(store, day2)
    assert (a.focus_seconds, a.blocks, b.focus_seconds, b.blocks) == (1800, 1, 1500, 1)


def test_late_heartbeats_completing_a_block_that_began_before_midnight(store):
    """23:50-00:10 (20 min) is no block; 00:20 then 00:30 arrive: 23:50-00:30 is one, and the
    10 minutes before midnight become focus time on a day the new heartbeats are not on."""
    settings = make_settings()
    midnight = datetime(2026, 3, 4, tzinfo=UTC).timestamp()
    record_heartbeats(store, ADA, [Heartbeat(ADA, midnight + m * 60, "a.py") for m in (-10, 0, 10)], settings, NOW)
    assert (day_row(store, date(2026, 3, 3)).focus_seconds, day_row(store, NOW.date()).focus_seconds) == (0, 0)
    record_heartbeats(store, ADA, [Heartbeat(ADA, midnight + m * 60, "b.py") for m in (20, 30)], settings, NOW)
    assert (day_row(store, date(2026, 3, 3)).focus_seconds, day_row(store, NOW.date()).focus_seconds) == (600, 1800)


def test_a_long_session_from_the_day_before_is_read_whole(store):
    """Recomputing a day loads the whole of a session that began hours before its midnight."""
    settings = settings_from_mapping({"timezone": "UTC", "focus": {"min_block_minutes": 120}}, {})
    midnight = datetime(2026, 3, 4, tzinfo=UTC).timestamp()
    block = [Heartbeat(ADA, midnight - 7200 + m * 60, "a.py") for m in range(0, 131, 10)]  # 22:00-00:10
    record_heartbeats(store, ADA, block, settings, NOW)
    assert day_row(store, NOW.date()).focus_seconds == 600
    record_heartbeats(store, ADA, [Heartbeat(ADA, midnight + 14 * 3600, "b.py")], settings, NOW)
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.blocks) == (600, 600, 1)
    assert day_row(store, date(2026, 3, 3)).focus_seconds == 7200


@pytest.mark.parametrize("seed, timeout, min_block", [(1, 15, 30), (2, 15, 30), (3, 10, 20), (4, 15, 120), (5, 5, 30)])
def test_rollups_after_any_arrival_order_equal_a_recomputation_from_scratch(tmp_path, seed, timeout, min_block):
    """Random heartbeats around midnights (and the EU spring DST change), arriving in random
    batches and orders, some twice: the stored rollups equal `focus_days` over everything."""
    from zoneinfo import ZoneInfo

    from bot.metrics.focus import FocusRules, focus_days

    rng = random.Random(seed)
    now = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    settings = settings_from_mapping({"timezone": "Europe/Berlin", "streams": {"research": ["research-*"]},
                                      "focus": {"heartbeat_timeout_minutes": timeout,
                                                "min_block_minutes": min_block}}, {})
    store = Store(tmp_path / f"r{seed}.db")
    t, beats = datetime(2026, 3, 27, 20, 0, tzinfo=UTC).timestamp(), []
    while t < datetime(2026, 3, 30, 2, 0, tzinfo=UTC).timestamp():
        project = rng.choice(["research-x", "serving", None])
        beats.append(Heartbeat(ADA, t, "a.py", project=project))
        t += rng.choice([30, 60, 120, 300, 540, 700, 900, 1000, 1500, 4000])
    arrivals = beats + rng.sample(beats, len(beats) // 5)
    rng.shuffle(arrivals)
    while arrivals:
        size = rng.randint(1, 25)
        record_heartbeats(store, ADA, arrivals[:size], settings, now)
        arrivals = arrivals[size:]
    expected = focus_days(ADA, beats, ZoneInfo("Europe/Berlin"), FocusRules.from_settings(settings))
    assert len(expected) >= 3
    def rounded(rows):
        return [(r.day, *(round(x, 6) for x in r[2:6]), r.blocks) for r in rows]

    assert rounded(store.focus_days(date(2026, 3, 1), date(2026, 4, 30), [ADA])) == rounded(expected)


# -- incremental rollups: a change over the sessions near each post ------------------------------


def focus_settings(timeout: float, min_block: float, tz: str = "Europe/Berlin"):
    """Rules the config file does not allow (a 0-minute timeout, fractional minutes) are
    set on the settings directly: the rollups must hold for any rules `FocusRules` takes."""
    from dataclasses import replace

    settings = settings_from_mapping({"timezone": tz, "streams": {"research": ["research-*"],
                                                                  "engineering": ["serv*"]}}, {})
    return replace(settings, focus=replace(settings.focus, heartbeat_timeout_minutes=timeout,
                                           min_block_minutes=min_block))


def assert_rollups_are_a_recomputation(store: Store, beats: list[Heartbeat], settings, exact: bool = False):
    """The stored rollups equal `focus_days` over every heartbeat (to 6 decimals, or exactly)."""
    from bot.metrics.focus import FocusRules, focus_days

    expected = focus_days(ADA, beats, settings.tz, FocusRules.from_settings(settings))

    def figures(rows):
        return [(r.day, *(x if exact else round(x, 6) for x in r[2:6]), r.blocks) for r in rows]

    assert figures(store.focus_days(date(2026, 1, 1), date(2026, 12, 31), [ADA])) == figures(expected)
    return expected


def arrive(store: Store, beats: list[Heartbeat], settings, now: datetime, rng: random.Random, largest: int = 25):
    """Record the heartbeats in order, in batches of random sizes."""
    while beats:
        size = rng.randint(1, largest)
        record_heartbeats(store, ADA, beats[:size], settings, now)
        beats = beats[size:]


PROJECTS = ["research-x", "research-x", "research-y", "serving", "serving-api", "misc", None]


@pytest.mark.parametrize("seed, timeout, min_block", [(11, 15, 30), (12, 5, 120), (13, 2, 10), (14, 15, 30)])
def test_long_sessions_with_late_heartbeats_in_the_middle(tmp_path, seed, timeout, min_block):
    """Heartbeats every 10-60 s (fractions of a second included) for hours, over midnight
    and the spring DST change in Berlin, arrive in order 25 a post as a plugin sends them;
    a fifth held back arrives later, some twice, in the middle of sessions that are long
    blocks already. The rollups equal a recomputation exactly (see `add_focus_days`)."""
    rng = random.Random(seed)
    settings, now = focus_settings(timeout, min_block), datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    store = Store(tmp_path / "r.db")
    t, beats = datetime(2026, 3, 28, 19, 0, tzinfo=UTC).timestamp(), []  # 20:00 CET; 07:00 CEST at the end
    while t < datetime(2026, 3, 29, 5, 0, tzinfo=UTC).timestamp():
        beats.append(Heartbeat(ADA, t, rng.choice("ab") + ".py", project=rng.choice(PROJECTS)))
        t += rng.choice([10, 20, 30, 45, 60]) + rng.random() if rng.random() > 0.01 else rng.choice([1200, 3600])
    late = set(rng.sample(range(len(beats)), len(beats) // 5))
    on_time = [b for i, b in enumerate(beats) if i not in late]
    for i in range(0, len(on_time), 25):
        record_heartbeats(store, ADA, on_time[i:i + 25], settings, now)
    stragglers = [beats[i] for i in late] + rng.sample(beats, 40)  # late, and duplicates
    rng.shuffle(stragglers)
    arrive(store, stragglers, settings, now, rng)
    expected = assert_rollups_are_a_recomputation(store, beats, settings, exact=True)
    assert [r.day for r in expected] == [date(2026, 3, 28), date(2026, 3, 29)]
    assert sum(r.research_seconds for r in expected) > 0 and sum(r.engineering_seconds for r in expected) > 0


@pytest.mark.parametrize("seed, timeout, min_block", [(21, 0, 0.1), (22, 0.5, 0.1), (23, 1, 1), (24, 15, 30)])
def test_rollups_with_a_zero_timeout_tiny_blocks_and_simultaneous_heartbeats(tmp_path, seed, timeout, min_block):
    """Steps of 0 s (heartbeats at the same time, other projects), and exactly the timeout,
    arriving shuffled in batches, many twice."""
    rng = random.Random(seed)
    settings, now = focus_settings(timeout, min_block), datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    store = Store(tmp_path / "z.db")
    t, beats = datetime(2026, 3, 28, 22, 50, tzinfo=UTC).timestamp(), []
    while t < datetime(2026, 3, 29, 1, 30, tzinfo=UTC).timestamp():
        beats.append(Heartbeat(ADA, t, "a.py", project=rng.choice(PROJECTS)))
        t += rng.choice([0, 0, 1, 5, 29, 30, 31, 60, 61, 600])
    arrivals = beats + rng.sample(beats, len(beats) // 3)
    rng.shuffle(arrivals)
    arrive(store, arrivals, settings, now, rng)
    assert_rollups_are_a_recomputation(store, beats, settings)


def test_a_batch_joining_two_blocks_into_one_drops_the_block_count(store):
    settings = make_settings()
    start = T - 5 * 3600
    first = [Heartbeat(ADA, start + m * 60, "a.py", project="research-x") for m in range(0, 41, 2)]
    second = [Heartbeat(ADA, start + m * 60, "a.py", project="research-x") for m in range(60, 101, 2)]
    record_heartbeats(store, ADA, first + second, settings, NOW)  # 40 min, a 20-minute gap, 40 min
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.research_seconds, row.blocks) == (4800, 4800, 4800, 2)
    record_heartbeats(store, ADA, [Heartbeat(ADA, start + 50 * 60, "a.py", project="research-x")], settings, NOW)
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.research_seconds, row.blocks) == (6000, 6000, 6000, 1)


def test_a_late_heartbeat_of_another_project_moves_time_between_streams(store):
    settings = focus_settings(15, 30, tz="UTC")
    start = T - 5 * 3600
    record_heartbeats(store, ADA, [Heartbeat(ADA, start + m * 60, "a.py", project="research-x")
                                   for m in range(0, 41, 2)], settings, NOW)
    record_heartbeats(store, ADA, [Heartbeat(ADA, start + 21 * 60, "api.py", project="serving")], settings, NOW)
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.research_seconds, row.engineering_seconds, row.blocks) == (2400, 2340, 60, 1)


def test_one_batch_with_clusters_far_apart(tmp_path):
    """One post holding heartbeats for several places hours apart: inside a long block, joining
    two sessions, across midnight, alone, and two clusters 100 minutes apart in one sparse
    session (their windows overlap and are joined)."""
    rng = random.Random(5)
    settings, now = focus_settings(15, 30), datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    store = Store(tmp_path / "c.db")
    day = datetime(2026, 3, 27, 0, 0, tzinfo=UTC).timestamp()

    def run(start: float, minutes: float, step: float) -> list[Heartbeat]:
        return [Heartbeat(ADA, day + start * 60 + s, "a.py", project=rng.choice(PROJECTS))
                for s in range(0, int(minutes * 60) + 1, int(step))]

    old = (run(8 * 60, 180, 60) + run(13 * 60, 20, 120) + run(13 * 60 + 35, 20, 120)
           + run(22 * 60 + 30, 25, 60) + run(24 * 60 + 15, 25, 60) + run(30 * 60, 600, 894))
    record_heartbeats(store, ADA, old, settings, now)
    batch = [Heartbeat(ADA, day + m * 60 + 17, "b.py", project=rng.choice(PROJECTS))
             for m in (9 * 60, 9 * 60 + 1, 13 * 60 + 27, 23 * 60 + 5, 24 * 60 + 5, 27 * 60, 32 * 60, 33 * 60 + 40)]
    rng.shuffle(batch)
    record_heartbeats(store, ADA, batch, settings, now)
    assert_rollups_are_a_recomputation(store, old + batch, settings, exact=True)


def test_a_post_reads_only_the_heartbeats_near_it(store):
    """With 10,000 heartbeats stored on the day, a post of 25 reads a few hundred of them."""
    settings = make_settings()
    start = datetime(2026, 3, 3, 0, 30, tzinfo=UTC).timestamp()
    day = [Heartbeat(ADA, start + i * 8, "a.py", project="research-x") for i in range(10_000)]  # to 22:43
    record_heartbeats(store, ADA, day, settings, NOW)
    read: list[int] = []
    for name in ("heartbeats_between", "heartbeat_points"):
        def counting(*args, _read=getattr(store, name)):
            rows = _read(*args)
            read.append(len(rows))
            return rows
        setattr(store, name, counting)  # on the instance: counts what the real method returns
    middle = [Heartbeat(ADA, start + 5000 * 8 + 3 + i * 8, "b.py", project="serving") for i in range(25)]
    end = [Heartbeat(ADA, start + (10_000 + i) * 8, "c.py", project="research-x") for i in range(25)]
    for batch in (middle, end):
        read.clear()
        record_heartbeats(store, ADA, batch, settings, NOW)
        assert 25 < sum(read) < 1000, read
    assert_rollups_are_a_recomputation(store, day + middle + end, settings)


def test_an_unknown_profile_timezone_falls_back_to_the_organisations(client, store, key):
    store.save_profile(ADA, "Ada", "Europe", NOW)  # not a zone (a directory of zones)
    assert post(client, session(T - 3600, 30), key).status_code == 201
    assert day_row(store, NOW.date()).focus_seconds == 1800


def test_rebuild_rollups_moves_days_when_the_timezone_changes(store):
    settings = make_settings()
    beats = [Heartbeat(ADA, T - 20 * 3600 + m * 60, "a.py", project="research-x") for m in range(0, 41, 2)]
    record_heartbeats(store, ADA, beats, settings, NOW)  # 19:00-19:40 UTC on 3 March
    assert [(r.day, r.focus_seconds) for r in store.focus_days(date(2026, 3, 1), date(2026, 3, 5), [ADA])] == [
        (date(2026, 3, 3), 2400)]
    store.save_profile(ADA, "Ada", "Asia/Tokyo", NOW)  # 04:00-04:40 on 4 March there
    assert rebuild_rollups(store, settings, ADA, NOW) == 1
    assert [(r.day, r.focus_seconds) for r in store.focus_days(date(2026, 3, 1), date(2026, 3, 5), [ADA])] == [
        (date(2026, 3, 4), 2400)]


def test_prune_job_deletes_old_raw_heartbeats_and_keeps_rollups(store):
    settings = make_settings()
    then = NOW - timedelta(days=40)
    old = [Heartbeat(ADA, then.timestamp() - 3600 + m * 60, "a.py") for m in range(0, 41, 2)]
    recent = [Heartbeat(ADA, T - 3600 + m * 60, "a.py") for m in range(0, 31, 2)]
    record_heartbeats(store, ADA, old, settings, then)
    record_heartbeats(store, ADA, recent, settings, NOW)
    before = store.focus_days(date(2026, 1, 1), date(2026, 12, 31), [ADA])
    assert [(r.day, r.focus_seconds) for r in before] == [(then.date(), 2400), (NOW.date(), 1800)]

    assert prune_heartbeats_job(store, settings, NOW) == len(old)
    assert [h.time for h in stored(store)] == [h.time for h in recent]
    assert store.focus_days(date(2026, 1, 1), date(2026, 12, 31), [ADA]) == before
    # A straggler for the pruned day must not overwrite its rollup with partial data.
    record_heartbeats(store, ADA, [Heartbeat(ADA, then.timestamp(), "late.py")], settings, NOW)
    assert store.focus_days(date(2026, 1, 1), date(2026, 12, 31), [ADA]) == before


def test_old_days_without_a_rollup_can_still_be_backfilled(store):
    settings = make_settings()
    then = NOW - timedelta(days=60)
    record_heartbeats(store, ADA, [Heartbeat(ADA, then.timestamp() + m * 60, "a.py") for m in range(0, 31, 3)],
                      settings, NOW)
    assert day_row(store, then.date()).focus_seconds == 1800


def test_prune_keeps_heartbeats_inside_the_retention(store):
    settings = make_settings()
    inside = Heartbeat(ADA, (NOW - timedelta(days=30, hours=1)).timestamp(), "a.py")
    record_heartbeats(store, ADA, [inside], settings, NOW - timedelta(days=30, hours=1))
    assert prune_heartbeats_job(store, settings, NOW) == 0
    assert stored(store) == [inside]


def test_one_batch_for_a_pruned_day_and_for_today(store):
    """The part of a post for a day whose raw heartbeats are pruned leaves its rollup alone
    (even a whole new block there); the part for today still moves today's rollup."""
    settings = make_settings()
    then = NOW - timedelta(days=40)
    record_heartbeats(store, ADA, [Heartbeat(ADA, then.timestamp() - 3600 + m * 60, "a.py") for m in range(0, 41, 2)],
                      settings, then)
    prune_heartbeats_job(store, settings, NOW)
    kept = day_row(store, then.date())
    late_block = [Heartbeat(ADA, then.timestamp() + m * 60, "late.py") for m in range(0, 41, 2)]
    today = [Heartbeat(ADA, T - 3600 + m * 60, "a.py") for m in range(0, 31, 2)]
    record_heartbeats(store, ADA, late_block + today, settings, NOW)
    assert day_row(store, then.date()) == kept
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.blocks) == (1800, 1800, 1)
    record_heartbeats(store, ADA, [Heartbeat(ADA, T - 3600 + m * 60, "a.py") for m in (32, 40)], settings, NOW)
    row = day_row(store, NOW.date())
    assert (row.focus_seconds, row.active_seconds, row.blocks) == (2400, 2400, 1)
    assert day_row(store, then.date()) == kept
