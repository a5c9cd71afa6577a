"""Linking Jira users to Slack users by e-mail (`users.lookupByEmail`)."""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.store import Store

log = logging.getLogger(__name__)


def link_users_by_email(store: Store, client: WebClient, now: datetime, limit: int = 200) -> tuple[int, int]:
    """Look up not-yet-linked requester and assignee e-mails; return (linked, not found).

    An e-mail Slack does not know is remembered as unmatched, so it is not asked again;
    explicit `[jira.user_map]` entries win over both.
    """
    linked = missing = 0
    for email in store.unlinked_emails()[:limit]:
        try:
            user = client.users_lookupByEmail(email=email)["user"]
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                raise
            store.link_user(email, None, "not_found", now)
            missing += 1
            continue
        store.link_user(email, user["id"], "email", now)
        linked += 1
    return linked, missing
