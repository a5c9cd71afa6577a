"""`POST /webhooks/github` and `POST /webhooks/gitlab`: real payload shapes (tests/fixtures),
real HMAC signatures and tokens, normalisation, refusals, redeliveries and bad input."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.sources import github
from bot.store import Store
from tests.support import FIXTURES

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
SECRET = "whsec-github-test-secret"
TOKEN = "glwt-gitlab-test-token"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def make_client(store: Store, *, secret: str | None = SECRET, token: str | None = TOKEN) -> TestClient:
    env = {k: v for k, v in (("GITHUB_WEBHOOK_SECRET", secret), ("GITLAB_WEBHOOK_TOKEN", token)) if v}
    settings = settings_from_mapping({}, env)
    app = create_web_app(settings, store, clock=lambda: NOW)
    return TestClient(app)


@pytest.fixture
def client(store) -> TestClient:
    return make_client(store)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_github(client: TestClient, event: str, payload, *, signature: str | None = "auto",
                delivery: str | None = None, content_type: str = "application/json"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": content_type, "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "User-Agent": "GitHub-Hookshot/044aadd"}
    if signature == "auto":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/webhooks/github", content=body, headers=headers)


def post_gitlab(client: TestClient, payload, *, token: str | None = TOKEN, event: str | None = None,
                delivery: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    kind = payload.get("object_kind") if isinstance(payload, dict) else None
    headers = {"Content-Type": "application/json", "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
               "X-Gitlab-Event": event or {"pipeline": "Pipeline Hook", "deployment": "Deployment Hook"}.get(kind, "Push Hook")}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return client.post("/webhooks/gitlab", content=body, headers=headers)


def stored(store: Store) -> tuple[int, int, int]:
    return tuple(store.count(t) for t in ("pipeline_runs", "deployments", "webhook_deliveries"))


def runs(store: Store):
    return store.pipeline_runs(LONG_AGO)


def deployments(store: Store):
    return store.deployments(LONG_AGO)


# -- GitHub: workflow_run ---------------------------------------------------------------------


def test_completed_workflow_run_is_stored_normalised(store, client):
    response = post_github(client, "workflow_run", fixture("github/workflow_run.completed.success.json"))

    assert response.status_code == 200 and response.json()["ok"] is True
    [run] = runs(store)
    assert run._asdict() == {
        "source": "github", "pipeline": "octo-org/octo-repo: test", "run_id": "289782451", "attempt": 1,
        "status": "success", "finished_at": at("2020-10-05T16:33:49+00:00"), "started_at": at("2020-10-05T16:33:49+00:00"),
        "url": "https://github.com/octo-org/octo-repo/actions/runs/289782451",
        "commit_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625", "commit_at": at("2020-10-05T16:32:07+00:00"),
        "branch": "master",
    }
    assert response.json()["stored"][0]["run_id"] == "289782451"


def test_a_rerun_is_a_second_attempt_of_the_same_run(store, client):
    assert post_github(client, "workflow_run", fixture("github/workflow_run.completed.success.json")).status_code == 200
    assert post_github(client, "workflow_run", fixture("github/workflow_run.completed.failure.json")).status_code == 200
    assert [(r.run_id, r.attempt, r.status) for r in runs(store)] == [("289782451", 1, "success"), ("289782451", 2, "failed")]
    assert runs(store)[1].started_at == at("2020-10-05T16:40:02+00:00")


@pytest.mark.parametrize(("conclusion", "status"), [
    ("success", "success"), ("failure", "failed"), ("timed_out", "failed"), ("startup_failure", "failed"),
    ("cancelled", "cancelled"), ("skipped", "skipped"), ("neutral", "skipped"), ("stale", "skipped"),
    ("action_required", "skipped"),
])
def test_every_conclusion_is_normalised(store, client, conclusion, status):
    payload = fixture("github/workflow_run.completed.success.json")
    payload["workflow_run"]["conclusion"] = conclusion
    assert post_github(client, "workflow_run", payload).status_code == 200
    assert [r.status for r in runs(store)] == [status]


def test_workflow_name_falls_back_to_the_workflow_then_the_path(store, client):
    payload = fixture("github/workflow_run.completed.success.json")
    payload["workflow_run"]["name"] = "Train ranker"
    post_github(client, "workflow_run", payload)
    payload["workflow_run"]["name"], payload["workflow"] = None, None
    payload["workflow_run"]["id"] = 289782452
    post_github(client, "workflow_run", payload)
    assert {r.pipeline for r in runs(store)} == {"octo-org/octo-repo: Train ranker",
                                                 "octo-org/octo-repo: .github/workflows/test.yml"}


@pytest.mark.parametrize("action", ["requested", "in_progress"])
def test_unfinished_workflow_runs_are_acknowledged_and_ignored(store, client, action):
    payload = fixture("github/workflow_run.requested.json")
    payload["action"] = action
    response = post_github(client, "workflow_run", payload)
    assert response.status_code == 202 and action in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


def test_an_unknown_conclusion_is_acknowledged_not_stored(store, client):
    payload = fixture("github/workflow_run.completed.success.json")
    payload["workflow_run"]["conclusion"] = "exploded"
    response = post_github(client, "workflow_run", payload)
    assert response.status_code == 202 and "exploded" in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


# -- GitHub: deployment_status ----------------------------------------------------------------


def test_successful_deployment_status_is_stored(store, client):
    response = post_github(client, "deployment_status", fixture("github/deployment_status.success.json"))

    assert response.status_code == 200
    [deployment] = deployments(store)
    assert deployment._asdict() == {
        "source": "github", "deployment_id": "145988746", "target": "Codertocat/Hello-World",
        "version": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "environment": "production", "status": "success",
        "finished_at": at("2019-05-15T15:20:55+00:00"), "is_production": True, "is_rollback": False,
        "commit_sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "commit_at": None, "url": None,
    }


@pytest.mark.parametrize("state", ["failure", "error"])
def test_failed_deployment_status_outside_production(store, client, state):
    payload = fixture("github/deployment_status.failure.json")
    payload["deployment_status"]["state"] = state
    assert post_github(client, "deployment_status", payload).status_code == 200
    [deployment] = deployments(store)
    assert (deployment.status, deployment.environment, deployment.is_production) == ("failed", "github-pages", False)
    assert deployment.finished_at == at("2022-01-03T01:31:12+00:00")
    assert deployment.url == "https://github.com/Codertocat/Hello-World/runs/145988746?check_suite_focus=true"


def test_deployer_payload_names_target_version_and_rollback(store, client):
    payload = fixture("github/deployment_status.success.json")
    payload["deployment"]["payload"] = {"target": "ranker-model", "version": "v2.3.0", "rollback": True}
    post_github(client, "deployment_status", payload)
    payload["deployment"]["id"] = 145988747
    payload["deployment"]["payload"] = json.dumps({"target": "ranker-model", "version": "v2.3.1"})  # as a string
    payload["deployment"]["environment"] = "prod"
    post_github(client, "deployment_status", payload)
    assert [(d.target, d.version, d.is_rollback, d.is_production) for d in deployments(store)] == [
        ("ranker-model", "v2.3.0", True, True), ("ranker-model", "v2.3.1", False, True)]


@pytest.mark.parametrize("state", ["in_progress", "pending", "queued", "inactive"])
def test_unfinished_deployment_states_are_ignored(store, client, state):
    payload = fixture("github/deployment_status.in_progress.json")
    payload["deployment_status"]["state"] = state
    assert post_github(client, "deployment_status", payload).status_code == 202
    assert stored(store) == (0, 0, 0)


# -- GitHub: authentication, ping, other events, redelivery, bad input -------------------------


def test_bad_or_missing_signature_is_refused(store, client):
    body = json.dumps(fixture("github/workflow_run.completed.success.json")).encode()
    for signature in (sign(body, "another-secret"), None, "sha256=", sign(body + b" "), "sha1=" + "0" * 40):
        response = post_github(client, "workflow_run", body, signature=signature)
        assert response.status_code == 401, signature
        assert "X-Hub-Signature-256" in response.json()["error"]
    assert stored(store) == (0, 0, 0)


def test_without_a_secret_github_webhooks_are_refused(store):
    client = make_client(store, secret=None)
    body = json.dumps(fixture("github/workflow_run.completed.success.json")).encode()
    for signature in (sign(body), None):
        response = post_github(client, "workflow_run", body, signature=signature)
        assert response.status_code == 503
        assert "GITHUB_WEBHOOK_SECRET" in response.json()["error"]
    assert stored(store) == (0, 0, 0)


def test_ping_is_answered(store, client):
    response = post_github(client, "ping", fixture("github/ping.json"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "event": "ping", "zen": "Anything added dilutes everything else."}
    assert post_github(client, "ping", fixture("github/ping.json"), signature=None).status_code == 401
    assert stored(store) == (0, 0, 0)


@pytest.mark.parametrize("event", ["push", "workflow_job", "deployment", "check_suite"])
def test_other_events_are_acknowledged_and_ignored(store, client, event):
    response = post_github(client, event, {"action": "completed", "zen": "x"})
    assert response.status_code == 202 and event in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


def test_a_redelivery_is_stored_once(store, client):
    payload = fixture("github/workflow_run.completed.success.json")
    first = post_github(client, "workflow_run", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    again = post_github(client, "workflow_run", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["duplicate"] is True
    assert stored(store) == (1, 0, 1)


def test_the_same_run_under_a_new_delivery_id_is_still_one_row(store, client):
    payload = fixture("github/workflow_run.completed.success.json")
    post_github(client, "workflow_run", payload)
    post_github(client, "workflow_run", payload)
    post_github(client, "deployment_status", fixture("github/deployment_status.success.json"))
    post_github(client, "deployment_status", fixture("github/deployment_status.success.json"))
    assert stored(store) == (1, 1, 4)


def test_form_encoded_deliveries_are_accepted(store, client):
    body = urlencode({"payload": json.dumps(fixture("github/workflow_run.completed.success.json"))}).encode()
    response = post_github(client, "workflow_run", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and len(runs(store)) == 1


def _without(payload: dict, *path: str) -> dict:
    payload = copy.deepcopy(payload)
    node = payload
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = None
    return payload


RUN = fixture("github/workflow_run.completed.success.json")
DEPLOY = fixture("github/deployment_status.success.json")


@pytest.mark.parametrize(("event", "body", "message"), [
    ("workflow_run", b"{not json", "body is not valid JSON"),
    ("workflow_run", b"\xff\xfe", "body is not UTF-8"),
    ("workflow_run", b"[1, 2]", "body must be a JSON object"),
    ("ping", b"", "body is not valid JSON"),
    ("workflow_run", _without(RUN, "workflow_run"), "workflow_run is missing"),
    ("workflow_run", fixture("github/workflow_run.completed.success.json") | {"workflow_run": "289782451"},
     "workflow_run must be dict"),
    ("workflow_run", _without(RUN, "workflow_run", "conclusion"), "workflow_run.conclusion is missing"),
    ("workflow_run", _without(RUN, "workflow_run", "id"), "workflow_run.id is missing"),
    ("workflow_run", _without(RUN, "repository", "full_name"), "repository.full_name is missing"),
    ("workflow_run", _without(RUN, "workflow_run", "updated_at"), "workflow_run.updated_at is missing"),
    ("workflow_run", {**RUN, "workflow_run": {**RUN["workflow_run"], "updated_at": "yesterday"}},
     "workflow_run.updated_at is not an ISO 8601 time"),
    ("workflow_run", {**RUN, "workflow_run": {**RUN["workflow_run"], "updated_at": "2020-10-05T16:33:49"}},
     "workflow_run.updated_at has no timezone"),
    ("workflow_run", {**RUN, "workflow_run": {**RUN["workflow_run"], "run_attempt": "2"}},
     "workflow_run.run_attempt must be int"),
    ("workflow_run", {**RUN, "workflow_run": {**RUN["workflow_run"], "run_attempt": 10**30}},
     "workflow_run.run_attempt is not between 1 and 1000000"),
    ("workflow_run", {**RUN, "workflow_run": {**RUN["workflow_run"], "updated_at": "0001-01-01T00:00:00+01:00"}},
     "workflow_run.updated_at is out of range"),
    ("workflow_run", {**RUN, "workflow_run": {**RUN["workflow_run"], "head_branch": "\ud800"}},
     "workflow_run.head_branch is not valid Unicode"),
    ("workflow_run", {**RUN, "workflow_run": {**RUN["workflow_run"], "conclusion": "\ud800"}},
     "workflow_run.conclusion is not valid Unicode"),
    ("ping", {"zen": "\udfff", "hook_id": 1}, "zen is not valid Unicode"),
    ("deployment_status", _without(DEPLOY, "deployment"), "deployment is missing"),
    ("deployment_status", _without(DEPLOY, "deployment_status", "state"), "deployment_status.state is missing"),
    ("deployment_status", _without(DEPLOY, "deployment", "id"), "deployment.id is missing"),
    ("deployment_status", {**DEPLOY, "deployment_status": {**DEPLOY["deployment_status"], "updated_at": None,
                                                          "created_at": None}}, "deployment_status.updated_at is missing"),
])
def test_bad_github_input_gets_400_naming_the_problem(store, client, event, body, message):
    response = post_github(client, event, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert stored(store) == (0, 0, 0)


# -- GitLab: pipelines ------------------------------------------------------------------------


def test_finished_pipeline_is_stored_normalised(store, client):
    response = post_gitlab(client, fixture("gitlab/pipeline.success.json"))

    assert response.status_code == 200
    [run] = runs(store)
    assert run._asdict() == {
        "source": "gitlab", "pipeline": "gitlab-org/gitlab-test: Pipeline for branch: master", "run_id": "31",
        "attempt": 1, "status": "success", "finished_at": at("2016-08-12T15:26:29+00:00"),
        "started_at": at("2016-08-12T15:23:28+00:00"), "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31",
        "commit_sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2", "commit_at": at("2016-08-12T15:23:21+00:00"),
        "branch": "master",
    }


def test_a_failed_pipeline_without_name_or_url_uses_ref_and_project_url(store, client):
    assert post_gitlab(client, fixture("gitlab/pipeline.failed.json")).status_code == 200
    [run] = runs(store)
    assert (run.pipeline, run.status, run.branch) == ("gitlab-org/gitlab-test: train-v2", "failed", "train-v2")
    assert run.url == "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/32"
    assert run.commit_at == at("2016-08-13T08:58:40+00:00")


@pytest.mark.parametrize(("status", "normalised"), [("canceled", "cancelled"), ("skipped", "skipped")])
def test_canceled_and_skipped_pipelines(store, client, status, normalised):
    payload = fixture("gitlab/pipeline.failed.json")
    payload["object_attributes"].update(status=status, finished_at=None)
    assert post_gitlab(client, payload).status_code == 200
    [run] = runs(store)
    assert (run.status, run.finished_at) == (normalised, NOW)  # no finished_at: when GitLab told us


@pytest.mark.parametrize("status", ["created", "waiting_for_resource", "preparing", "pending", "running", "canceling",
                                    "manual", "scheduled", "a-status-from-the-future"])
def test_unfinished_pipelines_are_acknowledged_and_ignored(store, client, status):
    payload = fixture("gitlab/pipeline.running.json")
    payload["object_attributes"]["status"] = status
    response = post_gitlab(client, payload)
    assert response.status_code == 202 and status in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


def test_a_retried_pipeline_keeps_its_latest_state(store, client):
    failed = fixture("gitlab/pipeline.success.json")
    failed["object_attributes"].update(status="failed", finished_at="2016-08-12 15:26:29 UTC")
    success = fixture("gitlab/pipeline.success.json")
    success["object_attributes"]["finished_at"] = "2016-08-12 15:41:02 UTC"  # a job retried, then passed
    assert post_gitlab(client, failed).status_code == 200
    assert post_gitlab(client, success).status_code == 200
    assert [(r.run_id, r.attempt, r.status) for r in runs(store)] == [("31", 1, "success")]
    late = post_gitlab(client, failed)  # the older state delivered again, late, under a new UUID
    assert late.status_code == 200 and late.json()["superseded"] == 1
    assert [r.status for r in runs(store)] == ["success"]


# -- GitLab: deployments ----------------------------------------------------------------------


def test_successful_deployment_is_stored(store, client):
    assert post_gitlab(client, fixture("gitlab/deployment.success.json")).status_code == 200
    [deployment] = deployments(store)
    assert deployment._asdict() == {
        "source": "gitlab", "deployment_id": "15", "target": "root/test-deployment-webhooks", "version": "279484c0",
        "environment": "staging", "status": "success", "finished_at": at("2021-04-28T19:50:00+00:00"),
        "is_production": False, "is_rollback": False, "commit_sha": "279484c09fbe69ededfced8c1bb6e6d24616b468",
        "commit_at": None, "url": "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796",
    }


def test_failed_deployment_to_a_production_tier(store, client):
    assert post_gitlab(client, fixture("gitlab/deployment.failed.json")).status_code == 200
    [deployment] = deployments(store)
    assert (deployment.status, deployment.environment, deployment.is_production) == ("failed", "live", True)
    assert deployment.finished_at == at("2021-04-29T08:12:31+00:00")


def test_without_a_tier_production_is_read_from_the_name(store, client):
    payload = fixture("gitlab/deployment.success.json")
    del payload["environment_tier"]
    payload.update(environment="production", deployable_url=None)
    post_gitlab(client, payload)
    [deployment] = deployments(store)
    assert deployment.is_production is True
    assert deployment.url == payload["commit_url"]  # API-made deployments have no job


@pytest.mark.parametrize("status", ["created", "running", "blocked", "canceled", "skipped"])
def test_unfinished_or_canceled_deployments_are_ignored(store, client, status):
    payload = fixture("gitlab/deployment.running.json")
    payload["status"] = status
    assert post_gitlab(client, payload).status_code == 202
    assert stored(store) == (0, 0, 0)


# -- GitLab: authentication, redelivery, other events, bad input -----------------------------


def test_wrong_or_missing_token_is_refused(store, client):
    for token in ("not-the-token", TOKEN + " ", "", None):
        response = post_gitlab(client, fixture("gitlab/pipeline.success.json"), token=token)
        assert response.status_code == 401, token
        assert "X-Gitlab-Token" in response.json()["error"]
    assert stored(store) == (0, 0, 0)


def test_without_a_token_gitlab_webhooks_are_refused(store):
    client = make_client(store, token=None)
    for token in (TOKEN, None):
        response = post_gitlab(client, fixture("gitlab/pipeline.success.json"), token=token)
        assert response.status_code == 503 and "GITLAB_WEBHOOK_TOKEN" in response.json()["error"]
    assert stored(store) == (0, 0, 0)


def test_gitlab_redelivery_is_stored_once(store, client):
    payload = fixture("gitlab/pipeline.success.json")
    assert post_gitlab(client, payload, delivery="13792a34-cac6-4fda-95a8-c58e00a3954e").status_code == 200
    again = post_gitlab(client, payload, delivery="13792a34-cac6-4fda-95a8-c58e00a3954e")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    post_gitlab(client, payload)  # same pipeline, new event UUID
    assert stored(store) == (1, 0, 2)


def test_one_event_uuid_shared_by_recursive_hooks_loses_nothing(store, client):
    shared = "2c1b4f2e-3f6a-4d2b-9a57-0d5d3c1e9b11"
    assert post_gitlab(client, fixture("gitlab/pipeline.success.json"), delivery=shared).json().get("duplicate") is None
    assert post_gitlab(client, fixture("gitlab/deployment.success.json"), delivery=shared).json().get("duplicate") is None
    assert stored(store)[:2] == (1, 1)


def test_other_gitlab_events_are_ignored(store, client):
    response = post_gitlab(client, {"object_kind": "push", "ref": "refs/heads/main"}, event="Push Hook")
    assert response.status_code == 202 and "Push Hook" in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


PIPE = fixture("gitlab/pipeline.success.json")
GL_DEPLOY = fixture("gitlab/deployment.success.json")


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "body is not valid JSON"),
    (b'"pipeline"', "body must be a JSON object"),
    (_without(PIPE, "object_attributes"), "object_attributes is missing"),
    (_without(PIPE, "object_attributes", "status"), "object_attributes.status is missing"),
    (_without(PIPE, "object_attributes", "id"), "object_attributes.id is missing"),
    (_without(PIPE, "project", "path_with_namespace"), "project.path_with_namespace is missing"),
    ({**PIPE, "object_attributes": {**PIPE["object_attributes"], "finished_at": "2016-08-12 15:26:29"}},
     "object_attributes.finished_at has no timezone"),
    ({**PIPE, "commit": {**PIPE["commit"], "timestamp": "last tuesday"}}, "commit.timestamp is not an ISO 8601 time"),
    (_without(GL_DEPLOY, "deployment_id"), "deployment_id is missing"),
    (_without(GL_DEPLOY, "environment"), "environment is missing"),
    (_without(GL_DEPLOY, "status_changed_at"), "status_changed_at is missing"),
    ({**GL_DEPLOY, "deployment_id": True}, "deployment_id must be int or str"),
    ({**GL_DEPLOY, "environment": "\ud800"}, "environment is not valid Unicode"),
    ({**GL_DEPLOY, "status_changed_at": "9999-12-31 23:59:59 -0100"}, "status_changed_at is out of range"),
])
def test_bad_gitlab_input_gets_400_naming_the_problem(store, client, body, message):
    response = post_gitlab(client, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert stored(store) == (0, 0, 0)


def test_parse_time_reads_github_and_gitlab_formats():
    parse = github.parse_time
    expected = datetime(2021, 4, 28, 19, 50, tzinfo=UTC)
    for text in ("2021-04-28 21:50:00 +0200", "2021-04-28 19:50:00 UTC", "2021-04-28T19:50:00Z",
                 "2021-04-28T21:50:00+02:00", "2021-04-28T19:50:00.000Z"):
        assert parse(text, "t", NOW) == expected, text
    assert parse(None, "t", NOW, required=False) is None
