"""Jira issues of the configured incident types become incidents, through the sync and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.ingest.jira import incident_target
from bot.models import Incident, JiraIssue
from bot.sources.jira import JiraSync
from bot.sources.jira_client import connect
from bot.store import Store
from tests.fakes.fake_jira import FakeJira

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
EPOCH = T0 - timedelta(days=30)


@pytest.fixture
def fake():
    with FakeJira("Cloud", inline_changelog_max=5) as f:
        yield f


def settings_for(fake: FakeJira, types: list[str] | None = None):
    jira = {"jql": "project = OPS", **({"incident_issue_types": types} if types is not None else {})}
    return settings_from_mapping({"jira": jira}, fake.env())


def sync(fake: FakeJira, store: Store, types: list[str] | None = None):
    settings = settings_for(fake, types)
    return JiraSync(connect(settings), store, settings, clock=lambda: NOW).run()


def incidents(store: Store) -> dict[str, Incident]:
    return {i.incident_id: i for i in store.incidents(EPOCH)}


def test_sync_turns_incident_issues_into_incidents(fake, store):
    outage = fake.add_issue("OPS-1", T0, summary="Ranker latency spike", issue_type="Incident",
                            components=["ranking-service", "api"], labels=["service:other"])
    outage.resolve(T0 + timedelta(hours=3))
    fake.add_issue("OPS-2", T0 + timedelta(hours=1), issue_type="Incident", labels=["sev2", "service:feature-store"])
    fake.add_issue("OPS-3", T0 + timedelta(hours=2), issue_type="Task", components=["ranking-service"])

    sync(fake, store)

    assert set(fake.requests[-1].query["fields"]) >= {"resolutiondate", "components"}
    found = incidents(store)
    assert sorted(found) == ["OPS-1", "OPS-2"]
    assert found["OPS-1"] == Incident("jira", "OPS-1", "Ranker latency spike", T0, T0 + timedelta(hours=3),
                                      "ranking-service", None, f"{fake.url}/browse/OPS-1")
    assert (found["OPS-2"].resolved_at, found["OPS-2"].target) == (None, "feature-store")  # open; target from label
    stored = store.issue("OPS-1")
    assert (stored.resolved, stored.components) == (T0 + timedelta(hours=3), ("ranking-service", "api"))


def test_type_changed_away_removes_the_incident_and_back_adds_it(fake, store):
    issue = fake.add_issue("OPS-1", T0, issue_type="Incident")
    sync(fake, store)
    assert list(incidents(store)) == ["OPS-1"]

    issue.set_type(T0 + timedelta(hours=1), "Bug")
    sync(fake, store)
    assert incidents(store) == {} and store.issue("OPS-1").issue_type == "Bug"

    issue.set_type(T0 + timedelta(hours=2), "Incident")
    sync(fake, store)
    assert list(incidents(store)) == ["OPS-1"]


def test_reopening_clears_the_resolution(fake, store):
    issue = fake.add_issue("OPS-1", T0, issue_type="Incident")
    issue.resolve(T0 + timedelta(hours=2))
    sync(fake, store)
    assert incidents(store)["OPS-1"].resolved_at == T0 + timedelta(hours=2)
    issue.resolve(T0 + timedelta(hours=5), None)
    sync(fake, store)
    assert incidents(store)["OPS-1"].resolved_at is None


def test_configured_types_case_insensitive_and_none_configured(fake, store):
    fake.add_issue("OPS-1", T0, issue_type="Outage")
    fake.add_issue("OPS-2", T0, issue_type="Incident")
    sync(fake, store, ["outage", "Post-mortem"])
    assert list(incidents(store)) == ["OPS-1"]
    fake.issues["OPS-1"].edit_summary(T0 + timedelta(hours=1), "still an outage")
    sync(fake, store, [])  # no incident types: no Jira issue is an incident
    assert incidents(store) == {}


WEBHOOK_SECRET = "jira-webhook-secret"


def make_client(fake: FakeJira, store: Store) -> TestClient:
    settings = settings_from_mapping({"jira": {"jql": "project = OPS"}},
                                     {**fake.env(), "JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET})
    app = create_web_app(settings, store, clock=lambda: NOW)
    return TestClient(app)


def post(client: TestClient, payload: dict):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
               "X-Hub-Signature": signature}
    response = client.post("/webhooks/jira", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


def test_webhooks_create_update_remove_incidents(fake, store):
    client = make_client(fake, store)
    issue = fake.add_issue("OPS-7", T0, summary="Model rollback failed", issue_type="Incident",
                           labels=["model:churn-v3"])
    post(client, fake.webhook_payload("jira:issue_created", "OPS-7"))
    assert incidents(store)["OPS-7"] == Incident("jira", "OPS-7", "Model rollback failed", T0, None, "churn-v3",
                                                 None, f"{fake.url}/browse/OPS-7")

    post(client, fake.webhook_payload("jira:issue_updated", "OPS-7", issue.resolve(T0 + timedelta(minutes=45))))
    assert incidents(store)["OPS-7"].resolved_at == T0 + timedelta(minutes=45)

    post(client, fake.webhook_payload("jira:issue_updated", "OPS-7", issue.set_type(T0 + timedelta(hours=1), "Task")))
    assert incidents(store) == {}

    post(client, fake.webhook_payload("jira:issue_updated", "OPS-7",
                                      issue.set_type(T0 + timedelta(hours=2), "Incident")))
    assert list(incidents(store)) == ["OPS-7"]
    post(client, fake.webhook_payload("jira:issue_deleted", "OPS-7", timestamp=T0 + timedelta(hours=3)))
    assert incidents(store) == {}


def test_webhook_then_sync_keep_one_incident(fake, store):
    client = make_client(fake, store)
    issue = fake.add_issue("OPS-1", T0, issue_type="Incident", components=["search"])
    post(client, fake.webhook_payload("jira:issue_created", "OPS-1"))
    issue.resolve(T0 + timedelta(hours=1))
    sync(fake, store)
    assert store.count("incidents") == 1
    assert incidents(store)["OPS-1"].resolved_at == T0 + timedelta(hours=1)


def _issue(components: tuple[str, ...] = (), labels: tuple[str, ...] = ()) -> JiraIssue:
    return JiraIssue("OPS-1", "1", "OPS", "s", "Incident", "Open", labels, T0, T0, "u", components=components)


def test_incident_target_rules():
    assert incident_target(_issue(("", "api"), ("service:x",))) == "api"  # first non-empty component
    assert incident_target(_issue(labels=("sev1", "Service:ranker", "model:m"))) == "ranker"  # first prefixed label
    assert incident_target(_issue(labels=("model:churn",))) == "churn"
    assert incident_target(_issue(labels=("service:", "team-x"))) is None
