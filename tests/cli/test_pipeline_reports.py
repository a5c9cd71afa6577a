"""`research-bridge report pipelines` and `report delivery` end to end (through click), on
runs, deployments and incidents with known figures, plus the demo's pipeline history."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.cli.report import report, report_delivery, report_pipelines
from bot.demo import demo_settings
from bot.demo.pipelines import build_demo_pipelines
from bot.ingest.pipelines import record_pipeline_runs
from bot.models import Deployment, Incident, PipelineRun
from bot.queries.pipelines import PipelineQueries
from bot.store import Store
from bot.terminal.pipelines import delivery_text, demo_pipelines_text, pipelines_text
from tests.support.cli import invoke


def test_report_group_offers_pipelines_and_delivery():
    assert report.commands["pipelines"] is report_pipelines
    assert report.commands["delivery"] is report_delivery

H = 3600


def _run(now: datetime, pipeline: str, source: str, run_id: str, status: str, days_ago: float,
         attempt: int = 1) -> PipelineRun:
    at = now - timedelta(days=days_ago)
    return PipelineRun(source, pipeline, run_id, attempt, status, at, at - timedelta(minutes=5),
                       f"https://ci.example.com/{run_id}/{attempt}")


def _deploy(now: datetime, did: str, target: str, version: str, status: str, days_ago: float, *,
            env: str = "production", lead_hours: float | None = None) -> Deployment:
    at = now - timedelta(days=days_ago)
    commit_at = at - timedelta(hours=lead_hours) if lead_hours is not None else None
    return Deployment("api", did, target, version, env, status, at, is_production=env == "production",
                      commit_sha=f"sha-{did}", commit_at=commit_at)


def seed(store: Store, now: datetime) -> None:
    """train: 7d 3 ok (one after a failed attempt 1) + 1 failed last = 75%, the 7 days before
    1/1 = 50% (trend +0.25), streak 1. nightly: 7d only cancelled. old: one success 20 days ago.

    Delivery over 30 days: api-svc v1 (2 h lead), v2 (4 h), v3 failed, then v1 again (an
    inferred rollback, which marks v2 as failed); ranker v1 (6 h lead) followed 1 h later by
    an incident restored in 3 h; a staging deployment."""
    record_pipeline_runs(store, [
        _run(now, "train", "github", "t1", "success", 6),
        _run(now, "train", "github", "t2", "failed", 5, attempt=1),
        _run(now, "train", "github", "t2", "success", 4.9, attempt=2),
        _run(now, "train", "github", "t3", "success", 3),
        _run(now, "train", "github", "t4", "failed", 1),
        _run(now, "train", "github", "t0", "success", 9),
        _run(now, "train", "github", "t-1", "failed", 10),
        _run(now, "nightly", "airflow", "n1", "cancelled", 2),
        _run(now, "nightly", "airflow", "n2", "cancelled", 1),
        _run(now, "old", "api", "o1", "success", 20),
    ])
    store.save_deployments([
        _deploy(now, "d1", "api-svc", "v1", "success", 20, lead_hours=2),
        _deploy(now, "d2", "api-svc", "v2", "success", 10, lead_hours=4),
        _deploy(now, "d3", "api-svc", "v3", "failed", 5),
        _deploy(now, "d4", "api-svc", "v1", "success", 3, lead_hours=1),
        _deploy(now, "m1", "ranker", "v1", "success", 15, lead_hours=6),
        _deploy(now, "m2", "ranker", "v2", "success", 14, env="staging"),
    ])
    start = now - timedelta(days=15) + timedelta(hours=1)
    store.save_incidents([Incident("api", "INC-1", "ranker degraded", start, start + timedelta(hours=3), "ranker")])


@pytest.fixture
def env(here, monkeypatch):
    """The CLI's empty environment, with a database of seeded pipeline runs."""
    db = here / "bridge.db"
    monkeypatch.setenv("BRIDGE_DB", str(db))
    seed(Store(db), datetime.now(UTC))
    return here


def run(*args: str) -> str:
    """The output of a command that must succeed."""
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def test_pipelines_json_has_the_documented_fields_worst_first(env) -> None:
    rows = json.loads(run("report", "pipelines", "--window", "7d", "--format", "json"))
    assert [r["pipeline"] for r in rows] == ["train", "nightly"]  # `old` ran 20 days ago
    train, nightly = rows
    assert {k: train[k] for k in ("pipeline", "source", "runs", "success", "failed", "cancelled", "skipped",
                                  "reliability", "previous_reliability", "trend", "failure_streak",
                                  "last_status")} == {
        "pipeline": "train", "source": "github", "runs": 4, "success": 3, "failed": 1, "cancelled": 0,
        "skipped": 0, "reliability": 0.75, "previous_reliability": 0.5, "trend": 0.25, "failure_streak": 1,
        "last_status": "failed"}
    assert train["last_url"] == "https://ci.example.com/t4/1" and train["last_finished_at"].endswith("Z")
    assert (nightly["runs"], nightly["cancelled"], nightly["reliability"], nightly["trend"]) == (2, 2, None, None)


def test_pipelines_windows(env) -> None:
    rows = json.loads(run("report", "pipelines", "--format", "json"))  # 30 days by default
    assert [(r["pipeline"], r["runs"], r["reliability"]) for r in rows] == [
        ("train", 6, 0.6667), ("old", 1, 1.0), ("nightly", 2, None)]
    assert rows[0]["previous_reliability"] is None and rows[0]["trend"] is None
    assert [r["pipeline"] for r in json.loads(run("report", "pipelines", "--window", "90d", "--format", "json"))] \
        == ["train", "old", "nightly"]
    result = CliRunner().invoke(cli, ["report", "pipelines", "--window", "1y"])
    assert result.exit_code == 2


def test_pipelines_csv_and_table(env) -> None:
    rows = list(csv.DictReader(io.StringIO(run("report", "pipelines", "--window", "7d", "--format", "csv"))))
    assert rows[0]["pipeline"] == "train" and rows[0]["reliability"] == "0.75" and rows[0]["failure_streak"] == "1"
    assert rows[1]["reliability"] == "" and rows[1]["trend"] == ""
    for field in ("pipeline", "source", "runs", "success", "failed", "cancelled", "skipped", "reliability",
                  "failure_streak", "trend"):
        assert field in rows[0]
    lines = run("report", "pipelines", "--window", "7d").splitlines()
    assert lines[0].split() == ["PIPELINE", "SOURCE", "RUNS", "SUCCESS", "FAILED", "CANCELLED", "SKIPPED",
                                "RELIABILITY", "TREND", "STREAK", "LAST", "STATUS", "LAST", "FINISHED"]
    assert lines[1].split()[:10] == ["train", "github", "4", "3", "1", "0", "0", "0.75", "0.25", "1"]


def test_pipelines_on_an_empty_database(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("BRIDGE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "empty.db")
    Store(db).close()
    assert json.loads(run("report", "pipelines", "--db", db, "--format", "json")) == []
    assert run("report", "pipelines", "--db", db, "--format", "csv").strip().split(",")[:8] == [
        "pipeline", "source", "runs", "success", "failed", "cancelled", "skipped", "reliability"]
    result = CliRunner().invoke(cli, ["report", "pipelines", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 2 and "no database" in result.output


def test_delivery_json_overall_and_by_target(env) -> None:
    rows = json.loads(run("report", "delivery", "--format", "json"))
    assert len(rows) == 1
    overall = rows[0]
    assert overall["target"] is None
    assert {k: overall[k] for k in (
        "deployments", "production_deployments", "successful_production_deployments", "deployment_days",
        "deployment_frequency_per_week", "lead_time_median_seconds", "lead_time_p90_seconds",
        "change_failure_rate", "failed_deployments", "time_to_restore_median_seconds", "open_incidents",
        "rollbacks", "rollback_rate", "incidents")} == {
        "deployments": 6, "production_deployments": 5, "successful_production_deployments": 4,
        "deployment_days": 4, "deployment_frequency_per_week": round(4 / (30 / 7), 4),
        "lead_time_median_seconds": 4 * H, "lead_time_p90_seconds": 20160,  # 2, 4, 6 h (the rollback is left out)
        "change_failure_rate": 0.6, "failed_deployments": 3,  # v3 failed, v2 rolled back, ranker v1 incident
        "time_to_restore_median_seconds": 3 * H, "open_incidents": 0, "rollbacks": 1, "rollback_rate": 0.2,
        "incidents": 1}
    assert overall["start"].endswith("Z") and overall["end"].endswith("Z")
    assert isinstance(overall["lead_time_median_seconds"], int)

    rows = json.loads(run("report", "delivery", "--window", "90d", "--by-target", "--format", "json"))
    assert [r["target"] for r in rows] == [None, "api-svc", "ranker"]
    svc, ranker = rows[1], rows[2]
    assert (svc["production_deployments"], svc["failed_deployments"], svc["change_failure_rate"], svc["rollbacks"]) \
        == (4, 2, 0.5, 1)
    assert (ranker["deployments"], ranker["production_deployments"], ranker["change_failure_rate"],
            ranker["time_to_restore_median_seconds"]) == (2, 1, 1.0, 3 * H)


def test_delivery_csv_and_table(env) -> None:
    rows = list(csv.DictReader(io.StringIO(run("report", "delivery", "--by-target", "--format", "csv"))))
    assert [r["target"] for r in rows] == ["", "api-svc", "ranker"]
    assert rows[0]["change_failure_rate"] == "0.6" and rows[0]["rollback_rate"] == "0.2"
    lines = run("report", "delivery", "--by-target").splitlines()
    assert lines[0].startswith("TARGET") and "CHANGE FAILURE RATE" in lines[0]
    assert lines[1].split() == ["(all)", "5", "0.9333", "14400", "0.6", "10800", "1", "0.2", "0"]
    assert lines[2].split()[0] == "api-svc" and lines[3].split()[0] == "ranker"


# -- demo ----------------------------------------------------------------------------------------


def test_demo_history_and_terminal_views(tmp_path) -> None:
    store, now = Store(tmp_path / "demo.db"), datetime.now(UTC)
    runs, deployments, incidents = build_demo_pipelines(store, now)
    assert runs > 3000 and deployments > 150 and incidents >= 5
    assert build_demo_pipelines(store, now) == (runs, deployments, incidents)  # same seed, same history
    assert store.count("pipeline_runs") == runs  # ... stored once
    assert len(store.pipeline_names()) == 12
    assert {r.source for r in store.pipeline_runs(now - timedelta(days=90))} == {"github", "gitlab", "airflow", "api"}
    assert any(r.attempt > 1 for r in store.pipeline_runs(now - timedelta(days=90)))

    queries = PipelineQueries(store, demo_settings())
    overview = queries.overview(now)
    assert overview.week[0].pipeline == "embeddings_backfill" and overview.week[0].streak >= 3
    text = pipelines_text(overview)
    assert "embeddings_backfill !" in text and "failed runs in a row" in text
    delivery = queries.delivery(now)
    assert delivery.rollbacks > 0 and delivery.failed_deployments > 0
    assert "model rollback rate" in delivery_text(delivery)
    shown = demo_pipelines_text(queries, demo_settings(), now)
    for part in ("/pipelines\n", "/pipelines embeddings_backfill\n", "lead time for changes", "time to restore"):
        assert part in shown


def test_report_pipelines_and_slash_pipelines_read_the_same_figures(env) -> None:
    """`report pipelines` and `/pipelines` read one query (the rollups), so the export and the
    Slack answer never disagree: per pipeline, runs, outcomes, reliability, trend and streak."""
    from bot.config import settings_from_mapping

    now = datetime.now(UTC)
    overview = PipelineQueries(Store(env / "bridge.db"), settings_from_mapping({}, {})).overview(now)
    for window, shown in (("7d", overview.week), ("30d", overview.month)):
        exported = json.loads(run("report", "pipelines", "--window", window, "--format", "json"))
        assert [(r["pipeline"], r["runs"], r["success"], r["failed"], r["cancelled"], r["reliability"],
                 r["failure_streak"]) for r in exported] == [
            (s.pipeline, s.current.runs, s.current.success, s.current.failed, s.current.cancelled,
             None if s.current.reliability is None else round(s.current.reliability, 4), s.streak) for s in shown]
