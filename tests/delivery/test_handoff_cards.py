"""Handoff cards end to end: signed Jira webhooks and the Jira sync (against the fake Jira)
into the real app on loopback, cards reaching the fake Slack, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Iterator

import pytest

from bot.config import Settings
from bot.delivery.handoff_cards import CardSync, sync_cards
from bot.jobs import Services, run_job
from bot.slack.app import posting_client
from bot.store import Store
from tests.fakes.fake_jira import FakeJira
from tests.fakes.fake_slack import FakeSlack
from tests.support.bridge import Bridge, joined, posted_card, running_bridge, slack_settings
from tests.support.webhooks import post_jira

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday, in work hours
TOKEN = "xoxb-cards-token"
SECRET = "cards-signing-secret-0123456789"
WEBHOOK_SECRET = "whsec-cards-0123456789"
HANDOFF = "research-handoff"
VISION = "C0VISION"
CONFIG = {
    "timezone": "UTC",
    "jira": {"jql": "project in (RES, OPS)"},
    "team": [{"name": "vision", "jira_projects": ["RES"], "channel": VISION, "leads": ["U0LEAD"]},
             {"name": "platform", "jira_projects": ["OPS"]}],
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira("Cloud") as jira:
        yield jira


def make_settings(fake: FakeSlack, jira: FakeJira, config: dict = CONFIG) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, config, **jira.env(), JIRA_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
def bridge(fake: FakeSlack, jira: FakeJira, store: Store) -> Iterator[Bridge]:
    with running_bridge(make_settings(fake, jira), store, fake, NOW) as bridge:
        yield bridge


def hand_over(jira: FakeJira, key: str, at: datetime, summary: str = "Distilled ranker v2"):
    """An issue created an hour before `at`, labelled for handoff at `at`: (issue, history)."""
    issue = jira.add_issue(key, at - timedelta(hours=1), summary=summary)
    return issue, issue.add_label(at, HANDOFF)


def deliver(bridge: Bridge, jira: FakeJira, key: str, history, delivery: str | None = None) -> None:
    payload = jira.webhook_payload("jira:issue_updated", key, history, user=history.author)  # who made it
    assert post_jira(bridge.url, payload, WEBHOOK_SECRET, delivery).status_code == 200


def cards_job(bridge: Bridge) -> str:
    """`jobs run handoff-cards` in a process of its own (a new card sync on the same store)."""
    return run_job("handoff-cards", Services(bridge.settings, bridge.store, lambda: NOW))


def test_a_handoff_requested_in_jira_gets_one_card_in_its_teams_channel(bridge: Bridge, jira: FakeJira) -> None:
    _, history = hand_over(jira, "RES-1", NOW - timedelta(hours=1), summary="Distil <teacher> & student")
    deliver(bridge, jira, "RES-1", history)
    [call] = bridge.fake.wait_for("chat.postMessage")
    body = call.body
    assert body["channel"] == VISION
    text = joined(body["blocks"])
    assert f"<{jira.url}/browse/RES-1|RES-1>" in text and "Distil &lt;teacher&gt; &amp; student" in text
    assert "Handed over by Alice Researcher" in text and "team *vision*" in text
    # SLA: 3 workdays of 9 h from Wed 14:00 UTC is Mon 14:00 UTC, shown in each reader's zone
    due = int(datetime(2026, 3, 9, 14, 0, tzinfo=UTC).timestamp())
    assert f"pick-up SLA (3 workdays) due <!date^{due}^" in text
    [actions] = [b for b in body["blocks"] if b["type"] == "actions"]
    claim, open_in_jira = actions["elements"]
    assert (claim["action_id"], claim["value"], claim["style"]) == ("handoff_claim", "RES-1#1", "primary")
    assert open_in_jira["url"] == f"{jira.url}/browse/RES-1"
    assert body["metadata"] == {"event_type": "research_bridge_handoff", "event_payload": {"issue": "RES-1", "cycle": 1}}
    assert "RES-1" in body["text"] and "<!date" not in body["text"]  # the notification reads as plain text


def test_one_card_across_redeliveries_the_sync_and_a_restart(bridge: Bridge, jira: FakeJira, fake: FakeSlack,
                                                            store: Store) -> None:
    _, history = hand_over(jira, "RES-2", NOW - timedelta(hours=2))
    deliver(bridge, jira, "RES-2", history, delivery="d-1")
    fake.wait_for("chat.postMessage")
    deliver(bridge, jira, "RES-2", history, delivery="d-1")  # Jira redelivers
    deliver(bridge, jira, "RES-2", history)  # the same change under a new delivery id
    assert "0 cards posted" in run_job("jira-sync", Services(bridge.settings, store, lambda: NOW))
    with running_bridge(bridge.settings, store, fake, NOW) as restarted:  # a restart of the server
        deliver(restarted, jira, "RES-2", history)
        assert cards_job(restarted).startswith("0 cards posted, 0 updated")
    assert len(fake.calls("chat.postMessage")) == 1


def test_a_first_sync_of_old_handoffs_posts_no_cards(bridge: Bridge, jira: FakeJira, fake: FakeSlack,
                                                    store: Store) -> None:
    for n in range(1, 6):  # requested 2-6 days ago: before card_lookback_hours (24)
        hand_over(jira, f"RES-{n}", NOW - timedelta(days=n + 1))
    hand_over(jira, "RES-9", NOW - timedelta(hours=3))  # the only recent one
    result = run_job("jira-sync", Services(bridge.settings, store, lambda: NOW))
    assert result.endswith("1 cards posted, 0 updated")
    [call] = fake.calls("chat.postMessage")
    assert "|RES-9>" in joined(call.body["blocks"])


def test_a_team_without_a_channel_gets_no_card_and_nothing_breaks(bridge: Bridge, jira: FakeJira,
                                                                 fake: FakeSlack) -> None:
    _, history = hand_over(jira, "OPS-1", NOW - timedelta(hours=1))
    deliver(bridge, jira, "OPS-1", history)
    assert cards_job(bridge).startswith("0 cards posted")
    assert fake.calls("chat.postMessage") == [] and bridge.store.count("handoff_cycles") == 1


def test_the_card_follows_its_handoff_and_is_final_once_delivered(bridge: Bridge, jira: FakeJira,
                                                                 fake: FakeSlack) -> None:
    issue, history = hand_over(jira, "RES-3", NOW - timedelta(hours=20))
    deliver(bridge, jira, "RES-3", history)
    ts = posted_card(fake, VISION)
    picked = issue.transition(NOW - timedelta(hours=2), "In Progress")
    deliver(bridge, jira, "RES-3", picked)
    [update] = fake.wait_for("chat.update")
    assert (update.body["channel"], update.body["ts"]) == (VISION, ts)
    text = joined(update.body["blocks"])
    # requested Tue 19:00 (after hours), picked up Wed 13:00: 4 business hours of a 9-hour day
    assert ":white_check_mark: Picked up by Bob Engineer after 0.4 bd" in text
    assert all(b["type"] != "actions" for b in update.body["blocks"])  # no Claim button any more
    deliver(bridge, jira, "RES-3", picked)  # nothing changed: no update
    done = issue.transition(NOW - timedelta(hours=1), "Done")
    deliver(bridge, jira, "RES-3", done)
    second = fake.wait_for("chat.update", count=2)[1]
    assert ":rocket: Delivered" in joined(second.body["blocks"])
    deliver(bridge, jira, "RES-3", issue.edit_summary(NOW - timedelta(minutes=30), "Renamed after delivery"))
    cards_job(bridge)
    assert len(fake.calls("chat.update")) == 2  # a delivered card is final


def test_withdrawal_removes_the_button_and_a_readded_label_is_a_new_card(bridge: Bridge, jira: FakeJira,
                                                                        fake: FakeSlack) -> None:
    issue, history = hand_over(jira, "RES-4", NOW - timedelta(hours=5))
    deliver(bridge, jira, "RES-4", history)
    fake.wait_for("chat.postMessage")
    deliver(bridge, jira, "RES-4", issue.remove_label(NOW - timedelta(hours=4), HANDOFF))
    [update] = fake.wait_for("chat.update")
    assert ":leftwards_arrow_with_hook: Withdrawn by research" in joined(update.body["blocks"])
    assert all(b["type"] != "actions" for b in update.body["blocks"])
    deliver(bridge, jira, "RES-4", issue.add_label(NOW - timedelta(hours=1), HANDOFF))
    first, second = fake.wait_for("chat.postMessage", count=2)
    assert second.body["metadata"]["event_payload"] == {"issue": "RES-4", "cycle": 2}
    assert [b for b in second.body["blocks"] if b["type"] == "actions"][0]["elements"][0]["value"] == "RES-4#2"


def test_a_post_whose_answer_was_lost_is_found_in_the_channel_not_posted_twice(fake: FakeSlack, jira: FakeJira,
                                                                               store: Store) -> None:
    settings = make_settings(fake, jira)
    issue, _ = hand_over(jira, "RES-5", NOW - timedelta(hours=1))
    run_job("jira-sync", Services(slack_settings(fake, TOKEN, SECRET, {**CONFIG, "team": []}, **jira.env()),
                                  store, lambda: NOW))  # stored, no team channels: no card yet
    fake.reset()
    fake.fail_next("chat.postMessage", status=500, after_success=True)  # posted, but the answer is lost
    run = sync_cards(store, settings, posting_client(settings), NOW, sleep=lambda s: None)
    assert (run.posted, run.failed) == (1, [])
    assert len(fake.calls("chat.postMessage")) == 1 and fake.calls("conversations.history")
    again = CardSync(store, settings, posting_client(settings), lambda: NOW).request()
    assert again is not None and (again.posted, again.updated) == (0, 0)
    assert len(fake.calls("chat.postMessage")) == 1
