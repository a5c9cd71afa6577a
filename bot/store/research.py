"""Research reads: experiment runs, commits and branches tallied per time bucket in SQL (so
`/research` reads a few thousand grouped rows, not every run), and research initiatives with
their children, changes and handoff cycles."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator, Sequence, TypeVar

from bot.models import HandoffCycle, JiraIssue
from bot.store.base import StoreBase
from bot.store.jira import VIEW_COLUMNS, issue_from_row, view_from_row
from bot.store.times import to_db_time

_CHUNK = 500  # keys per IN (...) list, well inside SQLite's variable limit
T = TypeVar("T")


def _bucket(column: str, bounds: Sequence[datetime]) -> tuple[str, list[str]]:
    """A CASE expression numbering `column` by the buckets [bounds[i], bounds[i+1]), and the
    WHERE clause keeping [bounds[0], bounds[-1]); with their parameters."""
    if len(bounds) < 2:
        raise ValueError("a tally needs at least two bounds")
    edges = [t for t in (to_db_time(b) for b in bounds) if t is not None]
    cases = " ".join(f"WHEN {column} >= ? THEN {i}" for i in range(len(edges) - 2, 0, -1))
    sql = f"CASE {cases} ELSE 0 END" if cases else "0"
    return (f"{sql} AS bucket FROM {{table}} WHERE {column} >= ? AND {column} < ?",
            [*reversed(edges[1:-1]), edges[0], edges[-1]])


def _chunks(keys: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(keys), _CHUNK):
        yield keys[i:i + _CHUNK]


class ResearchStore(StoreBase):
    """Research-side reads of `Store`."""

    def research_version(self) -> int:
        """A number that changes whenever runs, commits, branches, Jira issues, their
        changelogs, handoff cycles or user links change (triggers, migration m014)."""
        row = self.db.execute("SELECT version FROM data_versions WHERE name = 'research'").fetchone()
        return int(row[0]) if row else 0

    def run_tallies(self, bounds: Sequence[datetime]) -> list[tuple[int, str, str | None, str, str, int]]:
        """(bucket, source, user, experiment, status, runs) of the runs started in each bucket
        [bounds[i], bounds[i+1])."""
        tail, params = _bucket("started_at", bounds)
        sql = (f"SELECT source, user, experiment, status, COUNT(*), {tail.format(table='experiment_runs')}"
               " GROUP BY bucket, source, user, experiment, status")
        return [(r[5], r[0], r[1], r[2], r[3], r[4]) for r in self.db.execute(sql, params)]

    def run_durations(self, bounds: Sequence[datetime]) -> list[tuple[int, str, str | None, float]]:
        """(bucket, source, user, seconds) of each *finished* run started in a bucket."""
        tail, params = _bucket("started_at", bounds)
        sql = (f"SELECT source, user, (julianday(finished_at) - julianday(started_at)) * 86400.0,"
               f" {tail.format(table='experiment_runs')} AND status = 'finished' AND finished_at IS NOT NULL")
        return [(r[3], r[0], r[1], max(0.0, r[2])) for r in self.db.execute(sql, params)]

    def commit_tallies(self, bounds: Sequence[datetime]) -> list[tuple[int, str, str | None, str | None, int]]:
        """(bucket, source, login, e-mail, commits) of the research commits made in each bucket."""
        tail, params = _bucket("committed_at", bounds)
        sql = (f"SELECT source, author_login, lower(author_email), COUNT(*), {tail.format(table='repo_commits')}"
               " GROUP BY bucket, source, author_login, lower(author_email)")
        return [(r[4], r[0], r[1], r[2], r[3]) for r in self.db.execute(sql, params)]

    def branch_tallies(self, bounds: Sequence[datetime]) -> list[tuple[int, str, str | None, str | None, int]]:
        """(bucket, source, login, e-mail, branches) of the research branches created in each bucket."""
        tail, params = _bucket("created_at", bounds)
        sql = (f"SELECT source, user_login, lower(user_email), COUNT(*), {tail.format(table='repo_branches')}"
               " GROUP BY bucket, source, user_login, lower(user_email)")
        return [(r[4], r[0], r[1], r[2], r[3]) for r in self.db.execute(sql, params)]

    def experiment_names(self, source_users: Sequence[tuple[str, str]], start: datetime, end: datetime,
                         ) -> list[tuple[str, str, int, str]]:
        """(source, experiment, runs, latest start) of the runs of these (source, user) pairs
        started in [start, end), most recent first."""
        out: list[tuple[str, str, int, str]] = []
        for chunk in _chunks(list(source_users)):
            sql = ("SELECT source, experiment, COUNT(*), MAX(started_at) FROM experiment_runs"
                   " WHERE started_at >= ? AND started_at < ?"
                   f' AND (source, "user") IN (VALUES {", ".join("(?, ?)" for _ in chunk)})'
                   " GROUP BY source, experiment")
            out.extend(self.db.execute(sql, [to_db_time(start), to_db_time(end), *(v for p in chunk for v in p)]))
        return sorted(out, key=lambda r: r[3], reverse=True)

    # -- initiatives -------------------------------------------------------------------------

    def initiatives(self, issue_types: Sequence[str], projects: Sequence[str]) -> tuple[list[JiraIssue], list[JiraIssue]]:
        """The live issues of `issue_types` (in `projects`, when given), and their live children."""
        where = [f"lower(issue_type) IN ({', '.join('?' for _ in issue_types)})", "deleted_at IS NULL"]
        params = [t.casefold() for t in issue_types]
        if projects:
            where.append(f"lower(project) IN ({', '.join('?' for _ in projects)})")
            params += [p.casefold() for p in projects]
        initiatives = [issue_from_row(r) for r in self.db.query(
            f"SELECT * FROM jira_issues WHERE {' AND '.join(where)} ORDER BY key", params)]
        keys = [i.key for i in initiatives]
        children: list[JiraIssue] = []
        for chunk in _chunks(keys):
            children += [issue_from_row(r) for r in self.db.query(
                f"SELECT * FROM jira_issues WHERE parent_key IN ({', '.join('?' for _ in chunk)})"
                " AND deleted_at IS NULL ORDER BY key", list(chunk))]
        return initiatives, children

    def changed_between(self, keys: Sequence[str], start: datetime, end: datetime) -> dict[str, list[datetime]]:
        """For each of `keys` with changelog entries in [start, end): the first of them."""
        changed: dict[str, list[datetime]] = {}
        for chunk in _chunks(list(keys)):
            sql = ("SELECT issue_key, MIN(created) FROM jira_changelog WHERE created >= ? AND created < ?"
                   f" AND issue_key IN ({', '.join('?' for _ in chunk)}) GROUP BY issue_key")
            for key, first in self.db.execute(sql, [to_db_time(start), to_db_time(end), *chunk]):
                changed[key] = [datetime.fromisoformat(first)]
        return changed

    def cycles_of(self, keys: Sequence[str]) -> list[HandoffCycle]:
        """Every handoff cycle of `keys`, oldest request first."""
        cycles: list[HandoffCycle] = []
        for chunk in _chunks(list(keys)):
            sql = (f"SELECT {VIEW_COLUMNS} FROM handoff_cycles c JOIN jira_issues i ON i.key = c.issue_key"
                   f" WHERE c.issue_key IN ({', '.join('?' for _ in chunk)})")
            cycles += [view_from_row(r).cycle for r in self.db.conn.execute(sql, list(chunk))]
        return sorted(cycles, key=lambda c: (c.requested_at, c.issue_key, c.cycle_no))
