"""A person's Slack profile into the store: what `users.info` said, and Focus Time days recut
when their timezone changed (their days were cut at the old zone's midnights)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from bot.config import Settings
from bot.ingest.focus import rebuild_rollups
from bot.queries.people import People
from bot.store import Store


def remember_profile(store: Store, settings: Settings, slack_user_id: str, user: Mapping[str, Any],
                     now: datetime) -> None:
    """Cache the name and timezone of a `users.info` answer; recut the person's rollups when
    the zone differs from the one cached before."""
    people = People(store, settings)
    before = people.timezone(slack_user_id)
    name = user.get("real_name") or user.get("name")
    store.save_profile(slack_user_id, name, user.get("tz"), now)
    if people.zone(user.get("tz"), slack_user_id).key != before.key:
        rebuild_rollups(store, settings, slack_user_id, now)
