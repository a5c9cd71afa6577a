"""Digests reach each channel exactly once per week: the ledger, retries and the chart upload,
against the fake Slack Web API over real HTTP, with a controllable clock.

A "restart" is a new `Store` on the same database file (what a new process sees); "two
jobs racing" are two threads, each with its own `Store`, as two processes would be.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.cli import cli
from bot.config import Settings, settings_from_mapping
from bot.delivery.digests import (
    ALREADY_POSTED,
    EVENT_TYPE,
    FAILED,
    IN_PROGRESS,
    LEASE,
    POSTED,
    deliver,
    deliver_due,
)
from bot.digest.period import week_named
from bot.ingest.pipelines import record_pipeline_runs
from bot.jobs import Services, all_jobs, build_scheduler, run_job
from bot.models import PipelineRun
from bot.slack.app import posting_client
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support.bridge import slack_env, slack_settings

BERLIN = ZoneInfo("Europe/Berlin")
TOKEN, SECRET = "xoxb-digest", "digest-signing-secret"
CHANNEL = "C0DIGEST"
W47 = "2026-W47"  # Mon 16 - Sun 22 Nov 2026; its digest is due Mon 23 Nov 09:00 Berlin
CONFIG = {
    "timezone": "Europe/Berlin",
    "team": [{"name": "vision", "members": ["U0ANA"], "jira_projects": ["VIS"]}],
    "digest": [{"channel": CHANNEL, "schedule": "mon 09:00", "chart": True}],
}
PNG = b"\x89PNG\r\n\x1a\n"


def ledger_row(db, period: str) -> dict:
    """The ledger's row of the weekly digest to CHANNEL for `period`, as stored."""
    [row] = Store(db).db["digest_deliveries"].rows_where("channel = ? AND digest = ? AND period = ?",
                                                         [CHANNEL, "weekly", period])
    return row


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def settings_for(fake: FakeSlack, **digest: object) -> Settings:
    return slack_settings(fake, TOKEN, SECRET, {**CONFIG, "digest": [{**CONFIG["digest"][0], **digest}]})


def seed_runs(store: Store) -> None:
    """Nine weeks of a nightly pipeline (one failure a week), so every digest has news and a chart."""
    runs = []
    for day in range(63):
        finished = datetime(2026, 9, 21, 2, tzinfo=UTC) + timedelta(days=day)
        status = "failed" if day % 7 == 3 else "success"
        runs.append(PipelineRun("api", "nightly-train", f"r{day}", 1, status, finished, url=f"https://ci/{day}"))
    record_pipeline_runs(store, runs)


def posted_digests(fake: FakeSlack, channel: str = CHANNEL) -> list[dict]:
    """Digest messages in the channel (top level, with our metadata)."""
    return [m for m in fake.messages(channel) if (m.get("metadata") or {}).get("event_type") == EVENT_TYPE]


def no_sleep(seconds: float) -> None:
    pass


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    seed_runs(Store(path))
    return path


def tick(db: Path, settings: Settings, now: datetime) -> list:
    """One scheduler tick in a fresh process: a new Store on the same file."""
    return deliver_due(Store(db), settings, posting_client(settings), now, sleep=no_sleep)


# -- exactly once across restarts, ticks and manual runs ----------------------------------------


def test_one_digest_per_week_across_restarts_after_posting(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    [first] = tick(db, settings, berlin(23, 9))
    assert first.status == POSTED and first.week == W47
    [message] = posted_digests(fake)
    assert message["metadata"]["event_payload"] == {"channel": CHANNEL, "digest": "weekly", "week": W47}
    assert message["ts"] == first.ts

    for later in (berlin(23, 9, 5), berlin(23, 14), berlin(23, 20, 59)):  # restarts and ticks within the grace
        [again] = tick(db, settings, later)
        assert again.status == ALREADY_POSTED and again.ts == first.ts
    assert tick(db, settings, berlin(24, 9)) == []  # beyond the grace: nothing is due
    assert len(posted_digests(fake)) == 1
    assert len(fake.calls("chat.postMessage")) == 1

    [next_week] = tick(db, settings, berlin(30, 9))
    assert next_week.status == POSTED and next_week.week == "2026-W48"
    assert [m["metadata"]["event_payload"]["week"] for m in posted_digests(fake)] == [W47, "2026-W48"]


def test_a_digest_missed_while_down_is_sent_once_within_the_grace(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    # Down from Sunday to Monday 20:00 (11 h after 09:00): the start-up run of the `digests` job catches up.
    result = run_job("digests", Services(settings, Store(db), clock=lambda: berlin(23, 20)))
    assert result.startswith(f"{CHANNEL}/weekly {W47}: posted")
    assert run_job("digests", Services(settings, Store(db), clock=lambda: berlin(23, 20, 5))).startswith(
        f"{CHANNEL}/weekly {W47}: already posted")
    assert len(posted_digests(fake)) == 1


def test_a_digest_missed_beyond_the_grace_is_not_sent_late(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    assert tick(db, settings, berlin(23, 21, 1)) == []  # 12 h 1 min after 09:00
    result = run_job("digests", Services(settings, Store(db), clock=lambda: berlin(24, 10)))
    assert result.startswith("nothing due")
    assert fake.calls("chat.postMessage") == []
    # A configured grace of 36 h still catches it on Tuesday.
    [late] = tick(db, settings_for(fake, grace_hours=36), berlin(24, 10))
    assert late.status == POSTED and late.week == W47


def test_two_runs_racing_post_once(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    fake.delays["chat.postMessage"] = 0.3  # both runs are inside the post at once
    barrier = threading.Barrier(3)
    outcomes: list = []

    def run() -> None:
        store = Store(db)  # each "process" has its own connection
        barrier.wait()
        outcomes.extend(deliver_due(store, settings, posting_client(settings), berlin(23, 9), sleep=no_sleep))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(o.status for o in outcomes)
    assert statuses.count(POSTED) == 1
    assert set(statuses) <= {POSTED, IN_PROGRESS, ALREADY_POSTED}
    assert len(fake.calls("chat.postMessage")) == 1
    assert len(posted_digests(fake)) == 1


def test_a_manual_run_of_the_same_week_never_posts_again(fake: FakeSlack, db: Path, tmp_path: Path) -> None:
    settings = settings_for(fake)
    config = tmp_path / "bridge.toml"
    config.write_text(f'timezone = "Europe/Berlin"\n[[digest]]\nchannel = "{CHANNEL}"\nschedule = "mon 09:00"\n')
    env = slack_env(fake, TOKEN, SECRET, BRIDGE_DB=str(db))
    manual = CliRunner().invoke(cli, ["--config", str(config), "digest", "--channel", CHANNEL, "--week", W47], env=env)
    assert manual.exit_code == 0, manual.output
    assert f"{CHANNEL}/weekly {W47}: posted" in manual.output
    [scheduled] = tick(db, settings, berlin(23, 9))  # the scheduled run finds it posted
    assert scheduled.status == ALREADY_POSTED
    again = CliRunner().invoke(cli, ["--config", str(config), "digest", "--channel", CHANNEL, "--week", W47], env=env)
    assert again.exit_code == 0 and "already posted" in again.output and "not posted again" in again.output
    assert len(posted_digests(fake)) == 1


# -- Slack faults -------------------------------------------------------------------------------


def test_429_then_success_posts_once_after_retry_after(fake: FakeSlack, db: Path) -> None:
    fake.fail_next("chat.postMessage", 1, status=429, retry_after=1)
    [outcome] = tick(db, settings_for(fake), berlin(23, 9))
    assert outcome.status == POSTED
    calls = fake.calls("chat.postMessage")
    assert len(calls) == 2 and calls[1].at - calls[0].at >= 1.0  # slack_sdk waited Retry-After
    assert len(posted_digests(fake)) == 1


def test_a_reply_lost_after_slack_posted_is_found_not_posted_twice(fake: FakeSlack, db: Path) -> None:
    fake.fail_next("chat.postMessage", 1, status=500, after_success=True)
    [outcome] = tick(db, settings_for(fake), berlin(23, 9))
    assert outcome.status == POSTED
    [message] = posted_digests(fake)
    assert outcome.ts == message["ts"]
    assert len(fake.calls("chat.postMessage")) == 1
    assert fake.calls("conversations.history")[0].body["include_all_metadata"] in ("1", "true", "True")


def test_a_5xx_without_a_post_is_retried_with_backoff(fake: FakeSlack, db: Path) -> None:
    fake.fail_next("chat.postMessage", 1, status=503)
    waits: list[float] = []
    [outcome] = deliver_due(Store(db), settings_for(fake), posting_client(settings_for(fake)), berlin(23, 9),
                            sleep=waits.append)
    assert outcome.status == POSTED and waits == [2.0]
    assert len(posted_digests(fake)) == 1


def test_slack_down_fails_without_losing_the_digest_and_the_next_tick_posts_once(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    fake.fail_next("chat.postMessage", 1, status=500)
    fake.fail_next("conversations.history", 1, status=500)  # so nobody can tell whether it was posted
    [down] = tick(db, settings, berlin(23, 9))
    assert down.status == FAILED and "could not check the channel" in down.error
    assert "retried at the next tick" in down.line()
    row = ledger_row(db, W47)
    assert row["status"] == "failed" and row["outcome_known"] == 0
    [back] = tick(db, settings, berlin(23, 9, 5))  # Slack is back: look first, then post
    assert back.status == POSTED
    assert len(fake.calls("conversations.history")) == 2
    assert len(posted_digests(fake)) == 1


def test_a_run_that_died_mid_post_is_recovered_from_the_channel(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    store = Store(db)
    week = week_named(W47, BERLIN)
    # The dead run claimed the week and its message reached Slack; it never recorded the ts.
    assert store.claim_digest(CHANNEL, "weekly", W47, "dead-run", berlin(23, 9), LEASE).state == "claimed"
    client = posting_client(settings)
    ts = client.chat_postMessage(channel=CHANNEL, text="digest", metadata={
        "event_type": EVENT_TYPE, "event_payload": {"channel": CHANNEL, "digest": "weekly", "week": W47}})["ts"]
    busy = deliver(Store(db), settings, settings.digests[0], week, client, berlin(23, 9, 5), sleep=no_sleep)
    assert busy.status == IN_PROGRESS  # the claim is younger than the lease: it may still be posting
    recovered = deliver(Store(db), settings, settings.digests[0], week, client, berlin(23, 9, 11), sleep=no_sleep)
    assert recovered.status == POSTED and recovered.ts == ts
    assert len(posted_digests(fake)) == 1


def test_a_run_that_died_before_slack_got_the_post_is_posted_after_the_lease(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    Store(db).claim_digest(CHANNEL, "weekly", W47, "dead-run", berlin(23, 9), LEASE)
    [outcome] = tick(db, settings, berlin(23, 9, 11))
    assert outcome.status == POSTED
    assert len(fake.calls("conversations.history")) == 1  # looked first, found nothing
    assert len(posted_digests(fake)) == 1


def test_not_in_channel_is_explained_and_retried_once_the_bot_is_invited(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    fake.public_posting = False  # no chat:write.public
    fake.add_channel(CHANNEL, member=False)
    [outcome] = tick(db, settings, berlin(23, 9))
    assert outcome.status == FAILED
    assert "not_in_channel" in outcome.error and "/invite @Research Bridge" in outcome.error
    health = TestClient(create_web_app(settings, Store(db))).get("/healthz").json()["digests"][f"digest:{CHANNEL}"]
    assert health["status"] == "failed" and health["latest_week"] == W47 and "/invite" in health["error"]
    fake.channel(CHANNEL).member = True
    [invited] = tick(db, settings, berlin(23, 9, 5))
    assert invited.status == POSTED
    assert fake.calls("conversations.history") == []  # Slack said no: nothing to look for
    assert len(posted_digests(fake)) == 1


# -- the chart ----------------------------------------------------------------------------------


def test_the_chart_is_uploaded_into_the_digest_thread(fake: FakeSlack, db: Path) -> None:
    [outcome] = tick(db, settings_for(fake), berlin(23, 9))
    assert outcome.chart == "attached"
    [get_url] = fake.calls("files.getUploadURLExternal")
    [upload] = fake.calls("upload")
    [complete] = fake.calls("files.completeUploadExternal")
    assert get_url.body["filename"] == f"research-bridge-{W47}.png"
    assert int(get_url.body["length"]) == len(upload.raw) and upload.raw.startswith(PNG)
    assert complete.body["channel_id"] == CHANNEL and complete.body["thread_ts"] == outcome.ts
    [share] = fake.replies(CHANNEL)
    assert share["thread_ts"] == outcome.ts and share["subtype"] == "file_share"
    assert ledger_row(db, W47)["chart"] == "posted"


def test_without_channel_membership_the_chart_is_missing_and_the_thread_says_why(fake: FakeSlack, db: Path) -> None:
    fake.add_channel(CHANNEL, member=False)  # public: chat:write.public posts, but files need membership
    [outcome] = tick(db, settings_for(fake), berlin(23, 9))
    assert outcome.status == POSTED
    assert outcome.chart.startswith("not attached: not_in_channel")
    [note] = fake.replies(CHANNEL)
    assert note["thread_ts"] == outcome.ts and "/invite @Research Bridge" in note["text"]
    assert ledger_row(db, W47)["chart"] == "failed"
    [later] = tick(db, settings_for(fake), berlin(23, 9, 5))
    assert later.status == ALREADY_POSTED and len(fake.replies(CHANNEL)) == 1  # said once


def test_a_failed_upload_is_retried_at_the_next_tick_without_reposting(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake)
    fake.fail_next("files.completeUploadExternal", 1, status=500)
    [first] = tick(db, settings, berlin(23, 9))
    assert first.status == POSTED and first.chart.startswith("pending")
    [second] = tick(db, settings, berlin(23, 9, 5))
    assert second.status == ALREADY_POSTED and second.chart == "attached"
    assert len(posted_digests(fake)) == 1
    assert [r["thread_ts"] for r in fake.replies(CHANNEL)] == [first.ts]


def test_a_digest_without_a_chart_uploads_nothing(fake: FakeSlack, db: Path) -> None:
    [outcome] = tick(db, settings_for(fake, chart=False), berlin(23, 9))
    assert outcome.status == POSTED and outcome.chart == "none"
    assert fake.calls("files.getUploadURLExternal") == []


# -- scheduling and the command line ------------------------------------------------------------


def test_each_digest_is_a_weekly_cron_job_in_its_own_timezone(fake: FakeSlack, db: Path) -> None:
    settings = settings_for(fake, timezone="America/New_York", schedule="fri 16:30")
    jobs = all_jobs(settings)
    job = jobs[f"digest:{CHANNEL}"]
    trigger = job.trigger(settings)
    # Across the end of US daylight saving (1 Nov 2026): still 16:30 local.
    assert trigger.get_next_fire_time(None, berlin(28, 12, month=10)).isoformat() == "2026-10-30T16:30:00-04:00"
    assert trigger.get_next_fire_time(None, berlin(1, 12)).isoformat() == "2026-11-06T16:30:00-05:00"
    assert job.misfire_grace_seconds == 12 * 3600
    scheduler = build_scheduler(Services(settings, Store(db), clock=lambda: berlin(23, 9)))
    assert {j.id for j in scheduler.get_jobs()} >= {f"digest:{CHANNEL}", "digests"}
    assert all_jobs(settings_from_mapping(CONFIG, {}))[f"digest:{CHANNEL}"].trigger(settings_from_mapping(CONFIG, {})) is None


def test_jobs_list_shows_the_digest_and_jobs_run_posts_it(fake: FakeSlack, db: Path, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(f'[[digest]]\nchannel = "{CHANNEL}"\nschedule = "mon 09:00"\ntimezone = "Europe/Berlin"\n')
    env = slack_env(fake, TOKEN, SECRET, BRIDGE_DB=str(db))
    listed = CliRunner().invoke(cli, ["--config", str(config), "jobs", "list"], env=env)
    assert listed.exit_code == 0
    line = next(ln for ln in listed.output.splitlines() if ln.startswith(f"digest:{CHANNEL}"))
    assert "Weekly digest to C0DIGEST (mon 09:00 Europe/Berlin)" in line
    assert re.search(r"next \d{4}-\d\d-\d\d 09:00 CES?T ", line)  # in the digest's own timezone
    unknown = CliRunner().invoke(cli, ["--config", str(config), "jobs", "run", "digest:C0NOPE"], env=env)
    assert unknown.exit_code == 2 and f"digest:{CHANNEL}" in unknown.output


def test_dry_run_prints_the_digest_and_records_nothing(fake: FakeSlack, db: Path, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(f'timezone = "Europe/Berlin"\n[[digest]]\nchannel = "{CHANNEL}"\n')
    chart = tmp_path / "chart.png"
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "--channel", CHANNEL, "--week", W47,
                                      "--dry-run", "--chart-file", str(chart), "--db", str(db)], env={})
    assert result.exit_code == 0, result.output
    assert f"Weekly digest · {W47}" in result.output and "16–22 Nov 2026 (Europe/Berlin)" in result.output
    assert "nightly-train" in result.output and f"chart written to {chart}" in result.output
    assert chart.read_bytes().startswith(PNG)
    assert Store(db).count("digest_deliveries") == 0 and fake.calls() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", CHANNEL, "--week", "2026-47"], "use the form 2026-W47"),
        (["--channel", CHANNEL, "--week", "2099-W01"], "has not ended yet"),
        (["--channel", "general"], "is not a channel ID"),
        (["--channel", CHANNEL, "--name", "other"], "no digest 'other'"),
    ],
)
def test_bad_digest_arguments_are_named(args: list[str], message: str, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(f'[[digest]]\nchannel = "{CHANNEL}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", *args, "--dry-run"],
                                env={"BRIDGE_DB": str(tmp_path / "x.db")})
    assert result.exit_code == 2 and message in result.output


def test_posting_needs_slack_credentials(tmp_path: Path, db: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(f'[[digest]]\nchannel = "{CHANNEL}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "--channel", CHANNEL, "--db", str(db)],
                                env={"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""})
    assert result.exit_code == 1 and "SLACK_BOT_TOKEN" in result.output and "--dry-run" in result.output
