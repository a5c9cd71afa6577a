"""Pipeline runs, deployments and incidents: idempotent upserts and window reads.

A mixin of `Store` (it uses `self.db` and `self.transaction()`). Every record is keyed by
its source's own identity (run id + attempt, deployment id, incident id), so a webhook
redelivered, or seen again by a poll, is stored once; a later state of the same record
(a re-delivered run that finished differently) replaces the earlier one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Sequence

from bot.models import Deployment, Incident, PipelineRun
from bot.store.base import StoreBase
from bot.store.times import from_db_time, required_db_time, to_db_time

_RUN_COLUMNS = ("source", "pipeline", "run_id", "attempt", "status", "finished_at", "started_at", "url",
                "commit_sha", "commit_at", "branch")
_DEPLOY_COLUMNS = ("source", "deployment_id", "target", "version", "environment", "status", "finished_at",
                   "is_production", "is_rollback", "commit_sha", "commit_at", "url")
_INCIDENT_COLUMNS = ("source", "incident_id", "title", "started_at", "resolved_at", "target", "deployment_id", "url")


def _days_of_runs(conn, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """(source, pipeline, UTC day) of every stored attempt of these runs."""
    days: set[tuple[str, str, str]] = set()
    for source, pipeline, run_id in keys:
        rows = conn.execute(
            "SELECT substr(finished_at, 1, 10) FROM pipeline_runs WHERE source = ? AND pipeline = ? AND run_id = ?",
            [source, pipeline, run_id])
        days.update((source, pipeline, day) for (day,) in rows)
    return days


def _recount_day(conn, source: str, pipeline: str, day: str) -> None:
    """Rewrite one `pipeline_days` row from the final attempts that finished that UTC day."""
    start = f"{day}T00:00:00"
    end = (date.fromisoformat(day) + timedelta(days=1)).isoformat() + "T00:00:00"
    counts = dict(conn.execute(
        "SELECT status, COUNT(*) FROM pipeline_runs r WHERE pipeline = ? AND source = ?"
        " AND finished_at >= ? AND finished_at < ? AND attempt = (SELECT MAX(attempt) FROM pipeline_runs x"
        " WHERE x.source = r.source AND x.pipeline = r.pipeline AND x.run_id = r.run_id) GROUP BY status",
        [pipeline, source, start, end]).fetchall())
    conn.execute("DELETE FROM pipeline_days WHERE source = ? AND pipeline = ? AND day = ?", [source, pipeline, day])
    if counts:
        conn.execute(
            "INSERT INTO pipeline_days (source, pipeline, day, runs, success, failed, cancelled, skipped)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [source, pipeline, day, sum(counts.values()), counts.get("success", 0), counts.get("failed", 0),
             counts.get("cancelled", 0), counts.get("skipped", 0)])


def _run_from_row(row: tuple) -> PipelineRun:
    s, p, rid, att, st, fin, start, url, sha, cat, br = row
    return PipelineRun(s, p, rid, att, st, required_db_time(fin), from_db_time(start), url, sha, from_db_time(cat),
                       br)


def _upsert_sql(table: str, columns: Sequence[str]) -> str:
    return (f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})")


class PipelineStore(StoreBase):
    """Pipeline, deployment and incident methods of `Store`."""

    # -- writes -----------------------------------------------------------------------------

    def save_pipeline_runs(self, runs: Sequence[PipelineRun]) -> None:
        """Upsert attempts and, in the same transaction, recount the `pipeline_days` of every
        day an attempt of an affected run finished on, before or after the write (a re-run
        moves its run's count to the day its final attempt finished), and flag final attempts.
        The pipelines' state rows are `bot.ingest.pipelines`'s to keep (they need the streak rule)."""
        keys = {(r.source, r.pipeline, r.run_id) for r in runs}
        with self.transaction() as db:
            days = _days_of_runs(db.conn, keys)
            db.conn.executemany(_upsert_sql("pipeline_runs", _RUN_COLUMNS), [
                (r.source, r.pipeline, r.run_id, r.attempt, r.status, to_db_time(r.finished_at),
                 to_db_time(r.started_at), r.url, r.commit_sha, to_db_time(r.commit_at), r.branch)
                for r in runs])
            days |= _days_of_runs(db.conn, keys)
            db.conn.executemany(
                "UPDATE pipeline_runs SET is_final = (attempt = (SELECT MAX(attempt) FROM pipeline_runs x"
                " WHERE x.source = pipeline_runs.source AND x.pipeline = pipeline_runs.pipeline"
                " AND x.run_id = pipeline_runs.run_id)) WHERE source = ? AND pipeline = ? AND run_id = ?",
                list(keys))
            for source, pipeline, day in days:
                _recount_day(db.conn, source, pipeline, day)

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
        return [_run_from_row(r) for r in rows]

    def pipeline_names(self) -> list[str]:
        """Every pipeline name: a skip-scan of the (pipeline, finished_at) index, one step
        per name, rather than a DISTINCT over every run."""
        return [r[0] for r in self.db.conn.execute(
            "WITH RECURSIVE names(name) AS (SELECT MIN(pipeline) FROM pipeline_runs"
            " UNION ALL SELECT (SELECT MIN(pipeline) FROM pipeline_runs WHERE pipeline > name)"
            " FROM names WHERE name IS NOT NULL) SELECT name FROM names WHERE name IS NOT NULL")]

    def pipeline_day_totals(self, cuts: Sequence[str]) -> list[tuple]:
        """Totals of final attempts per (pipeline, source, bucket) for UTC days split by the
        ascending day strings `cuts`: bucket i holds cuts[i] <= day < cuts[i + 1]. Rows are
        (pipeline, source, bucket, runs, success, failed, cancelled, skipped)."""
        if len(cuts) < 2:
            return []
        bucket = " ".join(f"WHEN day < ? THEN {i}" for i in range(len(cuts) - 2)) or ""
        case = f"CASE {bucket} ELSE {len(cuts) - 2} END" if bucket else "0"
        return self.db.conn.execute(
            f"SELECT pipeline, source, {case} AS bucket, SUM(runs), SUM(success), SUM(failed), SUM(cancelled),"
            " SUM(skipped) FROM pipeline_days WHERE day >= ? AND day < ? GROUP BY pipeline, source, bucket",
            [*cuts[1:-1], cuts[0], cuts[-1]]).fetchall()

    def latest_attempts(self, source: str, pipeline: str, limit: int) -> list[PipelineRun]:
        """A pipeline's `limit` latest attempts of one source, newest first."""
        rows = self.db.conn.execute(
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM pipeline_runs WHERE source = ? AND pipeline = ?"
            " ORDER BY finished_at DESC LIMIT ?", [source, pipeline, limit]).fetchall()
        return [_run_from_row(r) for r in rows]

    def save_pipeline_state(self, source: str, pipeline: str, last: PipelineRun | None, streak: int) -> None:
        """Replace a pipeline's state row: its latest final run and failure streak (none: no row)."""
        with self.transaction() as db:
            db.execute("DELETE FROM pipeline_state WHERE source = ? AND pipeline = ?", [source, pipeline])
            if last is not None:
                db.execute(
                    "INSERT INTO pipeline_state (source, pipeline, last_run_id, last_attempt, last_status,"
                    " last_finished_at, last_url, streak) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [source, pipeline, last.run_id, last.attempt, last.status, to_db_time(last.finished_at),
                     last.url, streak])

    def pipeline_states(self) -> list[tuple]:
        """(pipeline, source, last_run_id, last_attempt, last_status, last_finished_at,
        last_url, streak) of every pipeline: its latest final run and failure streak."""
        return [(p, s, rid, att, st, from_db_time(fin), url, streak) for p, s, rid, att, st, fin, url, streak in
                self.db.conn.execute("SELECT pipeline, source, last_run_id, last_attempt, last_status,"
                                     " last_finished_at, last_url, streak FROM pipeline_state")]

    def final_run_counts_between(self, since: datetime, until: datetime, split: datetime) -> list[tuple]:
        """Final attempts finished in [since, until), counted per (pipeline, source, before
        `split`?, status): the partial days at the edges of a window."""
        return self.db.conn.execute(
            "SELECT pipeline, source, finished_at < ? AS before, status, COUNT(*) FROM pipeline_runs"
            " WHERE finished_at >= ? AND finished_at < ? AND is_final = 1 GROUP BY pipeline, source, before, status",
            [to_db_time(split), to_db_time(since), to_db_time(until)]).fetchall()

    def latest_runs(self, pipeline: str, until: datetime, limit: int, *, finals_only: bool = False
                    ) -> list[PipelineRun]:
        """A pipeline's `limit` latest attempts that finished before `until`, newest first
        (only each run's final attempt with `finals_only`)."""
        final = " AND is_final = 1" if finals_only else ""
        rows = self.db.conn.execute(
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM pipeline_runs WHERE pipeline = ? AND finished_at < ?{final}"
            " ORDER BY finished_at DESC LIMIT ?", [pipeline, to_db_time(until), limit])
        return [_run_from_row(r) for r in rows]

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
        return [Deployment(s, did, tgt, ver, env, st, required_db_time(fin), bool(prod), bool(rb), sha,
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
        return [Incident(s, iid, title or "", required_db_time(start), from_db_time(res), tgt, dep, url)
                for (s, iid, title, start, res, tgt, dep, url) in rows]
