"""Pipeline runs, deployments and incidents into the store, with what is derived from them.

`record_pipeline_runs` upserts attempts (the store recounts the day rollups and flags final
attempts in SQL) and, in the same transaction, rewrites each touched pipeline's state: its
latest final run and its failure streak, by the rules of `bot.metrics.reliability`, reading
recent attempts until a success (or the first run) is among them. Every writer of runs goes
through here: webhooks, the ingest API, the Airflow sync, the demo.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Sequence

from bot.metrics.reliability import failure_streak, final_attempts
from bot.models import Deployment, PipelineRun
from bot.store import Store

STATE_READ = 10  # latest attempts read for a streak (more while no success is among them)


def record_pipeline_runs(store: Store, runs: Sequence[PipelineRun]) -> None:
    """Store run attempts and keep the touched pipelines' state in step, in one transaction."""
    if not runs:
        return
    with store.transaction():
        store.save_pipeline_runs(runs)
        for source, pipeline in sorted({(r.source, r.pipeline) for r in runs}):
            refresh_pipeline_state(store, source, pipeline)


def refresh_pipeline_state(store: Store, source: str, pipeline: str) -> None:
    """Rewrite one pipeline's state row from its recent attempts (call inside a transaction)."""
    limit = STATE_READ
    while True:
        attempts = store.latest_attempts(source, pipeline, limit)
        finals = final_attempts(attempts)
        if len(attempts) < limit or any(r.status == "success" for r in finals):
            break
        limit *= 4
    store.save_pipeline_state(source, pipeline, finals[-1] if finals else None, failure_streak(finals))


def record_json(record: NamedTuple) -> dict[str, Any]:
    """A stored record as JSON (times in UTC ISO 8601)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record._asdict().items()}


def _stored_newer(store: Store, record: PipelineRun | Deployment) -> bool:
    """True when a later state of the same run attempt / deployment is already stored."""
    if isinstance(record, PipelineRun):
        return any(r.source == record.source and r.run_id == record.run_id and r.attempt == record.attempt
                   and r.finished_at > record.finished_at
                   for r in store.pipeline_runs(record.finished_at, pipeline=record.pipeline))
    return any(d.source == record.source and d.deployment_id == record.deployment_id
               and d.finished_at > record.finished_at for d in store.deployments(record.finished_at))


def store_once(store: Store, source: str, delivery: str | None, records: Sequence[PipelineRun | Deployment],
               received_at: datetime) -> dict[str, Any]:
    """Store webhook records once per delivery id, in one transaction; a record older than
    what is stored for the same run attempt / deployment is skipped."""
    with store.transaction():
        if delivery and not store.remember_delivery(source, delivery[:200], received_at):
            return {"ok": True, "duplicate": True}
        fresh = [r for r in records if not _stored_newer(store, r)]
        record_pipeline_runs(store, [r for r in fresh if isinstance(r, PipelineRun)])
        store.save_deployments([r for r in fresh if isinstance(r, Deployment)])
        return {"ok": True, "stored": [record_json(r) for r in fresh],
                "superseded": len(records) - len(fresh)}
