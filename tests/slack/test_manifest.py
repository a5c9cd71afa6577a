"""manifest.yml (the Slack app, created by pasting it) matches what the code does: every
slash command the app registers, one request URL, and a scope for every Web API method
the bot calls."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import yaml

from bot.slack.blocks.handoff_modal import SHORTCUT_ID
from bot.slack.listeners import bot_events, slash_commands
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support import ROOT, slack_requests
from tests.support.bridge import running_bridge, slack_settings

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# The bot-token scope each Web API method needs (https://api.slack.com/methods/<method>).
SCOPES = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_unfurl": {"links:write"},
    "chat_getPermalink": set(),
    "views_open": set(),
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_replies": {"channels:history", "groups:history"},
    "conversations_info": {"channels:read", "groups:read"},
    "conversations_open": {"im:write"},
    "files_upload_v2": {"files:write"},
    "usergroups_list": {"usergroups:read"},
    "usergroups_users_list": {"usergroups:read"},
    "users_info": {"users:read"},
    "users_lookupByEmail": {"users:read.email"},
    "views_publish": set(),
    "auth_test": set(),
}
NOT_SLACK = {"enhanced_search_issues", "search_issues", "server_info", "search_users", "transition_issue"}  # jira's


def slack_methods_called() -> set[str]:
    calls = set()
    for path in (ROOT / "bot").rglob("*.py"):
        calls |= set(re.findall(r"client\.([a-z]+_[A-Za-z0-9_]+)\(", path.read_text()))
    return calls - NOT_SLACK


def test_every_slack_method_the_bot_calls_has_its_scope_in_the_manifest():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = slack_methods_called()
    assert called - set(SCOPES) == set(), "add the new method's scope to SCOPES and manifest.yml"
    missing = {m: SCOPES[m] - scopes for m in called if SCOPES[m] - scopes}
    assert missing == {}
    assert {"commands", "chat:write.public"} <= scopes


def test_the_slash_commands_and_events_share_one_request_url():
    commands = {c["command"]: c for c in MANIFEST["features"]["slash_commands"]}
    assert sorted(commands) == sorted(slash_commands())
    urls = {c["url"] for c in commands.values()}
    urls.add(MANIFEST["settings"]["event_subscriptions"]["request_url"])
    urls.add(MANIFEST["settings"]["interactivity"]["request_url"])
    assert urls == {"https://YOUR-HOST.example.com/slack/events"}
    assert sorted(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == sorted(bot_events())
    assert MANIFEST["features"]["unfurl_domains"]  # link_shared comes only for these domains
    assert [s["callback_id"] for s in MANIFEST["features"]["shortcuts"]] == [SHORTCUT_ID]


def test_the_app_answers_exactly_the_commands_it_declares(tmp_path):
    """Each command of `slash_commands()` is registered on the real app (acknowledged, then
    answered at its response_url); one that is not gets Bolt's 404."""
    token, secret = "xoxb-manifest-token", "manifest-signing-secret-0123"
    with FakeSlack(tokens=(token,)) as fake:
        fake.add_user("U0ANA", "ana", real_name="Ana Engineer")
        settings = slack_settings(fake, token, secret, {})
        with running_bridge(settings, Store(tmp_path / "bridge.db"), fake, datetime.now(UTC)) as bridge:
            for command in slash_commands():
                assert command in str(bridge.ask(command, "help", "U0ANA")), command
            body, _ = slack_requests.slash_body(fake, "/not-ours", "", "U0ANA")
            assert bridge.post(body).status_code == 404
