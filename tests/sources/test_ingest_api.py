"""Generic ingest (`/api/v1/pipeline-runs`, `/deployments`, `/incidents`): bearer auth,
validation that names the field and refuses the whole batch, storage, and the OpenAPI
document (its own examples must be accepted)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.store import Store
from tests.support import FIXTURES
from tests.support.live import serve

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
TOKEN = "rb-api-token-0123456789"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {TOKEN}"}

RUN = {"pipeline": "ml/ranker: train", "run_id": 4711, "status": "failed", "started_at": "2026-03-04T16:31:07+02:00",
       "finished_at": "2026-03-04T17:02:11+02:00", "url": "https://ci.example.com/runs/4711",
       "commit_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8", "commit_at": "2026-03-04T13:00:00Z", "branch": "main"}
DEPLOY = {"deployment_id": "deploy-981", "target": "ranker-model", "version": "v2.3.1", "status": "success",
          "finished_at": "2026-03-04T15:20:00Z"}
INCIDENT = {"incident_id": "INC-42", "title": "Ranker returns stale results", "started_at": "2026-03-04T16:00:00Z"}


def make_app(store: Store, token: str | None = TOKEN, **env: str):
    environ = {**({"BRIDGE_API_TOKEN": token} if token else {}), **env}
    return create_web_app(settings_from_mapping({}, environ), store, clock=lambda: NOW)


@pytest.fixture
def client(store) -> TestClient:
    return TestClient(make_app(store))


def stored(store: Store) -> tuple[int, int, int]:
    return tuple(store.count(t) for t in ("pipeline_runs", "deployments", "incidents"))


def test_a_pipeline_run_is_stored_normalised(store, client):
    response = client.post("/api/v1/pipeline-runs", json=RUN, headers=AUTH)

    assert response.status_code == 201
    [run] = store.pipeline_runs(LONG_AGO)
    assert run._asdict() == {
        "source": "api", "pipeline": "ml/ranker: train", "run_id": "4711", "attempt": 1, "status": "failed",
        "finished_at": datetime(2026, 3, 4, 15, 2, 11, tzinfo=UTC), "started_at": datetime(2026, 3, 4, 14, 31, 7, tzinfo=UTC),
        "url": "https://ci.example.com/runs/4711", "commit_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "commit_at": datetime(2026, 3, 4, 13, 0, tzinfo=UTC), "branch": "main",
    }
    assert response.json()["stored"] == 1
    assert response.json()["pipeline_runs"][0]["finished_at"] == "2026-03-04T15:02:11+00:00"


def test_a_list_is_stored_and_a_repost_replaces(store, client):
    batch = [RUN, {**RUN, "attempt": 2, "status": "success"}, {**RUN, "run_id": "4712", "status": "cancelled"}]
    response = client.post("/api/v1/pipeline-runs", json=batch, headers=AUTH)
    assert response.status_code == 201 and response.json()["stored"] == 3
    assert client.post("/api/v1/pipeline-runs", json={**RUN, "status": "success"}, headers=AUTH).status_code == 201
    assert sorted((r.run_id, r.attempt, r.status) for r in store.pipeline_runs(LONG_AGO)) == [
        ("4711", 1, "success"), ("4711", 2, "success"), ("4712", 1, "cancelled")]


def test_deployments_carry_rollbacks_and_production(store, client):
    batch = [DEPLOY,
             {**DEPLOY, "deployment_id": 982, "version": "v2.3.0", "is_rollback": True, "finished_at": "2026-03-04T16:00:00Z"},
             {**DEPLOY, "deployment_id": "deploy-983", "environment": "staging"},
             {**DEPLOY, "deployment_id": "deploy-984", "environment": "eu-live", "is_production": True, "status": "failed"}]
    assert client.post("/api/v1/deployments", json=batch, headers=AUTH).status_code == 201
    rows = {d.deployment_id: d for d in store.deployments(LONG_AGO)}
    assert [(k, d.environment, d.is_production, d.is_rollback, d.status) for k, d in sorted(rows.items())] == [
        ("982", "production", True, True, "success"),
        ("deploy-981", "production", True, False, "success"),
        ("deploy-983", "staging", False, False, "success"),
        ("deploy-984", "eu-live", True, False, "failed"),
    ]
    assert all(d.source == "api" for d in rows.values())


def test_incidents_open_and_resolved(store, client):
    assert client.post("/api/v1/incidents", json=INCIDENT, headers=AUTH).status_code == 201
    [open_incident] = store.incidents(LONG_AGO)
    assert open_incident.resolved_at is None and open_incident.title == "Ranker returns stale results"
    resolved = {**INCIDENT, "resolved_at": "2026-03-04T18:10:00+01:00", "target": "ranker-model",
                "deployment_id": "deploy-981"}
    assert client.post("/api/v1/incidents", json=resolved, headers=AUTH).status_code == 201
    [incident] = store.incidents(LONG_AGO)
    assert (incident.resolved_at, incident.target, incident.deployment_id) == (
        datetime(2026, 3, 4, 17, 10, tzinfo=UTC), "ranker-model", "deploy-981")


@pytest.mark.parametrize("path", ["/api/v1/pipeline-runs", "/api/v1/deployments", "/api/v1/incidents"])
@pytest.mark.parametrize(("headers", "message"), [
    ({}, "missing bearer token"),
    ({"Authorization": "Bearer not-the-token"}, "wrong bearer token"),
    ({"Authorization": f"Bearer {TOKEN}x"}, "wrong bearer token"),
    ({"Authorization": f"Basic {TOKEN}"}, "missing bearer token"),
    ({"Authorization": TOKEN}, "missing bearer token"),
])
def test_missing_or_wrong_bearer_is_refused_before_the_body_is_read(store, client, path, headers, message):
    for body in (json.dumps([RUN, DEPLOY, INCIDENT]).encode(), b"{not json"):
        response = client.post(path, content=body, headers={"Content-Type": "application/json", **headers})
        assert response.status_code == 401
        assert message in response.json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored(store) == (0, 0, 0)


def test_without_a_token_the_api_is_refused(store):
    client = TestClient(make_app(store, token=None))
    for path, body in (("/api/v1/pipeline-runs", RUN), ("/api/v1/deployments", DEPLOY), ("/api/v1/incidents", INCIDENT)):
        response = client.post(path, json=body, headers=AUTH)
        assert response.status_code == 503 and "BRIDGE_API_TOKEN" in response.json()["error"]
    assert stored(store) == (0, 0, 0)


@pytest.mark.parametrize(("path", "body", "field", "message"), [
    ("/api/v1/pipeline-runs", [RUN, {**RUN, "run_id": "4712", "status": "passed"}], "body[1].status", "Input should be 'success'"),
    ("/api/v1/pipeline-runs", {**RUN, "finished_at": "2026-03-04T15:02:11"}, "body.finished_at", "timezone"),
    ("/api/v1/pipeline-runs", [RUN, {**RUN, "started_at": "2026-03-04 14:31"}], "body[1].started_at", "timezone"),
    ("/api/v1/pipeline-runs", {**RUN, "finished_at": "soon"}, "body.finished_at", "datetime"),
    ("/api/v1/pipeline-runs", {k: v for k, v in RUN.items() if k != "pipeline"}, "body.pipeline", "Field required"),
    ("/api/v1/pipeline-runs", {**RUN, "pipeline": "  "}, "body.pipeline", "at least 1 character"),
    ("/api/v1/pipeline-runs", {**RUN, "attempt": 0}, "body.attempt", "greater than or equal to 1"),
    ("/api/v1/pipeline-runs", {**RUN, "finshed_at": "2026-03-04T15:02:11Z"}, "body.finshed_at", "Extra inputs"),
    ("/api/v1/pipeline-runs", {**RUN, "started_at": "2026-03-04T18:00:00Z"}, "body", "started_at is after finished_at"),
    ("/api/v1/deployments", [DEPLOY, {**DEPLOY, "status": "rolled_back"}], "body[1].status", "'success' or 'failed'"),
    ("/api/v1/deployments", {**DEPLOY, "is_rollback": "maybe"}, "body.is_rollback", "boolean"),
    ("/api/v1/deployments", {**DEPLOY, "finished_at": "2026-03-04T15:20:00"}, "body.finished_at", "timezone"),
    ("/api/v1/incidents", {**INCIDENT, "resolved_at": "2026-03-04T15:00:00Z"}, "body", "resolved_at is before started_at"),
    ("/api/v1/pipeline-runs", {**RUN, "attempt": 10**30}, "body.attempt", "less than or equal to 1000000"),
    ("/api/v1/pipeline-runs", {**RUN, "finished_at": "0001-01-01T00:00:00+01:00"}, "body.finished_at", "out of range"),
    ("/api/v1/pipeline-runs", {**RUN, "branch": "\ud800"}, "body.branch", "unicode"),
    ("/api/v1/incidents", {**INCIDENT, "started_at": None}, "body.started_at", "Input should be a valid datetime"),
])
def test_invalid_records_refuse_the_whole_batch_naming_the_field(store, client, path, body, field, message):
    response = client.post(path, content=json.dumps(body).encode(), headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert f"{field}:" in error and message in error
    assert any(d["field"] == field for d in response.json()["detail"])
    assert stored(store) == (0, 0, 0)


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "body is not valid JSON"),
    (b"", 400, "body is not valid JSON"),
    (b'"a run"', 422, "body must be a JSON object or an array of objects"),
    (b"[]", 422, "body holds no records"),
    (b"[1]", 422, "body[0]"),
    (json.dumps([RUN] * 1001).encode(), 422, "at most 1000 records"),
])
def test_bad_bodies_get_a_clear_4xx(store, client, body, status, message):
    response = client.post("/api/v1/pipeline-runs", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == status
    assert message in response.json()["error"]
    assert stored(store) == (0, 0, 0)


def test_an_oversized_body_is_refused(store, client):
    huge = json.dumps([{**RUN, "url": "x" * 1900, "run_id": str(i)} for i in range(600)]).encode()
    response = client.post("/api/v1/pipeline-runs", content=huge, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert stored(store) == (0, 0, 0)


def test_openapi_documents_every_ingest_endpoint_and_its_examples_are_accepted(store, client):
    doc = client.get("/openapi.json").json()
    for path in ("/webhooks/github", "/webhooks/gitlab"):
        assert doc["paths"][path]["post"]["summary"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, key in (("/api/v1/pipeline-runs", "pipeline_runs"), ("/api/v1/deployments", "deployments"),
                      ("/api/v1/incidents", "incidents")):
        operation = doc["paths"][path]["post"]
        assert operation["summary"] and "Bearer" in operation["description"]
        assert operation["security"] == [{"HTTPBearer": []}]
        assert {"201", "401", "422"} <= set(operation["responses"])
        content = operation["requestBody"]["content"]["application/json"]
        single, batch = content["schema"]["oneOf"]
        assert "status" in single["properties"] or key == "incidents"
        assert batch["type"] == "array"
        for example in content["examples"].values():
            response = client.post(path, json=example["value"], headers=AUTH)
            assert response.status_code == 201, (path, response.json())
            assert response.json()["stored"] == (len(example["value"]) if isinstance(example["value"], list) else 1)
    assert stored(store) == (2, 2, 2)
    run_schema = doc["paths"]["/api/v1/pipeline-runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert run_schema["oneOf"][0]["properties"]["status"]["enum"] == ["success", "failed", "cancelled", "skipped"]


def test_everything_end_to_end_over_real_http(store):
    """The real server (uvicorn) with all three ingest paths, as GitHub, GitLab and a CI step reach it."""
    secret, token = "gh-secret", "gl-token"
    app = make_app(store, GITHUB_WEBHOOK_SECRET=secret, GITLAB_WEBHOOK_TOKEN=token)
    github_body = (FIXTURES / "github/workflow_run.completed.success.json").read_bytes()
    gitlab_body = (FIXTURES / "gitlab/deployment.failed.json").read_bytes()
    with serve(app) as url, httpx.Client(base_url=url) as http:
        signature = "sha256=" + hmac.new(secret.encode(), github_body, hashlib.sha256).hexdigest()
        assert http.post("/webhooks/github", content=github_body, headers={
            "X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": signature,
            "Content-Type": "application/json"}).status_code == 200
        assert http.post("/webhooks/gitlab", content=gitlab_body, headers={
            "X-Gitlab-Event": "Deployment Hook", "X-Gitlab-Token": token, "X-Gitlab-Event-UUID": "u-1",
            "Content-Type": "application/json"}).status_code == 200
        assert http.post("/api/v1/pipeline-runs", json=RUN, headers=AUTH).status_code == 201
        assert http.post("/api/v1/deployments", json=DEPLOY, headers=AUTH).status_code == 201
        assert http.post("/api/v1/incidents", json=INCIDENT, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert sorted(r.source for r in store.pipeline_runs(LONG_AGO)) == ["api", "github"]
    assert sorted(d.source for d in store.deployments(LONG_AGO)) == ["api", "gitlab"]
    assert stored(store) == (2, 2, 0)
