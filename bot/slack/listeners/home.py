"""App Home: a small personal dashboard published when the user opens the Home tab."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.slack.blocks import handoffs as render
from bot.slack.context import SlackContext
from bot.slack.people import slack_user

EVENTS = ("app_home_opened",)


def register(app: App, ctx: SlackContext) -> None:
    """Add the `app_home_opened` listener to `app` (events are acked by Bolt)."""

    def app_home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(client, event["user"], ctx)

    app.event("app_home_opened")(app_home_opened)


def publish_home(client: WebClient, user_id: str, ctx: SlackContext) -> None:
    """Render and `views.publish` the Home tab of one user."""
    queries, now = ctx.queries.handoffs, ctx.clock()
    user = slack_user(client, user_id)
    email = (user.get("profile") or {}).get("email")
    blocks = render.home_blocks(
        queries.handoffs_of_user(user_id, email),
        len(queries.open_handoffs()),
        now,
        queries.calendar,
        ctx.queries.people.zone(user.get("tz"), user_id),
        sla_workdays=queries.settings.jira.handoff_sla_workdays,
        claimable=ctx.claim_handoff is not None,
    )
    client.views_publish(user_id=user_id, view=View(type="home", blocks=blocks))
