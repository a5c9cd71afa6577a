"""The fake Slack's interactive surfaces answer as Slack does, driven through the real
slack_sdk WebClient: modals (views.open / push / update), unfurls, permalinks, and chat.update
of the messages it holds."""

from __future__ import annotations

from typing import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.fake_slack import FakeSlack

TOKEN = "xoxb-surfaces-token"
CHANNEL = "C0SURFACES"


def modal(title: str = "Hand over", **extra: object) -> dict:
    return {"type": "modal", "callback_id": "handoff_modal", "title": {"type": "plain_text", "text": title},
            "submit": {"type": "plain_text", "text": "Hand over"},
            "blocks": [{"type": "input", "block_id": "note", "label": {"type": "plain_text", "text": "Note"},
                        "element": {"type": "plain_text_input", "action_id": "note"}}], **extra}


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_error(call) -> dict:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.data


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture(scope="module")
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


def test_a_trigger_opens_one_modal_and_only_once(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id()
    view = client.views_open(trigger_id=trigger, view=modal(private_metadata="RES-1#1"))["view"]
    assert view["id"].startswith("V") and view["hash"] and view["state"] == {"values": {}}
    assert (view["team_id"], view["app_id"], view["root_view_id"]) == (fake.team_id, fake.app_id, view["id"])
    assert (view["title"]["text"], view["callback_id"], view["private_metadata"]) == ("Hand over", "handoff_modal",
                                                                                      "RES-1#1")
    assert fake.views == {view["id"]: view}
    assert slack_error(lambda: client.views_open(trigger_id=trigger, view=modal()))["error"] == "exchanged_trigger_id"
    assert slack_error(lambda: client.views_open(trigger_id="not-a-trigger", view=modal()))["error"] == \
        "invalid_trigger_id"
    assert len(fake.views) == 1


def test_a_trigger_expires_and_one_from_a_payload_is_accepted_once(fake: FakeSlack, client: WebClient) -> None:
    fake.trigger_ttl = 0.0
    late = fake.trigger_id()
    assert slack_error(lambda: client.views_open(trigger_id=late, view=modal()))["error"] == "expired_trigger_id"
    fixture_trigger = "13345224609.738474920.8088930838d88f008e0"  # not minted by the fake
    assert client.views_open(trigger_id=fixture_trigger, view=modal())["ok"]
    assert slack_error(lambda: client.views_open(trigger_id=fixture_trigger, view=modal()))["error"] == \
        "exchanged_trigger_id"


def test_a_modal_slack_would_refuse_is_invalid_arguments_naming_the_field(fake: FakeSlack,
                                                                          client: WebClient) -> None:
    trigger = fake.trigger_id()
    refused = slack_error(lambda: client.views_open(trigger_id=trigger, view=modal("A title of twenty-five ch")))
    assert refused["error"] == "invalid_arguments"
    assert refused["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"]
    too_many = modal(blocks=[section(str(n)) for n in range(101)])
    assert "101 blocks > 100" in slack_error(lambda: client.views_open(trigger_id=trigger, view=too_many))[
        "response_metadata"]["messages"][0]
    no_submit = {k: v for k, v in modal().items() if k != "submit"}
    assert "submit is required" in slack_error(lambda: client.views_open(trigger_id=trigger, view=no_submit))[
        "response_metadata"]["messages"][0]
    assert fake.views == {}
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]  # a refused view spent no trigger


def test_views_update_replaces_the_view_and_refuses_a_stale_hash(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.trigger_id(), view=modal(external_id="handoff-RES-1"))["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"],
                                  view=modal("Handed over", blocks=[section("Done")]))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert fake.views[opened["id"]]["blocks"] == [section("Done")]
    assert fake.views[opened["id"]]["external_id"] == "handoff-RES-1"  # kept
    stale = slack_error(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal()))
    assert stale["error"] == "hash_conflict"
    assert client.views_update(external_id="handoff-RES-1", view=modal("By external id"))["ok"]
    assert slack_error(lambda: client.views_update(view_id="V0NOPE", view=modal()))["error"] == "not_found"


def test_views_push_stacks_onto_the_modal_the_trigger_came_from(fake: FakeSlack, client: WebClient) -> None:
    root = client.views_open(trigger_id=fake.trigger_id(), view=modal())["view"]
    pushed = client.views_push(trigger_id=fake.trigger_id(root["id"]), view=modal("Details"))["view"]
    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (root["id"], root["id"])
    third = client.views_push(trigger_id=fake.trigger_id(pushed["id"]), view=modal("More"))["view"]
    fourth = slack_error(lambda: client.views_push(trigger_id=fake.trigger_id(third["id"]), view=modal()))
    assert fourth["error"] == "push_limit_reached"


def test_unfurls_are_recorded_and_bad_json_is_refused(fake: FakeSlack, client: WebClient) -> None:
    url = "https://jira.example.com/browse/RES-1"
    unfurls = {url: {"blocks": [section("*RES-1* Distilled ranker v2")]}}
    assert client.chat_unfurl(channel=CHANNEL, ts="1700000000.000100", unfurls=unfurls)["ok"]
    assert client.chat_unfurl(source="composer", unfurl_id="Uxxxxxxx-909b5454", unfurls={url: {"text": "RES-1"}})["ok"]
    assert fake.unfurls == [(CHANNEL, "1700000000.000100", unfurls), (None, None, {url: {"text": "RES-1"}})]
    bad_json = slack_error(lambda: client.chat_unfurl(channel=CHANNEL, ts="1700000000.000100", unfurls="{not json"))
    assert bad_json["error"] == "invalid_unfurls_format"
    too_long = {url: {"blocks": [section("x" * 3001)]}}
    assert slack_error(lambda: client.chat_unfurl(channel=CHANNEL, ts="1.2", unfurls=too_long))["error"] == \
        "invalid_blocks"
    assert slack_error(lambda: client.chat_unfurl(channel=CHANNEL, unfurls=unfurls))["error"] == "missing_ts"
    assert len(fake.unfurls) == 2


def test_permalinks_follow_slacks_shape_and_channel_rules(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=ts)
    assert (link["channel"], link["permalink"]) == (CHANNEL, f"https://fake.slack.com/archives/{CHANNEL}/p"
                                                             f"{ts.replace('.', '')}")
    reply = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=ts)["ts"]
    assert client.chat_getPermalink(channel=CHANNEL, message_ts=reply)["permalink"].endswith(
        f"?thread_ts={ts}&cid={CHANNEL}")
    fake.add_channel("C0SECRET", private=True, member=False)
    assert slack_error(lambda: client.chat_getPermalink(channel="C0SECRET", message_ts=ts))["error"] == \
        "channel_not_found"


def test_chat_update_needs_the_message_and_replaces_what_is_stored(fake: FakeSlack, client: WebClient) -> None:
    unknown = slack_error(lambda: client.chat_update(channel=CHANNEL, ts="1700000000.999999", text="x"))
    assert unknown["error"] == "message_not_found"
    posted = client.chat_postMessage(channel=CHANNEL, text="Handoff RES-1", blocks=[section("Waiting")],
                                     metadata={"event_type": "card", "event_payload": {"issue": "RES-1"}})
    before = fake.message(CHANNEL, posted["ts"])
    answer = client.chat_update(channel=CHANNEL, ts=posted["ts"], text="Picked up", blocks=[section("Picked up")])
    assert answer["message"]["blocks"] == [section("Picked up")]
    now = fake.message(CHANNEL, posted["ts"])
    assert (now["text"], now["blocks"], now["metadata"]["event_type"]) == ("Picked up", [section("Picked up")], "card")
    assert fake.messages(CHANNEL) == [now] and before["blocks"] == [section("Waiting")]
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="Plain text now")
    assert fake.message(CHANNEL, posted["ts"])["blocks"] == []  # text alone: Slack drops the blocks
    too_many = [section(str(n)) for n in range(51)]
    assert slack_error(lambda: client.chat_update(channel=CHANNEL, ts=posted["ts"], text="x", blocks=too_many))["error"] == \
        "invalid_blocks"
    fake.channel(CHANNEL).messages.append({"type": "message", "user": "U0ALICE", "ts": "1700000001.000001",
                                           "text": "hi"})
    assert slack_error(lambda: client.chat_update(channel=CHANNEL, ts="1700000001.000001", text="x"))["error"] == \
        "cant_update_message"


def test_reset_forgets_views_unfurls_and_triggers(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id()
    client.views_open(trigger_id=trigger, view=modal())
    client.chat_unfurl(channel=CHANNEL, ts="1.2", unfurls={"https://x.example/": {"text": "x"}})
    fake.trigger_ttl = None
    fake.reset()
    assert (fake.views, fake.unfurls, fake.trigger_ttl) == ({}, [], 3.0)
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]  # a fresh test may reuse a fixture's trigger
