"""Generic ingest of experiment runs (`POST /api/v1/experiment-runs`) for training platforms other
than MLflow: bearer auth, validation that names the field and refuses the whole batch,
replace-on-repost by (source, run_id), the OpenAPI document, and the bodies a W&B training
script and a W&B automation can send."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.store import Store
from tests.sources.test_ingest_api import AUTH, NOW, TOKEN, make_app
from tests.support.live import serve

PATH = "/api/v1/experiment-runs"
RUN = {"source": "wandb", "run_id": "1mbku38n", "experiment": "ranker-sweep", "status": "finished",
       "started_at": "2026-03-04T15:31:07+02:00", "finished_at": "2026-03-04T16:02:11+02:00", "user": "alice@example.com",
       "jira_key": "RES-42", "url": "https://wandb.ai/acme/ranker/runs/1mbku38n"}
RUNNING = {"source": "kubeflow", "run_id": "train-7f3c", "experiment": "llm-distill", "status": "running",
           "started_at": "2026-03-04T14:00:00Z"}


@pytest.fixture
def client(store) -> TestClient:
    return TestClient(make_app(store))


def runs(store: Store) -> dict[tuple[str, str], object]:
    return {(r.source, r.run_id): r for r in store.experiment_runs(datetime(2000, 1, 1, tzinfo=UTC),
                                                                   NOW + timedelta(days=2))}


def post(client: TestClient, body: object, headers: dict[str, str] = AUTH) -> httpx.Response:
    return client.post(PATH, content=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers})


def test_one_run_is_stored_in_utc_under_its_own_source(store, client):
    response = post(client, RUN)

    assert response.status_code == 201
    [run] = runs(store).values()
    assert run._asdict() == {
        "source": "wandb", "run_id": "1mbku38n", "experiment": "ranker-sweep", "status": "finished",
        "started_at": datetime(2026, 3, 4, 13, 31, 7, tzinfo=UTC), "finished_at": datetime(2026, 3, 4, 14, 2, 11, tzinfo=UTC),
        "user": "alice@example.com", "jira_key": "RES-42", "url": "https://wandb.ai/acme/ranker/runs/1mbku38n",
    }
    assert response.json() == {"stored": 1, "experiment_runs": [{
        **RUN, "started_at": "2026-03-04T13:31:07+00:00", "finished_at": "2026-03-04T14:02:11+00:00"}]}


def test_a_list_is_stored_and_sources_keep_their_runs_apart(store, client):
    batch = [RUN, RUNNING, {**RUN, "source": "sagemaker", "status": "failed"},
             {**RUNNING, "source": "mlflow", "run_id": 4711, "status": "killed", "finished_at": "2026-03-04T14:30:00Z"}]

    response = post(client, batch)

    assert response.status_code == 201 and response.json()["stored"] == 4
    assert {key: (r.status, r.finished_at) for key, r in runs(store).items()} == {
        ("wandb", "1mbku38n"): ("finished", datetime(2026, 3, 4, 14, 2, 11, tzinfo=UTC)),
        ("kubeflow", "train-7f3c"): ("running", None),
        ("sagemaker", "1mbku38n"): ("failed", datetime(2026, 3, 4, 14, 2, 11, tzinfo=UTC)),
        ("mlflow", "4711"): ("killed", datetime(2026, 3, 4, 14, 30, tzinfo=UTC)),
    }


def test_posting_a_run_again_replaces_it(store, client):
    assert post(client, RUNNING).status_code == 201
    finished = {**RUNNING, "status": "finished", "finished_at": "2026-03-04T14:45:00Z", "user": "bob",
                "url": "https://kubeflow.example.com/runs/train-7f3c"}
    assert post(client, finished).status_code == 201
    assert post(client, [RUN, finished]).status_code == 201

    assert store.count("experiment_runs") == 2
    run = runs(store)[("kubeflow", "train-7f3c")]
    assert (run.status, run.finished_at, run.user, run.url) == (
        "finished", datetime(2026, 3, 4, 14, 45, tzinfo=UTC), "bob", "https://kubeflow.example.com/runs/train-7f3c")


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "missing bearer token"),
    ({"Authorization": "Bearer not-the-token"}, "wrong bearer token"),
    ({"Authorization": f"Bearer {TOKEN}x"}, "wrong bearer token"),
    ({"Authorization": f"Basic {TOKEN}"}, "missing bearer token"),
])
def test_missing_or_wrong_bearer_is_refused_before_the_body_is_read(store, client, headers, message):
    for body in (json.dumps([RUN, RUNNING]).encode(), b"{not json"):
        response = client.post(PATH, content=body, headers={"Content-Type": "application/json", **headers})
        assert response.status_code == 401
        assert message in response.json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert store.count("experiment_runs") == 0


def test_without_a_token_configured_the_endpoint_is_refused(store):
    response = post(TestClient(make_app(store, token=None)), RUN)

    assert response.status_code == 503 and "BRIDGE_API_TOKEN" in response.json()["error"]
    assert store.count("experiment_runs") == 0


def without(key: str) -> dict[str, object]:
    return {k: v for k, v in RUN.items() if k != key}


@pytest.mark.parametrize(("bad", "field", "message"), [
    (without("source"), "body[1].source", "Field required"),
    ({**RUN, "source": "WandB"}, "body[1].source", "should match pattern"),
    ({**RUN, "source": "weights and biases"}, "body[1].source", "should match pattern"),
    (without("run_id"), "body[1].run_id", "Field required"),
    ({**RUN, "run_id": "  "}, "body[1].run_id", "at least 1 character"),
    ({**RUN, "run_id": True}, "body[1].run_id", "whole number"),
    (without("experiment"), "body[1].experiment", "Field required"),
    ({**RUN, "status": "crashed"}, "body[1].status", "'running', 'finished', 'failed' or 'killed'"),
    ({**RUN, "status": "FINISHED"}, "body[1].status", "'running', 'finished', 'failed' or 'killed'"),
    (without("started_at"), "body[1].started_at", "Field required"),
    ({**RUN, "started_at": "2026-03-04T15:31:07"}, "body[1].started_at", "timezone"),
    ({**RUN, "started_at": 1772631067}, "body[1].started_at", "not a number"),
    ({**RUN, "started_at": "1999-12-31T23:00:00Z"}, "body[1].started_at", "before 2000-01-01"),
    (without("finished_at"), "body[1].finished_at", "required when status is finished"),
    ({**RUN, "status": "failed", "finished_at": None}, "body[1].finished_at", "required when status is failed"),
    ({**RUN, "status": "running"}, "body[1].finished_at", "must be null while status is running"),
    ({**RUN, "finished_at": "2026-03-04T15:00:00+02:00"}, "body[1].finished_at", "finished_at is before started_at"),
    ({**RUN, "finished_at": "2026-03-06T12:00:00Z"}, "body[1].finished_at", "more than a day in the future"),
    ({**RUN, "user": ""}, "body[1].user", "at least 1 character"),
    ({**RUN, "jira_key": "res-42"}, "body[1].jira_key", "should match pattern"),
    ({**RUN, "jira_key": "RES 42"}, "body[1].jira_key", "should match pattern"),
    ({**RUN, "url": "wandb.ai/acme/ranker/runs/1mbku38n"}, "body[1].url", "should match pattern"),
    ({**RUN, "url": "javascript:alert(1)"}, "body[1].url", "should match pattern"),
    ({**RUN, "metrics": {"loss": 0.1}}, "body[1].metrics", "Extra inputs"),
])
def test_each_bad_field_refuses_the_whole_batch_naming_it(store, client, bad, field, message):
    response = post(client, [RUNNING, bad, RUN])

    assert response.status_code == 422
    error = response.json()["error"]
    assert f"{field}:" in error and message in error
    assert any(d["field"] == field for d in response.json()["detail"])
    assert store.count("experiment_runs") == 0


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "body is not valid JSON"),
    (b"", 400, "body is not valid JSON"),
    (b'[{"source": "wandb",', 400, "body is not valid JSON"),
    (b"[]", 422, "body holds no records"),
    (b'"a run"', 422, "body must be a JSON object or an array of objects"),
])
def test_malformed_bodies_get_a_clear_4xx(store, client, body, status, message):
    response = client.post(PATH, content=body, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == status and message in response.json()["error"]
    assert store.count("experiment_runs") == 0


def test_a_batch_of_1000_is_stored_and_one_more_is_refused(store, client):
    batch = [{**RUNNING, "run_id": f"run-{i}"} for i in range(1001)]

    refused = post(client, batch)
    assert refused.status_code == 422 and "at most 1000 records" in refused.json()["error"]
    assert store.count("experiment_runs") == 0

    assert post(client, batch[:1000]).status_code == 201
    assert store.count("experiment_runs") == 1000


def test_openapi_documents_the_endpoint_and_its_examples_are_accepted(store, client):
    operation = client.get("/openapi.json").json()["paths"][PATH]["post"]

    assert operation["summary"] == "Record experiment runs" and "Bearer" in operation["description"]
    assert '"mlflow" belongs to the mlflow-sync job' in operation["description"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert {"201", "400", "401", "422", "503"} <= set(operation["responses"])
    content = operation["requestBody"]["content"]["application/json"]
    single, batch = content["schema"]["oneOf"]
    assert batch["type"] == "array" and batch["maxItems"] == 1000
    assert set(single["required"]) == {"source", "run_id", "experiment", "status", "started_at"}
    assert single["properties"]["status"]["enum"] == ["running", "finished", "failed", "killed"]
    assert single["additionalProperties"] is False
    assert single["else"]["required"] == ["finished_at"]  # the finish rule, stated in the schema too
    for example in content["examples"].values():
        response = client.post(PATH, json=example["value"], headers=AUTH)
        assert response.status_code == 201, response.json()
    assert sorted(r.status for r in runs(store).values()) == ["finished", "running"]


def test_a_wandb_training_script_reports_its_run_over_real_http(store):
    """What the README's snippet posts from `wandb.init()` and at the end of training: run.id,
    run.project (or run.group), run.entity's user, run.url and run.start_time."""
    started = {"source": "wandb", "run_id": "2xq9zt7c", "experiment": "ranker", "status": "running",
               "started_at": "2026-03-04T14:10:00.512000+00:00", "user": "alice",
               "url": "https://wandb.ai/acme/ranker/runs/2xq9zt7c", "jira_key": "RES-42"}
    with serve(make_app(store)) as url, httpx.Client(base_url=url, headers=AUTH) as http:
        assert http.post(PATH, json=started).status_code == 201
        assert runs(store)[("wandb", "2xq9zt7c")].status == "running"
        done = http.post(PATH, json={**started, "status": "failed", "finished_at": "2026-03-04T14:55:00+00:00"})
    assert done.status_code == 201
    [run] = runs(store).values()
    assert (run.status, run.started_at, run.finished_at) == (
        "failed", datetime(2026, 3, 4, 14, 10, 0, 512000, tzinfo=UTC), datetime(2026, 3, 4, 14, 55, tzinfo=UTC))


def test_a_wandb_automation_body_is_refused_because_it_cannot_name_the_run(store, client):
    """A W&B run-status automation's payload filled from the variables W&B documents
    (`${project_name}`, `${entity_name}`, `${event_type}`, `${event_author}`): there is no run id
    or start time to fill in, so the bridge refuses it naming those fields instead of storing
    a run it cannot identify. The README recommends the training-script call instead."""
    rendered = {"source": "wandb", "experiment": "ranker", "status": "finished", "user": "alice"}

    response = post(client, rendered, headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 422
    assert {d["field"] for d in response.json()["detail"]} == {"body.run_id", "body.started_at", "body.finished_at"}
    assert store.count("experiment_runs") == 0
