"""MLflow pull against the fake tracking server (real REST shapes): normalised runs, the
experiment patterns, paging and chunked experiment ids, the incremental cursor, auth, and a
server answering garbage failing the sync with nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Iterator

import pytest

from bot.config import settings_from_mapping
from bot.jobs import Services, run_job
from bot.sources.mlflow import MlflowSync, MlflowSyncError
from bot.store import Store
from tests.fakes.fake_mlflow import FakeMlflow

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeMlflow]:
    with FakeMlflow() as fake:
        fake.clock = lambda: NOW
        yield fake


def settings_for(fake: FakeMlflow, experiments: tuple[str, ...] = (), **env: str):
    return settings_from_mapping({"mlflow": {"url": fake.url, "experiments": list(experiments)}}, env)


def sync(settings, store: Store, **kwargs):
    return MlflowSync(settings, store, clock=lambda: NOW, sleep=lambda s: None, **kwargs).run()


def stored(store: Store) -> dict:
    return {r.run_id: r for r in store.experiment_runs(NOW - timedelta(days=400), NOW + timedelta(days=1))}


def test_runs_are_stored_normalised_and_deleted_runs_left_out(fake: FakeMlflow, store: Store) -> None:
    vision, nlp = fake.add_experiment("vision-detector"), fake.add_experiment("nlp-ranker")
    fake.add_run(vision, run_id="r1", user="alice", start=NOW - timedelta(hours=3), end=NOW - timedelta(hours=1),
                 tags={"jira": "res-12"})
    fake.add_run(vision, run_id="r2", status="RUNNING", start=NOW - timedelta(minutes=30))
    fake.add_run(nlp, run_id="r3", status="FAILED", start=NOW - timedelta(days=2), tags={"mlflow.user": "bob"})
    fake.add_run(nlp, run_id="r4", status="KILLED", start=NOW - timedelta(days=1))
    fake.add_run(nlp, run_id="r5", start=NOW - timedelta(days=1), deleted=True)
    result = sync(settings_for(fake), store)
    assert (result.experiments, result.runs, result.skipped) == (2, 4, 0)
    runs = stored(store)
    assert sorted(runs) == ["r1", "r2", "r3", "r4"]
    r1 = runs["r1"]
    assert (r1.source, r1.experiment, r1.status, r1.user, r1.jira_key) == ("mlflow", "vision-detector", "finished",
                                                                        "alice", "RES-12")
    assert r1.started_at == NOW - timedelta(hours=3) and r1.finished_at == NOW - timedelta(hours=1)
    assert r1.url == f"{fake.url}/#/experiments/{vision.experiment_id}/runs/r1"
    assert (runs["r2"].status, runs["r2"].finished_at) == ("running", None)
    assert (runs["r3"].status, runs["r3"].user, runs["r4"].status) == ("failed", "bob", "killed")


def test_a_run_without_a_user_is_stored_unassigned(fake: FakeMlflow, store: Store) -> None:
    vision = fake.add_experiment("vision-detector")
    fake.add_run(vision, run_id="anon", user="unknown", start=NOW - timedelta(hours=2))  # MLflow's "no user"
    sync(settings_for(fake), store)
    assert stored(store)["anon"].user is None


def test_only_the_configured_experiments_are_read(fake: FakeMlflow, store: Store) -> None:
    fake.add_run(fake.add_experiment("Vision-detector"), run_id="v", start=NOW - timedelta(hours=2))
    fake.add_run(fake.add_experiment("nlp-ranker"), run_id="n", start=NOW - timedelta(hours=2))
    assert sync(settings_for(fake, ("vision-*",)), store).experiments == 1
    assert sorted(stored(store)) == ["v"]


def test_pages_and_chunks_of_experiment_ids_cost_the_minimum_calls(fake: FakeMlflow, store: Store) -> None:
    experiments = [fake.add_experiment(f"exp-{i:03d}") for i in range(150)]
    for i in range(250):
        fake.add_run(experiments[i % 150], start=NOW - timedelta(hours=2, seconds=i))
    result = sync(settings_for(fake), store, page_size=100)
    ids = sorted(e.experiment_id for e in experiments)
    chunks = [set(ids[i:i + 100]) for i in range(0, len(ids), 100)]
    per_chunk = [sum(1 for r in fake.runs.values() if r.experiment_id in chunk) for chunk in chunks]
    # 2 experiment pages; per chunk, MLflow hands out a page token after every full page
    minimum = 2 + sum(n // 100 + 1 for n in per_chunk)
    assert (result.runs, result.api_calls) == (250, minimum)
    assert all(len(body["experiment_ids"]) <= 100 for body in fake.searches())


def test_the_next_sync_rereads_the_lookback_and_updates_a_finished_run(fake: FakeMlflow, store: Store) -> None:
    exp = fake.add_experiment("vision")
    fake.add_run(exp, run_id="r1", status="RUNNING", start=NOW - timedelta(days=2))
    settings = settings_for(fake)
    sync(settings, store)
    fake.update_run("r1", status="FINISHED", end=NOW - timedelta(hours=1))
    sync(settings, store)
    cursor_ms = int((NOW - timedelta(days=2) - timedelta(days=7)).timestamp() * 1000)
    assert fake.searches()[-1]["filter"] == f"attributes.start_time >= {cursor_ms}"
    assert stored(store)["r1"].status == "finished"


@pytest.mark.parametrize("auth, env", [
    ("basic", {"MLFLOW_TRACKING_USERNAME": "bridge", "MLFLOW_TRACKING_PASSWORD": "mlflow-pa55word-s3cret"}),
    ("bearer", {"MLFLOW_TRACKING_TOKEN": "mlflow-api-token-s3cret"}),
])
def test_auth_as_mlflow_clients_send_it(store: Store, auth: str, env: dict) -> None:
    with FakeMlflow(auth=auth) as fake:
        fake.add_run(fake.add_experiment("vision"), start=NOW - timedelta(hours=1))
        assert sync(settings_for(fake, **env), store).runs == 1
        with pytest.raises(MlflowSyncError, match="refused the credentials") as refused:
            sync(settings_for(fake), store)
        assert "s3cret" not in str(refused.value)


def test_an_html_answer_fails_the_sync_and_stores_nothing(fake: FakeMlflow, store: Store) -> None:
    fake.add_run(fake.add_experiment("vision"), start=NOW - timedelta(hours=1))
    fake.serve_garbage("html")
    with pytest.raises(MlflowSyncError, match="is not JSON .*text/html.*not a login page"):
        sync(settings_for(fake), store)
    assert store.count("experiment_runs") == 0
    assert "not JSON" in store.sync_state("mlflow")["last_error"]
    fake.clear_garbage()
    fake.fail_next("/runs/search", 429, retry_after=0)  # retried, then fine
    assert run_job("mlflow-sync", Services(settings_for(fake), store, lambda: NOW)).startswith("1 runs of 1 experiments")
