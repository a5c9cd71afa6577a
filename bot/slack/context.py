"""What the Slack listeners get: the settings, the clock, read-only queries, and the writes
a person can ask for in Slack (a key, a cached profile, a Claim), as callables the
composition root (`bot.app`) binds to the store and Jira (the slack package never imports
the store, the sources, ingest or the actions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.queries import Queries
from bot.slack.people import RememberProfile


class Outcome(Protocol):
    """What a Jira action tells the person who asked (`bot.actions`' results)."""

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...


# (issue key, cycle number, Slack user, their Slack e-mail, now) -> what happened
ClaimHandoff = Callable[[str, int, str, "str | None", datetime], Outcome]
# (project, summary, description) -> what happened
CreateHandoff = Callable[[str, str, str], Outcome]
# (issue key, handed over?) -> what happened
SetHandoffLabel = Callable[[str, bool], Outcome]


@dataclass(frozen=True)
class SlackContext:
    settings: Settings
    queries: Queries
    clock: Clock
    issue_key: Callable[[str, datetime], str]  # a new heartbeat key for a person (old ones revoked)
    remember_profile: RememberProfile  # cache what users.info said (and recut rollups on a new zone)
    claim_handoff: ClaimHandoff | None = None  # Claim: assign in Jira and move to a pick-up status
    refresh_card: Callable[[str, int], object] | None = None  # bring a handoff's card up to date now
    create_handoff: CreateHandoff | None = None  # a new Jira issue with the handoff label
    set_handoff_label: SetHandoffLabel | None = None  # add or remove the handoff label of an issue
    refresh_cards: Callable[[], object] | None = None  # post and update the handoff cards now
