"""Requests as Slack sends them: slash-command forms, signed with the app's signing secret.

Shared by the tests and the benchmarks, so every one of them exercises the same signing."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"


def slash_form(command: str, text: str, user: str, response_url: str) -> str:
    """The url-encoded body of a slash command, with the fields Slack sends."""
    return urlencode({
        "token": "verification-token", "team_id": "T0TEAM", "team_domain": "fake", "channel_id": "C0GENERAL",
        "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": command, "text": text,
        "api_app_id": "A0BRIDGE", "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    })


def slash_body(fake, command: str, text: str, user: str) -> tuple[str, str]:
    """A slash-command body with a fresh response_url of the fake Slack; (body, response_url)."""
    response_url = fake.response_url()
    return slash_form(command, text, user, response_url), response_url


def signed_headers(secret: str, body: str, *, age: int = 0, signature: str | None = None,
                   content_type: str = FORM) -> dict[str, str]:
    """X-Slack-Signature and X-Slack-Request-Timestamp for `body` (`age` seconds old)."""
    ts = str(int(time.time()) - age)
    sig = signature or SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def signed_post(url: str, body: str, secret: str, **kwargs) -> httpx.Response:
    """POST `body` to the app's /slack/events, signed (see `signed_headers` for kwargs)."""
    return httpx.post(url + "/slack/events", content=body.encode(), headers=signed_headers(secret, body, **kwargs),
                      timeout=10)


def block_actions(action_id: str, user: str, value: str, response_url: str, *, block_id: str = "b0",
                  channel: str = "C0GENERAL", message_ts: str = "1749826800.000200", ephemeral: bool = True,
                  label: str = "Button", **extra: object) -> str:
    """The form body of a button click (`block_actions`), as Slack sends it for a message's
    button (`ephemeral`: in a private answer, else in a channel message)."""
    payload = {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "name": user.lower(),
                                          "team_id": "T0TEAM"},
        "api_app_id": "A0BRIDGE", "token": "verification-token", "trigger_id": "13345224609.738474920.8088930838d88",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": ephemeral},
        "team": {"id": "T0TEAM", "domain": "fake"}, "enterprise": None, "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()}, "state": {"values": {}}, "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
                     "text": {"type": "plain_text", "text": label, "emoji": True}, "action_ts": "1749826900.123456"}],
        **extra,
    }
    return interaction(payload)


def interaction(payload: dict) -> str:
    """The form body Slack posts for an interaction (`payload=` JSON)."""
    return urlencode({"payload": json.dumps(payload)})


def _who(user: str) -> dict:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"}


def view_submission(callback_id: str, user: str, values: dict, private_metadata: str = "{}") -> str:
    """A modal's submit (`view_submission`); `values`: block id -> the input's state value."""
    view = {"id": "V0MODAL0001", "team_id": "T0TEAM", "type": "modal", "callback_id": callback_id,
            "private_metadata": private_metadata, "hash": "1772636400.abcdef",
            "title": {"type": "plain_text", "text": "Hand off to engineering"},
            "state": {"values": {block: {"value": value} for block, value in values.items()}}}
    return interaction({"type": "view_submission", "team": {"id": "T0TEAM", "domain": "fake"}, "user": _who(user),
                        "api_app_id": "A0BRIDGE", "token": "verification-token",
                        "trigger_id": "13345224609.738474920.8088930838d88f008e1", "view": view,
                        "response_urls": [], "is_enterprise_install": False})


def message_shortcut(callback_id: str, user: str, channel: str, message_ts: str, text: str, trigger_id: str) -> str:
    """A message shortcut (`message_action`) on the message `message_ts` of `channel`."""
    return interaction({"type": "message_action", "callback_id": callback_id, "trigger_id": trigger_id,
                        "team": {"id": "T0TEAM", "domain": "fake"}, "channel": {"id": channel, "name": channel.lower()},
                        "user": _who(user), "token": "verification-token", "action_ts": "1772636500.000001",
                        "message": {"type": "message", "user": user, "ts": message_ts, "text": text},
                        "response_url": "https://hooks.slack.com/app/T0TEAM/1/abc", "is_enterprise_install": False})


def text_input(value: str) -> dict:
    return {"type": "plain_text_input", "value": value}


def selected(value: str | None) -> dict:
    option = None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}
    return {"type": "static_select", "selected_option": option}
