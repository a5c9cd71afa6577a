"""Handing off from Slack end to end: `/handoffs new` and the message shortcut open the modal,
its submission is checked inline and creates the Jira issue (fake Jira, real `jira` library),
`/handoffs request|withdraw KEY` change the label; the card follows on the fake Slack."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Iterator

import pytest

from bot.config import Settings
from bot.models import HandoffState
from bot.store import Store
from tests.fakes.fake_jira import FakeJira
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests as sr
from tests.support.bridge import Bridge, joined, posted_card, running_bridge, slack_settings
from tests.support.webhooks import post_jira

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
TOKEN, SECRET, WEBHOOK_SECRET = "xoxb-requests-token", "requests-signing-secret-012345", "whsec-requests-0123"
VISION = "C0VISION"
CONFIG = {"timezone": "UTC", "jira": {"jql": "project in (RES, OPS)"},
          "team": [{"name": "vision", "jira_projects": ["RES"], "channel": VISION}, {"name": "ops"}]}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ANA", "ana", real_name="Ana Researcher", email="alice@example.com")
        yield fake


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira("Cloud") as jira:
        jira.clock = lambda: NOW - timedelta(minutes=1)
        yield jira


def make_settings(fake: FakeSlack, jira: FakeJira) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, CONFIG, **jira.env(), JIRA_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
def bridge(fake: FakeSlack, jira: FakeJira, store: Store) -> Iterator[Bridge]:
    issue = jira.add_issue("RES-1", NOW - timedelta(days=2), summary="Existing research task")
    with running_bridge(make_settings(fake, jira), store, fake, NOW) as bridge:
        payload = jira.webhook_payload("jira:issue_created", "RES-1", None, user=issue.reporter)
        assert post_jira(bridge.url, payload, WEBHOOK_SECRET).status_code == 200  # RES is a synced project
        yield bridge


def submit(bridge: Bridge, summary: str, project: str | None = "RES", description: str = "",
           team: str | None = None):
    values = {"summary": sr.text_input(summary), "description": sr.text_input(description),
              "project": sr.selected(project), "team": sr.selected(team)}
    return bridge.post(sr.view_submission("handoff_new", "U0ANA", values))


def dm_to(fake: FakeSlack, user: str, timeout: float = 5) -> str:
    """The text of the app's latest DM to `user` (waiting for one)."""
    deadline = time.monotonic() + timeout
    while not (sent := [c.body["text"] for c in fake.calls("chat.postMessage") if c.body["channel"] == user]):
        assert time.monotonic() < deadline, f"no DM to {user}"
        time.sleep(0.01)
    return sent[-1]


def test_handoffs_new_opens_the_modal_with_the_synced_projects(bridge: Bridge, fake: FakeSlack) -> None:
    body, _ = sr.slash_body(fake, "/handoffs", "new", "U0ANA")
    assert bridge.post(body).status_code == 200
    [call] = fake.wait_for("views.open")
    view = call.body["view"]
    assert (view["type"], view["callback_id"], view["title"]["text"]) == ("modal", "handoff_new", "Hand off to engineering")
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert list(blocks) == ["summary", "description", "project", "team"]
    assert [o["value"] for o in blocks["project"]["element"]["options"]] == ["RES"]
    assert [o["value"] for o in blocks["team"]["element"]["options"]] == ["vision", "ops"]


def test_a_submission_with_problems_gets_inline_errors_and_writes_nothing(bridge: Bridge, jira: FakeJira) -> None:
    answer = submit(bridge, "   ")
    assert answer.status_code == 200
    assert answer.json() == {"response_action": "errors", "errors": {"summary": "Give the handoff a summary."}}
    assert submit(bridge, "x", project="EVIL").json()["errors"] == {
        "project": "Choose one of the synced Jira projects listed."}
    assert submit(bridge, "x", project=None, team="ops").json()["errors"] == {
        "team": "Team ops has no Jira project: choose one above."}
    assert submit(bridge, "x" * 256).json()["errors"]["summary"] == "At most 255 characters (Jira's limit)."
    assert jira.writes() == []


def test_a_submission_creates_the_issue_labelled_and_its_card_follows(bridge: Bridge, jira: FakeJira,
                                                                      fake: FakeSlack, store: Store) -> None:
    description = "The <!channel> distilled model *beats* v1.\nSee the eval.\n\nNext: serving."
    answer = submit(bridge, "Distilled <ranker> v2", project=None, description=description, team="vision")
    assert answer.status_code == 200 and answer.content in (b"", b"{}")  # the modal closes
    assert dm_to(fake, "U0ANA") == "Created RES-2 and handed it to engineering (label `research-handoff`)."
    [create] = [w for w in jira.writes() if w.method == "POST" and w.path.endswith("/issue")]
    fields = create.body["fields"]
    assert (fields["project"], fields["summary"], fields["labels"]) == (
        {"key": "RES"}, "Distilled <ranker> v2", ["research-handoff"])
    texts = [n.get("text") for p in fields["description"]["content"] for n in p["content"]]
    assert texts == ["The <!channel> distilled model *beats* v1.", None, "See the eval.", "Next: serving."]  # plain
    [view] = store.handoffs(issue_key="RES-2")
    assert view.cycle.state is HandoffState.OPEN and view.cycle.requested_at == NOW - timedelta(minutes=1)
    posted_card(fake, VISION)
    card = fake.messages(VISION)[-1]
    assert "Distilled &lt;ranker&gt; v2" in joined(card["blocks"]) and "<!channel>" not in json.dumps(card)


def test_jira_refusing_the_creation_is_said_and_nothing_is_created(bridge: Bridge, jira: FakeJira,
                                                                   fake: FakeSlack, store: Store) -> None:
    jira.deny("create")
    assert submit(bridge, "Distilled ranker v2").status_code == 200
    text = dm_to(fake, "U0ANA")
    assert text.startswith("Jira refused to create the issue: ") and "HTTP 403" in text
    assert text.endswith("Nothing was created.") and list(jira.issues) == ["RES-1"]
    assert store.count("handoff_cycles") == 0


def test_the_message_shortcut_prefills_the_description_with_the_message_and_its_link(bridge: Bridge,
                                                                                     fake: FakeSlack) -> None:
    body = sr.message_shortcut("handoff_from_message", "U0ANA", "C0RESEARCH", "1772636400.000100",
                               "The new tokenizer is ready for serving", fake.trigger_id())
    assert bridge.post(body).status_code == 200
    [call] = fake.wait_for("views.open")
    description = {b["block_id"]: b for b in call.body["view"]["blocks"]}["description"]["element"]["initial_value"]
    assert description == ("The new tokenizer is ready for serving\n\n"
                           "From Slack: https://fake.slack.com/archives/C0RESEARCH/p1772636400000100")
    assert fake.calls("chat.getPermalink")[0].body["channel"] == "C0RESEARCH"


def test_request_and_withdraw_change_the_label_in_jira_and_the_card(bridge: Bridge, jira: FakeJira,
                                                                    fake: FakeSlack, store: Store) -> None:
    answer = bridge.ask("/handoffs", "request res-1", "U0ANA")
    assert joined(answer["blocks"]) == "Done: handed RES-1 to engineering in Jira."
    assert jira.issues["RES-1"].labels == ["research-handoff"]
    ts = posted_card(fake, VISION)
    assert store.handoffs(issue_key="RES-1")[0].cycle.state is HandoffState.OPEN
    again = bridge.ask("/handoffs", "request RES-1", "U0ANA")
    assert "already handed over" in joined(again["blocks"])
    withdrawn = bridge.ask("/handoffs", "withdraw RES-1", "U0ANA")
    assert joined(withdrawn["blocks"]) == "Done: withdrew the handoff of RES-1 in Jira."
    assert jira.issues["RES-1"].labels == []
    [update] = fake.wait_for("chat.update")
    assert update.body["ts"] == ts and "Withdrawn by research" in joined(update.body["blocks"])
    unknown = bridge.ask("/handoffs", "request RES-404", "U0ANA")
    assert joined(unknown["blocks"]).startswith("I don't know RES-404")
    bad = bridge.ask("/handoffs", "withdraw", "U0ANA")
    assert "`withdraw` takes one Jira issue key" in joined(bad["blocks"])
