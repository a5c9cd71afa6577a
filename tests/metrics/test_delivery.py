"""Delivery metrics (DORA for ML services and models): rollbacks, incident links, the four keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.ingest.pipelines import record_pipeline_runs
from bot.metrics.delivery import (
    DeliveryMetrics,
    delivery_by_target,
    delivery_metrics,
    infer_rollbacks,
    link_incidents,
)
from bot.models import Deployment, Incident, PipelineRun
from bot.queries.pipelines import PipelineQueries
from bot.store import Store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=30)
H = 3600.0
_ids = iter(range(1, 1_000_000))


def at(days_ago: float, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days_ago) + timedelta(hours=hours)


def dep(days_ago: float, version: str, target: str = "ranker", *, env: str = "production", status: str = "success",
        prod: bool | None = None, rollback: bool = False, did: str | None = None, sha: str | None = None,
        commit_at: datetime | None = None, hours: float = 0) -> Deployment:
    return Deployment("api", did or f"d{next(_ids)}", target, version, env, status, at(days_ago, hours),
                      env == "production" if prod is None else prod, rollback, sha, commit_at)


def inc(days_ago: float, *, hours: float = 0, restore_hours: float | None = 1.0, target: str | None = None,
        deployment_id: str | None = None, iid: str | None = None) -> Incident:
    started = at(days_ago, hours)
    resolved = started + timedelta(hours=restore_hours) if restore_hours is not None else None
    return Incident("jira", iid or f"INC-{next(_ids)}", "down", started, resolved, target, deployment_id)


def metrics(deployments, incidents=(), commit_times=None, **kw) -> DeliveryMetrics:
    return delivery_metrics(list(deployments), list(incidents), START, NOW, commit_times or {}, **kw)


# -- rollbacks ---------------------------------------------------------------------------------


def flags(deployments: list[Deployment]) -> list[tuple[str, bool]]:
    return [(d.deployment_id, d.is_rollback) for d in infer_rollbacks(deployments)[0]]


def test_redeploying_an_earlier_version_is_a_rollback():
    ds = [dep(10, "v1", did="a"), dep(9, "v2", did="b"), dep(8, "v1", did="c"), dep(7, "v3", did="d")]
    assert flags(ds) == [("a", False), ("b", False), ("c", True), ("d", False)]


def test_same_version_twice_is_a_redeploy_not_a_rollback():
    ds = [dep(10, "v1", did="a"), dep(9, "v2", did="b"), dep(8, "v2", did="c")]
    assert flags(ds) == [("a", False), ("b", False), ("c", False)]


def test_environments_and_targets_are_independent():
    ds = [dep(10, "v1", did="a"), dep(9, "v2", did="b"),
          dep(8, "v1", env="staging", did="c"),  # staging never ran v1 before
          dep(7, "v1", "embedder", did="d")]  # nor did another target
    assert flags(ds) == [("a", False), ("b", False), ("c", False), ("d", False)]


def test_failed_deployments_change_nothing_and_reported_flags_are_kept():
    ds = [dep(10, "v1", did="a"), dep(9, "v2", did="b", status="failed"), dep(8, "v1", did="c"),
          dep(7, "v3", did="d"), dep(6, "v1", did="e", status="failed"), dep(5, "v9", did="f", rollback=True)]
    # b failed: v1 still runs, so c is a redeploy; e failed: no rollback inferred; f as reported
    assert flags(ds) == [("a", False), ("b", False), ("c", False), ("d", False), ("e", False), ("f", True)]


def test_rollbacks_are_inferred_in_time_order_but_returned_in_input_order():
    ds = [dep(8, "v1", did="c"), dep(10, "v1", did="a"), dep(9, "v2", did="b")]
    assert flags(ds) == [("c", True), ("a", False), ("b", False)]


# -- incident links ------------------------------------------------------------------------------


def test_incident_links_by_explicit_id_or_by_target_within_24_hours():
    a = dep(5, "v1", did="a")
    b = dep(4, "v2", did="b")
    c = dep(4, "v3", did="c", hours=2, status="failed")  # not successful: never blamed by inference
    e = dep(3, "v1", "embedder", did="e")
    ds = [a, b, c, e]
    incidents = [
        inc(2, iid="explicit", deployment_id="a", target="embedder"),  # the id wins over the target
        inc(4, hours=23, iid="inferred", target="ranker"),  # 23 h after b
        inc(4, hours=25, iid="too-late", target="ranker"),  # 25 h after b
        inc(3, iid="at-finish", target="embedder"),  # at the deployment's finish: linked
        inc(3, hours=-1, iid="before", target="embedder"),  # before any embedder deployment
        inc(4, hours=1, iid="no-target"),
        inc(4, hours=1, iid="unknown-id", deployment_id="zzz", target="ranker"),  # given id wins, unknown
    ]
    links = {iid: d.deployment_id for (_, iid), d in link_incidents(ds, incidents).items()}
    assert links == {"explicit": "a", "inferred": "b", "at-finish": "e"}


# -- change failure rate -------------------------------------------------------------------------


def test_change_failure_rate_counts_failed_production_deployments():
    m = metrics([dep(5, "v1"), dep(4, "v2", status="failed"), dep(3, "v2"), dep(2, "v3"),
                 dep(1, "v4", env="staging", status="failed")])
    assert (m.deployments, m.production_deployments, m.successful_production_deployments) == (5, 4, 3)
    assert (m.failed_deployments, m.change_failure_rate) == (1, 0.25)


def test_change_failure_rate_counts_the_deployment_that_was_rolled_back():
    m = metrics([dep(5, "v1"), dep(4, "v2"), dep(3, "v1"), dep(2, "v3")])
    assert (m.failed_deployments, m.change_failure_rate) == (1, 0.25)  # v2, not the rollback itself
    assert (m.rollbacks, m.rollback_rate, m.model_rollback_rate) == (1, 0.25, 0.25)
    before = metrics([dep(40, "v1"), dep(35, "v2"), dep(20, "v1")])  # what was rolled back shipped before
    assert (before.production_deployments, before.rollbacks, before.failed_deployments) == (1, 1, 0)


def test_reported_rollback_fails_the_version_it_replaced_and_history_before_the_window_counts():
    ds = [dep(40, "v1"), dep(35, "v2"), dep(20, "v3"), dep(10, "v2", rollback=False), dep(5, "v5", rollback=True)]
    m = metrics(ds)
    # v2 at 10d rolls back v3 (v2 ran 35 days ago); v5, reported, rolls back v2 (10d)
    assert (m.production_deployments, m.rollbacks, m.failed_deployments) == (3, 2, 2)
    assert m.change_failure_rate == pytest.approx(2 / 3)


def test_change_failure_rate_counts_incident_links_once_per_deployment():
    ds = [dep(10, "v1", did="a"), dep(8, "v2", did="b"), dep(6, "v3", did="c"), dep(4, "v4", did="d", target="emb")]
    incidents = [inc(1, deployment_id="a"), inc(8, hours=5, target="ranker"), inc(8, hours=6, target="ranker"),
                 inc(2, target="emb")]  # 2 days after emb's deploy: not linked
    m = metrics(ds, incidents)
    assert (m.failed_deployments, m.change_failure_rate) == (2, 0.5)


def test_a_failed_deployment_linked_to_an_incident_counts_once():
    m = metrics([dep(3, "v1", did="x", status="failed"), dep(2, "v2")], [inc(1, deployment_id="x")])
    assert (m.failed_deployments, m.change_failure_rate) == (1, 0.5)


def test_deployments_outside_the_window_are_not_counted_even_when_failed():
    m = metrics([dep(31, "v1", did="old"), dep(20, "v2")], [inc(10, deployment_id="old")])
    assert (m.production_deployments, m.failed_deployments, m.change_failure_rate) == (1, 0, 0.0)


# -- lead time -----------------------------------------------------------------------------------


def test_lead_time_from_commit_at_and_from_commit_times():
    ds = [
        dep(9, "v1", commit_at=at(9, -2)),  # 2 h
        dep(8, "v2", sha="abc"),  # 4 h via commit_times
        dep(7, "v3", sha="nope"),  # commit unknown
        dep(6, "v4", commit_at=at(6, -1), status="failed"),  # not shipped
        dep(5, "v5", commit_at=at(5, -1), env="staging"),  # not production
        dep(4, "v1", commit_at=at(9, -2)),  # a rollback ships an old commit: left out
        dep(3, "v6", commit_at=at(3, 1)),  # commit after the deploy (clock skew): left out
        dep(2, "v7", sha="abc", commit_at=at(2, -10)),  # commit_at wins over commit_times: 10 h
    ]
    m = metrics(ds, commit_times={"abc": at(8, -4)})
    assert m.lead_time_samples == 3
    assert m.lead_time_median_seconds == 4 * H
    assert m.lead_time_p90_seconds == pytest.approx((4 + 0.8 * 6) * H)


# -- frequency -----------------------------------------------------------------------------------


def test_deployment_frequency_per_week_over_thirty_days_and_deployment_days():
    shipped = [dep(d, f"v{i}", hours=h) for i, (d, h) in enumerate(
        [(29, 0), (29, 1), (25, 0), (20, 0), (15, 0), (15, 2), (15, 3), (10, 0), (8, 0), (5, 0), (2, 0), (1, 0)])]
    other = [dep(3, "x1", status="failed"), dep(3, "x2", status="failed"), dep(4, "s1", env="staging"),
             dep(4, "s2", env="staging"), dep(4, "s3", env="staging"), dep(31, "old")]
    m = metrics(shipped + other)
    assert (m.deployments, m.production_deployments, m.successful_production_deployments) == (17, 14, 12)
    assert m.deployment_frequency_per_week == pytest.approx(2.8)  # 12 / (30 / 7)
    assert m.deployment_days == 9


def test_deployment_days_are_counted_in_the_given_timezone():
    ds = [dep(3, "v1", hours=11.5), dep(3, "v2", hours=12.5)]  # 23:30 and 00:30 UTC
    assert metrics(ds).deployment_days == 2
    assert metrics(ds, tz=ZoneInfo("America/New_York")).deployment_days == 1  # 19:30 and 20:30


# -- time to restore -----------------------------------------------------------------------------


def test_time_to_restore_median_excludes_and_counts_open_incidents():
    incidents = [inc(20, restore_hours=1), inc(10, restore_hours=3), inc(5, restore_hours=8),
                 inc(2, restore_hours=None), inc(40, restore_hours=100), inc(35, restore_hours=None)]
    m = metrics([], incidents)
    assert (m.incidents, m.open_incidents) == (4, 1)
    assert m.time_to_restore_median_seconds == 3 * H
    assert m.time_to_restore_p90_seconds == pytest.approx(7 * H)


# -- empty, per target, models --------------------------------------------------------------------


def test_empty_window():
    m = metrics([dep(40, "v1")], [inc(45)])
    assert m == DeliveryMetrics(START, NOW, 0, 0, 0, 0.0, 0, None, None, None, 0, None, 0, 0, None, None)


def test_delivery_by_target_splits_deployments_and_incidents():
    ds = [dep(10, "v1", did="r1"), dep(9, "v2", did="r2"), dep(8, "v1", did="r3"),
          dep(5, "m1", "churn-model", did="m1"), dep(40, "x", "retired")]
    incidents = [inc(5, hours=2, target="churn-model", restore_hours=2), inc(3, target="search")]
    by = delivery_by_target(ds, incidents, START, NOW)
    assert list(by) == ["churn-model", "ranker", "search"]
    assert (by["ranker"].production_deployments, by["ranker"].rollbacks, by["ranker"].failed_deployments) == (3, 1, 1)
    assert (by["churn-model"].change_failure_rate, by["churn-model"].time_to_restore_median_seconds) == (1.0, 2 * H)
    assert (by["search"].deployments, by["search"].incidents, by["ranker"].incidents) == (0, 1, 0)


def test_model_rollback_rate_counts_only_model_targets():
    ds = [dep(10, "v1", "churn-model"), dep(9, "v2", "churn-model"), dep(8, "v1", "churn-model"),
          dep(7, "a", "api"), dep(6, "b", "api"), dep(5, "c", "api")]
    m = metrics(ds, is_model=lambda target: target.endswith("-model"))
    assert (m.rollbacks, m.rollback_rate) == (1, 1 / 6)
    assert (m.model_production_deployments, m.model_rollbacks, m.model_rollback_rate) == (3, 1, 1 / 3)


# -- PipelineQueries.delivery against a real store ----------------------------------------------------


def test_queries_delivery_reads_history_commit_times_and_incidents(tmp_path):
    store = Store(tmp_path / "bridge.db")
    record_pipeline_runs(store, [PipelineRun("github", "build", "1", 1, "success", at(12), commit_sha="c2",
                                          commit_at=at(12, -6))])
    store.save_deployments([
        dep(100, "v1", did="old"),  # before the window: v1 ran before
        dep(12, "v2", did="new", sha="c2"),
        dep(6, "v1", did="back"),  # inferred rollback of v2
        dep(3, "v3", did="next", commit_at=at(3, -2)),
        dep(2, "v4", did="fail", status="failed"),
    ])
    store.save_incidents([inc(3, hours=1, target="ranker", restore_hours=4, iid="INC-1"),
                          inc(1, restore_hours=None, iid="INC-2")])
    queries = PipelineQueries(store, Settings())
    m = queries.delivery(NOW)
    assert (m.start, m.end, m.production_deployments, m.successful_production_deployments) == (START, NOW, 4, 3)
    assert (m.rollbacks, m.failed_deployments) == (1, 3)  # "new" rolled back, "next" has INC-1, "fail"
    assert m.change_failure_rate == 0.75
    assert (m.lead_time_samples, m.lead_time_median_seconds) == (2, 4 * H)  # 6 h and 2 h
    assert (m.incidents, m.open_incidents, m.time_to_restore_median_seconds) == (2, 1, 4 * H)
    assert queries.delivery(NOW, window_days=7).production_deployments == 3
    assert list(queries.delivery_by_target(NOW)) == ["ranker"]
    store.close()
