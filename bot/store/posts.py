"""The post ledger (`slack_posts`) and handoff claims (`handoff_claims`).

A post is claimed in one transaction before anything reaches Slack, and a posted row is
final, so a card or an escalation goes out once across restarts, webhook/poll overlap and
manual runs. Statuses: `posting` (claimed), `posted` (with the message ts), `failed`
(released; `outcome_known` = 0 when Slack may have posted anyway, so the next attempt looks
in the channel first). A posted card keeps the `fingerprint` of what it shows, so it is
updated only when that changes, and `final` once nothing can change it any more.

A claim row is taken before the Jira writes of a Slack "Claim" click and removed if they
fail: two clicks at once find one row, and exactly one of them writes to Jira.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.base import StoreBase
from bot.store.times import from_db_time, required_db_time, to_db_time

POSTING, POSTED, FAILED = "posting", "posted", "failed"
CLAIMING, CLAIMED = "claiming", "claimed"


@dataclass(frozen=True)
class PostClaim:
    """What `claim_post` decided: "claimed" (yours to post; `verify`: an earlier attempt may
    have reached Slack, look first), "posted" (never post again) or "busy" (another run's)."""

    state: str
    verify: bool = False
    message_ts: str | None = None
    first_claimed_at: datetime | None = None


@dataclass(frozen=True)
class Post:
    """A posted message the ledger knows."""

    kind: str
    key: str
    channel: str
    message_ts: str
    fingerprint: str | None
    final: bool


@dataclass(frozen=True)
class HandoffClaim:
    """Who claimed (or is claiming) a handoff cycle from Slack."""

    issue_key: str
    cycle_no: int
    slack_user_id: str
    status: str  # claiming | claimed
    started_at: datetime


class PostStore(StoreBase):
    """Post-ledger and claim methods of `Store`."""

    def claim_post(self, kind: str, key: str, channel: str, token: str, now: datetime,
                   lease: timedelta) -> PostClaim:
        """Atomically take (kind, key) for posting, unless it is posted or another run's claim
        is younger than `lease`."""
        at = to_db_time(now)
        with self.transaction() as db:
            # INSERT first, so the transaction holds the write lock from its first statement
            db.execute(
                "INSERT OR IGNORE INTO slack_posts (kind, key, channel, status, claim_token, claimed_at,"
                " first_claimed_at, attempts, outcome_known, final) VALUES (?, ?, ?, 'new', ?, ?, ?, 0, 1, 0)",
                [kind, key, channel, token, at, at],
            )
            status, holder, claimed_at, first, ts, attempts, known = db.execute(
                "SELECT status, claim_token, claimed_at, first_claimed_at, message_ts, attempts, outcome_known"
                " FROM slack_posts WHERE kind = ? AND key = ?", [kind, key]).fetchone()
            first_at = from_db_time(first)
            if status == POSTED:
                return PostClaim("posted", message_ts=ts, first_claimed_at=first_at)
            if status == POSTING and holder != token and now - required_db_time(claimed_at) < lease:
                return PostClaim("busy", first_claimed_at=first_at)
            verify = attempts > 0 and (status == POSTING or (status == FAILED and not known))
            db.execute(
                "UPDATE slack_posts SET status = ?, claim_token = ?, claimed_at = ?, attempts = attempts + 1"
                " WHERE kind = ? AND key = ?", [POSTING, token, at, kind, key])
            return PostClaim("claimed", verify=verify, first_claimed_at=first_at)

    def post_done(self, kind: str, key: str, token: str, ts: str, now: datetime, fingerprint: str | None = None,
                  final: bool = False) -> None:
        """Record the posted message (the row is final as to posting)."""
        self._finish_post(kind, key, token, "status = 'posted', message_ts = ?, posted_at = ?, updated_at = ?,"
                     " error = NULL, outcome_known = 1, fingerprint = ?, final = ?",
                     [ts, to_db_time(now), to_db_time(now), fingerprint, int(final)])

    def post_failed(self, kind: str, key: str, token: str, error: str, outcome_known: bool) -> None:
        """Release the claim so the next run retries."""
        self._finish_post(kind, key, token, "status = 'failed', error = ?, outcome_known = ?", [error, int(outcome_known)])

    def post_updated(self, kind: str, key: str, fingerprint: str, now: datetime, final: bool) -> None:
        """A posted message now shows `fingerprint` (and, when `final`, will not change again)."""
        with self.transaction() as db:
            db.execute("UPDATE slack_posts SET fingerprint = ?, updated_at = ?, final = ? WHERE kind = ? AND key = ?",
                       [fingerprint, to_db_time(now), int(final), kind, key])

    def _finish_post(self, kind: str, key: str, token: str, assignments: str, params: list) -> None:
        with self.transaction() as db:
            db.execute(f"UPDATE slack_posts SET {assignments} WHERE kind = ? AND key = ? AND claim_token = ?",
                       [*params, kind, key, token])

    def post(self, kind: str, key: str) -> Post | None:
        """The posted message of (kind, key), if there is one."""
        row = self.db.execute(
            "SELECT kind, key, channel, message_ts, fingerprint, final FROM slack_posts"
            " WHERE kind = ? AND key = ? AND status = 'posted'", [kind, key]).fetchone()
        return Post(row[0], row[1], row[2], row[3], row[4], bool(row[5])) if row else None

    def live_posts(self, kind: str, key_prefix: str | None = None) -> list[Post]:
        """Posted messages of `kind` (whose key starts with `key_prefix`, when given) that may
        still change (not final)."""
        sql = "SELECT kind, key, channel, message_ts, fingerprint, final FROM slack_posts" \
              " WHERE kind = ? AND status = 'posted' AND final = 0"
        params: list[object] = [kind]
        if key_prefix:
            sql += " AND substr(key, 1, ?) = ?"
            params += [len(key_prefix), key_prefix]
        rows = self.db.execute(sql + " ORDER BY posted_at", params).fetchall()
        return [Post(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def post_keys(self, kind: str) -> set[str]:
        """Every key of `kind` the ledger has a row for (posted, in progress or failed)."""
        return {r[0] for r in self.db.execute("SELECT key FROM slack_posts WHERE kind = ?", [kind])}

    # -- claims ------------------------------------------------------------------------------

    def start_claim(self, issue_key: str, cycle_no: int, slack_user_id: str, now: datetime,
                    lease: timedelta) -> tuple[bool, HandoffClaim]:
        """Take the cycle for `slack_user_id` unless someone holds it (a finished claim, or one
        in progress younger than `lease`): (taken, the claim that holds the cycle now)."""
        at = to_db_time(now)
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO handoff_claims (issue_key, cycle_no, slack_user_id, status, started_at)"
                " VALUES (?, ?, ?, 'new', ?)", [issue_key, cycle_no, slack_user_id, at])
            user, status, started = db.execute(
                "SELECT slack_user_id, status, started_at FROM handoff_claims WHERE issue_key = ? AND cycle_no = ?",
                [issue_key, cycle_no]).fetchone()
            stale = status == CLAIMING and now - required_db_time(started) >= lease
            if status == "new" or stale:
                db.execute("UPDATE handoff_claims SET slack_user_id = ?, status = ?, started_at = ?"
                           " WHERE issue_key = ? AND cycle_no = ?", [slack_user_id, CLAIMING, at, issue_key, cycle_no])
                return True, HandoffClaim(issue_key, cycle_no, slack_user_id, CLAIMING, now)
            return False, HandoffClaim(issue_key, cycle_no, user, status, required_db_time(started))

    def finish_claim(self, issue_key: str, cycle_no: int, now: datetime) -> None:
        with self.transaction() as db:
            db.execute("UPDATE handoff_claims SET status = ?, finished_at = ? WHERE issue_key = ? AND cycle_no = ?",
                       [CLAIMED, to_db_time(now), issue_key, cycle_no])

    def drop_claim(self, issue_key: str, cycle_no: int) -> None:
        """Forget a claim whose Jira writes failed (the store is as before the click)."""
        with self.transaction() as db:
            db.execute("DELETE FROM handoff_claims WHERE issue_key = ? AND cycle_no = ?", [issue_key, cycle_no])

    def claim_of(self, issue_key: str, cycle_no: int) -> HandoffClaim | None:
        row = self.db.execute("SELECT slack_user_id, status, started_at FROM handoff_claims"
                              " WHERE issue_key = ? AND cycle_no = ? AND status = ?",
                              [issue_key, cycle_no, CLAIMED]).fetchone()
        return HandoffClaim(issue_key, cycle_no, row[0], row[1], required_db_time(row[2])) if row else None
