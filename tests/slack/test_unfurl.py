"""Jira links unfurl with the handoff's card: signed `link_shared` events to the real app, the
`chat.unfurl` that reaches the fake Slack."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Iterator

import pytest

from bot.ingest.jira import JiraIngest
from bot.models import ChangeItem, JiraIssue
from bot.slack.listeners.unfurl import issue_key_of
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support.bridge import Bridge, joined, running_bridge, slack_settings

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
TOKEN, SECRET = "xoxb-unfurl-token", "unfurl-signing-secret-0123456789"
JIRA = "https://example.atlassian.net"
CONFIG = {"timezone": "UTC", "jira": {"jql": "project = RES"}, "team": [{"name": "vision", "jira_projects": ["RES"]}]}


def issue(key: str, summary: str, status: str = "To Do", labels: tuple[str, ...] = (), assignee: str | None = None):
    return JiraIssue(key, key, "RES", summary, "Task", status, labels, NOW - timedelta(days=2), NOW - timedelta(hours=1),
                     f"{JIRA}/browse/{key}", reporter_name="Ana Researcher", assignee_name=assignee)


def seed(store: Store, settings) -> None:
    ingest = JiraIngest.of(settings.jira)
    labelled = [ChangeItem("RES-1", "1", 0, NOW - timedelta(hours=3), "labels", "", "research-handoff", "Ana Researcher")]
    ingest.issue(store, issue("RES-1", "Distil <teacher>", labels=("research-handoff",)), labelled)
    ingest.issue(store, issue("RES-2", "Fix the tokenizer", status="In Progress", assignee="Bob Engineer"), [])


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture
def bridge(fake: FakeSlack, store: Store) -> Iterator[Bridge]:
    settings = slack_settings(fake, TOKEN, SECRET, CONFIG, JIRA_URL=JIRA, JIRA_PAT="pat-unfurl")
    seed(store, settings)
    with running_bridge(settings, store, fake, NOW) as bridge:
        yield bridge


def share(bridge: Bridge, urls: list[str], **event: object) -> None:
    body = {
        "token": "verification-token", "team_id": "T0TEAM", "api_app_id": "A0BRIDGE", "type": "event_callback",
        "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
        "event": {"type": "link_shared", "channel": "C0GENERAL", "user": "U0ANA", "message_ts": "1772636400.000100",
                  "links": [{"domain": url.split("/")[2] if "//" in url else "", "url": url} for url in urls], **event},
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
    }
    assert bridge.post(json.dumps(body), content_type="application/json").status_code == 200


def test_a_handoff_link_unfurls_as_its_card_and_an_issue_link_as_its_facts(bridge: Bridge, fake: FakeSlack) -> None:
    share(bridge, [f"{JIRA}/browse/RES-1", f"{JIRA}/browse/res-2/", f"{JIRA}/browse/RES-999",
                   "https://example.atlassian.net.evil.example/browse/RES-1", "https://other.example/browse/RES-1"])
    [call] = fake.wait_for("chat.unfurl")
    assert (call.body["channel"], call.body["ts"]) == ("C0GENERAL", "1772636400.000100")
    unfurls = call.body["unfurls"] if isinstance(call.body["unfurls"], dict) else json.loads(call.body["unfurls"])
    assert sorted(unfurls) == [f"{JIRA}/browse/RES-1", f"{JIRA}/browse/res-2/"]
    card = unfurls[f"{JIRA}/browse/RES-1"]["blocks"]
    assert "Distil &lt;teacher&gt;" in joined(card) and "Waiting for engineering" in joined(card)
    [actions] = [b for b in card if b["type"] == "actions"]
    assert actions["elements"][0]["value"] == "RES-1#1"
    facts = joined(unfurls[f"{JIRA}/browse/res-2/"]["blocks"])
    assert "Fix the tokenizer" in facts and "*In Progress* · Task · assigned to Bob Engineer" in facts


def test_the_composer_form_uses_source_and_unfurl_id(bridge: Bridge, fake: FakeSlack) -> None:
    share(bridge, [f"{JIRA}/browse/RES-2"], source="composer", unfurl_id="C123456.7890.abc", channel="COMPOSER")
    [call] = fake.wait_for("chat.unfurl")
    assert (call.body.get("source"), call.body.get("unfurl_id")) == ("composer", "C123456.7890.abc")


def test_links_to_nothing_known_make_no_call(bridge: Bridge, fake: FakeSlack) -> None:
    share(bridge, [f"{JIRA}/browse/RES-999", f"{JIRA}/projects/RES", "not a url"])
    time.sleep(0.3)
    assert fake.calls("chat.unfurl") == []


@pytest.mark.parametrize("url, key", [
    (f"{JIRA}/browse/RES-12", "RES-12"), ("HTTPS://EXAMPLE.atlassian.net/browse/ml_x-3", "ML_X-3"),
    (f"{JIRA}/browse/RES-12?focusedCommentId=1", "RES-12"), (f"{JIRA}/browse/RES", None), ("ftp://example.atlassian.net/browse/RES-1", None),
    ("https://example.atlassian.net:8443/browse/RES-1", "RES-1"), ("https://user@evil.example/browse/RES-1", None),
    ("http://[::1/browse/RES-1", None),
])
def test_issue_key_of(url: str, key: str | None) -> None:
    assert issue_key_of(url, "example.atlassian.net") == key
