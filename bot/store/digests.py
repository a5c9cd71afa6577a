"""The digest ledger (`digest_deliveries`): claim before posting, record the outcome after.

A mixin of `Store`. Statuses: `posting` (claimed, outcome pending), `posted` (with the
message ts; final), `failed` (released for the next run; `outcome_known` = 0 when Slack may
have posted it anyway, e.g. a timeout, so the next attempt looks in the channel first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.base import StoreBase
from bot.store.times import from_db_time, required_db_time, to_db_time

POSTING, POSTED, FAILED = "posting", "posted", "failed"


@dataclass(frozen=True)
class DigestClaim:
    """What `claim_digest` found and decided.

    state: "claimed" (yours to post), "posted" (done before: never post again), "busy"
    (another run holds a fresh claim). `verify` is True when an earlier attempt may have
    reached Slack (a claim that outlived its lease, or a failure with an unknown outcome):
    look in the channel before posting."""

    state: str
    verify: bool = False
    message_ts: str | None = None
    posted_at: datetime | None = None
    first_claimed_at: datetime | None = None
    attempts: int = 0
    chart: str | None = None


class DigestStore(StoreBase):
    """Digest ledger methods of `Store`."""

    def claim_digest(self, channel: str, digest: str, period: str, token: str, now: datetime,
                     lease: timedelta) -> DigestClaim:
        """Atomically take (channel, digest, period) for posting, unless it is posted or
        another run's claim is younger than `lease`."""
        at = to_db_time(now)
        with self.transaction() as db:
            # The INSERT comes first so the transaction holds SQLite's write lock from its
            # first statement: two processes cannot both read "free" and both claim.
            db.execute(
                "INSERT OR IGNORE INTO digest_deliveries (channel, digest, period, status, claim_token,"
                " claimed_at, first_claimed_at, attempts, outcome_known) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1)",
                [channel, digest, period, "new", token, at, at],
            )
            row = db.execute(
                "SELECT status, claim_token, claimed_at, first_claimed_at, message_ts, posted_at, attempts,"
                " outcome_known, chart FROM digest_deliveries WHERE channel = ? AND digest = ? AND period = ?",
                [channel, digest, period],
            ).fetchone()
            status, holder, claimed_at, first, ts, posted_at, attempts, known, chart = row
            first_at = from_db_time(first)
            if status == POSTED:
                return DigestClaim("posted", message_ts=ts, posted_at=from_db_time(posted_at),
                                   first_claimed_at=first_at, attempts=attempts, chart=chart)
            if status == POSTING and holder != token and now - required_db_time(claimed_at) < lease:
                return DigestClaim("busy", first_claimed_at=first_at, attempts=attempts)
            verify = status == POSTING or (status == FAILED and not known)
            db.execute(
                "UPDATE digest_deliveries SET status = ?, claim_token = ?, claimed_at = ?, attempts = attempts + 1"
                " WHERE channel = ? AND digest = ? AND period = ?",
                [POSTING, token, at, channel, digest, period],
            )
            return DigestClaim("claimed", verify=verify and attempts > 0, first_claimed_at=first_at,
                               attempts=attempts + 1)

    def digest_posted(self, channel: str, digest: str, period: str, token: str, ts: str, now: datetime,
                      chart: str) -> None:
        """Record the posted message (final). `chart`: "pending", "none", ..."""
        self._finish(channel, digest, period, token,
                     "status = 'posted', message_ts = ?, posted_at = ?, error = NULL, outcome_known = 1, chart = ?",
                     [ts, to_db_time(now), chart])

    def digest_failed(self, channel: str, digest: str, period: str, token: str, error: str,
                      outcome_known: bool) -> None:
        """Release the claim so the next run retries."""
        self._finish(channel, digest, period, token, "status = 'failed', error = ?, outcome_known = ?",
                     [error, int(outcome_known)])

    def digest_chart(self, channel: str, digest: str, period: str, status: str, error: str | None = None) -> None:
        """The chart's state after posting: "posted", "pending" (retry), "failed" or "none"."""
        with self.transaction() as db:
            db.execute(
                "UPDATE digest_deliveries SET chart = ?, chart_error = ? WHERE channel = ? AND digest = ? AND period = ?",
                [status, error, channel, digest, period],
            )

    def _finish(self, channel: str, digest: str, period: str, token: str, assignments: str, params: list) -> None:
        with self.transaction() as db:
            db.execute(
                f"UPDATE digest_deliveries SET {assignments} WHERE channel = ? AND digest = ? AND period = ?"
                " AND claim_token = ?",
                [*params, channel, digest, period, token],
            )

    def latest_digest_delivery(self, channel: str, digest: str) -> dict | None:
        """The ledger row of the latest week of one digest (ISO week labels sort in time order)."""
        rows = list(self.db.query(
            "SELECT * FROM digest_deliveries WHERE channel = ? AND digest = ? ORDER BY period DESC LIMIT 1",
            [channel, digest]))
        return rows[0] if rows else None
