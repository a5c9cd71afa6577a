"""Log lines: one record is one line, and no secret, key or request body ever reaches one.

The last test runs `research-bridge -v serve` as a real process, sends every endpoint what a
real client sends (and what an attacker sends), and greps everything the process wrote for
each secret value, the heartbeat key it issued and the marker carried in request bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.logs import REDACTED, SafeFormatter, one_line, redact, register_secrets
from tests.fakes.fake_jira import FakeJira
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.live import free_port, wait_until_up


def record(msg: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("bot.test", logging.INFO, __file__, 1, msg, args, exc_info)


def test_a_value_from_a_request_cannot_start_a_new_line():
    line = SafeFormatter("%(levelname)s %(message)s").format(
        record("/handoffs failed for user %s", "U0X\n2026-01-01 ERROR bot: forged\r\x1b[31m"))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line == r"INFO /handoffs failed for user U0X\n2026-01-01 ERROR bot: forged\r\x1b[31m"
    assert one_line("a\u2028b") == r"a\u2028b"


def test_query_string_credentials_are_redacted_in_access_lines():
    text = '127.0.0.1:5 - "POST /api/v1/users/current/heartbeats.bulk?api_key=1b2c3d&x=1 HTTP/1.1" 201'
    assert redact(text) == f'127.0.0.1:5 - "POST /api/v1/users/current/heartbeats.bulk?api_key={REDACTED}&x=1 HTTP/1.1" 201'
    assert "s3cr3t" not in redact("GET /x?token=s3cr3t&password=s3cr3t")


def test_registered_secrets_are_redacted_in_messages_and_tracebacks():
    register_secrets(["xoxb-registered-0123456789", "short", None])
    formatter = SafeFormatter("%(message)s")
    try:
        raise RuntimeError("auth failed for xoxb-registered-0123456789")
    except RuntimeError:
        out = formatter.format(record("token %s", "xoxb-registered-0123456789", exc_info=sys.exc_info()))
    assert "xoxb-registered-0123456789" not in out and out.count(REDACTED) >= 2
    assert "short" in formatter.format(record("a short word"))  # too short to be redacted


# -- a full run of the real process, -v ------------------------------------------------------


SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-logs-test-token-5f1a",
    "SLACK_SIGNING_SECRET": "logs-signing-secret-77c2",
    "JIRA_API_TOKEN": "jira-api-token-logs-3e9d",
    "JIRA_WEBHOOK_SECRET": "jira-webhook-secret-logs-91ab",
    "GITHUB_WEBHOOK_SECRET": "github-webhook-secret-logs-0c4f",
    "GITLAB_WEBHOOK_TOKEN": "gitlab-webhook-token-logs-8d2e",
    "BRIDGE_API_TOKEN": "bridge-api-token-logs-6b7a",
}
MARKER = "BODY-MARKER-2f7c9e"




def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _exercise(url: str, slack: FakeSlack) -> str:
    """Every endpoint, as real clients and an attacker call them; returns the key issued."""
    secret = SECRETS["SLACK_SIGNING_SECRET"]
    body, response_url = slack_requests.slash_body(slack, "/focus", "setup", "U0ALICE")
    assert slack_requests.signed_post(url, body, secret).status_code == 200
    key = re.search(r"api_key = ([0-9a-f-]{36})", json.dumps(slack.response_to(response_url).body)).group(1)
    forged = slack_requests.slash_form("/handoffs", MARKER, "U0X\nforged", slack.response_url())
    httpx.post(url + "/slack/events", content=forged, timeout=10, headers={
        "Content-Type": slack_requests.FORM, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"})
    slack_requests.signed_post(url, forged, secret, signature="v0=" + "0" * 64)
    body, response_url = slack_requests.slash_body(slack, "/handoffs", MARKER, "U0ALICE")
    slack_requests.signed_post(url, body, secret)
    slack.response_to(response_url)

    beat = json.dumps([{"entity": f"/src/{MARKER}.py", "time": time.time(), "project": MARKER}])
    basic = "Basic " + base64.b64encode(key.encode()).decode()
    for path in (f"/api/v1/users/current/heartbeats.bulk?api_key={key}", "/api/v1/users/current/heartbeats.bulk"):
        assert httpx.post(url + path, content=beat, headers={"Authorization": basic}, timeout=10).status_code == 201
    httpx.post(url + "/api/v1/users/current/heartbeats.bulk?api_key=" + key, content=b"{" + MARKER.encode(),
               timeout=10)

    jira = json.dumps({"webhookEvent": "jira:issue_created", "timestamp": int(time.time() * 1000), "issue": {
        "key": "RES-1", "fields": {"summary": MARKER, "created": "2026-01-05T10:00:00.000+0000"}}}).encode()
    httpx.post(url + "/webhooks/jira", content=jira, timeout=10, headers={
        "X-Hub-Signature": "sha256=" + _sign(SECRETS["JIRA_WEBHOOK_SECRET"], jira)})
    httpx.post(url + "/webhooks/jira", content=jira, timeout=10, headers={"X-Hub-Signature": "sha256=00"})
    github = json.dumps({"zen": MARKER}).encode()
    httpx.post(url + "/webhooks/github", content=github, timeout=10, headers={
        "X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + _sign(SECRETS["GITHUB_WEBHOOK_SECRET"], github)})
    httpx.post(url + "/webhooks/gitlab", content=json.dumps({"object_kind": MARKER}), timeout=10,
               headers={"X-Gitlab-Token": SECRETS["GITLAB_WEBHOOK_TOKEN"]})
    httpx.post(url + "/webhooks/gitlab", content=MARKER, timeout=10, headers={"X-Gitlab-Token": MARKER})
    run = {"pipeline": MARKER, "run_id": "1", "status": "success", "finished_at": "2026-03-04T15:00:00Z"}
    auth = {"Authorization": "Bearer " + SECRETS["BRIDGE_API_TOKEN"]}
    assert httpx.post(url + "/api/v1/pipeline-runs", json=run, headers=auth, timeout=10).status_code == 201
    httpx.post(url + "/api/v1/pipeline-runs", json={**run, "status": MARKER}, headers=auth, timeout=10)
    httpx.get(url + "/healthz", timeout=10)
    return key


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_a_verbose_run_of_every_endpoint_logs_no_secret_key_or_body(tmp_path: Path):
    with FakeSlack(tokens=(SECRETS["SLACK_BOT_TOKEN"],)) as slack, FakeJira("Cloud") as jira:
        slack.add_user("U0ALICE", "alice")
        port = free_port()
        env = {**os.environ, **jira.env(), **SECRETS, "SLACK_API_URL": slack.api_url, "BRIDGE_DB": str(tmp_path / "b.db"),
               "BRIDGE_CONFIG": str(tmp_path / "bridge.toml"), "PORT": str(port)}
        env["JIRA_API_TOKEN"] = SECRETS["JIRA_API_TOKEN"]
        (tmp_path / "bridge.toml").write_text('[jira]\njql = "project = RES"\n')
        log_file = tmp_path / "serve.log"
        with log_file.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "-v", "serve", "--host", "127.0.0.1"],
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                url = f"http://127.0.0.1:{port}"
                wait_until_up(url, alive=lambda: proc.poll() is None)
                key = _exercise(url, slack)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    logs = log_file.read_text()
    assert "Uvicorn running" in logs or "Application startup complete" in logs
    assert f"api_key={REDACTED}" in logs  # the access log is on, and redacted
    assert "DEBUG" in logs  # -v took effect
    for name, value in SECRETS.items():
        assert value not in logs, f"{name} reached the logs"
    assert key not in logs, "the issued heartbeat key reached the logs"
    assert MARKER not in logs, "a request body reached the logs"
    assert not [line for line in logs.splitlines() if line.startswith("forged")]
