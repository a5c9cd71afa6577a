"""`/handoffs`: ack first, then query -> render -> respond (ephemeral).

`handoffs_reply` holds the whole `/handoffs` behaviour as a plain function of the typed
text, so it can be tested without Bolt; the listener only acks and responds.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.metrics.handoffs import WINDOWS, parse_window
from bot.slack.blocks import handoffs as render
from bot.slack.blocks.kit import escape
from bot.slack.context import SlackContext
from bot.slack.errors import answering_errors
from bot.slack.listeners.common import Reply, ack_at_once
from bot.slack.listeners.handoff_new import open_new_handoff
from bot.slack.people import slack_user

log = logging.getLogger(__name__)

COMMAND = "/handoffs"

ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")


def register(app: App, ctx: SlackContext) -> None:
    """Add the `/handoffs` listener to `app`."""

    def handoffs_command(ack: Ack, respond: Respond, command: dict, client: WebClient) -> None:
        ack()
        text = command.get("text") or ""
        if text.split()[:1] == ["new"] and len(text.split()) == 1:  # the modal, on the command's trigger
            problem = open_new_handoff(client, command.get("trigger_id") or "", ctx, channel=command.get("channel_id"))
            if problem:
                respond(**Reply(render.note_blocks(escape(problem))).payload())
            return
        reply = handoffs_reply(text, command["user_id"], client, ctx, ctx.clock())
        respond(**reply.payload())

    app.command(COMMAND, middleware=[ack_at_once])(answering_errors(handoffs_command))


def handoffs_reply(text: str, user_id: str, client: WebClient, ctx: SlackContext, now: datetime) -> Reply:
    """What `/handoffs TEXT` answers to `user_id`."""
    queries = ctx.queries.handoffs
    args = text.split()
    verb = args[0].lower() if args else ""
    settings = queries.settings
    calendar, sla = queries.calendar, settings.jira.handoff_sla_workdays
    claimable = ctx.claim_handoff is not None  # Claim buttons beside open handoffs

    if verb == "help":
        return Reply(render.help_blocks())
    if verb == "stats":
        if len(args) > 2:
            return _help(f"`stats` takes one window ({', '.join(WINDOWS)}), not `{escape(' '.join(args[1:]))}`.")
        try:
            window = parse_window(args[1]) if len(args) == 2 else "30d"
        except ValueError:
            return _help(f"Unknown window `{escape(args[1])}`: use one of {', '.join(WINDOWS)}.")
        return Reply(render.stats_blocks(queries.stats(window, now), calendar))
    if verb in ("request", "withdraw"):
        return _label(verb, args, ctx)
    if verb == "team" and len(args) < 2:
        return _help("`team` needs a team name, e.g. `/handoffs team vision`.")
    known = verb in ("", "mine") or bool(ISSUE_KEY.match(verb))
    if not (verb == "team" or (known and len(args) <= 1)):
        return _help(f"I didn't understand `{escape(text.strip())}`.")

    user = slack_user(client, user_id)
    tz = ctx.queries.people.zone(user.get("tz"), user_id)
    if not verb:
        return Reply(render.open_handoffs_blocks(queries.open_handoffs(), now, calendar, tz, sla_workdays=sla,
                                                 claimable=claimable))
    if verb == "mine":
        email = (user.get("profile") or {}).get("email")
        views = queries.handoffs_of_user(user_id, email)
        return Reply(render.user_handoffs_blocks(views, now, calendar, tz, sla_workdays=sla, claimable=claimable))
    if verb == "team":
        name = " ".join(args[1:])
        team = settings.team_named(name)
        if team is None:
            teams = ", ".join(f"`{escape(t.name)}`" for t in settings.teams) or "none configured"
            return _help(f"There is no team `{escape(name)}` (teams: {teams}).")
        views = queries.open_handoffs(team=team.name)
        return Reply(render.team_handoffs_blocks(team.name, views, now, calendar, tz, sla_workdays=sla,
                                                 claimable=claimable))
    report = queries.issue_report(verb.upper())  # an issue key, checked above
    if report is None:
        return Reply(render.note_blocks(
            f"I don't know *{escape(verb.upper())}* — it may be outside the synced Jira scope"
            " (`jira.jql`), or not synced yet."
        ))
    return Reply(render.issue_timeline_blocks(report, now, calendar, tz))


def _label(verb: str, args: list[str], ctx: SlackContext) -> Reply:
    """`/handoffs request KEY` adds the handoff label in Jira; `withdraw KEY` removes it."""
    if len(args) != 2 or not ISSUE_KEY.match(args[1]):
        return _help(f"`{verb}` takes one Jira issue key, e.g. `/handoffs {verb} RES-42`.")
    if ctx.set_handoff_label is None:
        return Reply(render.note_blocks("Changing handoffs from Slack needs Jira: set JIRA_URL and its credentials."))
    outcome = ctx.set_handoff_label(args[1].upper(), verb == "request")
    if outcome.ok and ctx.refresh_cards is not None:
        ctx.refresh_cards()
    return Reply(render.note_blocks(escape(outcome.message)))


def _help(note: str) -> Reply:
    return Reply(render.help_blocks(note))
