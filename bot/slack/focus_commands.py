"""`/focus`: ack first, then query -> render -> respond (always ephemeral).

`focus_reply` holds the whole behaviour as a plain function of the typed text, so it can be
tested without Bolt; the listener only acks and responds.

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

from bot.clock import Clock
from bot.config import Settings
from bot.focus import FocusQueries
from bot.keys import issue_key
from bot.slack import blocks as render
from bot.slack import focus_blocks as fb
from bot.slack.commands import Reply, ack_at_once
from bot.slack.errors import answering_errors
from bot.store import Store

PUBLIC_URL_ENV = "BRIDGE_PUBLIC_URL"


def public_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The public base URL of this server (`BRIDGE_PUBLIC_URL`), or None when unset."""
    value = (os.environ if environ is None else environ).get(PUBLIC_URL_ENV, "").strip()
    return value.rstrip("/") or None


def register(app: App, store: Store, settings: Settings, clock: Clock) -> None:
    """Add the `/focus` listener to `app`."""
    queries = FocusQueries(store, settings)

    def focus_command(ack: Ack, respond: Respond, command: dict, client: WebClient) -> None:
        ack()
        reply = focus_reply(command.get("text") or "", command["user_id"], client, queries, clock())
        respond(**reply.payload())

    app.command("/focus", middleware=[ack_at_once])(answering_errors(focus_command))


def focus_reply(text: str, user_id: str, client: WebClient, queries: FocusQueries, now: datetime) -> Reply:
    """What `/focus TEXT` answers to `user_id`."""
    args = text.split()
    verb = args[0].lower() if args else ""
    settings = queries.settings

    if verb == "help":
        return Reply(fb.help_blocks())
    if verb == "setup" and len(args) == 1:
        key = issue_key(queries.store, user_id, now)
        return Reply(fb.setup_blocks(key, public_url()))
    if verb == "team":
        if user_id not in settings.focus.leads:
            return Reply(fb.not_a_lead_blocks())
        if len(args) < 2:
            return Reply(fb.help_blocks("`team` needs a team name, e.g. `/focus team vision`."))
        name = " ".join(args[1:])
        today = now.astimezone(queries.timezone(user_id, client, now)).date()
        report = queries.team_report(name, today)
        if report is None:
            return Reply(fb.unknown_team_blocks(name, [t.name for t in settings.teams]))
        return Reply(fb.team_blocks(report, shared_with_leads=settings.focus.share_individuals_with_leads))
    if verb:
        return Reply(fb.help_blocks(f"I didn't understand `{render.escape(text.strip())}`."))
    today = now.astimezone(queries.timezone(user_id, client, now)).date()
    person = queries.person(user_id, today)
    return Reply(fb.person_blocks(person, min_block_minutes=settings.focus.min_block_minutes))
