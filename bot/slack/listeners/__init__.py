"""The Bolt listeners, one module per command or surface, each with `register(app, ctx)`:
ack first, then query -> render -> respond."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.context import SlackContext
from bot.slack.listeners import focus, handoffs, home, pipelines

MODULES = (handoffs, home, focus, pipelines)


def register_all(app: App, ctx: SlackContext) -> None:
    """Add every listener to `app`."""
    for module in MODULES:
        module.register(app, ctx)
