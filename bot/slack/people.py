"""Who someone is, as Slack says: `users.info` (the one wrapper), the members of researcher
user groups, and a person's timezone from the cached profile, asking Slack when it is stale.
Caching what Slack said is the caller's `remember_profile` (`bot.ingest.people`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.queries.people import People

log = logging.getLogger(__name__)

RememberProfile = Callable[[str, Mapping[str, Any], datetime], None]


def slack_user(client: WebClient, user_id: str) -> dict:
    """`users.info` of a user, or {} when Slack cannot tell (the answer then uses org defaults)."""
    try:
        return client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return {}


def person_zone(people: People, client: WebClient | None, user_id: str, now: datetime,
                remember: RememberProfile | None = None) -> ZoneInfo:
    """The person's timezone: the cached profile while fresh, else `users.info` (cached with
    `remember`, when given), else the organisation's."""
    cached = people.fresh_timezone(user_id, now)
    if cached is not None or client is None:
        return cached or people.timezone(user_id)
    user = slack_user(client, user_id)
    if not user:
        return people.timezone(user_id)
    if remember is not None:
        remember(user_id, user, now)
    return people.zone(user.get("tz"), user_id)


def researchers(client: WebClient, settings: Settings) -> list[str]:
    """Members of `focus.researcher_groups` (handles or IDs) plus `focus.researchers`, once each.

    A group Slack does not know, or a failing lookup, is logged and skipped: the explicit
    researchers are still returned.
    """
    found: list[str] = []
    wanted = [g.lstrip("@").lower() for g in settings.focus.researcher_groups]
    if wanted:
        try:
            groups = client.usergroups_list().get("usergroups") or []
        except SlackApiError as exc:
            log.warning("usergroups.list failed: %s", exc.response.get("error"))
            groups = []
        by_name = {}
        for g in groups:
            by_name[str(g.get("handle", "")).lower()] = g["id"]
            by_name[str(g["id"]).lower()] = g["id"]
        for handle in wanted:
            group_id = by_name.get(handle)
            if group_id is None:
                if groups:
                    log.warning("focus.researcher_groups: no Slack user group %r", handle)
                continue
            try:
                found.extend(client.usergroups_users_list(usergroup=group_id).get("users") or [])
            except SlackApiError as exc:
                log.warning("usergroups.users.list failed for %s: %s", handle, exc.response.get("error"))
    found.extend(settings.focus.researchers)
    return list(dict.fromkeys(found))
