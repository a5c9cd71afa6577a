"""`POST /webhooks/jira`: signatures, bad input, redeliveries, and webhook + sync overlap."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.sources.jira import JiraSync
from bot.sources.jira_client import connect
from bot.sources.webhooks import verify_signature
from bot.store import Store
from tests.fakes.fake_jira import BOB, FakeJira

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
SECRET = "whsec-jira-test-secret"
HANDOFF = "research-handoff"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def fake():
    with FakeJira("Cloud", inline_changelog_max=5) as f:
        yield f


def make_client(fake: FakeJira, store: Store, secret: str | None = SECRET) -> TestClient:
    env = {**fake.env(), **({"JIRA_WEBHOOK_SECRET": secret} if secret else {})}
    settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, env)
    app = create_web_app(settings, store, clock=lambda: NOW)
    return TestClient(app)


@pytest.fixture
def client(fake, store) -> TestClient:
    return make_client(fake, store)


def post(client: TestClient, payload, *, signature: str | None = "auto", delivery: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4())}
    if signature == "auto":
        headers["X-Hub-Signature"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature"] = signature
    return client.post("/webhooks/jira", content=body, headers=headers)


def stored(store: Store) -> tuple[int, int, int, int]:
    return tuple(store.count(t) for t in ("jira_issues", "jira_changelog", "handoff_cycles", "webhook_deliveries"))


def test_signed_issue_updated_is_stored_and_derives_the_handoff(fake, store, client):
    issue = fake.add_issue("RES-1", T0, summary="Distilled ranker ready")
    history = issue.add_label(T0 + timedelta(hours=2), HANDOFF)
    payload = fake.webhook_payload("jira:issue_updated", "RES-1", history)

    response = post(client, payload)

    assert response.status_code == 200
    assert response.json() == {"event": "jira:issue_updated", "ok": True, "issue": "RES-1", "new_items": 1}
    assert store.issue("RES-1").labels == (HANDOFF,) and store.issue("RES-1").url == f"{fake.url}/browse/RES-1"
    [item] = store.changelog("RES-1")
    assert (item.history_id, item.item_index, item.field, item.to_string) == (history.id, 0, "labels", HANDOFF)
    assert item.created == T0 + timedelta(hours=2) and item.author_name == "Alice Researcher"
    [view] = store.handoffs()
    assert view.cycle.requested_at == T0 + timedelta(hours=2) and view.summary == "Distilled ranker ready"

    pickup = issue.transition(T0 + timedelta(hours=5), "In Progress", author=BOB)
    assert post(client, fake.webhook_payload("jira:issue_updated", "RES-1", pickup, user=BOB)).status_code == 200
    assert store.handoffs()[0].cycle.picked_up_at == T0 + timedelta(hours=5)
    assert store.handoffs()[0].cycle.picked_up_by_name == "Bob Engineer"


def test_issue_created_with_the_label_opens_a_handoff(fake, store, client):
    fake.add_issue("RES-2", T0, labels=[HANDOFF])
    assert post(client, fake.webhook_payload("jira:issue_created", "RES-2")).status_code == 200
    assert store.handoffs()[0].cycle.requested_at == T0


def test_bad_or_missing_signature_is_refused(fake, store, client):
    issue = fake.add_issue("RES-1", T0)
    payload = fake.webhook_payload("jira:issue_updated", "RES-1", issue.add_label(T0, HANDOFF))
    body = json.dumps(payload).encode()
    for signature in (sign(body, "another-secret"), None, "sha256=", sign(body + b" "), "sha1=" + "0" * 40):
        response = post(client, body, signature=signature)
        assert response.status_code == 401, signature
        assert "X-Hub-Signature" in response.json()["error"]
    assert stored(store) == (0, 0, 0, 0)


def test_verify_signature():
    body = b'{"webhookEvent":"jira:issue_updated"}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert verify_signature(SECRET, body, f"sha256={digest}")
    assert verify_signature(SECRET, body, f"SHA256={digest.upper()}")
    assert verify_signature(SECRET, body, digest)  # without the method prefix
    assert not verify_signature(SECRET, body, f"sha512={digest}")
    assert not verify_signature(SECRET, body + b"x", f"sha256={digest}")
    assert not verify_signature("", body, f"sha256={digest}")
    assert not verify_signature(SECRET, body, "sha256=zzé")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"\xff\xfe", "body is not UTF-8"),
        (b"[1, 2]", "body must be a JSON object"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "timestamp": 1}).encode(), "payload has no issue.key"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1"}}).encode(), "payload has no issue.key"),
        (json.dumps({"webhookEvent": "jira:issue_deleted", "issue": "RES-1"}).encode(), "payload has no issue.key"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "RES-1"}}).encode(), "issue.fields is missing"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "RES-1", "fields": {"created": "soon"}}}).encode(),
         "issue.fields.created of RES-1 is not a Jira date-time"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "RES-1", "fields": {"created": "2026-01-05T10:00:00.000+0000", "project": "RES"}}}).encode(),
         "issue of RES-1 is malformed"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "timestamp": "noon", "issue": {"key": "RES-1"}}).encode(),
         "timestamp is not epoch milliseconds"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "changelog": {"items": []},
                     "issue": {"key": "RES-1", "fields": {"created": "2026-01-05T10:00:00.000+0000"}}}).encode(),
         "changelog has no id"),
    ],
)
def test_bad_input_gets_400_naming_the_problem(store, client, body, message):
    response = post(client, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert stored(store) == (0, 0, 0, 0)


def test_other_events_are_ignored(fake, store, client):
    response = post(client, {"webhookEvent": "comment_created", "timestamp": 1, "comment": {"id": "1"}})
    assert response.status_code == 202 and response.json()["ignored"] == "comment_created"
    assert stored(store) == (0, 0, 0, 0)


def test_redelivery_counts_once(fake, store, client):
    issue = fake.add_issue("RES-1", T0)
    payload = fake.webhook_payload("jira:issue_updated", "RES-1", issue.add_label(T0 + timedelta(hours=1), HANDOFF))
    first = post(client, payload, delivery="delivery-1")
    again = post(client, payload, delivery="delivery-1")
    assert first.json()["new_items"] == 1 and again.json() == {
        "event": "jira:issue_updated", "ok": True, "duplicate": True, "issue": "RES-1"}
    # Same change under another delivery id (e.g. two registered webhooks): stored once anyway.
    assert post(client, payload, delivery="delivery-2").json()["new_items"] == 0
    assert stored(store) == (1, 1, 1, 2)


def test_failed_write_is_not_remembered_as_delivered(fake, store, client, monkeypatch):
    issue = fake.add_issue("RES-1", T0)
    payload = fake.webhook_payload("jira:issue_updated", "RES-1", issue.add_label(T0, HANDOFF))

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "save_issue", locked)  # fails after the delivery id was written
    assert post(client, payload, delivery="d-1").status_code == 503
    assert stored(store) == (0, 0, 0, 0)
    monkeypatch.undo()
    assert post(client, payload, delivery="d-1").json()["new_items"] == 1  # the redelivery is processed
    assert stored(store) == (1, 1, 1, 1)


def test_webhook_then_sync_stores_each_change_once(fake, store, client):
    issue = fake.add_issue("RES-1", T0)
    issue.add_label(T0 + timedelta(hours=1), HANDOFF)
    for k in range(7):  # the inline changelog (5) is truncated: the sync pages the rest
        issue.edit_summary(T0 + timedelta(hours=2 + k), f"s{k}")
    last = issue.change(T0 + timedelta(hours=10), [
        {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": "To Do",
         "to": "3", "toString": "In Progress"},
        {"field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": None, "fromString": None,
         "to": BOB.account_id, "toString": "Bob Engineer"},
    ], author=BOB)
    issue.status = "In Progress"
    assert post(client, fake.webhook_payload("jira:issue_updated", "RES-1", last, user=BOB)).json()["new_items"] == 2

    settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, fake.env())
    result = JiraSync(connect(settings), store, settings, clock=lambda: NOW).run()

    assert result.new_items == 8 and store.count("jira_changelog") == 10
    assert sorted(i.item_index for i in store.changelog("RES-1") if i.history_id == last.id) == [0, 1]
    [view] = store.handoffs()
    assert view.cycle.requested_at == T0 + timedelta(hours=1)
    assert view.cycle.picked_up_at == T0 + timedelta(hours=10)


def test_older_delivery_does_not_overwrite_a_newer_issue_state(fake, store, client):
    issue = fake.add_issue("RES-1", T0)
    early = fake.webhook_payload("jira:issue_updated", "RES-1", issue.add_label(T0 + timedelta(hours=1), HANDOFF))
    late = fake.webhook_payload("jira:issue_updated", "RES-1", issue.transition(T0 + timedelta(hours=2), "In Progress"))
    early["issue"]["fields"].update(status={"name": "To Do"}, updated="2026-01-05T11:00:00.000+0000")
    post(client, late)
    post(client, early)  # arrives last
    assert store.issue("RES-1").status == "In Progress"
    assert store.handoffs()[0].cycle.picked_up_at == T0 + timedelta(hours=2)


def test_issue_deleted_hides_the_handoff(fake, store, client):
    fake.add_issue("RES-1", T0, labels=[HANDOFF])
    post(client, fake.webhook_payload("jira:issue_created", "RES-1"))
    assert len(store.handoffs()) == 1
    response = post(client, fake.webhook_payload("jira:issue_deleted", "RES-1", timestamp=T0 + timedelta(days=1)))
    assert response.status_code == 200 and response.json()["deleted"] is True
    assert store.handoffs() == [] and store.issue("RES-1") is None
    again = post(client, {"webhookEvent": "jira:issue_deleted", "timestamp": 1767607200000,
                          "issue": {"key": "RES-404"}})
    assert again.status_code == 200 and again.json()["deleted"] is False


def test_without_a_secret_webhooks_are_refused_with_503_naming_the_variable(fake, store, caplog):
    """Unsigned deliveries could write issues, handoffs and incidents (which move the change
    failure rate): without JIRA_WEBHOOK_SECRET nothing is accepted, even with Jira unset."""
    fake.add_issue("RES-1", T0, labels=[HANDOFF], issue_type="Incident")
    for env in (fake.env(), {}):
        with caplog.at_level(logging.WARNING, logger="bot.sources.jira_webhook"):
            settings = settings_from_mapping({"jira": {"jql": "project = RES"}} if env else {}, env)
            app = create_web_app(settings, store, clock=lambda: NOW)
        response = post(TestClient(app), fake.webhook_payload("jira:issue_created", "RES-1"), signature=None)
        assert response.status_code == 503 and "JIRA_WEBHOOK_SECRET" in response.json()["error"]
        assert "JIRA_WEBHOOK_SECRET is not set" in caplog.text
    assert stored(store) == (0, 0, 0, 0) and store.count("incidents") == 0


def test_unsigned_webhooks_only_with_the_explicit_opt_in_loudly_logged(fake, store, caplog):
    fake.add_issue("RES-1", T0, labels=[HANDOFF])
    settings = settings_from_mapping({"jira": {"jql": "project = RES", "allow_unsigned_webhooks": True}},
                                     fake.env())
    with caplog.at_level(logging.WARNING, logger="bot.sources.jira_webhook"):
        app = create_web_app(settings, store, clock=lambda: NOW)
    assert "UNSIGNED" in caplog.text
    assert post(TestClient(app), fake.webhook_payload("jira:issue_created", "RES-1"), signature=None).status_code == 200
    assert store.count("jira_issues") == 1
