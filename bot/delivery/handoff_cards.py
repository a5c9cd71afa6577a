"""Handoff cards: one message per handoff cycle in its team's channel, kept current.

`sync_cards` posts a card for each cycle requested within `jira.card_lookback_hours` whose
team has a `channel` (a first sync or a backfill of old handoffs therefore posts nothing),
and updates each live card in place (`chat.update`) when what it shows changes: picked up,
claimed, delivered, withdrawn, deleted. A card of a closed cycle is final.

Exactly once: each card is a row of the post ledger (`Store.claim_post`), claimed before
anything reaches Slack, and the message carries metadata naming its cycle, so an attempt
that may have posted (a timeout, a 5xx, a crash) is found in the channel instead of posted
twice. A re-added label is a new cycle, hence a new card.

`CardSync` runs it from any thread (after a webhook, after a Jira sync, on its job),
one run at a time; a request that arrives during a run makes it run once more.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.clock import Clock
from bot.config import Settings
from bot.delivery.once import post_recorded
from bot.models import HandoffState
from bot.queries.handoffs import HandoffCard, HandoffQueries
from bot.slack.blocks.cards import card_message, fingerprint
from bot.store import Store

log = logging.getLogger(__name__)

KIND = "card"
EVENT_TYPE = "research_bridge_handoff"


def card_key(issue_key: str, cycle_no: int) -> str:
    return f"{issue_key}#{cycle_no}"


def _split_key(key: str) -> tuple[str, int]:
    issue_key, _, number = key.rpartition("#")
    return issue_key, int(number)


@dataclass
class CardRun:
    """What one `sync_cards` run did."""

    posted: int = 0
    updated: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.posted} cards posted, {self.updated} updated"
        if self.failed:
            text += f", {len(self.failed)} failed (retried next run): " + "; ".join(self.failed[:3])
        return text


def team_channels(settings: Settings) -> dict[str, str]:
    """Team name (lower-cased) -> the channel its cards go to."""
    return {t.name.lower(): t.channel for t in settings.teams if t.channel}


def sync_cards(store: Store, settings: Settings, client: WebClient, now: datetime, *, only: str | None = None,
               sleep: Callable[[float], None] = time.sleep) -> CardRun:
    """Post the cards that are missing and update the ones whose handoff changed (only those
    of issue `only`, when given: what one webhook can have changed)."""
    run = CardRun()
    channels = team_channels(settings)
    if not channels:
        return run
    queries = HandoffQueries(store, settings)
    known = store.post_keys(KIND)
    since = now - timedelta(hours=settings.jira.card_lookback_hours)
    for view in queries.requested_since(since, only) if settings.jira.card_lookback_hours else []:
        key = card_key(view.key, view.cycle.cycle_no)
        channel = channels.get((view.team or "").lower())
        if key in known or channel is None:
            continue
        _post(store, queries, client, queries.card(view), channel, now, run, sleep)
    for post in store.live_posts(KIND, f"{only}#" if only else None):
        issue_key, cycle_no = _split_key(post.key)
        current = queries.cycle(issue_key, cycle_no)
        card = queries.card(current) if current else _deleted(store, queries, issue_key, cycle_no)
        if card is not None:
            _update(store, queries, client, card, post.channel, post.message_ts, post.fingerprint, now, run)
    return run


def refresh_card(store: Store, settings: Settings, client: WebClient, issue_key: str, cycle_no: int,
                 now: datetime) -> bool:
    """Bring one cycle's card up to date now (after a claim); False when it has no card."""
    post = store.post(KIND, card_key(issue_key, cycle_no))
    queries = HandoffQueries(store, settings)
    view = queries.cycle(issue_key, cycle_no)
    if post is None or view is None:
        return False
    run = CardRun()
    _update(store, queries, client, queries.card(view), post.channel, post.message_ts, post.fingerprint, now, run)
    return not run.failed


def _deleted(store: Store, queries: HandoffQueries, issue_key: str, cycle_no: int) -> HandoffCard | None:
    """The card of a cycle whose issue is gone from every view (deleted in Jira)."""
    views = [v for v in store.handoffs(issue_key=issue_key, deleted=True) if v.cycle.cycle_no == cycle_no]
    if not views:
        return None
    card = queries.card(views[0])
    return HandoffCard(card.view, card.sla_due, card.claimed_by, card.picked_up_by, card.waited_workdays,
                       deleted=True)


def _message(queries: HandoffQueries, card: HandoffCard) -> tuple[str, list[dict]]:
    return card_message(card, queries.calendar.seconds_per_workday, queries.settings.jira.handoff_sla_workdays)


def _metadata(card: HandoffCard) -> dict:
    c = card.view.cycle
    return {"event_type": EVENT_TYPE, "event_payload": {"issue": c.issue_key, "cycle": c.cycle_no}}


def _final(card: HandoffCard) -> bool:
    return card.deleted or card.view.cycle.state in (HandoffState.DELIVERED, HandoffState.WITHDRAWN)


def _post(store: Store, queries: HandoffQueries, client: WebClient, card: HandoffCard, channel: str,
          now: datetime, run: CardRun, sleep: Callable[[float], None]) -> None:
    c = card.view.cycle
    key = card_key(c.issue_key, c.cycle_no)
    text, blocks = _message(queries, card)
    done = post_recorded(store, client, KIND, key, channel, text=text, blocks=blocks, metadata=_metadata(card),
                         now=now, label=f"handoff card {key} in {channel}", fingerprint=fingerprint(text, blocks),
                         final=_final(card), sleep=sleep)
    if done.status == "posted":
        run.posted += 1
    elif done.status == "failed":
        run.failed.append(f"{key}: {done.error}")


def _update(store: Store, queries: HandoffQueries, client: WebClient, card: HandoffCard, channel: str, ts: str,
            shown: str | None, now: datetime, run: CardRun) -> None:
    c = card.view.cycle
    key = card_key(c.issue_key, c.cycle_no)
    text, blocks = _message(queries, card)
    now_showing = fingerprint(text, blocks)
    if now_showing == shown:
        return
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        if error in ("message_not_found", "channel_not_found", "is_archived", "cant_update_message"):
            store.post_updated(KIND, key, now_showing, now, final=True)  # nothing left to update
            log.warning("handoff card %s in %s can no longer be updated: %s", key, channel, error)
            return
        run.failed.append(f"{key}: {error}")
        return
    except (SlackClientError, OSError) as exc:
        run.failed.append(f"{key}: {type(exc).__name__}")
        return
    store.post_updated(KIND, key, now_showing, now, final=_final(card))
    run.updated += 1


class CardSync:
    """Runs `sync_cards` from any thread, one run at a time; `request()` never blocks: if a
    run is under way it runs once more when done."""

    def __init__(self, store: Store, settings: Settings, client: WebClient, clock: Clock):
        self.store, self.settings, self.client, self.clock = store, settings, client, clock
        self._lock = threading.Lock()
        self._pending: set[str | None] = set()  # issue keys to sync; None: all of them
        self._guard = threading.Lock()  # for _pending

    @classmethod
    def of(cls, settings: Settings, store: Store, clock: Clock) -> CardSync | None:
        """The card sync of this store, when Slack is configured and a team has a channel."""
        if not settings.cards_configured:
            return None
        from bot.slack.app import posting_client

        return cls(store, settings, posting_client(settings), clock)

    def request(self, issue_key: str | None = None) -> CardRun | None:
        """Sync the cards of `issue_key` (None: all) now, or have the run in progress do it
        next; the outcome of the last sync this call ran."""
        with self._guard:
            self._pending.add(issue_key)
        last: CardRun | None = None
        while self._pending and self._lock.acquire(blocking=False):
            try:
                while True:
                    with self._guard:
                        if not self._pending:
                            break
                        wanted = None if None in self._pending else self._pending.pop()
                        if wanted is None:
                            self._pending.clear()
                    last = self._run_once(wanted)
            finally:
                self._lock.release()
        return last

    def _run_once(self, only: str | None) -> CardRun:
        try:
            return sync_cards(self.store, self.settings, self.client, self.clock(), only=only)
        except Exception:
            log.exception("handoff cards: sync failed")
            return CardRun(failed=["internal error (see the log)"])
