"""The fake MLflow tracking server (tests/fakes/fake_mlflow.py) driven over HTTP with plain `requests`:
experiment and run search (filters, paging, view types, ordering), MLflow's 400s, auth, faults
and garbage answers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.fakes.fake_mlflow import FakeMlflow, ms, page_token

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
API = "/api/2.0/mlflow"


@pytest.fixture
def fake():
    with FakeMlflow() as fake:
        yield fake


def post(fake: FakeMlflow, endpoint: str, body: dict, **kwargs) -> requests.Response:
    return requests.post(f"{fake.url}{API}/{endpoint}", json=body, timeout=5, **kwargs)


def runs_search(fake: FakeMlflow, **body) -> dict:
    resp = post(fake, "runs/search", body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def all_pages(fake: FakeMlflow, endpoint: str, key: str, body: dict) -> list[list[dict]]:
    pages, token = [], None
    while True:
        resp = post(fake, endpoint, {**body, **({"page_token": token} if token else {})})
        assert resp.status_code == 200, resp.text
        data = resp.json()
        pages.append(data.get(key, []))
        token = data.get("next_page_token")
        if not token:
            return pages


def assert_invalid(resp: requests.Response, *fragments: str) -> None:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    for fragment in fragments:
        assert fragment in body["message"]


# -- experiments ---------------------------------------------------------------------------

def test_experiment_search_like_filter_pages_and_view_types(fake):
    for i in range(5):
        fake.add_experiment(f"vision-{i}", created=T0 + timedelta(minutes=i), tags={"team": "cv"})
    fake.add_experiment("nlp-main", created=T0)
    fake.add_experiment("vision-old", created=T0, deleted=True)

    pages = all_pages(fake, "experiments/search", "experiments",
                      {"filter": "name LIKE 'vision-%'", "max_results": 2})
    assert [len(p) for p in pages] == [2, 2, 1]
    names = [e["name"] for p in pages for e in p]
    assert names == ["vision-4", "vision-3", "vision-2", "vision-1", "vision-0"]  # creation_time DESC
    first = pages[0][0]
    assert set(first) == {"experiment_id", "name", "artifact_location", "lifecycle_stage", "last_update_time",
                          "creation_time", "tags"}
    assert first["lifecycle_stage"] == "active" and first["tags"] == [{"key": "team", "value": "cv"}]
    assert first["creation_time"] == ms(T0 + timedelta(minutes=4))
    last = post(fake, "experiments/search", {"filter": "name LIKE 'vision-%'", "max_results": 2,
                                             "page_token": page_token(4)}).json()
    assert "next_page_token" not in last and len(last["experiments"]) == 1

    exact = post(fake, "experiments/search", {"filter": "name = 'nlp-main'", "max_results": 10}).json()
    assert [e["name"] for e in exact["experiments"]] == ["nlp-main"]
    every = post(fake, "experiments/search", {"filter": "name LIKE 'vision%'", "max_results": 100,
                                              "view_type": "ALL", "order_by": ["name ASC"]}).json()
    assert [e["name"] for e in every["experiments"]][-1] == "vision-old"
    deleted = post(fake, "experiments/search", {"max_results": 100, "view_type": "DELETED_ONLY"}).json()
    assert [e["lifecycle_stage"] for e in deleted["experiments"]] == ["deleted"]
    assert post(fake, "experiments/search", {"filter": "name = 'nope'", "max_results": 5}).json() == {}


def test_experiment_search_requires_max_results_as_oss_mlflow_does(fake):
    fake.add_experiment("vision-a")
    assert_invalid(post(fake, "experiments/search", {}), "It must be a positive integer, but got 0")
    assert_invalid(post(fake, "experiments/search", {"max_results": 50001}), "at most 50000")
    fake.experiments_max_results_default = 1000
    assert len(post(fake, "experiments/search", {}).json()["experiments"]) == 1
    got = requests.get(f"{fake.url}{API}/experiments/search", params={"max_results": 5}, timeout=5)
    assert got.status_code == 200 and got.json()["experiments"][0]["name"] == "vision-a"


def test_page_max_caps_pages_whatever_max_results_asks(fake):
    fake.page_max = 3
    for i in range(7):
        fake.add_experiment(f"e{i}")
    pages = all_pages(fake, "experiments/search", "experiments", {"max_results": 1000})
    assert [len(p) for p in pages] == [3, 3, 1]


def test_get_experiment_and_run_and_their_404s(fake):
    exp = fake.add_experiment("vision-a")
    run = fake.add_run(exp, start=T0, run_id="r" * 32)
    got = requests.get(f"{fake.url}{API}/experiments/get", params={"experiment_id": exp.experiment_id}, timeout=5)
    assert got.json() == {"experiment": exp.as_json()}
    got = requests.get(f"{fake.url}/ajax-api/2.0/mlflow/runs/get", params={"run_id": run.run_id}, timeout=5)
    assert got.status_code == 200 and got.json()["run"]["info"]["run_id"] == run.run_id
    for endpoint, params, message in [("experiments/get", {"experiment_id": "999"}, "No Experiment with id=999"),
                                      ("runs/get", {"run_id": "nope"}, "Run with id=nope not found")]:
        missing = requests.get(f"{fake.url}{API}/{endpoint}", params=params, timeout=5)
        assert missing.status_code == 404
        assert missing.json() == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message + (
            " exists" if endpoint == "experiments/get" else "")}
    assert_invalid(requests.get(f"{fake.url}{API}/runs/get", timeout=5), "Missing value for required parameter")


# -- runs ----------------------------------------------------------------------------------

def test_run_shape_follows_mlflow(fake):
    exp = fake.add_experiment("vision-a")
    done = fake.add_run(exp, user="bob", start=T0, end=T0 + timedelta(minutes=30), run_name="bold-fox-1",
                        tags={"team": "cv"}, params={"lr": "0.1"}, metrics={"loss": 0.25})
    fake.add_run(exp, status="RUNNING", start=T0 + timedelta(hours=1))
    runs = runs_search(fake, experiment_ids=[exp.experiment_id])["runs"]
    running, finished = runs  # start_time DESC by default
    info = finished["info"]
    assert info == {"run_id": done.run_id, "run_uuid": done.run_id, "run_name": "bold-fox-1",
                    "experiment_id": exp.experiment_id, "user_id": "bob", "status": "FINISHED",
                    "start_time": ms(T0), "end_time": ms(T0 + timedelta(minutes=30)),
                    "artifact_uri": f"mlflow-artifacts:/{exp.experiment_id}/{done.run_id}/artifacts",
                    "lifecycle_stage": "active"}
    tags = {t["key"]: t["value"] for t in finished["data"]["tags"]}
    assert tags["mlflow.user"] == "bob" and tags["mlflow.runName"] == "bold-fox-1" and tags["team"] == "cv"
    assert finished["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert finished["data"]["metrics"][0]["key"] == "loss" and finished["data"]["metrics"][0]["value"] == 0.25
    assert running["info"]["status"] == "RUNNING" and "end_time" not in running["info"]
    assert "metrics" not in running["data"] and "params" not in running["data"]

    fake.update_run(running["info"]["run_id"], status="FAILED", end=T0 + timedelta(hours=2))
    again = runs_search(fake, experiment_ids=[exp.experiment_id])["runs"][0]["info"]
    assert again["status"] == "FAILED" and again["end_time"] == ms(T0 + timedelta(hours=2))


def test_runs_search_pages_across_experiments(fake):
    a, b = fake.add_experiment("a"), fake.add_experiment("b")
    for i in range(5):
        fake.add_run(a if i % 2 else b, start=T0 + timedelta(minutes=i), run_name=f"run-{i}")
    fake.add_experiment("other")
    pages = all_pages(fake, "runs/search", "runs", {"experiment_ids": [a.experiment_id, b.experiment_id],
                                                    "max_results": 2})
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["info"]["run_name"] for p in pages for r in p] == [f"run-{i}" for i in (4, 3, 2, 1, 0)]
    # as MLflow's SQL store: a full last page still carries a token, and the page after it is `{}`
    pages = all_pages(fake, "runs/search", "runs", {"experiment_ids": [a.experiment_id], "max_results": 2})
    assert [len(p) for p in pages] == [2, 0]
    assert [s.get("page_token") is not None for s in fake.searches()[-2:]] == [False, True]


def test_deleted_runs_hidden_by_default_and_shown_with_all(fake):
    exp = fake.add_experiment("a")
    keep = fake.add_run(exp, start=T0)
    gone = fake.add_run(exp, start=T0 + timedelta(minutes=1), deleted=True)
    later = fake.add_run(exp, start=T0 + timedelta(minutes=2))
    fake.delete_run(later.run_id)
    ids = [exp.experiment_id]
    assert [r["info"]["run_id"] for r in runs_search(fake, experiment_ids=ids)["runs"]] == [keep.run_id]
    every = runs_search(fake, experiment_ids=ids, run_view_type="ALL")["runs"]
    assert {r["info"]["run_id"] for r in every} == {keep.run_id, gone.run_id, later.run_id}
    deleted = runs_search(fake, experiment_ids=ids, run_view_type="DELETED_ONLY")["runs"]
    assert {r["info"]["lifecycle_stage"] for r in deleted} == {"deleted"} and len(deleted) == 2


def test_time_and_status_filters_and_order_by(fake):
    exp = fake.add_experiment("a")
    old = fake.add_run(exp, start=T0 - timedelta(days=1))
    first = fake.add_run(exp, start=T0, end=T0 + timedelta(minutes=10))
    failed = fake.add_run(exp, status="FAILED", start=T0 + timedelta(minutes=5))
    running = fake.add_run(exp, status="RUNNING", start=T0 + timedelta(minutes=20))
    ids = [exp.experiment_id]

    def found(filter: str, **body) -> list[str]:
        return [r["info"]["run_id"] for r in runs_search(fake, experiment_ids=ids, filter=filter,
                                                         **body).get("runs", [])]

    assert found(f"attributes.start_time >= {ms(T0)}") == [running.run_id, failed.run_id, first.run_id]
    assert found(f"attributes.start_time >= {ms(T0)}", order_by=["attributes.start_time ASC"]) == [
        first.run_id, failed.run_id, running.run_id]
    assert found(f"attributes.start_time > {ms(T0)}") == [running.run_id, failed.run_id]
    assert found(f"attributes.end_time >= {ms(T0)}") == [failed.run_id, first.run_id]  # running: no end_time
    assert found(f"attributes.start_time >= {ms(T0)} AND attributes.status = 'FINISHED'") == [first.run_id]
    assert found(f"start_time < {ms(T0)} and status != 'RUNNING'") == [old.run_id]
    assert found("attributes.status = 'KILLED'") == []
    assert found("tags.`mlflow.user` = 'alice'", order_by=["start_time DESC"])[0] == running.run_id


def test_runs_search_rejections_match_mlflow(fake):
    exp = fake.add_experiment("a")
    ids = [exp.experiment_id]
    too_many = post(fake, "runs/search", {"experiment_ids": [str(i) for i in range(101)]})
    assert_invalid(too_many, "Too many experiment_ids", "101")
    assert post(fake, "runs/search", {"experiment_ids": [str(i) for i in range(100)]}).status_code == 200
    assert_invalid(post(fake, "runs/search", {"experiment_ids": ids, "max_results": 50001}),
                   "Invalid value 50001 for parameter 'max_results' supplied")
    assert post(fake, "runs/search", {"experiment_ids": ids, "max_results": 50000}).status_code == 200
    for bad in ["attributes.start_time >> 5", "attributes.start_time >= 1 OR attributes.status = 'FINISHED'",
                "attributes.bogus = 1", "attributes.start_time >= 'yesterday'", "attributes.status = FINISHED",
                "attributes.status > 'A'", "start_time >= 1 AND"]:
        assert_invalid(post(fake, "runs/search", {"experiment_ids": ids, "filter": bad}))
    assert_invalid(post(fake, "runs/search", {"experiment_ids": ids, "filter": "a >= 1 OR b = 'x'"}))
    assert_invalid(post(fake, "runs/search", {"experiment_ids": ids, "order_by": ["start_time SIDEWAYS"]}),
                   "Invalid order_by clause")
    for token in ["not-a-token!", base64.b64encode(b"not json").decode(), base64.b64encode(b'{"x": 1}').decode()]:
        assert_invalid(post(fake, "runs/search", {"experiment_ids": ids, "page_token": token}), "Invalid page token")
    no_type = requests.post(f"{fake.url}{API}/runs/search", data=b'{"experiment_ids": []}', timeout=5)
    assert_invalid(no_type, "Content-Type header is missing")


# -- auth, faults, garbage, records --------------------------------------------------------

def test_basic_auth_like_mlflows_basic_auth_app():
    with FakeMlflow(auth="basic", username="bridge", password="pw") as fake:
        exp = fake.add_experiment("a")
        body = {"experiment_ids": [exp.experiment_id]}
        for auth in [None, ("bridge", "wrong"), ("other", "pw")]:
            resp = post(fake, "runs/search", body, auth=auth)
            assert resp.status_code == 401
            assert resp.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
            assert resp.text.startswith("You are not authenticated.")
        assert post(fake, "runs/search", body, auth=("bridge", "pw")).status_code == 200
        assert fake.calls("/runs/search")[-1].headers["authorization"].startswith("Basic ")


def test_bearer_auth_like_a_token_proxy():
    with FakeMlflow(auth="bearer", token="t0ken") as fake:
        for headers in [{}, {"Authorization": "Bearer nope"}]:
            resp = post(fake, "experiments/search", {"max_results": 5}, headers=headers)
            assert resp.status_code == 401 and resp.json()["error_code"] == "UNAUTHENTICATED"
        ok = post(fake, "experiments/search", {"max_results": 5}, headers={"Authorization": "Bearer t0ken"})
        assert ok.status_code == 200 and ok.json() == {}


def test_open_server_needs_no_credentials(fake):
    assert post(fake, "runs/search", {"experiment_ids": []}).json() == {}


def test_faults_429_with_retry_after_then_recovery(fake):
    exp = fake.add_experiment("a")
    fake.add_run(exp, start=T0)
    fake.fail_next("/runs/search", 429, times=2, retry_after=7)
    fake.fail_next("/experiments/get", 503, after=1)
    for _ in range(2):
        resp = post(fake, "runs/search", {"experiment_ids": [exp.experiment_id]})
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
        assert resp.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert len(runs_search(fake, experiment_ids=[exp.experiment_id])["runs"]) == 1
    get = f"{fake.url}{API}/experiments/get"
    codes = [requests.get(get, params={"experiment_id": exp.experiment_id}, timeout=5).status_code for _ in range(3)]
    assert codes == [200, 503, 200]
    assert [r.status for r in fake.calls("/runs/search")] == [429, 429, 200]


def test_html_and_json_junk_garbage(fake):
    exp = fake.add_experiment("a")
    fake.add_run(exp, start=T0)
    body = {"experiment_ids": [exp.experiment_id]}
    fake.serve_garbage("html", times=2)
    for _ in range(2):
        resp = post(fake, "runs/search", body)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
        assert "<html" in resp.text
        with pytest.raises(ValueError):
            resp.json()
    assert "runs" in post(fake, "runs/search", body).json()
    fake.garbage = "json-junk"
    for _ in range(3):
        resp = post(fake, "runs/search", body)
        assert resp.status_code == 200 and isinstance(resp.json(), list)
    fake.clear_garbage()
    assert "runs" in post(fake, "runs/search", body).json()


def test_requests_are_recorded_with_bodies_and_headers(fake):
    exp = fake.add_experiment("a")
    runs_search(fake, experiment_ids=[exp.experiment_id], filter="attributes.status = 'FINISHED'", max_results=10)
    post(fake, "experiments/search", {"max_results": 3})
    assert fake.searches() == [{"experiment_ids": [exp.experiment_id], "filter": "attributes.status = 'FINISHED'",
                                "max_results": 10}]
    assert fake.experiment_searches() == [{"max_results": 3}]
    first = fake.requests[0]
    assert (first.method, first.path, first.status) == ("POST", f"{API}/runs/search", 200)
    assert first.headers["content-type"] == "application/json"


def test_the_mlflow_client_reads_the_fake(fake):
    mlflow_client = pytest.importorskip("mlflow.tracking")
    exp = fake.add_experiment("vision-a")
    for i in range(3):
        fake.add_run(exp, start=T0 + timedelta(minutes=i))
    client = mlflow_client.MlflowClient(tracking_uri=fake.url)
    assert [e.name for e in client.search_experiments(filter_string="name LIKE 'vision-%'")] == ["vision-a"]
    runs = client.search_runs([exp.experiment_id], filter_string=f"attributes.start_time >= {ms(T0)}",
                              max_results=2)
    assert len(runs) == 2 and runs.token
