"""`/research`: ack first, then query -> render -> respond (always ephemeral).

`research_reply` holds the whole behaviour as a plain function of the typed text, so it can be
tested without Bolt; the listener only acks and responds.
"""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, Respond

from bot.slack.blocks import research as rb
from bot.slack.context import SlackContext
from bot.slack.errors import answering_errors
from bot.slack.listeners.common import Reply, ack_at_once

COMMAND = "/research"


def register(app: App, ctx: SlackContext) -> None:
    """Add the `/research` listener to `app`."""

    def research_command(ack: Ack, respond: Respond, command: dict) -> None:
        ack()
        reply = research_reply(command.get("text") or "", command["user_id"], ctx, ctx.clock())
        respond(**reply.payload())

    app.command(COMMAND, middleware=[ack_at_once])(answering_errors(research_command))


def research_reply(text: str, user_id: str, ctx: SlackContext, now: datetime) -> Reply:
    """What `/research TEXT` answers to `user_id`."""
    queries = ctx.queries.research
    words = text.split()
    first = words[0].lower() if words else ""
    if first == "help":
        return Reply(rb.help_blocks())
    if first == "mine" and len(words) == 1:
        return Reply(rb.mine_blocks(queries.mine(user_id, now)))
    if first == "team":
        name = " ".join(words[1:])
        team = ctx.settings.team_named(name) if name else None
        if team is None:
            return Reply(rb.unknown_team_blocks(name, [t.name for t in ctx.settings.teams]))
        return Reply(rb.overview_blocks(queries.overview(now, team=team.name), team=team.name))
    if words:
        return Reply(rb.unknown_blocks(" ".join(words)))
    return Reply(rb.overview_blocks(queries.overview(now)))
