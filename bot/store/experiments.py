"""Experiment runs (`experiment_runs`): idempotent upserts by (source, run id), and the reads
experiment velocity needs."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from bot.models import ExperimentRun
from bot.store.base import StoreBase
from bot.store.times import from_db_time, required_db_time, to_db_time

_COLUMNS = "source, run_id, experiment, status, started_at, finished_at, user, jira_key, url"


class ExperimentStore(StoreBase):
    """Experiment-run methods of `Store`."""

    def save_experiment_runs(self, runs: Sequence[ExperimentRun], at: datetime) -> int:
        """Insert or replace each run (a run that finished since replaces its running row); the number written."""
        rows = [{"source": r.source, "run_id": r.run_id, "experiment": r.experiment, "status": r.status,
                 "started_at": to_db_time(r.started_at), "finished_at": to_db_time(r.finished_at), "user": r.user,
                 "jira_key": r.jira_key, "url": r.url, "updated_at": to_db_time(at)} for r in runs]
        if rows:
            with self.transaction() as db:
                db.table("experiment_runs").upsert_all(rows, pk=("source", "run_id"))
        return len(rows)

    def experiment_runs(self, start: datetime, end: datetime) -> list[ExperimentRun]:
        """Runs started in [start, end), oldest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM experiment_runs WHERE started_at >= ? AND started_at < ? ORDER BY started_at",
            [to_db_time(start), to_db_time(end)])
        return [ExperimentRun(r[0], r[1], r[2], r[3], required_db_time(r[4]), from_db_time(r[5]), *r[6:]) for r in rows]
