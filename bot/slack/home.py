"""App Home: a small personal dashboard published when the user opens the Home tab."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.clock import Clock
from bot.slack import blocks as render
from bot.slack.commands import QueriesFactory, slack_user, user_timezone


def register(app: App, queries_factory: QueriesFactory, clock: Clock) -> None:
    """Add the `app_home_opened` listener to `app` (events are acked by Bolt)."""

    def app_home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(client, event["user"], queries_factory, clock)

    app.event("app_home_opened")(app_home_opened)


def publish_home(client: WebClient, user_id: str, queries_factory: QueriesFactory, clock: Clock) -> None:
    """Render and `views.publish` the Home tab of one user."""
    queries, now = queries_factory(), clock()
    user = slack_user(client, user_id)
    email = (user.get("profile") or {}).get("email")
    blocks = render.home_blocks(
        queries.handoffs_of_user(user_id, email),
        len(queries.open_handoffs()),
        now,
        queries.calendar,
        user_timezone(user, queries.settings.tz),
        sla_workdays=queries.settings.jira.handoff_sla_workdays,
    )
    client.views_publish(user_id=user_id, view=View(type="home", blocks=blocks))
