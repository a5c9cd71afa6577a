"""`/handoffs` and the App Home end to end: the real server (FastAPI + Bolt in uvicorn) on
loopback, signed Slack requests, and a fake Slack Web API recording what reached Slack."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from bot.app import create_slack_app
from bot.config import Settings
from bot.ingest.jira import record_jira_issue
from bot.metrics.handoffs import HandoffRules, HandoffStats
from bot.metrics.workcal import WorkCalendar
from bot.models import ChangeItem, HandoffCycle, HandoffState, HandoffView, JiraIssue
from bot.queries.handoffs import HandoffQueries, StatsReport
from bot.slack.app import socket_mode_handler
from bot.slack.blocks import handoffs as render
from bot.slack.blocks import kit
from bot.slack.errors import SORRY
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.bridge import Bridge, joined, running_bridge, slack_settings, texts

NOW = datetime(2025, 6, 13, 15, 0, tzinfo=UTC)  # a Friday
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
LABEL = "research-handoff"
JIRA = "https://jira.example.com/browse/"
ANA = ("Ana Researcher", "ana@example.com")
BEN = ("Ben Scientist", "ben@example.com")
EVE = ("Eve Engineer", "eve@example.com")
CONFIG = {"timezone": "UTC", "team": [{"name": "vision", "jira_projects": ["VIS"]}, {"name": "platform"}]}


# -- seeding through the real ingest path ------------------------------------------------------


def _issue(
    key: str, summary: str, created: datetime, *, labels=(LABEL,), status="To Do", reporter=ANA, assignee=None
) -> JiraIssue:
    return JiraIssue(
        key=key, id=str(abs(hash(key)) % 10**6), project=key.split("-")[0], summary=summary, issue_type="Task",
        status=status, labels=tuple(labels), created=created, updated=created, url=JIRA + key,
        reporter_name=reporter[0], reporter_email=reporter[1],
        assignee_name=assignee[0] if assignee else None, assignee_email=assignee[1] if assignee else None,
    )


def _item(key: str, n: int, at: datetime, field: str, frm: str, to: str, who=EVE) -> ChangeItem:
    return ChangeItem(key, str(1000 + n), 0, at, field, frm, to, who[0], who[1])


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """June 2025 (day 0 = Friday 30 May)."""
    if day == 0:
        return datetime(2025, 5, 30, hour, minute, tzinfo=UTC)
    return datetime(2025, 6, day, hour, minute, tzinfo=UTC)


def seed_org(store: Store, settings: Settings) -> None:
    """Three open handoffs (known waits), two picked up, one delivered, one withdrawn."""
    rules = HandoffRules.from_settings(settings.jira)
    data = [
        (_issue("RES-1", "Distil the teacher model for on-device", _at(0, 9), status="To Do"),
         [_item("RES-1", 1, _at(2, 10), "labels", "", LABEL, who=ANA)]),
        (_issue("VIS-2", "Segmentation v3 ready for serving", _at(11, 16, 30), reporter=BEN), []),
        (_issue("RES-3", "Try <teacher> & student > baseline", _at(13, 13)), []),
        (_issue("RES-4", "Retrieval eval harness", _at(3, 9), status="In Progress",
                reporter=("Carl", "carl@example.com"), assignee=ANA),
         [_item("RES-4", 1, _at(5, 13), "status", "To Do", "In Progress")]),
        (_issue("RES-5", "Tokenizer fix", _at(9, 9), status="Done", reporter=BEN),
         [_item("RES-5", 1, _at(9, 15), "status", "To Do", "In Progress"),
          _item("RES-5", 2, _at(12, 12), "status", "In Progress", "Done")]),
        (_issue("RES-6", "Abandoned idea", _at(10, 10), labels=(), reporter=BEN),
         [_item("RES-6", 1, _at(10, 12), "labels", LABEL, "", who=BEN)]),
        (_issue("RES-7", "Feature store backfill", _at(4, 17), status="In Progress", reporter=BEN),
         [_item("RES-7", 1, _at(6, 11), "status", "To Do", "In Progress")]),
    ]
    for issue, items in data:
        record_jira_issue(store, issue, items, rules)


def seed_many(store: Store, settings: Settings, n: int = 120) -> None:
    rules = HandoffRules.from_settings(settings.jira)
    for i in range(1, n + 1):
        summary = f"Big handoff {i} & " + "long words " * 30
        record_jira_issue(store, _issue(f"BIG-{i}", summary, NOW - timedelta(hours=i)), [], rules)


# -- the running server ------------------------------------------------------------------------


def make_settings(fake: FakeSlack, **env: str) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, CONFIG, **env)


@contextmanager
def bridge_with(fake: FakeSlack, path, seed: Callable[[Store, Settings], None]) -> Iterator[Bridge]:
    settings = make_settings(fake)
    store = Store(path)
    seed(store, settings)
    with running_bridge(settings, store, fake, NOW) as bridge:
        yield bridge


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ANA", "ana", real_name=ANA[0], email=ANA[1], tz="Europe/Berlin", tz_offset=7200)
        fake.add_user("U0BEN", "ben", real_name=BEN[0], email=BEN[1])
        fake.add_user("U0EVE", "eve", real_name=EVE[0], email=EVE[1])
        yield fake


@pytest.fixture(scope="module")
def bridge(fake: FakeSlack, tmp_path_factory) -> Iterator[Bridge]:
    with bridge_with(fake, tmp_path_factory.mktemp("org") / "bridge.db", seed_org) as b:
        yield b


def run_command(b: Bridge, text: str, user: str = "U0ANA") -> dict:
    """Send `/handoffs TEXT` and return what the app posted to the response_url."""
    return b.ask("/handoffs", text, user)


# -- /handoffs ---------------------------------------------------------------------------------


def test_open_handoffs_oldest_first_with_waits_and_links(bridge: Bridge) -> None:
    body, response_url = slack_requests.slash_body(bridge.fake, "/handoffs", "", "U0ANA")
    started = time.monotonic()
    resp = bridge.post(body)
    assert resp.status_code == 200 and resp.content == b""
    assert time.monotonic() - started < 1.0
    posted = bridge.fake.response_to(response_url).body
    assert posted["response_type"] == "ephemeral"
    rows = [t for t in texts(posted["blocks"]) if t.startswith("*<")]
    assert [r.split("|")[1].split(">")[0] for r in rows] == ["RES-1", "VIS-2", "RES-3"]
    res1, vis2, res3 = rows
    assert res1.startswith(f"*<{JIRA}RES-1|RES-1>* Distil the teacher model for on-device")
    assert "waiting *9.6 bd* (11d 5h)" in res1
    assert "handed over Mon 02 Jun 12:00 by Ana Researcher" in res1  # Ana's own timezone (CEST)
    assert ":warning: over the 3-workday pick-up SLA" in res1
    assert "waiting *1.8 bd* (1d 22h)" in vis2 and "team *vision*" in vis2 and "SLA" not in vis2
    assert "waiting *0.2 bd* (2h 0m)" in res3
    assert "Try &lt;teacher&gt; &amp; student &gt; baseline" in res3
    assert "*3* waiting for engineering · oldest 11d 5h · 1 over the 3-workday SLA" in joined(posted["blocks"])
    assert "RES-1" in posted["text"]
    info = bridge.fake.calls("users.info")
    assert [c.body["user"] for c in info] == ["U0ANA"]
    assert info[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_stats_30d_counts_and_percentiles(bridge: Bridge) -> None:
    posted = run_command(bridge, "stats 30d")
    text = joined(posted["blocks"])
    assert "Handoff stats — last 30 days" in text
    assert "2025-05-14 – 2025-06-13 (UTC)" in text
    assert "*Requested* 7 · *Picked up* 3 · *Delivered* 1 · *Withdrawn* 1" in text
    # picked-up waits 6h, 42h, 52h (business 6h, 12h, 22h of 9h days): median 42h, p90 = 42 + 0.8 * 10
    assert "median 1.3 bd (1d 18h) · p90 2.2 bd (2d 2h)" in text
    assert "*Conversion* (requested → delivered): 14%" in text
    assert "*Time to production*: median 2d 21h" in text
    assert "*Open now*: 3 (oldest 11d 5h) · 1 over SLA" in text
    assert "*vision*: 1 requested · 0 picked up · 0 delivered · median wait — · 1 open · conversion 0%" in text
    assert "*(no team)*: 6 requested · 3 picked up · 1 delivered · median wait 1.3 bd · 2 open · conversion 17%" in text
    assert joined(run_command(bridge, "stats")["blocks"]) == text  # 30d is the default
    assert bridge.fake.calls("users.info") == []  # nothing personal, no user lookup


def test_mine_uses_the_email_from_users_info(bridge: Bridge) -> None:
    text = joined(run_command(bridge, "mine")["blocks"])
    assert "Your active handoffs" in text and "*2* waiting · *1* picked up" in text
    keys = [k for k in ("RES-1", "VIS-2", "RES-3", "RES-4", "RES-5", "RES-6", "RES-7") if f"|{k}>" in text]
    assert keys == ["RES-1", "RES-3", "RES-4"]
    assert text.index("|RES-3>") < text.index("|RES-4>")  # open ones first
    assert "picked up by Eve Engineer after *2.4 bd* (2d 4h)" in text
    assert [c.body["user"] for c in bridge.fake.calls("users.info")] == ["U0ANA"]
    assert "none right now" in joined(run_command(bridge, "mine", user="U0EVE")["blocks"])


def test_mine_survives_a_rate_limited_and_a_failing_users_info(bridge: Bridge) -> None:
    bridge.fake.fail_next("users.info", 1, status=429, retry_after=0)
    assert "|RES-4>" in joined(run_command(bridge, "mine")["blocks"])
    bridge.fake.fail_next("users.info", 1, status=500)
    assert "|RES-4>" in joined(run_command(bridge, "mine")["blocks"])
    assert len(bridge.fake.calls("users.info")) == 4  # each fault retried once


def test_team(bridge: Bridge) -> None:
    text = joined(run_command(bridge, "team vision")["blocks"])
    assert "Open handoffs — team vision" in text
    assert "|VIS-2>" in text and "|RES-1>" not in text and "|RES-3>" not in text
    assert "nothing is waiting" in joined(run_command(bridge, "team Platform")["blocks"])
    unknown = joined(run_command(bridge, "team robotics")["blocks"])
    assert "There is no team `robotics` (teams: `vision`, `platform`)." in unknown
    assert "/handoffs stats [7d|30d|90d|quarter]" in unknown


def test_issue_timeline(bridge: Bridge) -> None:
    text = joined(run_command(bridge, "res-1")["blocks"])
    assert "RES-1 — handoff timeline" in text
    assert f"*<{JIRA}RES-1|RES-1>* Distil the teacher model for on-device" in text
    assert "*Handoff 1* — requested Mon 02 Jun 12:00 by Ana Researcher; waiting *9.6 bd* (11d 5h)" in text
    lines = [line for line in text.splitlines() if line.startswith("`")]
    assert lines == [
        "`Fri 30 May 11:00` Created in To Do — Ana Researcher",
        "`Mon 02 Jun 12:00` Label added: research-handoff — Ana Researcher",
        "`Mon 02 Jun 12:00` Handoff requested (cycle 1) — Ana Researcher",
    ]
    delivered = joined(run_command(bridge, "RES-5", user="U0BEN")["blocks"])  # Ben's timezone is UTC
    assert (
        "picked up Mon 09 Jun 15:00 by Eve Engineer after *0.7 bd* (6h 0m); delivered Thu 12 Jun 12:00, 2d 21h later"
    ) in delivered
    assert "I don't know *RES-999*" in joined(run_command(bridge, "RES-999")["blocks"])


def test_help_and_unknown_arguments(bridge: Bridge) -> None:
    help_text = joined(run_command(bridge, "help")["blocks"])
    for usage in ("`/handoffs`", "`/handoffs stats [7d|30d|90d|quarter]`", "`/handoffs mine`",
                  "`/handoffs team NAME`", "`/handoffs KEY`", "`/handoffs help`"):
        assert usage in help_text
    for example in ("`/handoffs stats 90d`", "`/handoffs team vision`", "`/handoffs RES-42`"):
        assert example in help_text
    unknown = joined(run_command(bridge, "frobnicate <!channel>")["blocks"])
    assert unknown.startswith(":information_source: I didn't understand `frobnicate &lt;!channel&gt;`.")
    assert help_text in unknown
    bad_window = joined(run_command(bridge, "stats 12d")["blocks"])
    assert "Unknown window `12d`: use one of 7d, 30d, 90d, quarter." in bad_window
    assert "I didn't understand `mine please`." in joined(run_command(bridge, "mine please")["blocks"])
    assert bridge.fake.calls("users.info") == []  # help needs nobody's profile


def test_forged_and_stale_requests_are_rejected_and_reach_nothing(bridge: Bridge) -> None:
    body, response_url = slack_requests.slash_body(bridge.fake, "/handoffs", "", "U0ANA")
    forged = bridge.post(body, secret="not-the-secret")
    assert forged.status_code == 401
    tampered = bridge.post(body, signature="v0=" + "0" * 64)
    assert tampered.status_code == 401
    stale = bridge.post(body, age=6 * 60)
    assert stale.status_code == 401
    time.sleep(0.5)
    assert bridge.fake.calls() == []


def test_a_failing_listener_is_logged_and_the_user_told(bridge: Bridge, monkeypatch, caplog) -> None:
    def broken(self, team=None):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(HandoffQueries, "open_handoffs", broken)
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        body, response_url = slack_requests.slash_body(bridge.fake, "/handoffs", "", "U0ANA")
        assert bridge.post(body).status_code == 200
        posted = bridge.fake.response_to(response_url).body
    assert posted == {"text": SORRY, "response_type": "ephemeral", "replace_original": False}
    assert "/handoffs failed for user U0ANA: RuntimeError: database is locked" in caplog.text
    assert TOKEN not in caplog.text and SECRET not in caplog.text and response_url not in caplog.text


def test_120_open_handoffs_stay_within_block_kit_limits(fake: FakeSlack, tmp_path) -> None:
    with bridge_with(fake, tmp_path / "big.db", seed_many) as big:
        posted = run_command(big, "")
    blocks = posted["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert all(len(b["text"]["text"]) <= 150 for b in blocks if b["type"] == "header")
    assert texts(blocks)[-1] == "…and 73 more (use `research-bridge report handoffs` for all)"
    assert "|BIG-120>" in texts(blocks)[2]  # the oldest first
    assert "*120* waiting for engineering" in joined(posted["blocks"])


def test_app_home_opened_publishes_the_users_handoffs(bridge: Bridge) -> None:
    event = {
        "token": "verification-token", "team_id": "T0TEAM", "api_app_id": "A0BRIDGE", "type": "event_callback",
        "event_id": "Ev0HOME1", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": "U0ANA", "channel": "D0ANA", "tab": "home",
                  "event_ts": f"{time.time():.6f}"},
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
    }
    resp = bridge.post(json.dumps(event), content_type="application/json")
    assert resp.status_code == 200
    call = bridge.fake.wait_for("views.publish")[0]
    assert call.body["user_id"] == "U0ANA"
    view = call.body["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = joined(view["blocks"])
    assert "*3* handoffs are waiting for engineering across the organisation." in text
    assert "|RES-1>" in text and "|RES-3>" in text and "|RES-4>" in text and "|VIS-2>" not in text
    assert "`/handoffs mine`" in text


def test_app_creation_checks_the_token_and_socket_mode_uses_the_same_api(fake: FakeSlack, tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    with pytest.raises(Exception, match="invalid_auth"):
        create_slack_app(make_settings(fake, SLACK_BOT_TOKEN="xoxb-wrong"), store)
    settings = make_settings(fake, SLACK_APP_TOKEN="xapp-1-A0BRIDGE-1-abc")
    app = create_slack_app(settings, store)
    assert app.client.base_url == fake.api_url
    handler = socket_mode_handler(app, settings)
    assert handler.client.web_client.base_url == fake.api_url
    assert handler.app_token == "xapp-1-A0BRIDGE-1-abc"


# -- renderers ---------------------------------------------------------------------------------

CAL = WorkCalendar("UTC", range(5), datetime.min.time().replace(hour=9), datetime.min.time().replace(hour=18))


def _view(key: str, hours_ago: float, summary: str = "A summary", state=HandoffState.OPEN, team=None) -> HandoffView:
    cycle = HandoffCycle(key, 1, NOW - timedelta(hours=hours_ago), state, requested_by_name="Ana <Researcher>")
    return HandoffView(cycle, summary, key.split("-")[0], JIRA + key, team=team)


def test_list_renderer_limits_escaping_and_order() -> None:
    views = [_view(f"X-{i}", i, summary="<b>&" * 500) for i in range(1, 121)]
    blocks = kit.to_dicts(render.open_handoffs_blocks(views, NOW, CAL, ZoneInfo("UTC")))
    assert len(blocks) == 50
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) == 47 and all(len(t) <= 3000 for t in sections)
    assert sections[0].startswith(f"*<{JIRA}X-120|X-120>* &lt;b&gt;&amp;")
    assert "<b>" not in "".join(sections) and "by Ana &lt;Researcher&gt;" in sections[0]
    assert not any(t.split("\n")[0].endswith(("&", "&a", "&am", "&amp")) for t in sections)  # clipped cleanly
    assert texts(blocks)[-1] == "…and 73 more (use `research-bridge report handoffs` for all)"
    assert len(render.open_handoffs_blocks(views[:48], NOW, CAL, ZoneInfo("UTC"))) == 50  # fits exactly
    home = render.home_blocks(views, 120, NOW, CAL, ZoneInfo("UTC"))
    assert len(home) == 100 and texts(kit.to_dicts(home))[-2].startswith("…and 28 more")


def test_empty_states_are_one_friendly_line() -> None:
    blocks = kit.to_dicts(render.open_handoffs_blocks([], NOW, CAL, ZoneInfo("UTC")))
    line = "*Open handoffs*: nothing is waiting for engineering right now :sparkles:"
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]
    assert len(render.user_handoffs_blocks([], NOW, CAL, ZoneInfo("UTC"))) == 1


def test_header_and_section_clipping_and_fallback_text() -> None:
    blocks = render.team_handoffs_blocks("t" * 300, [_view("X-1", 30)], NOW, CAL, ZoneInfo("UTC"))
    header = kit.to_dicts(blocks)[0]
    assert header["type"] == "header" and len(header["text"]["text"]) == 150 and header["text"]["text"].endswith("…")
    fallback = kit.fallback_text(blocks)
    assert "X-1 A summary" in fallback and "<http" not in fallback and len(fallback) <= 1000


def test_stats_renderer_with_many_teams_stays_within_limits() -> None:
    empty = HandoffStats(0, 0, 0, 0, 0, None, None, None, None, None, None, None, None, 0)
    busy = HandoffStats(5, 3, 1, 1, 2, 3600.0, 7200.0, 1800.0, 9000.0, 86400.0, 90000.0, 0.2, 40000.0, 1)
    teams = {f"team-{i} & co " * 20: busy for i in range(400)}
    report = StatsReport("quarter", NOW - timedelta(days=74), NOW, empty, teams)
    blocks = kit.to_dicts(render.stats_blocks(report, CAL))
    assert len(blocks) <= 50 and all(len(t) <= 3000 for t in texts(blocks))
    text = "\n".join(texts(blocks))
    assert "Handoff stats — this quarter" in text
    assert "*Requested* 0 · *Picked up* 0" in text and "median — (—) · p90 — (—)" in text
    assert "median wait 0.1 bd" in text and "team-0 &amp; co" in text
    assert text.rstrip().endswith("for all)")
