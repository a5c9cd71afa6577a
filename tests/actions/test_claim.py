"""Claim from Slack end to end: signed button clicks to the real app on loopback, Jira writes
through the real `jira` library to the fake Jira, the card updated on the fake Slack."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Iterator

import pytest

from bot.config import Settings
from bot.models import HandoffState
from bot.store import Store
from tests.fakes.fake_jira import BOB, FakeJira, FakeUser
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.bridge import Bridge, joined, posted_card, running_bridge, slack_settings
from tests.support.webhooks import post_jira

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
JIRA_NOW = NOW - timedelta(minutes=1)  # when the fake Jira records the writes
TOKEN = "xoxb-claim-token"
SECRET = "claim-signing-secret-0123456789"
WEBHOOK_SECRET = "whsec-claim-0123456789"
HANDOFF = "research-handoff"
VISION = "C0VISION"
CAROL = FakeUser("5b10ac8d82e05b22cc7d4ef9", "Carol Engineer", "carol@example.com", "carol")
CONFIG = {"timezone": "UTC", "jira": {"jql": "project = RES"},
          "team": [{"name": "vision", "jira_projects": ["RES"], "channel": VISION}]}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0BOB", "bob", real_name="Bob Engineer", email=BOB.email)
        fake.add_user("U0CAROL", "carol", real_name="Carol Engineer", email=CAROL.email)
        fake.add_user("U0EVE", "eve", real_name="Eve Elsewhere", email="eve@elsewhere.example")
        yield fake


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira("Cloud") as jira:
        jira.add_user(CAROL)
        jira.clock = lambda: JIRA_NOW
        yield jira


def make_settings(fake: FakeSlack, jira: FakeJira, config: dict = CONFIG) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, config, **jira.env(), JIRA_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
def bridge(fake: FakeSlack, jira: FakeJira, store: Store) -> Iterator[Bridge]:
    with running_bridge(make_settings(fake, jira), store, fake, NOW) as bridge:
        yield bridge


def card_for(bridge: Bridge, jira: FakeJira, key: str = "RES-1") -> str:
    """Hand `key` over in Jira (webhook) and return the ts of its card."""
    issue = jira.add_issue(key, NOW - timedelta(hours=5), summary="Distilled ranker v2")
    history = issue.add_label(NOW - timedelta(hours=4), HANDOFF)
    payload = jira.webhook_payload("jira:issue_updated", key, history, user=history.author)
    assert post_jira(bridge.url, payload, WEBHOOK_SECRET).status_code == 200
    return posted_card(bridge.fake, VISION)


def claim(bridge: Bridge, user: str, value: str, ts: str) -> str:
    """Click Claim on the card `ts` as `user`; the private answer's text."""
    answer = bridge.click("handoff_claim", user, value, channel=VISION, message_ts=ts, ephemeral=False,
                          label="Claim")
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    return answer["text"]


def assign_and_transition(jira: FakeJira) -> list[tuple[str, str]]:
    return [(w.method, w.path.rsplit("/", 1)[-1]) for w in jira.writes()]


def test_claim_assigns_in_jira_moves_to_in_progress_and_updates_the_card(bridge: Bridge, jira: FakeJira,
                                                                          fake: FakeSlack, store: Store) -> None:
    ts = card_for(bridge, jira)
    text = claim(bridge, "U0BOB", "RES-1#1", ts)
    assert text == "You claimed RES-1: Jira now has it assigned to you and moved it to *In Progress*."
    issue = jira.issues["RES-1"]
    assert issue.status == "In Progress" and issue.assignee == BOB
    assert [(w.method, w.path.split("/RES-1/")[-1]) for w in jira.writes()] == [("PUT", "assignee"), ("POST", "transitions")]
    assert jira.writes()[0].body == {"accountId": BOB.account_id}
    [view] = store.handoffs(issue_key="RES-1")
    assert view.cycle.state is HandoffState.PICKED_UP and view.cycle.picked_up_at == JIRA_NOW  # Jira's time
    [update] = fake.wait_for("chat.update")
    assert (update.body["channel"], update.body["ts"]) == (VISION, ts)
    assert ":white_check_mark: Claimed by <@U0BOB> after 0.4 bd" in joined(update.body["blocks"])
    assert all(b["type"] != "actions" for b in update.body["blocks"])
    again = claim(bridge, "U0CAROL", "RES-1#1", ts)
    assert again == "RES-1 is already picked up by <@U0BOB>. Nothing was changed."
    assert len(jira.writes()) == 2


def test_two_claims_at_once_make_one_set_of_jira_writes(bridge: Bridge, jira: FakeJira) -> None:
    ts = card_for(bridge, jira)
    answers: dict[str, str] = {}
    start = threading.Barrier(2)

    def click(user: str) -> None:
        start.wait()
        answers[user] = claim(bridge, user, "RES-1#1", ts)

    threads = [threading.Thread(target=click, args=(u,)) for u in ("U0BOB", "U0CAROL")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    winners = [u for u, text in answers.items() if text.startswith("You claimed RES-1")]
    assert len(winners) == 1 and len(answers) == 2
    [loser] = set(answers) - set(winners)
    assert f"<@{winners[0]}>" in answers[loser] and "already" in answers[loser]
    assert [w.method for w in jira.writes()] == ["PUT", "POST"]  # one assignment, one transition


def test_a_clicker_jira_does_not_know_is_told_how_to_link_and_nothing_changes(bridge: Bridge, jira: FakeJira,
                                                                              fake: FakeSlack, store: Store) -> None:
    ts = card_for(bridge, jira)
    text = claim(bridge, "U0EVE", "RES-1#1", ts)
    assert text.startswith("I don't know your Jira account (Jira has no user with eve@elsewhere.example)")
    assert '`[jira.user_map]` (`"YOUR-JIRA-ACCOUNT-ID-OR-EMAIL" = "U0EVE"`)' in text
    assert jira.writes() == [] and store.claim_of("RES-1", 1) is None
    assert store.handoffs(issue_key="RES-1")[0].cycle.state is HandoffState.OPEN
    assert fake.calls("chat.update") == []


def test_a_user_map_account_is_used_without_a_user_search(fake: FakeSlack, jira: FakeJira, store: Store) -> None:
    config = {**CONFIG, "jira": {**CONFIG["jira"], "user_map": {CAROL.account_id: "U0EVE"}}}
    with running_bridge(make_settings(fake, jira, config), store, fake, NOW) as bridge:
        ts = card_for(bridge, jira)
        assert claim(bridge, "U0EVE", "RES-1#1", ts).startswith("You claimed RES-1")
    assert jira.issues["RES-1"].assignee == CAROL
    assert not [r for r in jira.requests if r.path.endswith("/user/search")]


@pytest.mark.parametrize("action, status", [("assign", 403), ("browse", 404)])
def test_jira_refusing_the_assignment_changes_nothing(bridge: Bridge, jira: FakeJira, fake: FakeSlack,
                                                      store: Store, action: str, status: int) -> None:
    ts = card_for(bridge, jira)
    jira.deny(action)
    text = claim(bridge, "U0BOB", "RES-1#1", ts)
    assert text.startswith("Jira refused the claim: ") and f"HTTP {status}" in text
    assert text.endswith("Nothing was changed.")
    issue = jira.issues["RES-1"]
    assert issue.status == "To Do" and issue.assignee is None
    assert store.claim_of("RES-1", 1) is None and fake.calls("chat.update") == []
    jira.allow()
    assert claim(bridge, "U0BOB", "RES-1#1", ts).startswith("You claimed RES-1")  # the row was dropped


def test_no_transition_to_a_pickup_status_claims_nothing(bridge: Bridge, jira: FakeJira, store: Store) -> None:
    jira.workflow = {"To Do": [("Close", "Done")], "Done": [("Reopen", "To Do")]}
    ts = card_for(bridge, jira)
    text = claim(bridge, "U0BOB", "RES-1#1", ts)
    assert text.startswith("Jira offers no transition from *To Do* to *In Progress* for RES-1")
    assert "`[jira] pickup_statuses`" in text
    assert jira.writes() == [] and store.claim_of("RES-1", 1) is None


def test_without_the_transition_permission_jira_offers_no_transition(bridge: Bridge, jira: FakeJira,
                                                                      store: Store) -> None:
    ts = card_for(bridge, jira)
    jira.deny("transition")  # Jira then lists no transitions at all
    text = claim(bridge, "U0BOB", "RES-1#1", ts)
    assert text.startswith("Jira offers no transition from *To Do* to *In Progress* for RES-1")
    assert "Transition Issues" in text and jira.writes() == []


def test_a_refused_transition_says_the_issue_is_assigned_but_not_moved(bridge: Bridge, jira: FakeJira,
                                                                       store: Store) -> None:
    ts = card_for(bridge, jira)
    jira.fail_next("/issue/RES-1/transitions", 400, after=1)  # the list is read; the move is refused
    text = claim(bridge, "U0BOB", "RES-1#1", ts)
    assert text.startswith("RES-1 is now assigned to you in Jira, but Jira refused to move it: ")
    assert "HTTP 400" in text and jira.issues["RES-1"].assignee == BOB and jira.issues["RES-1"].status == "To Do"
    assert store.claim_of("RES-1", 1) is None
    assert store.handoffs(issue_key="RES-1")[0].cycle.state is HandoffState.OPEN


def test_stale_unknown_and_malformed_buttons_answer_politely(bridge: Bridge, jira: FakeJira) -> None:
    ts = card_for(bridge, jira)
    assert claim(bridge, "U0BOB", "RES-999#1", ts) == (
        "I can't find that handoff of RES-999 any more (deleted in Jira?). Nothing was changed.")
    assert claim(bridge, "U0BOB", "RES-1#7", ts).startswith("I can't find that handoff of RES-1")
    for value in ("", "RES-1", "#1", "RES-1#x", "x" * 200):
        assert claim(bridge, "U0BOB", value, ts) == "That Claim button is not one I can act on. Nothing was changed."
    assert jira.writes() == []


def test_a_forged_or_stale_click_is_refused_before_anything_reaches_jira(bridge: Bridge, jira: FakeJira) -> None:
    card_for(bridge, jira)
    body = slack_requests.block_actions("handoff_claim", "U0BOB", "RES-1#1", bridge.fake.response_url())
    assert bridge.post(body, secret="not-the-secret").status_code == 401
    assert bridge.post(body, age=6 * 60).status_code == 401
    assert jira.writes() == [] and bridge.store.claim_of("RES-1", 1) is None


def test_handoffs_answers_offer_claim_beside_each_open_handoff(bridge: Bridge, jira: FakeJira) -> None:
    ts = card_for(bridge, jira)
    blocks = bridge.ask("/handoffs", "", "U0BOB")["blocks"]
    [row] = [b for b in blocks if b.get("accessory")]
    assert row["accessory"]["action_id"] == "handoff_claim" and row["accessory"]["value"] == "RES-1#1"
    answer = bridge.click("handoff_claim", "U0BOB", "RES-1#1", label="Claim")  # from the private answer
    assert answer["text"].startswith("You claimed RES-1")
    assert bridge.fake.wait_for("chat.update")[0].body["ts"] == ts  # the channel's card follows


def test_a_claim_from_the_app_home_is_answered_in_a_dm_and_the_home_republished(bridge: Bridge, jira: FakeJira,
                                                                               fake: FakeSlack) -> None:
    card_for(bridge, jira)
    payload = {"type": "block_actions", "user": {"id": "U0BOB", "username": "bob", "team_id": "T0TEAM"},
               "api_app_id": "A0BRIDGE", "token": "verification-token", "trigger_id": fake.trigger_id(),
               "container": {"type": "view", "view_id": "V0HOME"}, "team": {"id": "T0TEAM", "domain": "fake"},
               "view": {"id": "V0HOME", "type": "home"},
               "actions": [{"action_id": "handoff_claim", "block_id": "b0", "value": "RES-1#1", "type": "button",
                            "action_ts": "1772636500.000001"}]}
    assert bridge.post(slack_requests.interaction(payload)).status_code == 200
    fake.wait_for("views.publish")
    [dm] = [c.body for c in fake.calls("chat.postMessage") if c.body["channel"] == "U0BOB"]
    assert dm["text"].startswith("You claimed RES-1") and jira.issues["RES-1"].assignee == BOB


def test_jira_failing_after_the_retries_changes_nothing(bridge: Bridge, jira: FakeJira, store: Store) -> None:
    ts = card_for(bridge, jira)
    jira.fail_next("/issue/RES-1/assignee", 503, times=None, retry_after=0)  # down for good
    text = claim(bridge, "U0BOB", "RES-1#1", ts)
    assert text.startswith("Jira refused the claim: ") and "503" in text and text.endswith("Nothing was changed.")
    assert len([r for r in jira.requests if r.path.endswith("/assignee")]) > 1  # it was retried
    assert jira.issues["RES-1"].assignee is None and store.claim_of("RES-1", 1) is None
    jira.clear_faults()
