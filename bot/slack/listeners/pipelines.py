"""`/pipelines`: ack first, then query -> render -> respond (always ephemeral).

`pipelines_reply` holds the whole behaviour as a plain function of the typed text, so it can
be tested without Bolt; the listener only acks and responds.
"""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.blocks import pipelines as pb
from bot.slack.context import SlackContext
from bot.slack.errors import answering_errors
from bot.slack.listeners.common import Reply, ack_at_once
from bot.slack.people import person_zone

COMMAND = "/pipelines"


def register(app: App, ctx: SlackContext) -> None:
    """Add the `/pipelines` listener to `app`."""

    def pipelines_command(ack: Ack, respond: Respond, command: dict, client: WebClient) -> None:
        ack()
        reply = pipelines_reply(command.get("text") or "", command["user_id"], client, ctx, ctx.clock())
        respond(**reply.payload())

    app.command(COMMAND, middleware=[ack_at_once])(answering_errors(pipelines_command))


def pipelines_reply(text: str, user_id: str, client: WebClient | None, ctx: SlackContext, now: datetime) -> Reply:
    """What `/pipelines TEXT` answers to `user_id` (in their timezone: the cached profile while
    fresh, else `users.info`, read only: refreshing the cache is `/focus`'s job)."""
    queries = ctx.queries.pipelines
    name = " ".join(text.split())
    if name.lower() == "help":
        return Reply(pb.help_blocks())
    if not name:
        overview = queries.overview(now)
        if not overview.month and not queries.pipeline_names():
            return Reply(pb.empty_blocks())
        return Reply(pb.overview_blocks(overview))
    detail = queries.detail(name, now)
    if detail is None:
        suggestions = queries.matching(name)
        if not suggestions and not queries.pipeline_names():
            return Reply(pb.empty_blocks())
        return Reply(pb.unknown_pipeline_blocks(name, suggestions))
    tz = person_zone(ctx.queries.people, client, user_id, now)
    return Reply(pb.detail_blocks(detail, tz))
