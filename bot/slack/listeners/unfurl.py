"""Jira links pasted where the bot is: `link_shared` -> `chat.unfurl` with the handoff's card
(state, wait, SLA, a Claim button while open), or the plain issue facts when the issue never
was a handoff. Only links to JIRA_URL's host are unfurled, and only issues the bot has
synced; nothing is fetched from the link itself."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks.cards import card_blocks, issue_blocks
from bot.slack.blocks.kit import to_dicts
from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

EVENTS = ("link_shared",)
MAX_LINKS = 10  # Slack sends at most a few; anything beyond this is not unfurled
_BROWSE = re.compile(r"^/browse/([A-Z][A-Z0-9_]*-\d+)/?$", re.I)


def issue_key_of(url: str, jira_host: str) -> str | None:
    """The issue key of a Jira `/browse/KEY` link on `jira_host`, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() != jira_host:
        return None
    match = _BROWSE.match(parts.path)
    return match[1].upper() if match else None


def register(app: App, ctx: SlackContext) -> None:
    """Add the `link_shared` listener to `app` (events are acked by Bolt)."""
    host = (urlsplit(ctx.settings.jira.url or "").hostname or "").lower()

    def link_shared(event: dict, client: WebClient) -> None:
        unfurls = {}
        queries = ctx.queries.handoffs
        for link in (event.get("links") or [])[:MAX_LINKS]:
            url = str((link or {}).get("url") or "")
            key = issue_key_of(url, host) if host else None
            found = queries.latest_card(key) if key else None
            if found is None:
                continue
            issue, card = found
            blocks = (card_blocks(card, queries.calendar.seconds_per_workday, ctx.settings.jira.handoff_sla_workdays)
                      if card else issue_blocks(issue))
            unfurls[url] = {"blocks": to_dicts(blocks)}
        if not unfurls:
            return
        target = ({"source": event["source"], "unfurl_id": event["unfurl_id"]} if event.get("unfurl_id")
                  else {"channel": event.get("channel"), "ts": event.get("message_ts")})
        try:
            client.chat_unfurl(unfurls=unfurls, **target)
        except SlackApiError as exc:
            log.warning("chat.unfurl of %d Jira links failed: %s", len(unfurls), exc.response.get("error"))

    app.event("link_shared")(link_shared)
