"""Slack's share of the server: admission at a rate, a bounded backlog of answers, and
answers that wait for ingest. The real server in uvicorn, signed requests, the fake Slack."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Iterator

import httpx
import pytest

from bot.app import create_slack_app, create_web_app
from bot.config import settings_from_mapping
from bot.slack import http as slack_http
from bot.slack.load import BUSY, BoundedListenerExecutor
from bot.store import Store
from bot.web.priority import CountIngest, IngestActivity
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.live import serve

TOKEN, SECRET = "xoxb-load-token", "load-signing-secret-0123"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ALICE", "alice")
        yield fake


def bridge(slack: FakeSlack, tmp_path, activity: IngestActivity | None = None):
    settings = settings_from_mapping({}, {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                                          "SLACK_API_URL": slack.api_url})
    store = Store(tmp_path / "bridge.db")
    return create_web_app(settings, store, slack_app=create_slack_app(settings, store, activity=activity),
                          activity=activity)


def test_the_bucket_admits_bursts_then_its_rate():
    bucket = slack_http.TokenBucket(rate=10, burst=3)
    assert [bucket.admit() for _ in range(4)] == [True, True, True, False]
    time.sleep(0.25)  # 2.5 tokens back
    assert [bucket.admit() for _ in range(3)] == [True, True, False]


def test_requests_over_the_rate_are_answered_busy_and_never_reach_bolt(slack, tmp_path, monkeypatch):
    monkeypatch.setattr(slack_http, "RATE", 0.001)
    monkeypatch.setattr(slack_http, "BURST", 2)
    with serve(bridge(slack, tmp_path)) as url:
        answered = []
        for _ in range(2):
            body, response_url = slack_requests.slash_body(slack, "/handoffs", "help", "U0ALICE")
            assert slack_requests.signed_post(url, body, SECRET).status_code == 200
            answered.append(slack.response_to(response_url))
        body, response_url = slack_requests.slash_body(slack, "/handoffs", "help", "U0ALICE")
        over = slack_requests.signed_post(url, body, SECRET)
        assert over.status_code == 200 and over.json() == {"response_type": "ephemeral", "text": BUSY}
        # Unsigned requests are still refused first, whatever the rate.
        assert httpx.post(url + "/slack/events", content=body, timeout=10).status_code == 401
        time.sleep(0.5)
        assert [c for c in slack.calls("response_url") if c.path.endswith(response_url.rsplit("/", 1)[1])] == []
    assert len(answered) == 2


def test_a_full_backlog_answers_busy_at_once_instead_of_queueing(slack, tmp_path, monkeypatch):
    monkeypatch.setattr(BoundedListenerExecutor, "full", property(lambda self: True))
    with serve(bridge(slack, tmp_path)) as url:
        body, response_url = slack_requests.slash_body(slack, "/handoffs", "", "U0ALICE")
        response = slack_requests.signed_post(url, body, SECRET)
        assert response.status_code == 200 and response.json()["text"] == BUSY
        time.sleep(0.5)
        assert slack.calls("response_url") == [] and slack.calls("users.info") == []


def test_the_executor_counts_what_is_queued_or_running():
    executor = BoundedListenerExecutor(threads=1, backlog=2)
    release = threading.Event()
    futures = [executor.submit(release.wait, 5) for _ in range(2)]
    assert executor.full
    release.set()
    for f in futures:
        f.result(5)
    time.sleep(0.05)
    assert not executor.full
    executor.shutdown()


def test_answers_wait_for_ingest_in_progress_but_not_forever():
    activity = IngestActivity()
    executor = BoundedListenerExecutor(activity, threads=1, backlog=10)
    activity.started()
    ran_at = []
    started = time.monotonic()
    future = executor.submit(lambda: ran_at.append(time.monotonic()))
    time.sleep(0.02)
    assert ran_at == []  # held while ingest is in progress
    activity.finished()
    future.result(5)
    assert ran_at and ran_at[0] - started < 1
    activity.started()  # ingest that never goes quiet delays an answer by MAX_DEFER at most
    started = time.monotonic()
    executor.submit(lambda: None).result(5)
    assert time.monotonic() - started < 1
    activity.finished()
    executor.shutdown()


def test_ingest_requests_are_counted_while_they_run():
    activity = IngestActivity()
    seen = []

    async def app(scope, receive, send):
        seen.append(activity.busy)

    counting = CountIngest(app, activity)
    for path in ("/api/v1/users/current/heartbeats.bulk", "/webhooks/github", "/slack/events", "/healthz"):
        asyncio.run(counting({"type": "http", "path": path}, None, None))
    assert seen == [1, 1, 0, 0] and activity.busy == 0
