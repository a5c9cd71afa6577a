"""`/focus` end to end: the real server (FastAPI + Bolt in uvicorn) on loopback, signed Slack
requests, a fake Slack Web API recording what reached Slack, and rollups seeded directly."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterator

import httpx
import pytest

from bot.config import Settings, settings_from_mapping
from bot.focus import FocusQueries
from bot.models import FocusDay
from bot.slack import focus_blocks as fb
from bot.slack.app import create_app, web_client
from bot.slack.blocks import to_dicts
from bot.slack.focus_commands import focus_reply
from bot.store import Store
from bot.web import create_web_app
from tests import slack_requests
from tests.fakes.fake_slack import FakeSlack
from tests.live import serve

UTC = timezone.utc
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


@dataclass
class Bridge:
    url: str
    fake: FakeSlack
    store: Store
    settings: Settings


def make_settings(fake: FakeSlack, config: dict = CONFIG) -> Settings:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url}
    return settings_from_mapping(config, env)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ANA", "ana", real_name="Ana Researcher", tz="Europe/Berlin", tz_offset=7200)
        fake.add_user("U0BEN", "ben", real_name="Ben Scientist")
        fake.add_user("U0LEAD", "lea", real_name="Lea Lead", tz="America/New_York", tz_offset=-14400)
        fake.add_user("U0NEW", "nia", real_name="Nia New")
        yield fake


@pytest.fixture(scope="module")
def bridge(fake: FakeSlack, tmp_path_factory) -> Iterator[Bridge]:
    settings = make_settings(fake)
    store = Store(tmp_path_factory.mktemp("focus") / "bridge.db")
    seed(store)
    clock = lambda: NOW  # noqa: E731
    web = create_web_app(settings, store, slack_app=create_app(settings, store, clock=clock), clock=clock)
    with serve(web) as url:
        yield Bridge(url, fake, store, settings)


@pytest.fixture(autouse=True)
def _fresh_calls(fake: FakeSlack) -> None:
    fake.reset()


def signed_post(url: str, body: str, *, secret: str = SECRET, age: int = 0) -> httpx.Response:
    return slack_requests.signed_post(url, body, secret, age=age)


def slash_body(fake: FakeSlack, text: str, user: str) -> tuple[str, str]:
    return slack_requests.slash_body(fake, "/focus", text, user)


def focus(b: Bridge, text: str, user: str = "U0ANA") -> str:
    """Send `/focus TEXT` as `user`; return the text of the private answer."""
    body, response_url = slash_body(b.fake, text, user)
    started = time.monotonic()
    resp = signed_post(b.url, body)
    assert resp.status_code == 200, resp.text
    assert time.monotonic() - started < 1.5  # acked at once; the answer follows via response_url
    posted = b.fake.response_to(response_url).body
    assert posted["response_type"] == "ephemeral" and posted["text"]
    assert len(posted["blocks"]) <= 50
    assert b.fake.calls("chat.postMessage") == []  # never a message anyone else could see
    return texts(posted["blocks"])


def texts(blocks: list[dict]) -> str:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(e.get("text", "") for e in block.get("elements", []))
    return "\n".join(out)


# -- /focus ------------------------------------------------------------------------------------


def test_own_figures_for_the_last_five_workdays_in_the_persons_timezone(bridge: Bridge) -> None:
    text = focus(bridge, "")
    assert "Your Focus Time — last 5 workdays" in text
    lines = text.split("```")[1].split("\n")
    assert lines == [
        "Fri 06 Jun  ██████|█░░░░░   3h 30m  research 2h 0m · engineering 1h 30m",
        "Mon 09 Jun                 no data",
        "Tue 10 Jun  ████░░|░░░░░░   1h 45m  research 1h 45m · engineering 0m",
        "Wed 11 Jun  ██████|██░░░░    4h 0m  research 1h 0m · engineering 3h 0m",
        "Thu 12 Jun  ████░░|░░░░░░    2h 0m  research 0m · engineering 2h 0m",
    ]
    # (12600 + 6300 + 14400 + 7200) / 4 = 10125 s: Monday's "no data" is not a zero
    assert "Average *2h 48m a day over 4 workdays with data* (the line is 3h)." in text
    assert "under the 3h line" in text and "meetings" in text
    assert "Only you can see this." in text
    assert "8h 20m" not in text and "5h 33m" not in text  # Thursday 5 June and today are outside the window
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
    reply = focus_reply("team vision", "U0LEAD", web_client(shared), FocusQueries(store, shared), NOW)
    text = texts(to_dicts(reply.blocks))
    assert "<@U0ANA>" in text and "<@U0BEN>" in text and "U0DAN" not in text and "U0CAT" not in text
    assert "shared with leads by your organisation's setting" in text
    private = focus_reply("team vision", "U0LEAD", web_client(shared), FocusQueries(store, make_settings(fake)), NOW)
    assert "U0ANA" not in texts(to_dicts(private.blocks))


def test_setup_issues_a_uuid4_key_stored_hashed_with_the_cfg_lines(bridge: Bridge, monkeypatch) -> None:
    monkeypatch.setenv("BRIDGE_PUBLIC_URL", "https://bridge.example.com/")
    text = focus(bridge, "setup", user="U0BEN")
    key = UUID4.search(text)[1]
    assert uuid.UUID(key).version == 4
    assert "api_url = https://bridge.example.com/api/v1/users/current/heartbeats.bulk" in text
    assert "~/.wakatime.cfg" in text and "VS Code" in text and "JetBrains" in text and "JupyterLab" in text
    assert "shown only once" in text and "`/focus setup` again" in text
    assert bridge.store.user_for_api_key(key) == "U0BEN"
    rows = list(bridge.store.db.query("SELECT * FROM api_keys WHERE slack_user_id = 'U0BEN'"))
    assert [r["key_hash"] for r in rows] == [hashlib.sha256(key.encode()).hexdigest()]
    assert key not in repr(rows)

    again = UUID4.search(focus(bridge, "setup", user="U0BEN"))[1]
    assert again != key
    assert bridge.store.user_for_api_key(again) == "U0BEN"
    assert bridge.store.user_for_api_key(key) is None  # the old key is switched off


def test_setup_without_a_public_url_shows_a_placeholder(bridge: Bridge, monkeypatch) -> None:
    monkeypatch.delenv("BRIDGE_PUBLIC_URL", raising=False)
    text = focus(bridge, "setup", user="U0NEW")
    assert f"api_url = {fb.PLACEHOLDER_HOST}/api/v1/users/current/heartbeats.bulk" in text
    assert "BRIDGE_PUBLIC_URL" in text


def test_help_and_unknown_arguments(bridge: Bridge) -> None:
    text = focus(bridge, "help")
    for usage in ("`/focus`", "`/focus team NAME`", "`/focus setup`", "`/focus help`"):
        assert usage in text
    unknown = focus(bridge, "<b>weekly</b> & more")
    assert "I didn't understand `&lt;b&gt;weekly&lt;/b&gt; &amp; more`." in unknown
    assert "`/focus setup`" in unknown
    assert "I didn't understand `setup now`" in focus(bridge, "setup now")


def test_forged_and_stale_requests_get_401_and_reach_nothing(bridge: Bridge) -> None:
    body, _ = slash_body(bridge.fake, "setup", "U0CAT")
    assert signed_post(bridge.url, body, secret="not-the-secret").status_code == 401
    assert signed_post(bridge.url, body, age=6 * 60).status_code == 401
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
    reply = focus_reply("team all", "U0LEAD", web_client(settings), FocusQueries(store, settings), NOW)
    blocks = to_dicts(reply.blocks)
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "*Below the 3h line*: 3000 of 3000 with data" in texts(blocks)
