"""What the Slack listeners get: the settings, the clock, read-only queries, and the two
writes a person can ask for in Slack, as callables the composition root (`bot.app`) binds
to the store (the slack package never imports the store, the sources or ingest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from bot.clock import Clock
from bot.config import Settings
from bot.queries import Queries
from bot.slack.people import RememberProfile


@dataclass(frozen=True)
class SlackContext:
    settings: Settings
    queries: Queries
    clock: Clock
    issue_key: Callable[[str, datetime], str]  # a new heartbeat key for a person (old ones revoked)
    remember_profile: RememberProfile  # cache what users.info said (and recut rollups on a new zone)
