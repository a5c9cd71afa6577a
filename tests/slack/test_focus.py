"""`/focus` end to end: the real server (FastAPI + Bolt in uvicorn) on loopback, signed Slack
requests, a fake Slack Web API recording what reached Slack, and rollups seeded directly."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.app import slack_context
from bot.config import Settings
from bot.models import FocusDay
from bot.queries.focus import KeyStatus
from bot.slack.app import web_client
from bot.slack.blocks import focus as fb
from bot.slack.blocks.kit import to_dicts
from bot.slack.listeners.focus import focus_reply
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.bridge import Bridge, joined, running_bridge, slack_settings
from tests.support.heartbeats import BULK, basic, beat

NOW = datetime(2025, 6, 13, 15, 0, tzinfo=UTC)  # Friday; the window is Fri 6 and Mon 9 - Thu 12 June
SECRET = "focus-signing-secret-1234567890ab"
TOKEN = "xoxb-focus-token"
H = 3600
CONFIG = {
    "timezone": "Europe/London",
    "focus": {"leads": ["U0LEAD"]},
    "team": [
        {"name": "vision", "members": ["U0ANA", "U0BEN", "U0CAT", "U0DAN"]},
        {"name": "platform", "members": []},
    ],
}
UUID4 = re.compile(r"api_key = ([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})")


def fd(user: str, day: int, focus: float, research: float = 0, engineering: float = 0, blocks: int = 1) -> FocusDay:
    return FocusDay(user, date(2025, 6, day), focus, focus + 1800, research, engineering, blocks)


def seed(store: Store) -> None:
    """Ana: 4 workdays with data in the window (Mon 9 has none), plus days outside it."""
    rows = {
        "U0ANA": [fd("U0ANA", 5, 30000), fd("U0ANA", 6, 12600, 2 * H, 1.5 * H, 3), fd("U0ANA", 10, 6300, 6300),
                  fd("U0ANA", 11, 4 * H, H, 3 * H, 2), fd("U0ANA", 12, 2 * H, 0, 2 * H, 2),
                  fd("U0ANA", 13, 20000)],  # today: not over yet, not counted
        "U0BEN": [fd("U0BEN", d, 2 * H, H, H) for d in (9, 10, 11, 12)],
        "U0DAN": [fd("U0DAN", d, 5 * H, 5 * H, 0) for d in (6, 9, 10, 11, 12)],
        "U0OUT": [fd("U0OUT", d, 0.5 * H) for d in (9, 10, 11, 12)],  # not in any team
    }
    for user, days in rows.items():
        store.save_focus_days(user, [d.day for d in days], days, NOW)


def make_settings(fake: FakeSlack, config: dict = CONFIG) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, config)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ANA", "ana", real_name="Ana Researcher", tz="Europe/Berlin", tz_offset=7200)
        fake.add_user("U0BEN", "ben", real_name="Ben Scientist")
        fake.add_user("U0LEAD", "lea", real_name="Lea Lead", tz="America/New_York", tz_offset=-14400)
        fake.add_user("U0NEW", "nia", real_name="Nia New")
        for user in ("U0SET", "U0KEY", "U0REP", "U0VIC", "U0MAL"):  # BST: NOW is 16:00 local
            fake.add_user(user, user[2:].lower(), tz="Europe/London", tz_offset=3600)
        yield fake


@pytest.fixture(scope="module")
def bridge(fake: FakeSlack, tmp_path_factory) -> Iterator[Bridge]:
    settings = make_settings(fake)
    store = Store(tmp_path_factory.mktemp("focus") / "bridge.db")
    seed(store)
    with running_bridge(settings, store, fake, NOW) as bridge:
        yield bridge


def answer(b: Bridge, text: str, user: str = "U0ANA") -> dict:
    """Send `/focus TEXT` as `user`; return the private answer posted to the response_url."""
    posted = b.ask("/focus", text, user)
    assert b.fake.calls("chat.postMessage") == []  # never a message anyone else could see
    return posted


def focus(b: Bridge, text: str, user: str = "U0ANA") -> str:
    """Send `/focus TEXT` as `user`; return the text of the private answer."""
    return joined(answer(b, text, user)["blocks"])


def click(b: Bridge, action_id: str, user: str, value: str = "replace", **extra: object) -> dict:
    """Click a button of a `/focus` answer as `user`; return what was posted to its response_url."""
    return b.click(action_id, user, value, block_id="focus_setup_key", label="Replace my key", **extra)


def send_heartbeats(b: Bridge, key: str, times: list[float]) -> httpx.Response:
    """POST heartbeats with `key` to the heartbeat endpoint, as the IDE plugins do."""
    return httpx.post(b.url + BULK, json=[beat(t) for t in times], headers={"Authorization": basic(key)}, timeout=10)


def keys_of(b: Bridge, user: str) -> list[dict]:
    return list(b.store.db.query("SELECT * FROM api_keys WHERE slack_user_id = ? ORDER BY created_at", [user]))


# -- /focus ------------------------------------------------------------------------------------


def test_own_figures_for_the_last_five_workdays_in_the_persons_timezone(bridge: Bridge) -> None:
    text = focus(bridge, "")
    assert "Your Focus Time — last 5 workdays" in text
    lines = text.split("```")[1].split("\n")
    assert lines == [
        "Fri 06 Jun  ██████|█░░░░░   3h 30m  research 2h 0m · engineering 1h 30m",
        "Mon 09 Jun                 no data",
        "Tue 10 Jun  ███░░░|░░░░░░   1h 45m  research 1h 45m · engineering 0m",  # 3.5 cells, cut
        "Wed 11 Jun  ██████|██░░░░    4h 0m  research 1h 0m · engineering 3h 0m",
        "Thu 12 Jun  ████░░|░░░░░░    2h 0m  research 0m · engineering 2h 0m",
        "Fri 13 Jun  ██████|█████░   5h 33m  research 0m · engineering 0m  (today so far)",
    ]
    # (12600 + 6300 + 14400 + 7200) / 4 = 10125 s: Monday's "no data" is not a zero, today is not counted
    assert "You averaged *2h 48m of focus a day* over the 4 of your last 5 workdays with IDE data.\n" in text
    assert ("That is under the 3h line, which usually says more about a calendar than about you."
            " What usually eats focus time: meetings") in text
    assert "Today so far: 5h 33m of focus — partial: it is not in the average until the day is over." in text
    assert "Only you can see this." in text
    assert "8h 20m" not in text  # Thursday 5 June is outside the window
    assert bridge.store.profile("U0ANA")["tz"] == "Europe/Berlin"  # cached from users.info


def test_the_timezone_is_cached_and_a_person_without_data_gets_a_friendly_answer(bridge: Bridge) -> None:
    focus(bridge, "")  # Ana's profile is cached by now (or here)
    bridge.fake.reset()
    focus(bridge, "")
    assert bridge.fake.calls("users.info") == []
    text = focus(bridge, "", user="U0NEW")
    assert text.count("no data") == 5
    assert "`/focus setup` connects your IDE" in text and "Average" not in text


def test_team_aggregates_for_a_lead_and_never_who(bridge: Bridge) -> None:
    text = focus(bridge, "team Vision", user="U0LEAD")
    assert "Focus Time — team vision" in text
    assert "Last 5 workdays (Fri 06 Jun – Thu 12 Jun)" in text
    assert "*People*: 4 (3 with data)" in text
    # 13 person-days: (40500 + 4 * 7200 + 5 * 18000) / 13 = 12253.8 s; medians of 10125, 7200, 18000
    assert "*Average focus*: 3h 24m per person-day · median person 2h 48m" in text
    assert "*Below the 3h line*: 2 of 3 with data" in text
    assert "*Focus split*: 76% research · 24% engineering" in text
    assert "Team aggregates only" in text
    for who in ("U0ANA", "U0BEN", "U0CAT", "U0DAN", "Ana", "Ben"):
        assert who not in text


def test_team_is_refused_politely_to_a_non_lead(bridge: Bridge) -> None:
    text = focus(bridge, "team vision", user="U0ANA")
    assert "shared with the leads listed in `focus.leads`" in text
    assert "People" not in text and "3h 24m" not in text


def test_team_unknown_name_and_missing_name(bridge: Bridge) -> None:
    text = focus(bridge, "team <nope>", user="U0LEAD")
    assert "There is no team `&lt;nope&gt;` (teams: `vision`, `platform`)." in text
    assert "`team` needs a team name" in focus(bridge, "team", user="U0LEAD")
    assert "*People*: 0 (0 with data)" in focus(bridge, "team platform", user="U0LEAD")


def test_leads_see_who_is_below_only_when_the_org_opted_in(fake: FakeSlack, tmp_path) -> None:
    store = Store(tmp_path / "shared.db")
    seed(store)
    shared = make_settings(fake, {**CONFIG, "focus": {"leads": ["U0LEAD"], "share_individuals_with_leads": True}})
    reply = focus_reply("team vision", "U0LEAD", web_client(shared), slack_context(shared, store), NOW)
    text = joined(to_dicts(reply.blocks))
    assert "<@U0ANA>" in text and "<@U0BEN>" in text and "U0DAN" not in text and "U0CAT" not in text
    assert "shared with leads by your organisation's setting" in text
    private = focus_reply("team vision", "U0LEAD", web_client(shared), slack_context(make_settings(fake), store), NOW)
    assert "U0ANA" not in joined(to_dicts(private.blocks))


def test_setup_issues_a_uuid4_key_stored_hashed_with_the_cfg_lines(bridge: Bridge, monkeypatch) -> None:
    monkeypatch.setenv("BRIDGE_PUBLIC_URL", "https://bridge.example.com/")
    text = focus(bridge, "setup", user="U0BEN")
    key = UUID4.search(text)[1]
    assert uuid.UUID(key).version == 4
    assert "api_url = https://bridge.example.com/api/v1/users/current/heartbeats.bulk" in text
    assert "~/.wakatime.cfg" in text and "VS Code" in text and "JetBrains" in text and "JupyterLab" in text
    assert "shown only once" in text and "`/focus setup` again: it offers to replace it" in text
    assert bridge.store.user_for_api_key(key) == "U0BEN"
    rows = keys_of(bridge, "U0BEN")
    assert [r["key_hash"] for r in rows] == [hashlib.sha256(key.encode()).hexdigest()]
    assert key not in repr(rows)


def test_setup_without_a_public_url_shows_a_placeholder(bridge: Bridge, monkeypatch) -> None:
    monkeypatch.delenv("BRIDGE_PUBLIC_URL", raising=False)
    text = focus(bridge, "setup", user="U0NEW")
    assert f"api_url = {fb.PLACEHOLDER_HOST}/api/v1/users/current/heartbeats.bulk" in text
    assert "BRIDGE_PUBLIC_URL" in text


def test_focus_on_the_day_of_set_up_shows_today_so_far_and_the_last_heartbeat(bridge: Bridge, monkeypatch) -> None:
    monkeypatch.setenv("BRIDGE_PUBLIC_URL", "https://bridge.example.com")
    with bridge.at(NOW - timedelta(minutes=70)):  # 14:50 in London: the plugin is installed
        key = UUID4.search(focus(bridge, "setup", user="U0SET"))[1]
    start = (NOW - timedelta(minutes=62)).timestamp()
    with bridge.at(NOW - timedelta(minutes=12)):  # 48 minutes of typing, sent at 15:48
        assert send_heartbeats(bridge, key, [start + 120 * i for i in range(25)]).status_code == 201
    text = focus(bridge, "", user="U0SET")
    assert "Your Focus Time — last 5 workdays and today so far" in text
    lines = text.split("```")[1].split("\n")
    assert lines[:5] == [f"{d}                 no data" for d in
                         ("Fri 06 Jun", "Mon 09 Jun", "Tue 10 Jun", "Wed 11 Jun", "Thu 12 Jun")]
    assert lines[5] == "Fri 13 Jun  █░░░░░|░░░░░░      48m  research 0m · engineering 0m  (today so far)"
    assert ("No past workday with IDE data yet, so there is no average to hold against the 3h line."
            " Your IDE is sending: your figures build up from here.") in text
    assert "Today so far: 48m of focus — partial: it is not in the average until the day is over." in text
    assert ":electric_plug: Last heartbeat 12 min ago." in text
    assert "/focus setup" not in text and "No focus data" not in text and "averaged" not in text
    assert bridge.store.user_for_api_key(key) == "U0SET"


def test_a_key_without_any_heartbeat_says_which_key_and_set_up_to_check(bridge: Bridge, monkeypatch) -> None:
    monkeypatch.setenv("BRIDGE_PUBLIC_URL", "https://bridge.example.com")
    with bridge.at(NOW - timedelta(minutes=30)):
        focus(bridge, "setup", user="U0KEY")
    text = focus(bridge, "", user="U0KEY")
    assert (":hourglass_flowing_sand: No heartbeat received yet with your key created Fri 13 Jun 15:30."
            " Check your IDE's WakaTime set-up: `~/.wakatime.cfg`") in text
    assert ("`api_url = https://bridge.example.com/api/v1/users/current/heartbeats.bulk` and that key as"
            " `api_key`") in text
    assert "A 401 in the plugin's log means the key in the file is not your current one." in text
    assert "/focus setup" not in text and "Last heartbeat" not in text
    assert len(keys_of(bridge, "U0KEY")) == 1


def test_setup_with_a_key_asks_first_and_the_owners_click_replaces_it(bridge: Bridge) -> None:
    with bridge.at(NOW - timedelta(hours=3)):
        old = UUID4.search(focus(bridge, "setup", user="U0REP"))[1]
    with bridge.at(NOW - timedelta(minutes=20)):
        assert send_heartbeats(bridge, old, [(NOW - timedelta(minutes=21)).timestamp()]).status_code == 201

    posted = answer(bridge, "setup", user="U0REP")
    text = joined(posted["blocks"])
    assert (":key: You already have a Focus Time key, created Fri 13 Jun 13:00. Its last heartbeat arrived"
            " 20 min ago.") in text
    assert "Replace the key only if you lost it or it may have leaked." in text
    assert UUID4.search(text) is None
    assert [r["revoked_at"] for r in keys_of(bridge, "U0REP")] == [None]  # nothing revoked, nothing new
    assert bridge.store.user_for_api_key(old) == "U0REP"
    [actions] = [b for b in posted["blocks"] if b["type"] == "actions"]
    replace, keep = actions["elements"]
    assert (replace["action_id"], replace["text"]["text"], replace["style"]) == (
        "focus_replace_key", "Replace my key", "danger")
    assert replace["confirm"]["text"]["text"].startswith("The old key stops working at once")
    assert (keep["action_id"], keep["text"]["text"]) == ("focus_keep_key", "Keep my key")

    kept = click(bridge, "focus_keep_key", "U0REP", keep["value"])
    assert kept["replace_original"] is True and "Nothing changed: your key stays as it is." in joined(kept["blocks"])
    assert bridge.store.user_for_api_key(old) == "U0REP"

    replaced = click(bridge, "focus_replace_key", "U0REP", replace["value"])
    assert replaced["replace_original"] is True and replaced["response_type"] == "ephemeral"
    shown = joined(replaced["blocks"])
    new = UUID4.search(shown)[1]
    assert new != old and "Your old key is switched off" in shown and "~/.wakatime.cfg" in shown
    beat_at = [(NOW - timedelta(minutes=1)).timestamp()]
    refused = send_heartbeats(bridge, old, beat_at)
    assert refused.status_code == 401 and refused.json() == {"ok": False, "error": "invalid or revoked API key"}
    assert send_heartbeats(bridge, new, beat_at).status_code == 201
    assert bridge.store.user_for_api_key(new) == "U0REP"
    assert bridge.fake.calls("chat.postMessage") == []


def test_a_click_acts_only_for_the_user_who_clicked(bridge: Bridge) -> None:
    victim = UUID4.search(focus(bridge, "setup", user="U0VIC"))[1]
    before = keys_of(bridge, "U0VIC")
    # U0MAL clicks, with a payload that names U0VIC wherever a user id could be slipped in
    posted = click(bridge, "focus_replace_key", "U0MAL", "U0VIC", user_id="U0VIC")
    theirs = UUID4.search(joined(posted["blocks"]))[1]
    assert bridge.store.user_for_api_key(theirs) == "U0MAL"
    assert keys_of(bridge, "U0VIC") == before and bridge.store.user_for_api_key(victim) == "U0VIC"
    assert send_heartbeats(bridge, victim, [(NOW - timedelta(minutes=1)).timestamp()]).status_code == 201


def test_a_figure_just_under_the_line_is_never_shown_as_the_line(fake: FakeSlack, tmp_path) -> None:
    settings = make_settings(fake, {**CONFIG, "team": [{"name": "edge", "members": ["U0RND"]}]})
    store = Store(tmp_path / "edge.db")
    days = [date(2025, 6, d) for d in (6, 9, 10, 11, 12)]
    rows = [FocusDay("U0RND", d, 2.96 * H, 3.5 * H, 0, 0, 2) for d in days[:4]]
    rows.append(FocusDay("U0RND", days[4], 3 * H - 0.4, 3.5 * H, 0, 0, 2))  # 2h 59m 59.6s
    store.save_focus_days("U0RND", days, rows, NOW)
    ctx = slack_context(settings, store)
    text = joined(to_dicts(focus_reply("", "U0RND", web_client(settings), ctx, NOW).blocks))
    lines = text.split("```")[1].split("\n")
    assert lines[0] == "Fri 06 Jun  █████░|░░░░░░   2h 57m  research 0m · engineering 0m"  # 2.96 h: not "at" the line
    assert lines[4] == "Thu 12 Jun  █████░|░░░░░░   2h 59m  research 0m · engineering 0m"  # not "3h 0m"
    # (4 * 10656 + 10799.6) / 5 = 10684.7 s = 2.968 h
    assert "You averaged *2h 58m of focus a day* over your last 5 workdays.\nThat is under the 3h line" in text
    assert "3h 0m" not in text
    team = joined(to_dicts(focus_reply("team edge", "U0LEAD", web_client(settings), ctx, NOW).blocks))
    assert "*Average focus*: 2h 58m per person-day · median person 2h 58m" in team
    assert "*Below the 3h line*: 1 of 1 with data" in team
    assert fb.bar(3 * H - 0.4, 3 * H) == "█████░|░░░░░░" and fb.bar(3 * H, 3 * H) == "██████|░░░░░░"
    assert fb.hours_minutes(3 * H - 0.4) == "2h 59m" and fb.hours_minutes(2.96 * H) == "2h 57m"


def test_the_last_heartbeat_in_words_and_a_key_the_ide_does_not_have() -> None:
    london = ZoneInfo("Europe/London")  # NOW is Fri 13 Jun 16:00 there
    assert fb.ago(NOW - timedelta(seconds=30), NOW, london) == "less than a minute ago"
    assert fb.ago(NOW - timedelta(minutes=12, seconds=50), NOW, london) == "12 min ago"
    assert fb.ago(NOW - timedelta(minutes=61), NOW, london) == "1 hour ago"
    assert fb.ago(NOW - timedelta(hours=15, minutes=59), NOW, london) == "15 hours ago"  # 00:01 today
    assert fb.ago(NOW - timedelta(hours=22, minutes=20), NOW, london) == "yesterday at 17:40"
    assert fb.ago(NOW - timedelta(days=4), NOW, london) == "4 days ago, on Mon 09 Jun"

    replaced = KeyStatus(NOW - timedelta(hours=1), NOW - timedelta(days=2))  # heartbeats stopped at the new key
    text = fb.key_status_text(replaced, NOW, london, "bridge.example.com")
    assert text.startswith(":hourglass_flowing_sand: No heartbeat received yet with your key created Fri 13 Jun"
                           " 15:00; the last one arrived 2 days ago, on Wed 11 Jun, with an older key. Your IDE"
                           " probably still has the old key: `~/.wakatime.cfg`")
    assert "`api_url = https://bridge.example.com/api/v1/users/current/heartbeats.bulk`" in text
    pruned = KeyStatus(NOW - timedelta(days=60), None, retention_days=30)  # older heartbeats are pruned
    assert "No heartbeat in the last 30 days with your key created Mon 14 Apr 16:00." in fb.key_status_text(
        pruned, NOW, london, None)
    quiet = KeyStatus(NOW - timedelta(days=20), NOW - timedelta(days=9))
    assert fb.key_status_text(quiet, NOW, london, None, quiet=True).startswith(
        ":electric_plug: Last heartbeat 9 days ago, on Wed 04 Jun. If you have been coding since, check your"
        " IDE's WakaTime plugin: `~/.wakatime.cfg`")


def test_help_and_unknown_arguments(bridge: Bridge) -> None:
    text = focus(bridge, "help")
    for usage in ("`/focus`", "`/focus team NAME`", "`/focus setup`", "`/focus help`"):
        assert usage in text
    unknown = focus(bridge, "<b>weekly</b> & more")
    assert "I didn't understand `&lt;b&gt;weekly&lt;/b&gt; &amp; more`." in unknown
    assert "`/focus setup`" in unknown
    assert "I didn't understand `setup now`" in focus(bridge, "setup now")


def test_forged_and_stale_requests_get_401_and_reach_nothing(bridge: Bridge) -> None:
    body, _ = slack_requests.slash_body(bridge.fake, "/focus", "setup", "U0CAT")
    assert bridge.post(body, secret="not-the-secret").status_code == 401
    assert bridge.post(body, age=6 * 60).status_code == 401
    time.sleep(0.5)
    assert bridge.fake.calls() == []
    assert list(bridge.store.db.query("SELECT * FROM api_keys WHERE slack_user_id = 'U0CAT'")) == []


# -- renderers ---------------------------------------------------------------------------------


def test_bar_marks_the_line() -> None:
    assert fb.bar(0, 3 * H) == "░░░░░░|░░░░░░"
    assert fb.bar(3 * H, 3 * H) == "██████|░░░░░░"
    assert fb.bar(20 * H, 3 * H) == "██████|██████"


def test_a_team_with_many_people_below_stays_within_block_kit_limits(fake: FakeSlack, tmp_path) -> None:
    members = [f"U{n:06d}" for n in range(3000)]
    config = {"focus": {"leads": ["U0LEAD"], "share_individuals_with_leads": True},
              "team": [{"name": "all", "members": members}]}
    settings = make_settings(fake, config)
    store = Store(tmp_path / "big.db")
    for m in members:
        store.save_focus_days(m, [date(2025, 6, 12)], [FocusDay(m, date(2025, 6, 12), 60, 60, 0, 0, 1)], NOW)
    reply = focus_reply("team all", "U0LEAD", web_client(settings), slack_context(settings, store), NOW)
    blocks = to_dicts(reply.blocks)
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "*Below the 3h line*: 3000 of 3000 with data" in joined(blocks)
