"""Handing off from Slack: the modal `/handoffs new` and the "Hand off to engineering"
message shortcut open, and its submission (checked inline, then the Jira issue created after
the modal closes; the person gets a DM saying what happened)."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks.handoff_modal import CALLBACK_ID, SHORTCUT_ID, new_handoff_view, read_submission
from bot.slack.context import SlackContext

log = logging.getLogger(__name__)


def open_new_handoff(client: WebClient, trigger_id: str, ctx: SlackContext, description: str = "",
                     channel: str | None = None) -> str | None:
    """Open the modal; None, or why it cannot be opened (said to the person)."""
    if ctx.create_handoff is None:
        return "Handing off from Slack needs Jira: set JIRA_URL and its credentials."
    projects = ctx.queries.handoffs.projects()
    if not projects:
        return "There is no synced Jira project to create the issue in yet: run `research-bridge sync jira` first."
    view = new_handoff_view(projects, ctx.settings.teams, description, channel)
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        return "Slack would not open the form (the click may have expired): please try again."
    return None


def register(app: App, ctx: SlackContext) -> None:
    """Add the modal's submission and the message shortcut to `app`."""

    def submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        handoff, errors = read_submission(view, ctx.queries.handoffs.projects(), ctx.settings.teams)
        if handoff is None or ctx.create_handoff is None:
            ack(response_action="errors", errors=errors or {"summary": "Handing off from Slack needs Jira."})
            return
        ack()  # the modal closes now; Jira is written after
        user = (body.get("user") or {}).get("id") or ""
        outcome = ctx.create_handoff(handoff.project, handoff.summary, handoff.description)
        if outcome.ok and ctx.refresh_cards is not None:
            ctx.refresh_cards()
        _tell(client, user, outcome.message)

    def from_message(ack: Ack, shortcut: dict, client: WebClient) -> None:
        ack()
        message = shortcut.get("message") or {}
        channel = str((shortcut.get("channel") or {}).get("id") or "")
        text = str(message.get("text") or "")
        try:
            link = client.chat_getPermalink(channel=channel, message_ts=str(message.get("ts") or ""))["permalink"]
            text = f"{text}\n\nFrom Slack: {link}"
        except SlackApiError as exc:
            log.warning("chat.getPermalink failed: %s", exc.response.get("error"))
        problem = open_new_handoff(client, shortcut.get("trigger_id") or "", ctx, text.strip(), channel)
        if problem:
            _tell(client, (shortcut.get("user") or {}).get("id") or "", problem)

    app.view(CALLBACK_ID)(submitted)
    app.shortcut(SHORTCUT_ID)(from_message)


def _tell(client: WebClient, user: str, text: str) -> None:
    """A DM from the app to `user` (its Messages tab)."""
    try:
        client.chat_postMessage(channel=user, text=text)
    except SlackApiError as exc:
        log.warning("could not tell %s: %s", user, exc.response.get("error"))

