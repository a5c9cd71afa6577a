"""SLA escalation: the nudge in the card's thread, the leads' DMs and the escalation channel's
line at twice the SLA, each once ever, only in work hours, only for carded open handoffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Iterator

import pytest

from bot.config import Settings
from bot.delivery.escalations import run_escalations
from bot.delivery.handoff_cards import sync_cards
from bot.ingest.jira import JiraIngest
from bot.jobs import Services, run_job
from bot.metrics.workcal import WorkCalendar
from bot.models import ChangeItem, JiraIssue
from bot.slack.app import posting_client
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support.bridge import joined, slack_settings

TOKEN, SECRET = "xoxb-escalation-token", "escalation-signing-secret-0123"
REQUESTED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC
VISION, PLATFORM, ESCALATION = "C0VISION", "C0PLATFORM", "C0ESCALATE"
CONFIG = {
    "timezone": "UTC",
    "jira": {"escalation_channel": ESCALATION},
    "team": [{"name": "vision", "jira_projects": ["RES"], "channel": VISION, "leads": ["U0LEAD1", "U0LEAD2"]},
             {"name": "platform", "jira_projects": ["OPS"], "channel": PLATFORM}],
}
CAL = WorkCalendar("UTC", range(5), datetime.min.time().replace(hour=9), datetime.min.time().replace(hour=18))
SLA = CAL.moment_after(REQUESTED, 27 * 3600)  # Thu 10:00
TWICE = CAL.moment_after(REQUESTED, 54 * 3600)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture
def settings(fake: FakeSlack) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, CONFIG)


def hand_over(store: Store, settings: Settings, key: str, at: datetime = REQUESTED, *, picked: datetime | None = None,
              withdrawn: datetime | None = None) -> None:
    """A handoff requested at `at` (optionally picked up or withdrawn later), through ingest."""
    labels = () if withdrawn else ("research-handoff",)
    issue = JiraIssue(key, key, key.split("-")[0], f"Handoff {key}", "Task", "In Progress" if picked else "To Do",
                      labels, at - timedelta(hours=1), picked or withdrawn or at, f"https://jira.example/browse/{key}",
                      reporter_name="Ana", reporter_email="ana@example.com")
    items = [ChangeItem(key, "1", 0, at, "labels", "", "research-handoff", "Ana", "ana@example.com")]
    if picked:
        items.append(ChangeItem(key, "2", 0, picked, "status", "To Do", "In Progress", "Bob", "bob@example.com"))
    if withdrawn:
        items.append(ChangeItem(key, "3", 0, withdrawn, "labels", "research-handoff", "", "Ana", "ana@example.com"))
    JiraIngest.of(settings.jira).issue(store, issue, items)


def cards(store: Store, settings: Settings, now: datetime) -> None:
    assert not sync_cards(store, settings, posting_client(settings), now).failed


def escalate(store: Store, settings: Settings, now: datetime) -> str:
    return run_escalations(store, settings, posting_client(settings), now, sleep=lambda s: None).summary()


def posts(fake: FakeSlack) -> list[dict]:
    return [c.body for c in fake.calls("chat.postMessage")]


def test_the_tiers_are_sent_once_each_and_only_in_work_hours(fake: FakeSlack, store: Store, settings: Settings) -> None:
    hand_over(store, settings, "RES-1")
    cards(store, settings, REQUESTED + timedelta(hours=1))
    card_ts = fake.messages(VISION)[-1]["ts"]
    fake.reset()
    assert escalate(store, settings, SLA - timedelta(minutes=5)).startswith("0 thread nudges")
    assert escalate(store, settings, SLA + timedelta(minutes=5)).startswith("1 thread nudges, 0 lead DMs")
    [nudge] = posts(fake)
    assert (nudge["channel"], nudge["thread_ts"]) == (VISION, card_ts)
    text = joined(nudge["blocks"])
    assert text.startswith(":alarm_clock: <@U0LEAD1> <@U0LEAD2>: this handoff has waited *3.0 bd* for engineering")
    assert "@here" not in text and "<!" not in text
    for hours in (1, 3):  # later runs (a restart or a manual run is the same: the ledger is in the store)
        assert escalate(store, settings, SLA + timedelta(hours=hours)).startswith("0 thread nudges, 0 lead DMs")
    saturday_night = TWICE + timedelta(days=4, hours=12)  # past twice the SLA, but outside work hours
    assert saturday_night.weekday() == 5 and escalate(store, settings, saturday_night).startswith("outside work hours")
    assert run_job("handoff-escalations", Services(settings, store, lambda: TWICE + timedelta(minutes=10))) == (
        "0 thread nudges, 2 lead DMs, 1 escalation-channel lines")
    dms = [p for p in posts(fake)[1:] if p["channel"].startswith("D")]
    assert sorted(p["channel"] for p in dms) == ["D0LEAD1", "D0LEAD2"]
    assert "twice the 3-workday pick-up SLA (team *vision*). Its card is in <#C0VISION>." in joined(dms[0]["blocks"])
    [line] = [p for p in posts(fake) if p["channel"] == ESCALATION]
    assert "|RES-1>* Handoff RES-1 · team *vision* · waited *6.0 bd*" in joined(line["blocks"])
    assert escalate(store, settings, TWICE + timedelta(days=1)).startswith("0 thread nudges, 0 lead DMs, 0 escalation")
    assert len(posts(fake)) == 4


def test_a_team_without_leads_is_named_and_nobody_is_messaged(fake: FakeSlack, store: Store, settings: Settings) -> None:
    hand_over(store, settings, "OPS-1")
    cards(store, settings, REQUESTED + timedelta(hours=1))
    fake.reset()
    assert escalate(store, settings, TWICE + timedelta(minutes=1)) == (
        "1 thread nudges, 0 lead DMs, 1 escalation-channel lines")
    nudge, line = posts(fake)
    assert joined(nudge["blocks"]).startswith(":alarm_clock: Team *platform*: this handoff has waited")
    assert line["channel"] == ESCALATION and not fake.calls("conversations.open")


def test_cycles_without_a_card_or_no_longer_open_are_not_escalated(fake: FakeSlack, store: Store,
                                                                  settings: Settings) -> None:
    hand_over(store, settings, "RES-2", REQUESTED - timedelta(days=3))  # before the card lookback: no card
    hand_over(store, settings, "RES-3", picked=REQUESTED + timedelta(hours=2))
    hand_over(store, settings, "RES-4")
    cards(store, settings, REQUESTED + timedelta(hours=1))  # cards for RES-3 and RES-4
    hand_over(store, settings, "RES-4", withdrawn=REQUESTED + timedelta(hours=3))
    cards(store, settings, REQUESTED + timedelta(hours=4))
    fake.reset()
    assert escalate(store, settings, TWICE + timedelta(days=1)) == "0 thread nudges, 0 lead DMs, 0 escalation-channel lines"
    assert posts(fake) == []


def test_a_failed_nudge_is_retried_at_the_next_run(fake: FakeSlack, store: Store, settings: Settings) -> None:
    hand_over(store, settings, "RES-5")
    cards(store, settings, REQUESTED + timedelta(hours=1))
    fake.reset()
    fake.fail_next("chat.postMessage", status=404)  # e.g. a moment's channel_not_found
    first = escalate(store, settings, SLA + timedelta(minutes=1))
    assert "1 failed (retried next run)" in first
    assert escalate(store, settings, SLA + timedelta(minutes=16)).startswith("1 thread nudges")
