"""The Bolt listeners, one module per command or surface, each with `register(app, ctx)`:
ack first, then query -> render -> respond. A command's module names it in `COMMAND`, an
event's in `EVENTS`."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.context import SlackContext
from bot.slack.listeners import claim, focus, handoff_new, handoffs, home, pipelines, research, unfurl

COMMAND_MODULES = (handoffs, focus, pipelines, research)  # each with its COMMAND
EVENT_MODULES = (home, unfurl)  # each with its EVENTS
MODULES = (*COMMAND_MODULES, *EVENT_MODULES, claim, handoff_new)


def slash_commands() -> tuple[str, ...]:
    """The slash commands the app answers (manifest.yml must declare exactly these)."""
    return tuple(module.COMMAND for module in COMMAND_MODULES)


def bot_events() -> tuple[str, ...]:
    """The events the app subscribes to (manifest.yml must declare exactly these)."""
    return tuple(event for module in EVENT_MODULES for event in module.EVENTS)


def register_all(app: App, ctx: SlackContext) -> None:
    """Add every listener to `app`."""
    for module in MODULES:
        module.register(app, ctx)
