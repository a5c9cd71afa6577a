"""The `focus-alerts` job against the fake Slack Web API, with a controllable `now`.

Rollups are seeded directly (`save_focus_days`); the job talks to the fake over real HTTP
through the same client factory the scheduler uses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Iterator

import pytest

from bot.config import Settings, settings_from_mapping
from bot.delivery.focus_alerts import run_focus_alerts
from bot.jobs import JOBS, Services, run_job
from bot.models import FocusDay
from bot.slack.app import web_client
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support.bridge import slack_settings

TOKEN, SECRET = "xoxb-alerts", "alerts-signing-secret"
H = 3600
FOCUS = {"researchers": ["U0ANA", "U0NODATA"], "researcher_groups": ["ml-research"], "leads": ["U0LEAD"]}


def at(day: int, hour: int = 10, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=UTC)


def settings_for(fake: FakeSlack, **focus: object) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, {"timezone": "UTC", "focus": {**FOCUS, **focus}})


def seed(store: Store, user: str, first: date, last: date, seconds: float) -> None:
    """`seconds` of focus on every workday from `first` to `last` (weekends: no data)."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    rows = [FocusDay(user, d, seconds, seconds + H, seconds * 0.75, seconds * 0.25, 2) for d in days]
    store.save_focus_days(user, days, rows, at(1))


def run(store: Store, settings: Settings, now: datetime) -> str:
    return run_focus_alerts(store, settings, web_client(settings), now)


def dms(fake: FakeSlack, user: str) -> list[dict]:
    """Messages posted into the DM the fake opens with `user`."""
    channel = "D" + user[1:].upper()
    return [c.body for c in fake.calls("chat.postMessage") if c.body["channel"] == channel]


def message_text(body: dict) -> str:
    return "\n".join(b["text"]["text"] for b in body["blocks"] if "text" in b) + "\n" + "\n".join(
        e["text"] for b in body["blocks"] for e in b.get("elements", []))


def assert_nothing_in_channels(fake: FakeSlack) -> None:
    channels = [c.body["channel"] for c in fake.calls("chat.postMessage")]
    assert all(ch.startswith("D") for ch in channels), channels
    assert fake.calls("chat.postEphemeral") == [] and fake.calls("chat.update") == []


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        for user, tz in (("U0ANA", "Europe/Berlin"), ("U0BEN", "UTC"), ("U0ENG", "UTC"), ("U0NODATA", "UTC"),
                         ("U0LEAD", "UTC"), ("U0LAX", "America/Los_Angeles")):
            fake.add_user(user, user[2:].lower(), real_name=user[2:].title(), tz=tz)
        fake.add_usergroup("S0RES", "ml-research", ["U0BEN", "U0ANA"])
        fake.add_usergroup("S0ENG", "platform", ["U0ENG"])
        yield fake


def test_one_alert_per_iso_week_even_when_the_job_runs_daily(fake: FakeSlack, store: Store) -> None:
    settings = settings_for(fake, researchers=["U0ANA"], researcher_groups=[])
    seed(store, "U0ANA", date(2025, 5, 26), date(2025, 6, 27), 2 * H)
    for day in (9, 10, 11, 12, 13, 14, 15):  # Monday to Sunday of 2025-W24
        run(store, settings, at(day))
    [alert] = dms(fake, "U0ANA")
    text = message_text(alert)
    assert ("Hi <@U0ANA>, a gentle heads-up: you averaged *2h 0m of focus a day* over your last 5 workdays,"
            " under the *3h* line.") in text
    for day in ("Mon 02 Jun", "Tue 03 Jun", "Wed 04 Jun", "Thu 05 Jun", "Fri 06 Jun"):
        assert f"{day}  ████░░|░░░░░░    2h 0m  research 1h 30m · engineering 30m" in text
    assert "meetings" in text and "code reviews" in text and "on-call" in text
    assert "Only you get this message" in text
    assert alert["text"] == ("A gentle heads-up: you averaged 2h 0m of focus a day over your last 5 workdays,"
                             " under the 3h line.")

    fake.reset()
    run(store, settings, at(16))  # Monday of the next ISO week, still low
    run(store, settings, at(17))
    assert len(dms(fake, "U0ANA")) == 1
    ledger = [(m["iso_week"], m["kind"]) for m in store.focus_messages("U0ANA")]
    assert ledger == [("2025-W24", "low"), ("2025-W25", "low")]
    assert store.focus_low("U0ANA")
    assert_nothing_in_channels(fake)


def test_a_recovery_note_once_when_back_above_the_line(fake: FakeSlack, store: Store) -> None:
    settings = settings_for(fake, researchers=["U0ANA"], researcher_groups=[])
    seed(store, "U0ANA", date(2025, 6, 2), date(2025, 6, 6), 2 * H)
    seed(store, "U0ANA", date(2025, 6, 9), date(2025, 6, 20), 5 * H)
    summaries = [run(store, settings, at(day)) for day in (9, 10, 11, 12, 13, 16)]
    # Mon: avg 2h -> alert; Tue: 2.6h, already alerted; Wed: 3.2h -> recovered; then quiet
    alert, note = dms(fake, "U0ANA")
    assert "under the *3h* line" in message_text(alert)
    assert message_text(note).startswith(
        "Good news <@U0ANA>: your Focus Time is back at or above the 3h line — you averaged *3h 12m of focus a day*"
        " over your last 5 workdays. :tada:")
    assert note["text"] == ("Good news: your Focus Time is back at or above the 3h line — you averaged 3h 12m of"
                            " focus a day over your last 5 workdays.")
    assert summaries[0].startswith("1 researchers: 1 low-focus alerts, 0 recovery notes")
    assert "1 recovery notes" in summaries[2] and "0 low-focus alerts, 0 recovery notes" in summaries[3]
    assert not store.focus_low("U0ANA")
    assert [m["kind"] for m in store.focus_messages("U0ANA")] == ["low", "recovered"]
    assert_nothing_in_channels(fake)


def test_researchers_from_a_user_group_no_data_means_no_dm_and_others_are_ignored(
    fake: FakeSlack, store: Store
) -> None:
    settings = settings_for(fake)
    for user in ("U0ANA", "U0BEN", "U0ENG"):
        seed(store, user, date(2025, 6, 2), date(2025, 6, 13), 1 * H)
    summary = run(store, settings, at(16))
    assert [c.body["usergroup"] for c in fake.calls("usergroups.users.list")] == ["S0RES"]
    assert len(dms(fake, "U0ANA")) == 1 and len(dms(fake, "U0BEN")) == 1  # Ben only via the group
    assert dms(fake, "U0ENG") == [] and dms(fake, "U0NODATA") == []  # not a researcher; no data
    opened = {c.body["users"] for c in fake.calls("conversations.open")}
    assert opened == {"U0ANA", "U0BEN"}
    assert summary == "3 researchers: 2 low-focus alerts, 0 recovery notes, 1 without data"
    assert dms(fake, "U0LEAD") == []  # leads hear nothing unless the org opted in
    assert_nothing_in_channels(fake)


def test_a_failing_slack_keeps_no_claim_and_the_next_run_sends(fake: FakeSlack, store: Store) -> None:
    settings = settings_for(fake, researchers=["U0ANA"], researcher_groups=[])
    seed(store, "U0ANA", date(2025, 6, 2), date(2025, 6, 13), 2 * H)
    fake.fail_next("chat.postMessage", count=3, status=500)  # the client retries 500s twice
    summary = run(store, settings, at(16))
    assert "1 messages failed (retried next run)" in summary
    assert len(fake.calls("chat.postMessage")) == 3
    assert store.focus_messages("U0ANA") == [] and not store.focus_low("U0ANA")
    fake.reset()
    run(store, settings, at(16, hour=11))
    assert len(dms(fake, "U0ANA")) == 1
    assert [m["iso_week"] for m in store.focus_messages("U0ANA")] == ["2025-W25"]
    assert store.focus_low("U0ANA")


def test_leads_get_who_is_below_only_when_the_org_opted_in(fake: FakeSlack, store: Store) -> None:
    seed(store, "U0ANA", date(2025, 6, 2), date(2025, 6, 13), 2 * H)
    seed(store, "U0BEN", date(2025, 6, 2), date(2025, 6, 13), 4 * H)
    run(store, settings_for(fake), at(16))
    assert dms(fake, "U0LEAD") == []

    other = Store(store.path + "-shared")
    seed(other, "U0ANA", date(2025, 6, 2), date(2025, 6, 13), 2 * H)
    seed(other, "U0BEN", date(2025, 6, 2), date(2025, 6, 13), 4 * H)
    shared = settings_for(fake, share_individuals_with_leads=True)
    fake.reset()
    summary = run(other, shared, at(16))
    [to_lead] = dms(fake, "U0LEAD")
    text = message_text(to_lead)
    assert text.startswith("*Focus Time check*: 1 researcher is below the 3h line over their last 5 workdays."
                           " They get a private, supportive note, at most once a week; their figures stay with"
                           " them.\n• <@U0ANA>\n")
    assert "U0BEN" not in text and "2h 0m" not in text  # who, never their figures
    assert "share_individuals_with_leads" in text and summary.endswith("1 leads told")
    assert "leads" in message_text(dms(fake, "U0ANA")[0])  # the researcher is told who can see it
    fake.reset()
    run(other, shared, at(17))  # no news: nobody newly below
    assert dms(fake, "U0LEAD") == []
    assert_nothing_in_channels(fake)


def test_the_window_and_week_are_the_researchers_own(fake: FakeSlack, store: Store) -> None:
    """Tue 03:00 UTC is still Monday evening in Los Angeles: the window is the LA one."""
    settings = settings_for(fake, researchers=["U0LAX"], researcher_groups=[])
    store.save_focus_days("U0LAX", [date(2025, 6, 9)], [FocusDay("U0LAX", date(2025, 6, 9), 0, 600, 0, 0, 0)], at(1))
    seed(store, "U0LAX", date(2025, 6, 10), date(2025, 6, 13), 3 * H)
    seed(store, "U0LAX", date(2025, 6, 16), date(2025, 6, 16), 6 * H)
    run(store, settings, at(17, hour=3))  # LA window 9-13 June: 2.4h; a UTC window 10-16 would be 3.6h
    [alert] = dms(fake, "U0LAX")
    assert "you averaged *2h 24m of focus a day* over your last 5 workdays" in message_text(alert)
    assert [m["iso_week"] for m in store.focus_messages("U0LAX")] == ["2025-W25"]
    assert len(fake.calls("users.info")) == 1
    run(store, settings, at(17, hour=4))
    assert len(fake.calls("users.info")) == 1  # the timezone is cached


def test_the_low_focus_dm_says_each_thing_once_and_kindly(fake: FakeSlack, store: Store) -> None:
    """Three of the five workdays have data: the average is over those three, said once."""
    settings = settings_for(fake, researchers=["U0ANA"], researcher_groups=[])
    days = [date(2025, 6, d) for d in (9, 11, 13)]
    store.save_focus_days("U0ANA", days, [FocusDay("U0ANA", d, 2 * H, 3 * H, 1.5 * H, 0.5 * H, 2) for d in days],
                          at(1))
    run(store, settings, at(16))
    [alert] = dms(fake, "U0ANA")
    sections = [b["text"]["text"] for b in alert["blocks"] if b["type"] == "section"]
    assert sections[0] == ("Hi <@U0ANA>, a gentle heads-up: you averaged *2h 0m of focus a day* over the 3 of your"
                           " last 5 workdays with IDE data, under the *3h* line.")
    assert sections[2] == (
        "A figure under the line usually says more about a calendar than about you. What usually eats focus time:"
        " meetings scattered through the day, code reviews and on-call interruptions. If one of those has grown"
        " lately, a blocked two-hour slot for deep work is often the easiest fix.")
    assert alert["text"] == ("A gentle heads-up: you averaged 2h 0m of focus a day over the 3 of your last 5"
                             " workdays with IDE data, under the 3h line.")
    text = message_text(alert)
    assert "with data over" not in text and ": What" not in text and "a person" not in text


def test_one_workday_with_data_and_a_figure_just_under_the_line(fake: FakeSlack, store: Store) -> None:
    settings = settings_for(fake, researchers=["U0ANA", "U0BEN"], researcher_groups=[])
    store.save_focus_days("U0ANA", [date(2025, 6, 12)], [FocusDay("U0ANA", date(2025, 6, 12), H, H, 0, 0, 1)], at(1))
    seed(store, "U0BEN", date(2025, 6, 9), date(2025, 6, 13), 2.96 * H)  # 2h 57m 36s a day: under the 3h line
    run(store, settings, at(16))
    [one] = dms(fake, "U0ANA")
    assert message_text(one).startswith(
        "Hi <@U0ANA>, a gentle heads-up: you had *1h 0m of focus* on the only one of your last 5 workdays with"
        " IDE data, under the *3h* line.")
    [close] = dms(fake, "U0BEN")
    text = message_text(close)
    assert "you averaged *2h 57m of focus a day* over your last 5 workdays, under the *3h* line." in text
    assert "Mon 09 Jun  █████░|░░░░░░   2h 57m" in text  # the bar stops short of the line too
    assert "3h 0m" not in text and "██████|" not in text


def test_todays_data_is_shown_to_the_person_but_never_decides_an_alert(fake: FakeSlack, store: Store) -> None:
    settings = settings_for(fake, researchers=["U0ANA"], researcher_groups=[])
    store.save_focus_days("U0ANA", [date(2025, 6, 16)], [FocusDay("U0ANA", date(2025, 6, 16), H, H, 0, 0, 1)], at(1))
    summary = run(store, settings, at(16, hour=15))  # Monday afternoon: the window is last week's, empty
    assert summary == "1 researchers: 0 low-focus alerts, 0 recovery notes, 1 without data"
    assert dms(fake, "U0ANA") == []


def test_the_job_is_scheduled_daily_and_runnable_by_name(fake: FakeSlack, store: Store) -> None:
    config = {"timezone": "Europe/Berlin", "focus": {"alert_time": "09:30", "researchers": ["U0ANA"]}}
    settings = slack_settings(fake, TOKEN, SECRET, config)
    job = JOBS["focus-alerts"]
    trigger = job.trigger(settings)
    first = trigger.get_next_fire_time(None, at(16, hour=12))
    assert first.isoformat() == "2025-06-17T09:30:00+02:00"
    assert job.misfire_grace_seconds >= 3600
    assert JOBS["focus-alerts"].trigger(settings_from_mapping({}, {})) is None  # no Slack, no alerts
    assert JOBS["heartbeat-retention"].trigger(settings) is not None

    seed(store, "U0ANA", date(2025, 6, 2), date(2025, 6, 13), 2 * H)
    result = run_job("focus-alerts", Services(settings, store, clock=lambda: at(16)))
    assert result.startswith("1 researchers: 1 low-focus alerts")
    assert len(dms(fake, "U0ANA")) == 1
    assert run_job("focus-alerts", Services(settings_from_mapping({}, {}), store)) == (
        "Slack is not configured: no focus alerts")


def test_learning_a_persons_timezone_recuts_their_days(fake: FakeSlack, tmp_path) -> None:
    """Heartbeats stored before Slack told us U0LAX's timezone were cut at the org's (UTC)
    midnights; once users.info says Los Angeles, the rollups are rebuilt in that zone."""
    from bot.app import slack_context
    from bot.ingest.focus import record_heartbeats
    from bot.models import Heartbeat
    from bot.slack.people import person_zone

    settings = settings_for(fake)
    store = Store(tmp_path / "tz.db")
    now = at(12, 12)
    start = datetime(2025, 6, 11, 6, 20, tzinfo=UTC).timestamp()  # Wed 06:20 UTC = Tue 23:20 in LA
    beats = [Heartbeat("U0LAX", start + 120 * i, "/src/model.py", project="llm-research") for i in range(31)]
    record_heartbeats(store, "U0LAX", beats, settings, now)  # one 60-minute block
    assert [(d.day, d.focus_seconds) for d in store.focus_days(date(2025, 6, 9), date(2025, 6, 13))] == [
        (date(2025, 6, 11), 3600.0)]

    ctx = slack_context(settings, store)
    tz = person_zone(ctx.queries.people, web_client(settings), "U0LAX", now, ctx.remember_profile)
    assert tz.key == "America/Los_Angeles"
    assert [(d.day, d.focus_seconds) for d in store.focus_days(date(2025, 6, 9), date(2025, 6, 13))] == [
        (date(2025, 6, 10), 2400.0), (date(2025, 6, 11), 1200.0)]
