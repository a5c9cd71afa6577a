"""MLflow pull against a REAL `mlflow server` (SQLite backend, on loopback), with runs logged by
the `mlflow` client: what the sync stores, that a second sync adds nothing, and how many calls
paging takes on the real server. Skipped when the `mlflow` package is absent (it is not a
dependency; install it in a separate venv to run this)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
import requests

mlflow = pytest.importorskip("mlflow")

from bot.config import settings_from_mapping  # noqa: E402
from bot.sources.mlflow import MlflowSync  # noqa: E402
from bot.store import Store  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(url: str, server: subprocess.Popen, log: Path) -> None:
    """Poll `/health` until the server answers 200; fail with its log's tail if it dies or stalls."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-2000:]}")


def stop(server: subprocess.Popen) -> None:
    """End the server's whole process group (it starts uvicorn and a job runner of its own)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` on a free loopback port, its store and artifacts in a temp folder."""
    root = tmp_path_factory.mktemp("mlflow")
    port, log = free_port(), root / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
               "--default-artifact-root", str(root / "artifacts")]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(url, server, log)
        yield url
    finally:
        stop(server)


def at_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture(scope="module")
def logged(server_url: str) -> dict[str, str]:
    """Runs logged through the mlflow client; name -> run id. Two experiments; finished, failed,
    killed and running runs; one finished run deleted afterwards."""
    client = mlflow.MlflowClient(tracking_uri=server_url)
    vision, nlp = client.create_experiment("vision-detector"), client.create_experiment("nlp-ranker")

    def run(experiment: str, user: str, started: datetime, status: str | None, ended: datetime | None = None,
            **tags: str) -> str:
        created = client.create_run(experiment, start_time=at_ms(started), tags={"mlflow.user": user, **tags})
        if status is not None:
            client.set_terminated(created.info.run_id, status, end_time=at_ms(ended) if ended else None)
        return created.info.run_id

    ids = {
        "finished": run(vision, "alice", NOW - timedelta(hours=3), "FINISHED", NOW - timedelta(hours=1),
                        jira="res-12"),
        "running": run(vision, "alice", NOW - timedelta(minutes=30), None),
        "failed": run(nlp, "bob", NOW - timedelta(days=2), "FAILED", NOW - timedelta(days=2) + timedelta(minutes=10)),
        "killed": run(nlp, "bob", NOW - timedelta(days=1), "KILLED", NOW - timedelta(hours=20)),
        "deleted": run(nlp, "alice", NOW - timedelta(days=1, hours=2), "FINISHED", NOW - timedelta(days=1)),
    }
    client.delete_run(ids["deleted"])
    return ids


def settings_for(url: str):
    return settings_from_mapping({"mlflow": {"url": url}}, {})


def sync(url: str, store: Store, **kwargs):
    return MlflowSync(settings_for(url), store, clock=lambda: NOW, sleep=lambda s: None, **kwargs).run()


def stored(store: Store) -> dict:
    return {r.run_id: r for r in store.experiment_runs(NOW - timedelta(days=30), NOW + timedelta(days=1))}


def test_the_sync_stores_what_the_real_server_logged_and_a_second_sync_adds_nothing(
        server_url: str, logged: dict[str, str], store: Store) -> None:
    result = sync(server_url, store)
    # MLflow's own "Default" experiment (id 0) is read too: it is active, with no runs
    assert (result.experiments, result.runs, result.skipped) == (3, 4, 0)
    runs = stored(store)
    assert sorted(runs) == sorted(logged[k] for k in ("finished", "running", "failed", "killed"))
    assert logged["deleted"] not in runs
    by_kind = {kind: runs[run_id] for kind, run_id in logged.items() if run_id in runs}
    assert {k: r.status for k, r in by_kind.items()} == {"finished": "finished", "running": "running",
                                                         "failed": "failed", "killed": "killed"}
    assert {k: r.user for k, r in by_kind.items()} == {"finished": "alice", "running": "alice", "failed": "bob",
                                                       "killed": "bob"}
    assert {k: r.experiment for k, r in by_kind.items()} == {"finished": "vision-detector",
                                                             "running": "vision-detector",
                                                             "failed": "nlp-ranker", "killed": "nlp-ranker"}
    finished = by_kind["finished"]
    assert (finished.started_at, finished.finished_at) == (NOW - timedelta(hours=3), NOW - timedelta(hours=1))
    assert finished.jira_key == "RES-12" and by_kind["failed"].jira_key is None
    assert by_kind["running"].finished_at is None
    experiment_id = mlflow.MlflowClient(tracking_uri=server_url).get_experiment_by_name("vision-detector").experiment_id
    assert finished.url == f"{server_url}/#/experiments/{experiment_id}/runs/{logged['finished']}"
    assert result.cursor == NOW - timedelta(minutes=30)

    again = sync(server_url, store)
    assert again.runs == 4  # the lookback re-reads them...
    assert stored(store) == runs and store.count("experiment_runs") == 4  # ...and nothing new is stored


@pytest.mark.parametrize("page_size, calls", [
    (2, 2 + 2),  # experiments: pages of 2 and 1; the 4 active runs: pages of 2 and 2
    (4, 1 + 1),  # one page each: the real server gives no next_page_token when nothing is left,
])              # even on an exactly full page (the fake answers one more, empty, page)
def test_paging_on_the_real_server_costs_one_call_a_page(server_url: str, logged: dict[str, str], store: Store, page_size: int,
                                   calls: int) -> None:
    result = sync(server_url, store, page_size=page_size)
    assert sorted(stored(store)) == sorted(logged[k] for k in ("finished", "running", "failed", "killed"))
    assert result.api_calls == calls
