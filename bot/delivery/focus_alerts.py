"""The daily `focus-alerts` job: a private, supportive DM when a researcher's Focus Time is low.

For each researcher, in their own timezone: the window is the last `focus.window_workdays`
workdays before their local today; the average is over the days with data; the decision is
`bot.metrics.focus.alert_decision`. At most one alert per person per ISO week (a ledger row
is claimed before posting and released if Slack fails, so the next run retries), and one
short note when they are back at or above the line. Nothing about individuals goes to a
channel; leads get a DM listing who is below only with `focus.share_individuals_with_leads`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block

from bot.config import Settings
from bot.ingest.people import remember_profile
from bot.metrics.focus import alert_decision, iso_week
from bot.queries.focus import FocusQueries, PersonFocus
from bot.queries.people import People
from bot.slack.blocks import focus as fb
from bot.slack.blocks.kit import to_dicts
from bot.slack.people import person_zone, researchers
from bot.store import Store

log = logging.getLogger(__name__)

LOW, RECOVERED = "low", "recovered"


@dataclass
class AlertRun:
    """What one run did (its summary line is the job's result)."""

    researchers: int = 0
    alerts: list[PersonFocus] = field(default_factory=list)
    below: list[PersonFocus] = field(default_factory=list)
    recoveries: int = 0
    no_data: int = 0
    failed: int = 0
    leads_told: int = 0
    leads_failed: int = 0

    def summary(self) -> str:
        text = (f"{self.researchers} researchers: {len(self.alerts)} low-focus alerts, {self.recoveries}"
                f" recovery notes, {self.no_data} without data")
        if self.leads_told:
            text += f", {self.leads_told} leads told"
        if self.failed:
            text += f", {self.failed} messages failed (retried next run)"
        if self.leads_failed:
            text += f", {self.leads_failed} lead messages failed"
        return text


def run_focus_alerts(store: Store, settings: Settings, client: WebClient, now: datetime) -> str:
    """Check every researcher once; send what is due; return a one-line summary."""
    queries, people = FocusQueries(store, settings), People(store, settings)
    run = AlertRun()
    shared = settings.focus.share_individuals_with_leads

    def remember(user: str, answer: Mapping[str, Any], at: datetime) -> None:
        remember_profile(store, settings, user, answer, at)

    for user in researchers(client, settings):
        run.researchers += 1
        today = now.astimezone(person_zone(people, client, user, now, remember)).date()
        person = queries.person(user, today)
        if not person.has_data:
            run.no_data += 1
            continue
        if person.below:
            run.below.append(person)
        week = iso_week(today)
        low = store.focus_low(user)
        alerted = any(m["iso_week"] == week and m["kind"] == LOW for m in store.focus_messages(user))
        action = alert_decision(person.average_seconds, person.threshold_seconds, low, alerted)
        if action == "alert":
            blocks = fb.alert_blocks(person, shared_with_leads=shared)
            sent = _send_once(store, client, person, week, LOW, True, low, now, blocks, fb.alert_text(person))
            if sent:
                run.alerts.append(person)
            run.failed += sent is False
        elif action == "recover":
            sent = _send_once(store, client, person, week, RECOVERED, False, low, now,
                              fb.recovery_blocks(person), fb.recovery_text(person))
            run.recoveries += bool(sent)
            run.failed += sent is False
    if shared and run.alerts:  # news for leads only when someone was newly alerted
        for lead in settings.focus.leads:
            if _dm(client, lead, fb.leads_blocks(run.below), fb.leads_text(run.below)):
                run.leads_told += 1
            else:
                run.leads_failed += 1
    summary = run.summary()
    log.info("focus alerts: %s", summary)
    return summary


def _send_once(
    store: Store,
    client: WebClient,
    person: PersonFocus,
    week: str,
    kind: str,
    low_after: bool,
    low_before: bool,
    now: datetime,
    blocks: Sequence[Block],
    text: str,
) -> bool | None:
    """Claim (person, week, kind) and the new state together, then DM; undo both if Slack fails.

    True: sent. None: already sent this week (the state is still brought up to date, without a
    second message). False: Slack failed and the claim was released.
    """
    user = person.slack_user_id
    with store.transaction():
        claimed = store.record_focus_message(user, week, kind, now, person.average_seconds)
        store.set_focus_low(user, low_after, now)
    if not claimed:
        return None
    if _dm(client, user, blocks, text):
        return True
    with store.transaction():
        store.forget_focus_message(user, week, kind)
        store.set_focus_low(user, low_before, now)
    return False


def _dm(client: WebClient, user: str, blocks: Sequence[Block], text: str) -> bool:
    """Open the DM with `user` and post; False (logged) when Slack fails."""
    try:
        channel = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=text, blocks=to_dicts(blocks))
    except SlackApiError as exc:
        log.warning("focus DM to %s failed: %s", user, exc.response.get("error"))
        return False
    except (SlackClientError, OSError) as exc:  # connection refused, timeouts
        log.warning("focus DM to %s failed: %s", user, type(exc).__name__)
        return False
    return True
