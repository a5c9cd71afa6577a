"""Pipeline runs, deployments and incidents: idempotent upserts and window reads.

A mixin of `Store` (it uses `self.db` and `self.transaction()`). Every record is keyed by
its source's own identity (run id + attempt, deployment id, incident id), so a webhook
redelivered, or seen again by a poll, is stored once; a later state of the same record
(a re-delivered run that finished differently) replaces the earlier one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from bot.models import Deployment, Incident, PipelineRun
from bot.store.times import from_db_time, to_db_time

_RUN_COLUMNS = ("source", "pipeline", "run_id", "attempt", "status", "finished_at", "started_at", "url",
                "commit_sha", "commit_at", "branch")
_DEPLOY_COLUMNS = ("source", "deployment_id", "target", "version", "environment", "status", "finished_at",
                   "is_production", "is_rollback", "commit_sha", "commit_at", "url")
_INCIDENT_COLUMNS = ("source", "incident_id", "title", "started_at", "resolved_at", "target", "deployment_id", "url")


def _upsert_sql(table: str, columns: Sequence[str]) -> str:
    return (f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})")


class PipelineStore:
    """Pipeline, deployment and incident methods of `Store`."""

    # -- writes -----------------------------------------------------------------------------

    def save_pipeline_runs(self, runs: Sequence[PipelineRun]) -> None:
        with self.transaction() as db:
            db.conn.executemany(_upsert_sql("pipeline_runs", _RUN_COLUMNS), [
                (r.source, r.pipeline, r.run_id, r.attempt, r.status, to_db_time(r.finished_at),
                 to_db_time(r.started_at), r.url, r.commit_sha, to_db_time(r.commit_at), r.branch)
                for r in runs])

    def save_deployments(self, deployments: Sequence[Deployment]) -> None:
        with self.transaction() as db:
            db.conn.executemany(_upsert_sql("deployments", _DEPLOY_COLUMNS), [
                (d.source, d.deployment_id, d.target, d.version, d.environment, d.status,
                 to_db_time(d.finished_at), int(d.is_production), int(d.is_rollback), d.commit_sha,
                 to_db_time(d.commit_at), d.url)
                for d in deployments])

    def save_incidents(self, incidents: Sequence[Incident]) -> None:
        with self.transaction() as db:
            db.conn.executemany(_upsert_sql("incidents", _INCIDENT_COLUMNS), [
                (i.source, i.incident_id, i.title, to_db_time(i.started_at), to_db_time(i.resolved_at),
                 i.target, i.deployment_id, i.url)
                for i in incidents])

    def delete_incident(self, source: str, incident_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM incidents WHERE source = ? AND incident_id = ?", [source, incident_id])

    # -- reads ------------------------------------------------------------------------------

    def pipeline_runs(self, since: datetime, until: datetime | None = None,
                      pipeline: str | None = None) -> list[PipelineRun]:
        """Attempts that finished in [since, until), oldest first."""
        sql = f"SELECT {', '.join(_RUN_COLUMNS)} FROM pipeline_runs WHERE finished_at >= ?"
        params: list = [to_db_time(since)]
        if until is not None:
            sql += " AND finished_at < ?"
            params.append(to_db_time(until))
        if pipeline is not None:
            sql += " AND pipeline = ?"
            params.append(pipeline)
        rows = self.db.conn.execute(sql + " ORDER BY finished_at, pipeline, run_id, attempt", params)
        return [PipelineRun(s, p, rid, att, st, from_db_time(fin), from_db_time(start), url, sha,
                            from_db_time(cat), br)
                for (s, p, rid, att, st, fin, start, url, sha, cat, br) in rows]

    def pipeline_names(self) -> list[str]:
        return [r[0] for r in self.db.conn.execute("SELECT DISTINCT pipeline FROM pipeline_runs ORDER BY 1")]

    def commit_times(self, shas: Sequence[str]) -> dict[str, datetime]:
        """Commit time of each sha that some pipeline run reported (for lead time)."""
        wanted = [s for s in set(shas) if s]
        found: dict[str, datetime] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self.db.conn.execute(
                f"SELECT commit_sha, MIN(commit_at) FROM pipeline_runs WHERE commit_at IS NOT NULL"
                f" AND commit_sha IN ({', '.join('?' for _ in chunk)}) GROUP BY commit_sha", chunk)
            found.update({sha: from_db_time(at) for sha, at in rows})
        return found

    def deployments(self, since: datetime, until: datetime | None = None) -> list[Deployment]:
        """Deployments that finished in [since, until), oldest first."""
        sql = f"SELECT {', '.join(_DEPLOY_COLUMNS)} FROM deployments WHERE finished_at >= ?"
        params: list = [to_db_time(since)]
        if until is not None:
            sql += " AND finished_at < ?"
            params.append(to_db_time(until))
        rows = self.db.conn.execute(sql + " ORDER BY finished_at, source, deployment_id", params)
        return [Deployment(s, did, tgt, ver, env, st, from_db_time(fin), bool(prod), bool(rb), sha,
                           from_db_time(cat), url)
                for (s, did, tgt, ver, env, st, fin, prod, rb, sha, cat, url) in rows]

    def incidents(self, since: datetime, until: datetime | None = None) -> list[Incident]:
        """Incidents that started in [since, until), or are still open, oldest first."""
        sql = (f"SELECT {', '.join(_INCIDENT_COLUMNS)} FROM incidents"
               " WHERE (started_at >= ? OR resolved_at IS NULL OR resolved_at >= ?)")
        params: list = [to_db_time(since), to_db_time(since)]
        if until is not None:
            sql += " AND started_at < ?"
            params.append(to_db_time(until))
        rows = self.db.conn.execute(sql + " ORDER BY started_at, source, incident_id", params)
        return [Incident(s, iid, title or "", from_db_time(start), from_db_time(res), tgt, dep, url)
                for (s, iid, title, start, res, tgt, dep, url) in rows]
