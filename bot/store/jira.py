"""Jira storage: issues, their changelog, handoff cycles, and which Slack user a Jira user is."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable, Sequence

from bot.models import ChangeItem, HandoffCycle, HandoffState, HandoffView, JiraIssue
from bot.store.base import StoreBase
from bot.store.times import from_db_time, required_db_time, to_db_time


class JiraStore(StoreBase):
    """Issues, changelog items and handoff cycles, with the reads /handoffs and digests make."""

    def save_issue(self, issue: JiraIssue) -> None:
        with self.transaction() as db:
            db.table("jira_issues").upsert(_issue_row(issue), pk="key")

    def save_changelog(self, items: Iterable[ChangeItem]) -> int:
        """Insert items not seen before; return how many were new."""
        rows = [_item_row(i) for i in items]
        if not rows:
            return 0
        columns = list(rows[0])
        sql = (f"INSERT OR IGNORE INTO jira_changelog ({', '.join(columns)})"
               f" VALUES ({', '.join('?' for _ in columns)})")
        with self.transaction() as db:
            # rowcount counts the rows this statement inserted (not the research-version
            # trigger's writes, which `total_changes` would include)
            return db.conn.executemany(sql, [[r[c] for c in columns] for r in rows]).rowcount

    def replace_cycles(self, issue_key: str, cycles: Sequence[HandoffCycle]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM handoff_cycles WHERE issue_key = ?", [issue_key])
            if cycles:
                db.table("handoff_cycles").insert_all([_cycle_row(c) for c in cycles])

    def mark_issue_deleted(self, key: str, at: datetime) -> bool:
        """Keep the row (history matters) but hide it and its handoffs from every view."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE jira_issues SET deleted_at = ? WHERE key = ? AND deleted_at IS NULL",
                [to_db_time(at), key],
            )
            return cursor.rowcount > 0

    def issue(self, key: str) -> JiraIssue | None:
        rows = list(self.db.query("SELECT * FROM jira_issues WHERE key = ? AND deleted_at IS NULL", [key]))
        return issue_from_row(rows[0]) if rows else None

    def parent_key_of(self, key: str) -> str | None:
        """The parent stored for issue `key` (deleted or not), if any."""
        row = self.db.execute("SELECT parent_key FROM jira_issues WHERE key = ?", [key]).fetchone()
        return row[0] if row and row[0] else None

    def changelog(self, key: str) -> list[ChangeItem]:
        rows = self.db.query(
            "SELECT * FROM jira_changelog WHERE issue_key = ? ORDER BY created, history_id, item_index",
            [key],
        )
        return [_item_from_row(r) for r in rows]


    def handoffs(
        self,
        *,
        states: Sequence[HandoffState] | None = None,
        active_since: datetime | None = None,
        issue_key: str | None = None,
        deleted: bool = False,
    ) -> list[HandoffView]:
        """Handoff cycles joined with their issues, oldest request first.

        `active_since` keeps cycles with any event (requested, picked up, delivered,
        withdrawn) at or after that time, plus every cycle still open. `deleted`: the cycles of
        issues deleted in Jira instead (hidden from every other view).
        """
        where = ["i.deleted_at IS NOT NULL" if deleted else "i.deleted_at IS NULL"]
        params: list[str | None] = []
        if states:
            where.append(f"c.state IN ({', '.join('?' for _ in states)})")
            params.extend(s.value for s in states)
        if active_since is not None:
            since = to_db_time(active_since)
            # A union of index range scans: cost follows the window, not the whole history.
            where.append(
                "c.rowid IN (SELECT rowid FROM handoff_cycles WHERE state = 'open'"
                " UNION SELECT rowid FROM handoff_cycles WHERE requested_at >= ?"
                " UNION SELECT rowid FROM handoff_cycles WHERE picked_up_at >= ?"
                " UNION SELECT rowid FROM handoff_cycles WHERE delivered_at >= ?"
                " UNION SELECT rowid FROM handoff_cycles WHERE withdrawn_at >= ?)"
            )
            params.extend([since] * 4)
        if issue_key is not None:
            where.append("c.issue_key = ?")
            params.append(issue_key)
        sql = (
            f"SELECT {VIEW_COLUMNS} FROM handoff_cycles c JOIN jira_issues i ON i.key = c.issue_key"
            f" WHERE {' AND '.join(where)} ORDER BY c.requested_at, c.issue_key, c.cycle_no"
        )
        # A plain cursor and positional rows: this is the hot path of /handoffs stats.
        return [view_from_row(r) for r in self.db.conn.execute(sql, params)]

    # -- user links ------------------------------------------------------------------------

    def link_user(self, jira_user: str, slack_user_id: str | None, how: str, at: datetime) -> None:
        """Remember which Slack user a Jira user (account id or e-mail) is; None = no match."""
        with self.transaction() as db:
            db.table("user_links").upsert(
                {"jira_user": jira_user, "slack_user_id": slack_user_id, "how": how, "updated_at": to_db_time(at)},
                pk="jira_user",
            )

    def unlinked_emails(self) -> list[str]:
        """E-mails not yet looked up in Slack: handoff requesters, assignees, and research
        activity (commit authors, branch creators, experiment-run users that are e-mails)."""
        sql = """
            SELECT DISTINCT email FROM (
                SELECT lower(requested_by_email) AS email FROM handoff_cycles
                UNION SELECT lower(assignee_email) FROM jira_issues WHERE deleted_at IS NULL
                UNION SELECT lower(author_email) FROM repo_commits
                UNION SELECT lower(user_email) FROM repo_branches
                UNION SELECT lower("user") FROM experiment_runs WHERE instr("user", '@') > 0
            ) WHERE email IS NOT NULL AND email != ''
              AND email NOT IN (SELECT jira_user FROM user_links)
            ORDER BY email
        """
        return [r[0] for r in self.db.conn.execute(sql)]

    def projects(self) -> list[str]:
        """The keys of the Jira projects synced issues belong to."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT project FROM jira_issues WHERE deleted_at IS NULL ORDER BY project")]

    def jira_account_of(self, email: str) -> str | None:
        """The Jira account id (Cloud) or user name (Data Center) seen with `email` in the
        synced issues and changelog, if any."""
        row = self.db.execute(
            "SELECT account FROM ("
            " SELECT assignee_account_id AS account, lower(assignee_email) AS email FROM jira_issues"
            " UNION ALL SELECT reporter_account_id, lower(reporter_email) FROM jira_issues"
            " UNION ALL SELECT author_account_id, lower(author_email) FROM jira_changelog"
            ") WHERE email = ? AND account IS NOT NULL AND account != '' LIMIT 1", [email.lower()]).fetchone()
        return row[0] if row else None

    def user_links(self) -> dict[str, str | None]:
        return {r["jira_user"]: r["slack_user_id"] for r in self.db.query("SELECT * FROM user_links")}


def _issue_row(issue: JiraIssue) -> dict:
    return {
        "key": issue.key,
        "id": issue.id,
        "project": issue.project,
        "summary": issue.summary,
        "issue_type": issue.issue_type,
        "status": issue.status,
        "labels": json.dumps(list(issue.labels)),
        "created": to_db_time(issue.created),
        "updated": to_db_time(issue.updated),
        "url": issue.url,
        "reporter_name": issue.reporter_name,
        "reporter_email": issue.reporter_email,
        "reporter_account_id": issue.reporter_account_id,
        "assignee_name": issue.assignee_name,
        "assignee_email": issue.assignee_email,
        "assignee_account_id": issue.assignee_account_id,
        "resolved": to_db_time(issue.resolved),
        "components": json.dumps(list(issue.components)),
        "parent_key": issue.parent_key,
        "deleted_at": None,
    }


def issue_from_row(row: dict) -> JiraIssue:
    return JiraIssue(
        key=row["key"],
        id=row["id"],
        project=row["project"],
        summary=row["summary"] or "",
        issue_type=row["issue_type"] or "",
        status=row["status"] or "",
        labels=tuple(json.loads(row["labels"] or "[]")),
        created=required_db_time(row["created"]),
        updated=required_db_time(row["updated"]),
        url=row["url"] or "",
        reporter_name=row["reporter_name"],
        reporter_email=row["reporter_email"],
        reporter_account_id=row["reporter_account_id"],
        assignee_name=row["assignee_name"],
        assignee_email=row["assignee_email"],
        assignee_account_id=row["assignee_account_id"],
        resolved=from_db_time(row.get("resolved")),
        components=tuple(json.loads(row.get("components") or "[]")),
        parent_key=row.get("parent_key") or None,
    )


def _item_row(item: ChangeItem) -> dict:
    return {
        "issue_key": item.issue_key,
        "history_id": item.history_id,
        "item_index": item.item_index,
        "created": to_db_time(item.created),
        "field": item.field,
        "from_string": item.from_string,
        "to_string": item.to_string,
        "author_name": item.author_name,
        "author_email": item.author_email,
        "author_account_id": item.author_account_id,
    }


def _item_from_row(row: dict) -> ChangeItem:
    return ChangeItem(
        issue_key=row["issue_key"],
        history_id=row["history_id"],
        item_index=row["item_index"],
        created=required_db_time(row["created"]),
        field=row["field"],
        from_string=row["from_string"],
        to_string=row["to_string"],
        author_name=row["author_name"],
        author_email=row["author_email"],
        author_account_id=row["author_account_id"],
    )


def _cycle_row(cycle: HandoffCycle) -> dict:
    return {
        "issue_key": cycle.issue_key,
        "cycle_no": cycle.cycle_no,
        "state": cycle.state.value,
        "requested_at": to_db_time(cycle.requested_at),
        "requested_by_name": cycle.requested_by_name,
        "requested_by_email": cycle.requested_by_email,
        "requested_by_account_id": cycle.requested_by_account_id,
        "picked_up_at": to_db_time(cycle.picked_up_at),
        "picked_up_by_name": cycle.picked_up_by_name,
        "delivered_at": to_db_time(cycle.delivered_at),
        "withdrawn_at": to_db_time(cycle.withdrawn_at),
    }


VIEW_COLUMNS = (
    "c.issue_key, c.cycle_no, c.state, c.requested_at, c.requested_by_name, c.requested_by_email,"
    " c.requested_by_account_id, c.picked_up_at, c.picked_up_by_name, c.delivered_at, c.withdrawn_at,"
    " i.summary, i.project, i.url, i.assignee_name, i.assignee_email"
)
_STATES = {s.value: s for s in HandoffState}
_time = datetime.fromisoformat


def view_from_row(row: tuple) -> HandoffView:
    """Build a view from a row in `VIEW_COLUMNS` order."""
    (key, cycle_no, state, requested_at, by_name, by_email, by_account,
     picked_up_at, picked_by, delivered_at, withdrawn_at,
     summary, project, url, assignee_name, assignee_email) = row
    cycle = HandoffCycle(
        key,
        cycle_no,
        _time(requested_at),
        _STATES[state],
        by_name,
        by_email,
        by_account,
        picked_up_at and _time(picked_up_at),
        picked_by,
        delivered_at and _time(delivered_at),
        withdrawn_at and _time(withdrawn_at),
    )
    return HandoffView(cycle, summary or "", project, url or "", assignee_name, assignee_email)
