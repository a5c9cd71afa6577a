"""SLA escalation of handoffs nobody has picked up (the `handoff-escalations` job).

Two tiers, each sent at most once ever per cycle (rows of the post ledger, as the cards are):

- past `jira.handoff_sla_workdays` of business time: one reply in the card's thread that
  mentions the team's `leads` (plain text naming the team when it has none; never @here);
- past twice that: one DM to each lead, and one line in `jira.escalation_channel` if set.

Only cycles with a card are escalated: a handoff requested before cards were posted (a
backfill) would otherwise flood the leads on the first run, and the digest and `/handoffs`
already show it. Nothing is sent outside the organisation's work hours; the job's next
working tick sends it. Withdrawn, picked-up, claimed or delivered cycles get nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Settings
from bot.delivery.handoff_cards import KIND as CARD
from bot.delivery.handoff_cards import card_key
from bot.delivery.once import Delivered, post_recorded
from bot.models import HandoffView
from bot.queries.handoffs import HandoffQueries
from bot.slack.blocks.escalations import channel_line, lead_dm, thread_nudge
from bot.slack.blocks.kit import fallback_text, to_dicts
from bot.store import Store

log = logging.getLogger(__name__)

NUDGE, LEAD_DM, CHANNEL_LINE = "sla-nudge", "sla-lead-dm", "sla-channel"
EVENT_TYPE = "research_bridge_escalation"


@dataclass
class EscalationRun:
    nudges: int = 0
    dms: int = 0
    lines: int = 0
    failed: list[str] = field(default_factory=list)
    deferred: bool = False

    def summary(self) -> str:
        if self.deferred:
            return "outside work hours: nothing sent (the next working run sends what is due)"
        text = f"{self.nudges} thread nudges, {self.dms} lead DMs, {self.lines} escalation-channel lines"
        if self.failed:
            text += f", {len(self.failed)} failed (retried next run): " + "; ".join(self.failed[:3])
        return text


def run_escalations(store: Store, settings: Settings, client: WebClient, now: datetime,
                    *, sleep: Callable[[float], None] = time.sleep) -> EscalationRun:
    """Send the nudges that are due (see the module docstring)."""
    run = EscalationRun()
    queries = HandoffQueries(store, settings)
    calendar = queries.calendar
    if calendar.business_seconds(now, now + timedelta(minutes=1)) == 0:
        run.deferred = True
        return run
    sla_days = settings.jira.handoff_sla_workdays
    sla = sla_days * calendar.seconds_per_workday
    teams = {t.name.lower(): t for t in settings.teams}
    for post in store.live_posts(CARD):
        issue_key, _, number = post.key.rpartition("#")
        view = queries.cycle(issue_key, int(number))
        if view is None or not queries.card(view).is_open:
            continue
        waited = calendar.business_seconds(view.cycle.requested_at, now)
        if waited < sla:
            continue
        team = teams.get((view.team or "").lower())
        leads = team.leads if team else ()
        key = card_key(view.key, view.cycle.cycle_no)
        waited_days = waited / calendar.seconds_per_workday
        blocks = thread_nudge(view, leads, waited_days, sla_days)
        _count(run, "nudges", key, _send(store, client, NUDGE, key, post.channel, blocks, view, now, sleep,
                                         thread_ts=post.message_ts))
        if waited < 2 * sla:
            continue
        for lead in leads:
            _count(run, "dms", key, _dm(store, client, lead, lead_dm(view, waited_days, sla_days, post.channel),
                                        view, now, sleep))
        if settings.jira.escalation_channel:
            blocks = channel_line(view, waited_days, sla_days)
            _count(run, "lines", key, _send(store, client, CHANNEL_LINE, key, settings.jira.escalation_channel,
                                            blocks, view, now, sleep))
    return run


def _count(run: EscalationRun, what: str, key: str, done: Delivered) -> None:
    if done.status == "posted":
        setattr(run, what, getattr(run, what) + 1)
    elif done.status == "failed":
        run.failed.append(f"{key}: {done.error}")


def _send(store: Store, client: WebClient, kind: str, key: str, channel: str, blocks, view: HandoffView,
          now: datetime, sleep: Callable[[float], None], thread_ts: str | None = None,
          ledger_key: str | None = None) -> Delivered:
    metadata = {"event_type": EVENT_TYPE,
                "event_payload": {"issue": view.key, "cycle": view.cycle.cycle_no, "tier": kind}}
    return post_recorded(store, client, kind, ledger_key or key, channel, text=fallback_text(blocks),
                         blocks=to_dicts(blocks), metadata=metadata, now=now, label=f"{kind} {key} to {channel}",
                         thread_ts=thread_ts, final=True, sleep=sleep)


def _dm(store: Store, client: WebClient, lead: str, blocks, view: HandoffView, now: datetime,
        sleep: Callable[[float], None]) -> Delivered:
    key = card_key(view.key, view.cycle.cycle_no)
    ledger_key = f"{key}|{lead}"
    if store.post(LEAD_DM, ledger_key) is not None:
        return Delivered("already")
    try:
        channel = client.conversations_open(users=lead)["channel"]["id"]
    except SlackApiError as exc:
        return Delivered("failed", error=f"DM to {lead}: {exc.response.get('error')}")
    except (SlackClientError, OSError) as exc:
        return Delivered("failed", error=f"DM to {lead}: {type(exc).__name__}")
    return _send(store, client, LEAD_DM, key, channel, blocks, view, now, sleep, ledger_key=ledger_key)
