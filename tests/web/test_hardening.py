"""Every endpoint as an attacker meets it: the real server (FastAPI + Bolt in uvicorn, with
its request limits and protocol deadlines) on loopback, every secret configured, the fake
Slack recording whatever reached Slack, and a second fake standing in for an attacker's
host, which must never be called.

The reproducers of the probe are here, each one answering 4xx with nothing stored and
nothing sent anywhere; then a corpus of hostile bodies sent to every endpoint, signed and
unsigned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from datetime import UTC, datetime
from typing import Callable, Iterator

import httpx
import pytest

from bot.app import create_slack_app, create_web_app
from bot.config import settings_from_mapping
from bot.ingest.keys import issue_key
from bot.store import Store
from bot.web import limits as web_limits
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.live import serve

TOKEN, SIGNING = "xoxb-hardening-token", "hardening-signing-secret-0123"
JIRA_SECRET, GITHUB_SECRET, GITLAB_TOKEN, API_TOKEN = (
    "jira-hook-secret-0123", "github-hook-secret-0123", "gitlab-hook-token-0123", "api-token-0123456789")
NOW_MS = int(time.time() * 1000)


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ALICE", "alice")
        yield fake


@pytest.fixture(scope="module")
def attacker() -> Iterator[FakeSlack]:
    """Any host but Slack's: what reaches it is a server-side request forged from outside."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def env(slack) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING, "SLACK_API_URL": slack.api_url,
            "JIRA_WEBHOOK_SECRET": JIRA_SECRET, "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
            "GITLAB_WEBHOOK_TOKEN": GITLAB_TOKEN, "BRIDGE_API_TOKEN": API_TOKEN}


@pytest.fixture(scope="module")
def server(env, tmp_path_factory) -> Iterator[tuple[str, Store, str]]:
    """(base URL, store, a heartbeat key of U0ALICE)."""
    settings = settings_from_mapping({}, env)
    store = Store(tmp_path_factory.mktemp("hardening") / "bridge.db")
    key = issue_key(store, "U0ALICE", datetime.now(UTC))
    web = create_web_app(settings, store, slack_app=create_slack_app(settings, store))
    with serve(web) as url:
        yield url, store, key


@pytest.fixture(autouse=True)
def clean(slack, attacker):
    slack.reset()
    attacker.reset()
    yield


def counts(store: Store) -> dict[str, int]:
    """Rows of every table: what a refused request must leave as it was."""
    tables = [r[0] for r in store.db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND name NOT IN ('_sqlite_migrations', 'api_keys')")]
    return {t: store.db.conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_signed(body: bytes, content_type: str = slack_requests.FORM) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = "v0=" + hmac_hex(SIGNING, b"v0:" + ts.encode() + b":" + body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


# -- 1. /slack/events: nothing before the signature -------------------------------------------


def test_a_non_numeric_timestamp_is_401_and_the_response_url_is_never_called(server, attacker):
    url, store, _ = server
    before = counts(store)
    target = attacker.response_url()
    body = f"command=%2Fhandoffs&user_id=U0X%0Aforged&text=&response_url={target}"
    for timestamp in ("abc", "", "1e9", "-1", "1 2", "9" * 40):
        response = httpx.post(url + "/slack/events", content=body, timeout=10, headers={
            "Content-Type": slack_requests.FORM, "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=00"})
        assert response.status_code == 401, (timestamp, response.text)
    time.sleep(0.5)
    assert attacker.calls() == [] and counts(store) == before


def test_forged_stale_and_missing_signatures_are_401(server, attacker):
    url, _, _ = server
    body, _ = slack_requests.slash_body(attacker, "/handoffs", "", "U0ALICE")
    for kwargs in ({"signature": "v0=" + "0" * 64}, {"age": 301}):
        assert slack_requests.signed_post(url, body, SIGNING, **kwargs).status_code == 401
    assert httpx.post(url + "/slack/events", content=body, timeout=10).status_code == 401
    time.sleep(0.3)
    assert attacker.calls() == []


def test_a_signed_request_with_a_foreign_response_url_is_refused_before_bolt(server, slack, attacker):
    url, _, _ = server
    body = slack_requests.slash_form("/handoffs", "", "U0ALICE", attacker.response_url())
    response = httpx.post(url + "/slack/events", content=body, headers=slack_signed(body.encode()), timeout=10)
    assert response.status_code == 400 and "response_url" in response.json()["error"]
    time.sleep(0.5)
    assert attacker.calls() == [] and slack.calls() == []


def test_a_signed_request_with_a_slack_response_url_is_answered(server, slack):
    url, _, _ = server
    body, response_url = slack_requests.slash_body(slack, "/handoffs", "help", "U0ALICE")
    assert slack_requests.signed_post(url, body, SIGNING).status_code == 200
    assert slack.response_to(response_url).body["response_type"] == "ephemeral"


def test_a_slash_command_whose_text_says_payload_reaches_its_listener(server, slack):
    """Bolt's own parser takes such a form for an interactive payload and finds none."""
    url, _, _ = server
    body, response_url = slack_requests.slash_body(slack, "/handoffs", "team payload-export", "U0ALICE")
    assert slack_requests.signed_post(url, body, SIGNING).status_code == 200
    assert "payload-export" in json.dumps(slack.response_to(response_url).body)


SLACK_MALFORMED = [
    (b"[1]", "application/json"),
    (b'"x"', "application/json"),
    (b"\xff\xfe\xfd", slack_requests.FORM),
    (b"payload=null", slack_requests.FORM),
    (b"payload=%5B1%5D", slack_requests.FORM),
    (b"payload=%7B%22type%22%3A", slack_requests.FORM),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"type": "block_actions", "user": 5, "response_url": 7}', "application/json"),
]


@pytest.mark.parametrize("body, content_type", SLACK_MALFORMED)
def test_malformed_slack_bodies_are_401_unsigned_and_400_signed(server, slack, attacker, body, content_type):
    url, store, _ = server
    before = counts(store)
    unsigned = httpx.post(url + "/slack/events", content=body, headers={"Content-Type": content_type}, timeout=10)
    assert unsigned.status_code == 401
    signed = httpx.post(url + "/slack/events", content=body, headers=slack_signed(body, content_type), timeout=10)
    assert signed.status_code == 400, signed.text
    time.sleep(0.2)
    assert counts(store) == before and attacker.calls() == [] and slack.calls() == []


# -- 2. /webhooks/jira: signed or refused --------------------------------------------------------


def jira_post(url: str, payload: dict | bytes, signed: bool = True) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Hub-Signature"] = "sha256=" + hmac_hex(JIRA_SECRET, body)
    return httpx.post(url + "/webhooks/jira", content=body, headers=headers, timeout=30)


def jira_issue(**fields) -> dict:
    base = {"summary": "Distil", "created": "2026-01-05T10:00:00.000+0000", "updated": "2026-01-05T10:00:00.000+0000",
            "labels": ["research-handoff"], "issuetype": {"name": "Incident"}, "status": {"name": "To Do"},
            "project": {"key": "RES"}}
    return {"webhookEvent": "jira:issue_created", "timestamp": NOW_MS,
            "issue": {"key": "RES-1", "id": "1", "fields": {**base, **fields}}}


@pytest.mark.parametrize("payload, field", [
    (jira_issue(created="0001-01-01T00:00:00.000+1400"), "created"),
    (jira_issue(updated="9999-12-31T23:59:59.000-1200"), "updated"),
    (jira_issue(created="1999-12-31T23:00:00.000+0000"), "created"),
    (jira_issue(updated="2999-01-01T00:00:00.000+0000"), "updated"),
    (jira_issue(summary="\ud800"), "summary"),
    ({**jira_issue(), "issue": {**jira_issue()["issue"], "key": "\ud800"}}, "issue.key"),
    ({**jira_issue(), "timestamp": 1}, "timestamp"),
])
def test_poison_jira_payloads_are_400_naming_the_field(server, payload, field):
    url, store, _ = server
    before = counts(store)
    response = jira_post(url, payload)
    assert response.status_code == 400 and field in response.json()["error"], response.text
    assert counts(store) == before


def test_deeply_nested_jira_json_is_400(server):
    url, store, _ = server
    before = counts(store)
    for depth in (900, 5_000, 100_000):
        body = b'{"webhookEvent": "jira:issue_updated", "issue": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
        assert jira_post(url, body).status_code == 400
    assert counts(store) == before


# -- 3. body limits before authentication ------------------------------------------------------


def raw_request(url: str, head: str, body: bytes = b"", read_timeout: float = 5) -> bytes:
    """Send a request line and headers (and some body) on a raw socket; return what came back."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


@pytest.mark.parametrize("path, limit", [
    ("/slack/events", web_limits.SLACK_BODY_BYTES),
    ("/webhooks/jira", web_limits.WEBHOOK_BODY_BYTES),
    ("/webhooks/github", web_limits.WEBHOOK_BODY_BYTES),
    ("/webhooks/gitlab", web_limits.WEBHOOK_BODY_BYTES),
    ("/api/v1/users/current/heartbeats.bulk", web_limits.INGEST_BODY_BYTES),
    ("/api/v1/pipeline-runs", web_limits.INGEST_BODY_BYTES),
    ("/healthz", web_limits.OTHER_BODY_BYTES),
])
def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(server, path, limit):
    url, _, _ = server
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {50_000_000}"
    answer = raw_request(url, head)  # not one byte of the 50 MB is sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert f"larger than {limit} bytes".encode() in answer
    assert b"connection: close" in answer.lower()


@pytest.mark.parametrize("path", ["/slack/events", "/webhooks/jira", "/webhooks/github",
                                  "/api/v1/users/current/heartbeats.bulk", "/api/v1/deployments"])
def test_a_chunked_body_growing_past_the_limit_is_413(server, path):
    url, store, key = server
    before = counts(store)
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(40):  # 40 MiB offered
            sent.append(1)
            yield b"[" + b" " * (1024 * 1024 - 1)

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}",
               "X-Hub-Signature": "sha256=00", "X-Hub-Signature-256": "sha256=00"}
    if "heartbeats" in path:
        headers["Authorization"] = "Basic " + base64.b64encode(key.encode()).decode()
    try:
        response = httpx.post(url + path, content=chunks(), headers=headers, timeout=30)
        assert response.status_code == 413
    except httpx.HTTPError:  # the server may close while the client is still writing
        pass
    assert len(sent) < 40 and counts(store) == before


def test_a_signed_20_mb_jira_body_is_413(server):
    url, store, _ = server
    before = counts(store)
    payload = jira_issue(summary="x" * 20_000_000)
    try:  # answered from Content-Length, while the client is still sending: it may see the reset
        assert jira_post(url, payload).status_code == 413
    except (httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadError):
        pass
    assert counts(store) == before


def test_more_heartbeats_than_a_post_may_carry_is_413(server):
    url, store, key = server
    before = counts(store)
    now = time.time()
    beats = [{"entity": "a.py", "time": now - i} for i in range(1001)]
    response = httpx.post(url + "/api/v1/users/current/heartbeats.bulk", json=beats, timeout=30,
                          headers={"Authorization": "Basic " + base64.b64encode(key.encode()).decode()})
    assert response.status_code == 413 and "1000" in response.json()["error"]
    assert counts(store) == before


# -- 5. signed poison payloads: 400 naming the field, nothing stored ---------------------------


def github_post(url: str, event: str, payload: dict | bytes) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return httpx.post(url + "/webhooks/github", content=body, timeout=30, headers={
        "Content-Type": "application/json", "X-GitHub-Event": event,
        "X-Hub-Signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, body)})


def gitlab_post(url: str, payload: dict) -> httpx.Response:
    return httpx.post(url + "/webhooks/gitlab", json=payload, timeout=30, headers={"X-Gitlab-Token": GITLAB_TOKEN})


RUN = {"action": "completed", "repository": {"full_name": "ml/ranker"},
       "workflow_run": {"id": 1, "name": "train", "run_attempt": 1, "conclusion": "success",
                        "run_started_at": "2026-03-04T14:00:00Z", "updated_at": "2026-03-04T15:00:00Z",
                        "head_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
                        "head_commit": {"timestamp": "2026-03-04T13:00:00Z"}}}
DEPLOY = {"deployment_status": {"state": "success", "updated_at": "2026-03-04T15:00:00Z"},
          "deployment": {"id": 7, "environment": "production", "sha": "9fceb02d", "payload": {}},
          "repository": {"full_name": "ml/ranker"}}
PIPELINE = {"object_kind": "pipeline", "project": {"path_with_namespace": "ml/ranker"},
            "object_attributes": {"id": 3, "ref": "main", "status": "success",
                                  "created_at": "2026-03-04 14:00:00 UTC", "finished_at": "2026-03-04 15:00:00 UTC"}}


def _run(**changes) -> dict:
    return {**RUN, "workflow_run": {**RUN["workflow_run"], **changes}}


@pytest.mark.parametrize("event, payload, field", [
    ("workflow_run", _run(updated_at="9999-12-31T23:59:59Z"), "workflow_run.updated_at"),
    ("workflow_run", _run(run_started_at="1970-01-01T00:00:00Z"), "workflow_run.run_started_at"),
    ("workflow_run", _run(run_started_at="2026-03-04T16:00:00Z"), "workflow_run.run_started_at is after"),
    ("workflow_run", _run(head_commit={"timestamp": 0}), "workflow_run.head_commit.timestamp"),
    ("deployment_status", {**DEPLOY, "deployment": {**DEPLOY["deployment"], "payload": "[" * 5000 + "]" * 5000}},
     "deployment.payload"),
    ("deployment_status", {**DEPLOY, "deployment_status": {"state": "success", "updated_at": "9999-12-31T23:59:59Z"}},
     "deployment_status.updated_at"),
])
def test_poison_github_payloads_are_400_naming_the_field(server, event, payload, field):
    url, store, _ = server
    before = counts(store)
    response = github_post(url, event, payload)
    assert response.status_code == 400 and field in response.json()["error"], response.text
    assert counts(store) == before


def test_github_payload_nested_5000_deep_is_400(server):
    url, store, _ = server
    before = counts(store)
    body = json.dumps(DEPLOY).replace('"payload": {}', '"payload": ' + "[" * 5000 + "]" * 5000).encode()
    assert github_post(url, "deployment_status", body).status_code == 400
    assert counts(store) == before


@pytest.mark.parametrize("attrs, field", [
    ({"finished_at": "9999-12-31 23:59:59 UTC"}, "object_attributes.finished_at"),
    ({"created_at": "2026-03-04 16:00:00 UTC"}, "object_attributes.created_at is after"),
    ({"finished_at": 0}, "object_attributes.finished_at"),
])
def test_poison_gitlab_payloads_are_400_naming_the_field(server, attrs, field):
    url, store, _ = server
    before = counts(store)
    payload = {**PIPELINE, "object_attributes": {**PIPELINE["object_attributes"], **attrs}}
    response = gitlab_post(url, payload)
    assert response.status_code == 400 and field in response.json()["error"], response.text
    assert counts(store) == before


@pytest.mark.parametrize("record, field", [
    ({"finished_at": "9999-12-31T23:59:59Z"}, "body.finished_at"),
    ({"finished_at": "1999-06-01T00:00:00Z"}, "body.finished_at"),
    ({"commit_at": 0}, "body.commit_at"),
    ({"attempt": "3"}, "body.attempt"),
    ({"pipeline": " \t "}, "body.pipeline"),
])
def test_the_ingest_api_applies_the_same_rules(server, record, field):
    url, store, _ = server
    before = counts(store)
    run = {"pipeline": "ml/ranker: train", "run_id": "1", "status": "success", "finished_at": "2026-03-04T15:00:00Z",
           **record}
    response = httpx.post(url + "/api/v1/pipeline-runs", json=run, headers={"Authorization": f"Bearer {API_TOKEN}"},
                          timeout=10)
    assert response.status_code == 422 and f"{field}:" in response.json()["error"], response.text
    assert counts(store) == before


# -- 7. connections: deadlines for headers and bodies, disconnects ------------------------------


@pytest.fixture
def quick_deadlines(monkeypatch):
    monkeypatch.setattr(web_limits.GuardedH11Protocol, "head_seconds", 0.5)
    monkeypatch.setattr(web_limits, "BODY_SECONDS", 0.5)


@pytest.fixture
def quick_server(quick_deadlines, env, tmp_path) -> Iterator[tuple[str, Store]]:
    settings = settings_from_mapping({}, env)
    store = Store(tmp_path / "quick.db")
    with serve(create_web_app(settings, store)) as url:
        yield url, store


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_idle_and_slow_header_connections_are_closed(quick_server):
    url, _ = quick_server
    host, port = url.removeprefix("http://").split(":")
    idle = socket.create_connection((host, int(port)))
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the headers never end
    try:
        assert _closed_within(idle, 3) and _closed_within(slow, 3)
    finally:
        idle.close()
        slow.close()
    assert httpx.get(url + "/healthz", timeout=5).status_code == 200


def test_a_kept_alive_connection_dripping_its_next_headers_is_closed(quick_server):
    url, _ = quick_server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(3)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 3
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":  # a byte every 0.1 s
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.1)
            if time.monotonic() > deadline:
                break
        assert closed or _closed_within(sock, 2)


def test_a_slow_body_gets_408_and_a_disconnect_is_one_info_line(quick_server, caplog):
    url, store = quick_server
    head = ("POST /api/v1/pipeline-runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {API_TOKEN}\r\nContent-Length: 1000")
    answer = raw_request(url, head, b'{"pipeline": ', read_timeout=5)  # then nothing more
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    host, port = url.removeprefix("http://").split(":")
    with caplog.at_level("INFO"):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head.encode() + b"\r\n\r\n" + b'{"pipeline": ')
        time.sleep(0.5)
    assert "went away before sending the whole body" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert store.count("pipeline_runs") == 0


# -- the corpus: hostile bodies to every endpoint, signed and unsigned ---------------------------


CORPUS = [
    b"", b"{", b"[1]", b'"x"', b"null", b"42", b"\xff\xfe\xfd", b"\x00" * 64,
    b'{"a": NaN}', b'{"a": Infinity}', b'{"n": ' + b"9" * 5000 + b"}",
    b"[" * 100_000 + b"]" * 100_000, b"[" * 950 + b"]" * 950,
    b'{"key": "\\ud800", "issue": {"key": "\\udfff"}, "entity": "\\ud800", "time": 1}',
    b"payload=null", b"payload=%5B1%5D", b'[{"entity": "\\ud800", "time": "x"}]',
]

Signer = Callable[[bytes, str], dict[str, str]]


def _signers(key: str) -> dict[str, tuple[str, Signer]]:
    basic = "Basic " + base64.b64encode(key.encode()).decode()
    return {
        "slack": ("/slack/events", lambda b, ct: slack_signed(b, ct)),
        "jira": ("/webhooks/jira", lambda b, ct: {"Content-Type": ct,
                                                  "X-Hub-Signature": "sha256=" + hmac_hex(JIRA_SECRET, b)}),
        "github": ("/webhooks/github", lambda b, ct: {"Content-Type": ct, "X-GitHub-Event": "workflow_run",
                                                      "X-Hub-Signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, b)}),
        "github-deploy": ("/webhooks/github", lambda b, ct: {
            "Content-Type": ct, "X-GitHub-Event": "deployment_status",
            "X-Hub-Signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, b)}),
        "gitlab": ("/webhooks/gitlab", lambda b, ct: {"Content-Type": ct, "X-Gitlab-Token": GITLAB_TOKEN}),
        "heartbeats": ("/api/v1/users/current/heartbeats.bulk", lambda b, ct: {"Content-Type": ct,
                                                                               "Authorization": basic}),
        "heartbeat": ("/api/v1/users/current/heartbeats", lambda b, ct: {"Content-Type": ct, "Authorization": basic}),
        "runs": ("/api/v1/pipeline-runs", lambda b, ct: {"Content-Type": ct, "Authorization": f"Bearer {API_TOKEN}"}),
        "deployments": ("/api/v1/deployments", lambda b, ct: {"Content-Type": ct,
                                                              "Authorization": f"Bearer {API_TOKEN}"}),
        "incidents": ("/api/v1/incidents", lambda b, ct: {"Content-Type": ct, "Authorization": f"Bearer {API_TOKEN}"}),
    }


@pytest.mark.parametrize("endpoint", ["slack", "jira", "github", "github-deploy", "gitlab", "heartbeats",
                                      "heartbeat", "runs", "deployments", "incidents"])
def test_the_hostile_corpus_gets_4xx_everywhere_and_nothing_is_stored(server, slack, attacker, endpoint):
    url, store, key = server
    path, sign = _signers(key)[endpoint]
    before = counts(store)
    for body in CORPUS:
        for content_type in ("application/json", slack_requests.FORM):
            unsigned = httpx.post(url + path, content=body, headers={"Content-Type": content_type}, timeout=30)
            assert unsigned.status_code == 401, (endpoint, body[:40], unsigned.status_code)
            signed = httpx.post(url + path, content=body, headers=sign(body, content_type), timeout=30)
            assert 400 <= signed.status_code < 500, (endpoint, body[:40], content_type, signed.text[:200])
    time.sleep(0.2)
    assert counts(store) == before
    assert attacker.calls() == [] and [c for c in slack.calls() if c.method != "auth.test"] == []
