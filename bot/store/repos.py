"""Research repository activity (`repo_commits`, `repo_branches`): commits counted once by sha
however many pushes carry them, a branch by its first creation."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from bot.models import RepoBranch, RepoCommit
from bot.store.base import StoreBase
from bot.store.times import required_db_time, to_db_time


class RepoStore(StoreBase):
    """Research-repository methods of `Store`."""

    def save_repo_activity(self, commits: Sequence[RepoCommit], branches: Sequence[RepoBranch]) -> tuple[int, int]:
        """Upsert commits by (source, repo, sha); insert branches not seen before (a GitHub `create`
        and the `push` that created the branch count once). One transaction; (commits, new branches)."""
        commit_rows = [{"source": c.source, "repo": c.repo, "sha": c.sha, "committed_at": to_db_time(c.committed_at),
                        "author_login": c.author_login, "author_email": c.author_email,
                        "author_name": c.author_name} for c in commits]
        branch_rows = [{"source": b.source, "repo": b.repo, "branch": b.branch, "created_at": to_db_time(b.created_at),
                        "user_login": b.user_login, "user_email": b.user_email} for b in branches]
        with self.transaction() as db:
            if commit_rows:
                db.table("repo_commits").upsert_all(commit_rows, pk=("source", "repo", "sha"))
            before = db.execute("SELECT COUNT(*) FROM repo_branches").fetchone()[0]
            if branch_rows:
                db.table("repo_branches").insert_all(branch_rows, pk=("source", "repo", "branch"), ignore=True)
            added = db.execute("SELECT COUNT(*) FROM repo_branches").fetchone()[0] - before
        return len(commit_rows), added

    def repo_commits(self, start: datetime, end: datetime) -> list[RepoCommit]:
        """Commits dated in [start, end), oldest first."""
        rows = self.db.execute(
            "SELECT source, repo, sha, committed_at, author_login, author_email, author_name FROM repo_commits"
            " WHERE committed_at >= ? AND committed_at < ? ORDER BY committed_at", [to_db_time(start), to_db_time(end)])
        return [RepoCommit(r[0], r[1], r[2], required_db_time(r[3]), *r[4:]) for r in rows]

    def repo_branches(self, start: datetime, end: datetime) -> list[RepoBranch]:
        """Branches first created in [start, end), oldest first."""
        rows = self.db.execute(
            "SELECT source, repo, branch, created_at, user_login, user_email FROM repo_branches"
            " WHERE created_at >= ? AND created_at < ? ORDER BY created_at", [to_db_time(start), to_db_time(end)])
        return [RepoBranch(r[0], r[1], r[2], required_db_time(r[3]), *r[4:]) for r in rows]
