"""People: the one resolver of a person's timezone and cached Slack profile.

Profiles (name, timezone) are cached in the store when Slack tells them (`users.info`, by
`bot.ingest.people.remember_profile`); everything that needs a person's local day reads
them here. A timezone name that is no zone (a Slack profile saying "Europe") falls back to
the organisation's, with one log line; config values are validated in `bot.config`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import zone_named
from bot.config import Settings
from bot.store import Store
from bot.store.times import from_db_time

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=7)  # a cached profile older than this is asked again


class People:
    """Cached Slack profiles of a store, with the organisation's timezone as the fallback."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings

    def zone(self, name: str | None, slack_user_id: str | None = None) -> ZoneInfo:
        """The zone `name` names, else the organisation's (logged when `name` was not empty)."""
        zone = zone_named(name) if name else None
        if zone is None:
            if name:
                log.warning("unknown timezone %r for %s; using %s", name, slack_user_id or "a person",
                            self.settings.timezone)
            return self.settings.tz
        return zone

    def timezone(self, slack_user_id: str) -> ZoneInfo:
        """The person's timezone from their cached profile, else the organisation's."""
        profile = self.store.profile(slack_user_id)
        return self.zone((profile or {}).get("tz"), slack_user_id)

    def fresh_timezone(self, slack_user_id: str, now: datetime) -> ZoneInfo | None:
        """The cached timezone when the profile has one and is younger than PROFILE_MAX_AGE."""
        profile = self.store.profile(slack_user_id)
        if not profile or not profile.get("tz"):
            return None
        updated = from_db_time(profile.get("updated_at"))
        if updated is None or now - updated >= PROFILE_MAX_AGE:
            return None
        return self.zone(profile["tz"], slack_user_id)

    def name(self, slack_user_id: str) -> str | None:
        """The cached Slack name of a person, if any."""
        return (self.store.profile(slack_user_id) or {}).get("name")
