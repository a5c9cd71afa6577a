"""Airflow DAG-run pull against the fake Airflow (v1 and v2 shapes) over real HTTP."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import settings_from_mapping
from bot.jobs import JOBS, Services, run_job
from bot.models import PipelineRun
from bot.sources.airflow import AirflowSync, AirflowSyncError
from bot.store import Store
from bot.store.times import from_db_time
from tests.fakes.fake_airflow import FakeAirflow

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EPOCH = NOW - timedelta(days=365)


@pytest.fixture
def v1():
    with FakeAirflow(api_version=1) as fake:
        yield fake


@pytest.fixture
def v2():
    with FakeAirflow(api_version=2) as fake:
        yield fake


def settings_for(fake: FakeAirflow, *, token: bool = False, login: bool = True, **env: str):
    environ = {**({"AIRFLOW_TOKEN": fake.token} if token else {}),
               **({"AIRFLOW_USERNAME": fake.username, "AIRFLOW_PASSWORD": fake.password} if login else {}), **env}
    return settings_from_mapping({"airflow": {"url": fake.url + "/", "api_version": fake.api_version}}, environ)


def syncer(fake: FakeAirflow, store: Store, sleeps: list | None = None, clock=lambda: NOW, **kwargs) -> AirflowSync:
    settings = settings_for(fake, **kwargs)
    return AirflowSync(settings, store, clock=clock, sleep=(sleeps if sleeps is not None else []).append)


def all_runs(store: Store) -> list[PipelineRun]:
    return store.pipeline_runs(EPOCH)


def add_finished(fake: FakeAirflow, n: int, start: datetime = T0, dags: tuple[str, ...] = ("train", "feature_refresh")):
    """`n` runs, one every 10 minutes, alternately per DAG; every 7th failed."""
    return [fake.add_run(dags[k % len(dags)], start + timedelta(minutes=10 * k),
                         state="failed" if k % 7 == 3 else "success",
                         start=start + timedelta(minutes=10 * k, seconds=5), end=start + timedelta(minutes=10 * k + 4))
            for k in range(n)]


def test_v1_basic_auth_pages_and_normalises(v1, store):
    runs = add_finished(v1, 250)
    v1.add_run("train", T0 + timedelta(days=3), state="running")
    v1.add_run("train", T0 + timedelta(days=3, hours=1), state="queued")

    result = syncer(v1, store).run()

    assert (result.runs, result.pages, result.api_calls) == (250, 3, 3)
    bodies = [c.json() for c in v1.list_calls()]
    assert [b["page_offset"] for b in bodies] == [0, 95, 190]  # pages overlap by 5, duplicates dropped
    assert bodies[0] == {"order_by": "end_date", "page_offset": 0, "page_limit": 100, "states": ["success", "failed"],
                         "end_date_gte": (NOW - timedelta(days=92)).isoformat()}
    basic = "Basic " + base64.b64encode(f"{v1.username}:{v1.password}".encode()).decode()
    assert {c.headers["authorization"] for c in v1.requests} == {basic}
    assert [c.path for c in v1.requests] == ["/api/v1/dags/~/dagRuns/list"] * 3

    stored = all_runs(store)
    assert len(stored) == 250 and store.count("pipeline_runs") == 250
    assert sum(r.status == "failed" for r in stored) == sum(r.state == "failed" for r in runs) > 0
    first = stored[0]
    assert first == PipelineRun("airflow", "train", runs[0].run_id, 1, "success", T0 + timedelta(minutes=4),
                                T0 + timedelta(seconds=5),
                                f"{v1.url}/dags/train/grid?dag_run_id=scheduled__2026-01-05T10%3A00%3A00%2B00%3A00")
    state = store.sync_state("airflow")
    assert from_db_time(state["cursor"]) == result.cursor == runs[-1].end_date
    assert state["items_last_run"] == 250 and state["last_error"] is None


def test_v1_bearer_token(v1, store):
    add_finished(v1, 3)
    assert syncer(v1, store, token=True, login=False).run().runs == 3
    assert {c.headers["authorization"] for c in v1.requests} == {f"Bearer {v1.token}"}


def test_v1_wrong_password_is_a_clean_failure(v1, store):
    add_finished(v1, 3)
    with pytest.raises(AirflowSyncError) as err:
        syncer(v1, store, AIRFLOW_PASSWORD="wrong-s3cret").run()
    assert "refused the credentials (HTTP 401" in str(err.value) and "s3cret" not in str(err.value)
    assert store.sync_state("airflow")["last_error"] == str(err.value)
    assert store.count("pipeline_runs") == 0


def test_v2_static_token_and_airflow3_shapes(v2, store):
    run = v2.add_run("feature_refresh", T0, run_id="manual__2026-01-05T10:00:00+00:00_aB3d", state="failed",
                     start=T0 + timedelta(seconds=1), end=T0 + timedelta(minutes=12, microseconds=250))

    result = syncer(v2, store, token=True).run()  # the token wins over user name + password

    assert (result.runs, result.pages, result.api_calls) == (1, 1, 1)
    assert v2.calls("/auth/token") == []
    assert [c.path for c in v2.requests] == ["/api/v2/dags/~/dagRuns/list"]
    assert v2.requests[0].headers["authorization"] == f"Bearer {v2.token}"
    assert all_runs(store) == [PipelineRun(
        "airflow", "feature_refresh", run.run_id, 1, "failed", run.end_date, run.start_date,
        f"{v2.url}/dags/feature_refresh/runs/manual__2026-01-05T10%3A00%3A00%2B00%3A00_aB3d")]


def test_v2_jwt_login_and_one_refetch_when_it_expires(v2, store):
    add_finished(v2, 2)
    sync = syncer(v2, store)
    assert sync.run().api_calls == 2  # login + one page
    login, listing = v2.requests
    assert (login.path, login.status, login.json()) == (
        "/auth/token", 201, {"username": v2.username, "password": v2.password})
    jwt = next(iter(v2.jwts))
    assert listing.headers["authorization"] == f"Bearer {jwt}"

    v2.clear_requests()
    assert sync.run().api_calls == 1  # the JWT is reused while it is valid

    v2.expire_tokens()
    v2.clear_requests()
    add_finished(v2, 1, start=T0 + timedelta(hours=1))
    assert sync.run().runs == 3  # re-read inside the lookback, plus the new one
    assert [(c.path, c.status) for c in v2.requests] == [
        ("/api/v2/dags/~/dagRuns/list", 401), ("/auth/token", 201), ("/api/v2/dags/~/dagRuns/list", 200)]
    assert store.count("pipeline_runs") == 3


def test_v2_login_refused_and_missing_auth(v2, store):
    add_finished(v2, 1)
    refused = r"refused AIRFLOW_USERNAME/AIRFLOW_PASSWORD \(HTTP 401 on /auth/token\)"
    with pytest.raises(AirflowSyncError, match=refused):
        syncer(v2, store, AIRFLOW_PASSWORD="nope-s3cret").run()
    with pytest.raises(AirflowSyncError, match="refused the credentials") as err:
        syncer(v2, store, login=False).run()  # no credentials at all: 401 Not authenticated
    assert v2.requests[-1].status == 401 and "authorization" not in v2.requests[-1].headers
    assert store.sync_state("airflow")["last_error"] == str(err.value)


def test_incremental_second_run_asks_from_cursor_minus_lookback(v2, store):
    add_finished(v2, 5)
    sync = syncer(v2, store, token=True)
    cursor = sync.run().cursor
    assert cursor == T0 + timedelta(minutes=44)

    late = v2.add_run("train", T0 + timedelta(minutes=30), start=T0 + timedelta(minutes=30),
                      end=cursor - timedelta(minutes=3))  # committed late, ended before the cursor
    old = v2.add_run("train", T0 - timedelta(days=1), end=cursor - timedelta(minutes=11))  # outside the lookback
    newer = add_finished(v2, 2, start=T0 + timedelta(hours=2))
    v2.clear_requests()

    result = sync.run()

    assert v2.list_calls()[0].json()["end_date_gte"] == (cursor - timedelta(minutes=10)).isoformat()
    ids = {r.run_id for r in all_runs(store)}
    assert late.run_id in ids and newer[-1].run_id in ids and old.run_id not in ids
    assert result.runs == 5  # the late one, 2 new, and the 2 of the first run inside the lookback (again)
    assert result.cursor == newer[-1].end_date == from_db_time(store.sync_state("airflow")["cursor"])
    assert store.count("pipeline_runs") == 8


def test_running_and_queued_runs_are_stored_once_finished(v1, store):
    running = v1.add_run("train", T0, state="running")
    queued = v1.add_run("score", T0 + timedelta(minutes=5), state="queued")
    add_finished(v1, 1, dags=("other",))
    sync = syncer(v1, store)
    assert sync.run().runs == 1
    assert {r.pipeline for r in all_runs(store)} == {"other"}

    v1.finish(running, "success", T0 + timedelta(hours=2))
    v1.finish(queued, "failed", T0 + timedelta(hours=3))
    assert sync.run().runs == 3  # the two, and "other" again (inside the lookback)
    assert store.count("pipeline_runs") == 3
    by_dag = {r.pipeline: r for r in all_runs(store)}
    assert (by_dag["train"].status, by_dag["train"].finished_at) == ("success", T0 + timedelta(hours=2))
    assert (by_dag["score"].status, by_dag["score"].started_at) == ("failed", T0 + timedelta(hours=3))


def test_rerun_dag_run_replaces_its_outcome(v2, store):
    (run,) = add_finished(v2, 1)
    sync = syncer(v2, store, token=True)
    sync.run()
    v2.finish(run, "failed", T0 + timedelta(hours=5))  # cleared and run again: a new end date
    sync.run()
    assert [(r.run_id, r.status, r.finished_at) for r in all_runs(store)] == [
        (run.run_id, "failed", T0 + timedelta(hours=5))]


def test_429_retry_after_is_honoured_exactly(v2, store):
    add_finished(v2, 3)
    v2.fail_next("/dagRuns/list", 429, retry_after=7)
    sleeps: list[float] = []
    result = syncer(v2, store, sleeps, token=True).run()
    assert sleeps == [7.0]
    assert (result.runs, result.api_calls) == (3, 2)
    assert [c.status for c in v2.requests] == [429, 200]


def test_500_is_a_clean_recorded_failure_and_the_next_run_resumes(v1, store):
    add_finished(v1, 150)
    v1.fail_next("/dagRuns/list", 500, times=None, after=1)  # the first page passes, then 500s
    sleeps: list[float] = []
    with pytest.raises(AirflowSyncError) as err:
        syncer(v1, store, sleeps).run()
    message = str(err.value)
    assert message == "Airflow answered HTTP 500 on /api/v1/dags/~/dagRuns/list: fake fault 500"
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]  # bounded back-off, then give up
    state = store.sync_state("airflow")
    assert state["last_error"] == message and state.get("cursor") is None and state.get("last_success_at") is None
    assert store.count("pipeline_runs") == 100  # the first page is kept (idempotent upserts)

    v1.clear_faults()
    v1.clear_requests()
    result = syncer(v1, store).run()
    assert (result.runs, result.pages) == (150, 2)
    assert store.count("pipeline_runs") == 150
    state = store.sync_state("airflow")
    assert state["last_error"] is None and from_db_time(state["last_success_at"]) == NOW


def test_idempotent_reruns(v2, store):
    add_finished(v2, 40)
    sync = syncer(v2, store, token=True)
    first = sync.run()
    before = all_runs(store)
    second = sync.run()
    assert all_runs(store) == before and store.count("pipeline_runs") == 40
    assert second.cursor == first.cursor and second.runs == 2  # only the lookback window is re-read


def test_malformed_run_is_skipped_not_fatal(v2, store, caplog):
    add_finished(v2, 2)
    v2.runs[0].run_id = ""
    assert syncer(v2, store, token=True).run().runs == 1
    assert "skipping a DAG run" in caplog.text


def test_runs_with_implausible_times_are_skipped_and_never_become_the_cursor(v2, store, caplog):
    add_finished(v2, 2)
    v2.runs[0].end_date = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    v2.runs[1].start_date = v2.runs[1].end_date + timedelta(hours=1)  # started after it ended
    add_finished(v2, 1, start=T0 + timedelta(hours=3))
    result = syncer(v2, store, token=True).run()
    assert result.runs == 1 and result.cursor < NOW
    assert "skipping a DAG run" in caplog.text and "end_date of" in caplog.text and "start_date is after" in caplog.text


def test_job_is_scheduled_only_with_a_url_and_runs_the_sync(v2, store):
    job = JOBS["airflow-sync"]
    assert job.trigger(settings_from_mapping({}, {})) is None
    assert run_job("airflow-sync", Services(settings_from_mapping({}, {}), store)) == (
        "Airflow is not configured (airflow.url unset): nothing to sync")
    settings = settings_for(v2)
    assert job.trigger(settings).interval == timedelta(minutes=10)
    add_finished(v2, 3)
    message = run_job("airflow-sync", Services(settings, store, lambda: NOW))
    assert message == "3 finished DAG runs, 1 pages, 2 API calls"  # login + one page
    assert store.count("pipeline_runs") == 3
