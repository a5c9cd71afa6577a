"""`/focus`: ack first, then query -> render -> respond (always ephemeral).

`focus_reply` holds the whole behaviour as a plain function of the typed text, so it can be
tested without Bolt; the listener only acks and responds. `/focus setup` for someone who
already has a key asks first: its "Replace my key" button (`replace_key_reply`) issues the
new key, for the person who clicked (the payload's `user`), never anyone else.

The host in the `/focus setup` lines comes from the `BRIDGE_PUBLIC_URL` environment variable
(e.g. `https://bridge.example.com`, the address the IDE plugins reach `serve` at); without it
the answer shows a clear placeholder.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Mapping

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.blocks import focus as fb
from bot.slack.blocks.kit import escape
from bot.slack.context import SlackContext
from bot.slack.errors import answering_errors
from bot.slack.listeners.common import Reply, ack_at_once
from bot.slack.people import person_zone

COMMAND = "/focus"

PUBLIC_URL_ENV = "BRIDGE_PUBLIC_URL"


def public_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The public base URL of this server (`BRIDGE_PUBLIC_URL`), or None when unset."""
    value = (os.environ if environ is None else environ).get(PUBLIC_URL_ENV, "").strip()
    return value.rstrip("/") or None


def register(app: App, ctx: SlackContext) -> None:
    """Add the `/focus` listener and its set-up buttons to `app`."""

    def focus_command(ack: Ack, respond: Respond, command: dict, client: WebClient) -> None:
        ack()
        reply = focus_reply(command.get("text") or "", command["user_id"], client, ctx, ctx.clock())
        respond(**reply.payload())

    def replace_key(ack: Ack, respond: Respond, body: dict) -> None:
        ack()
        reply = replace_key_reply(clicking_user(body), ctx, ctx.clock())
        respond(replace_original=True, **reply.payload())

    def keep_key(ack: Ack, respond: Respond) -> None:
        ack()
        respond(replace_original=True, **Reply(fb.key_kept_blocks()).payload())

    app.command(COMMAND, middleware=[ack_at_once])(answering_errors(focus_command))
    app.action(fb.REPLACE_KEY_ACTION, middleware=[ack_at_once])(answering_errors(replace_key))
    app.action(fb.KEEP_KEY_ACTION, middleware=[ack_at_once])(answering_errors(keep_key))


def clicking_user(body: dict) -> str:
    """Who clicked a button: the interaction payload's `user` (Slack signs it). Ids anywhere
    else in the payload (a button's value, `user_id`) are never used."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("interaction payload without user.id")
    return user_id


def replace_key_reply(user_id: str, ctx: SlackContext, now: datetime) -> Reply:
    """'Replace my key' clicked by `user_id`: revoke their keys, issue a new one, show the set-up."""
    key = ctx.issue_key(user_id, now)
    return Reply(fb.setup_blocks(key, public_url(), replaced=True))


def focus_reply(text: str, user_id: str, client: WebClient | None, ctx: SlackContext, now: datetime) -> Reply:
    """What `/focus TEXT` answers to `user_id` (in their timezone, refreshed from Slack when the
    cached profile is stale)."""
    queries, settings = ctx.queries.focus, ctx.settings
    args = text.split()
    verb = args[0].lower() if args else ""

    def zone():
        return person_zone(ctx.queries.people, client, user_id, now, ctx.remember_profile)

    if verb == "help":
        return Reply(fb.help_blocks())
    if verb == "setup" and len(args) == 1:
        status = queries.key_status(user_id)
        if status is not None:  # replacing would switch their IDE off: ask first
            tz = zone()
            return Reply(fb.key_exists_blocks(status, now, tz, public_url()))
        key = ctx.issue_key(user_id, now)
        return Reply(fb.setup_blocks(key, public_url()))
    if verb == "team":
        if user_id not in settings.focus.leads:
            return Reply(fb.not_a_lead_blocks())
        if len(args) < 2:
            return Reply(fb.help_blocks("`team` needs a team name, e.g. `/focus team vision`."))
        name = " ".join(args[1:])
        today = now.astimezone(zone()).date()
        report = queries.team_report(name, today)
        if report is None:
            return Reply(fb.unknown_team_blocks(name, [t.name for t in settings.teams]))
        return Reply(fb.team_blocks(report, shared_with_leads=settings.focus.share_individuals_with_leads))
    if verb:
        return Reply(fb.help_blocks(f"I didn't understand `{escape(text.strip())}`."))
    tz = zone()
    person = queries.person(user_id, now.astimezone(tz).date())
    return Reply(fb.person_blocks(person, min_block_minutes=settings.focus.min_block_minutes,
                                  key=queries.key_status(user_id), now=now, tz=tz, public_url=public_url()))
