"""`/pipelines`: ack first, then query -> render -> respond (always ephemeral).

`pipelines_reply` holds the whole behaviour as a plain function of the typed text, so it can
be tested without Bolt; the listener only acks and responds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.clock import Clock, zone_named
from bot.config import Settings
from bot.pipelines import PipelineQueries
from bot.slack import pipeline_blocks as pb
from bot.slack.commands import Reply, ack_at_once, slack_user, user_timezone
from bot.slack.errors import answering_errors
from bot.store import Store
from bot.store.times import from_db_time

PROFILE_MAX_AGE = timedelta(days=7)


def register(app: App, store: Store, settings: Settings, clock: Clock) -> None:
    """Add the `/pipelines` listener to `app`."""
    queries = PipelineQueries(store, settings)

    def pipelines_command(ack: Ack, respond: Respond, command: dict, client: WebClient) -> None:
        ack()
        reply = pipelines_reply(command.get("text") or "", command["user_id"], client, queries, store, clock())
        respond(**reply.payload())

    app.command("/pipelines", middleware=[ack_at_once])(answering_errors(pipelines_command))


def pipelines_reply(
    text: str, user_id: str, client: WebClient | None, queries: PipelineQueries, store: Store, now: datetime
) -> Reply:
    """What `/pipelines TEXT` answers to `user_id`."""
    name = " ".join(text.split())
    if name.lower() == "help":
        return Reply(pb.help_blocks())
    if not name:
        overview = queries.overview(now)
        if not overview.month and not store.pipeline_names():
            return Reply(pb.empty_blocks())
        return Reply(pb.overview_blocks(overview))
    detail = queries.detail(name, now)
    if detail is None:
        suggestions = queries.matching(name)
        if not suggestions and not store.pipeline_names():
            return Reply(pb.empty_blocks())
        return Reply(pb.unknown_pipeline_blocks(name, suggestions))
    tz = caller_timezone(store, client, user_id, queries.settings.tz, now)
    return Reply(pb.detail_blocks(detail, tz))


def caller_timezone(store: Store, client: WebClient | None, user_id: str, default: ZoneInfo,
                    now: datetime) -> ZoneInfo:
    """The caller's Slack timezone: the profile `/focus` caches when it is fresh, else
    `users.info` (read only: refreshing the cache is `/focus`'s job, it recuts rollups),
    else the organisation's."""
    profile = store.profile(user_id)
    updated = from_db_time((profile or {}).get("updated_at"))
    if profile and profile.get("tz") and updated and now - updated < PROFILE_MAX_AGE:
        zone = zone_named(profile["tz"])
        if zone is not None:
            return zone
    if client is None:
        return default
    return user_timezone(slack_user(client, user_id), default)
