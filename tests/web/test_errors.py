"""One JSON error shape for every endpoint, and a busy database answered 503 with Retry-After."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.ingest.keys import issue_key
from bot.web.errors import BUSY_MESSAGE, BUSY_RETRY_SECONDS

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
ADA = "U0ADA0001"
GITHUB_SECRET = "whsec-github-test-secret"
JIRA_SECRET = "jira-webhook-test-secret"
GITLAB_TOKEN = "glwt-gitlab-test-token"
API_TOKEN = "rb-api-token-0123456789"
ENV = {"GITHUB_WEBHOOK_SECRET": GITHUB_SECRET, "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
       "GITLAB_WEBHOOK_TOKEN": GITLAB_TOKEN, "BRIDGE_API_TOKEN": API_TOKEN}


@pytest.fixture
def client(store) -> TestClient:
    settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, ENV)
    return TestClient(create_web_app(settings, store, clock=lambda: NOW))


def _hmac(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def heartbeat(key: str, body: bytes) -> tuple[str, bytes, dict[str, str]]:
    auth = "Basic " + base64.b64encode(key.encode()).decode()
    return "/api/v1/users/current/heartbeats.bulk", body, {"Authorization": auth}


def github(body: bytes) -> tuple[str, bytes, dict[str, str]]:
    return "/webhooks/github", body, {"X-GitHub-Event": "workflow_run", "X-Hub-Signature-256": _hmac(GITHUB_SECRET, body),
                                      "Content-Type": "application/json"}


def jira(body: bytes) -> tuple[str, bytes, dict[str, str]]:
    return "/webhooks/jira", body, {"X-Hub-Signature": _hmac(JIRA_SECRET, body)}


def gitlab(body: bytes) -> tuple[str, bytes, dict[str, str]]:
    return "/webhooks/gitlab", body, {"X-Gitlab-Token": GITLAB_TOKEN}


def api(body: bytes) -> tuple[str, bytes, dict[str, str]]:
    return "/api/v1/pipeline-runs", body, {"Authorization": f"Bearer {API_TOKEN}"}


def assert_error(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["ok"] is False and isinstance(body["error"], str) and body["error"]
    return body


def test_every_endpoint_answers_bad_json_in_the_one_shape(store, client):
    key = issue_key(store, ADA, NOW)
    for path, body, headers in (heartbeat(key, b"{"), github(b"{"), jira(b"{"), gitlab(b"{"), api(b"{")):
        body = assert_error(client.post(path, content=body, headers=headers), 400)
        assert "not valid JSON" in body["error"], path


def test_refusals_and_framework_errors_share_the_shape(client):
    assert "signature" in assert_error(client.post("/webhooks/github", content=b"{}"), 401)["error"]
    assert "bearer" in assert_error(client.post("/api/v1/pipeline-runs", content=b"{}"), 401)["error"]
    assert "API key" in assert_error(client.post("/api/v1/users/current/heartbeats", content=b"{}"), 401)["error"]
    assert assert_error(client.get("/no/such/path"), 404)["error"] == "Not Found"
    assert assert_error(client.get("/webhooks/jira"), 405)["error"] == "Method Not Allowed"


def _run(run_id: int) -> bytes:
    return json.dumps({"pipeline": "train", "run_id": str(run_id), "status": "success",
                       "finished_at": "2026-03-04T14:00:00Z"}).encode()


def test_a_busy_database_is_a_503_with_retry_after_and_nothing_is_stored(store, client):
    key = issue_key(store, ADA, NOW)
    beat = json.dumps([{"entity": "/home/ada/x.py", "type": "file", "time": NOW.timestamp() - 60}]).encode()
    store.busy_timeout = 0.2  # connections the server's threads open from now on wait this long
    lock = sqlite3.connect(store.path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        for path, body, headers in (heartbeat(key, beat), api(_run(1))):
            response = client.post(path, content=body, headers=headers)
            assert assert_error(response, 503)["error"] == BUSY_MESSAGE, path
            assert response.headers["Retry-After"] == str(BUSY_RETRY_SECONDS)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert store.count("heartbeats") == 0 and store.count("pipeline_runs") == 0
    for path, body, headers in (heartbeat(key, beat), api(_run(1))):
        assert client.post(path, content=body, headers=headers).status_code == 201, path  # the retry is stored
    assert store.count("heartbeats") == 1 and store.count("pipeline_runs") == 1
