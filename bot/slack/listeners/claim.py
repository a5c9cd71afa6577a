"""The Claim button (cards, `/handoffs` answers, the App Home): ack at once, then the Jira
writes, then the card brought up to date and the clicker told privately what happened."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.blocks.cards import CLAIM_ACTION, OPEN_ACTION, parse_claim_value
from bot.slack.context import SlackContext
from bot.slack.errors import answering_errors
from bot.slack.listeners.common import ack_at_once
from bot.slack.listeners.home import publish_home
from bot.slack.people import slack_user


def register(app: App, ctx: SlackContext) -> None:
    """Add the Claim (and the Open in Jira link button's) action listeners to `app`."""

    def claim(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        user_id = (body.get("user") or {}).get("id") or ""
        action = (body.get("actions") or [{}])[0]
        target = parse_claim_value(str(action.get("value") or ""))
        if target is None or ctx.claim_handoff is None:
            refusal = "That Claim button is not one I can act on. Nothing was changed."
            if body.get("response_url"):
                respond(text=refusal, response_type="ephemeral", replace_original=False)
            else:
                client.chat_postMessage(channel=user_id, text=refusal)
            return
        email = (slack_user(client, user_id).get("profile") or {}).get("email")
        outcome = ctx.claim_handoff(target[0], target[1], user_id, email, ctx.clock())
        if outcome.ok and ctx.refresh_card is not None:
            ctx.refresh_card(*target)
        if body.get("response_url"):  # a message: a card, an answer, an unfurl
            respond(text=outcome.message, response_type="ephemeral", replace_original=False)
        else:  # the App Home has no response_url: say it in a DM and show the Home as it is now
            client.chat_postMessage(channel=user_id, text=outcome.message)
            publish_home(client, user_id, ctx)

    def open_in_jira(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL; the action only needs its ack

    app.action(CLAIM_ACTION, middleware=[ack_at_once])(answering_errors(claim))
    app.action(OPEN_ACTION)(open_in_jira)
