"""Focus Time storage: heartbeat keys, raw heartbeats, per person-day rollups, alert ledger.

A mixin of `Store` (it uses `self.db` and `self.transaction()`); queries for figures read
`focus_days`, never the raw heartbeats.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Iterable, Sequence

from bot.models import FocusDay, Heartbeat
from bot.store.base import StoreBase
from bot.store.times import from_db_time, to_db_time

_HEARTBEAT_COLUMNS = "slack_user_id, time, entity, type, category, project, branch, language, is_write, editor, machine"


def heartbeat_id(hb: Heartbeat) -> str:
    """The identity of a heartbeat (Wakapi-style hash): the same heartbeat sent twice is one row."""
    parts = (hb.slack_user_id, repr(float(hb.time)), hb.entity, hb.type, hb.category, hb.project,
             hb.branch, hb.language, "1" if hb.is_write else "0", hb.editor, hb.machine)
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:32]


def hash_key(api_key: str) -> str:
    """API keys are stored only as their SHA-256."""
    return hashlib.sha256(api_key.strip().lower().encode()).hexdigest()


class FocusStore(StoreBase):
    """Focus methods of `Store`."""

    # -- API keys ---------------------------------------------------------------------------

    def add_api_key(self, api_key: str, slack_user_id: str, at: datetime) -> None:
        with self.transaction() as db:
            db.table("api_keys").insert(
                {"key_hash": hash_key(api_key), "slack_user_id": slack_user_id, "created_at": to_db_time(at)},
                pk="key_hash",
            )

    def revoke_api_keys(self, slack_user_id: str, at: datetime) -> int:
        """Revoke every active key of a person; return how many."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE slack_user_id = ? AND revoked_at IS NULL",
                [to_db_time(at), slack_user_id],
            ).rowcount

    def user_for_api_key(self, api_key: str) -> str | None:
        """The Slack user an active key belongs to, or None (unknown or revoked)."""
        row = self.db.conn.execute(
            "SELECT slack_user_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [hash_key(api_key)]
        ).fetchone()
        return row[0] if row else None

    def active_api_key_created_at(self, slack_user_id: str) -> datetime | None:
        """When the person's newest active key was created; None without an active key."""
        row = self.db.conn.execute(
            "SELECT MAX(created_at) FROM api_keys WHERE slack_user_id = ? AND revoked_at IS NULL", [slack_user_id]
        ).fetchone()
        return from_db_time(row[0]) if row else None

    # -- heartbeats -------------------------------------------------------------------------

    def last_heartbeat_received(self, slack_user_id: str) -> float | None:
        """When (epoch seconds) the person's latest stored heartbeat arrived; None without any
        (raw heartbeats are kept for the retention only)."""
        row = self.db.conn.execute(
            "SELECT MAX(received_at) FROM heartbeats WHERE slack_user_id = ?", [slack_user_id]
        ).fetchone()
        return row[0] if row else None

    def insert_heartbeats(self, heartbeats: Sequence[Heartbeat], received_at: float) -> list[bool]:
        """Store heartbeats not seen before; per heartbeat, True when it was new."""
        new = []
        with self.transaction() as db:
            for hb in heartbeats:
                cursor = db.conn.execute(
                    f"INSERT OR IGNORE INTO heartbeats (id, {_HEARTBEAT_COLUMNS}, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [heartbeat_id(hb), hb.slack_user_id, float(hb.time), hb.entity, hb.type, hb.category,
                     hb.project, hb.branch, hb.language, int(bool(hb.is_write)), hb.editor, hb.machine,
                     received_at],
                )
                new.append(cursor.rowcount > 0)
        return new

    def heartbeats_between(self, slack_user_id: str, start: float, end: float) -> list[Heartbeat]:
        """A person's raw heartbeats with start <= time < end, in time order."""
        rows = self.db.conn.execute(
            f"SELECT {_HEARTBEAT_COLUMNS} FROM heartbeats WHERE slack_user_id = ? AND time >= ? AND time < ?"
            " ORDER BY time",
            [slack_user_id, start, end],
        )
        return [Heartbeat._make((*row[:8], bool(row[8]), *row[9:])) for row in rows]

    def heartbeat_points(self, slack_user_id: str, start: float, end: float) -> list[tuple[float, str | None, str]]:
        """A person's heartbeats with start <= time < end as (time, project, id), in time
        order: all Focus Time figures need, at a fraction of the cost of whole heartbeats."""
        return self.db.conn.execute(
            "SELECT time, project, id FROM heartbeats WHERE slack_user_id = ? AND time >= ? AND time < ?"
            " ORDER BY time",
            [slack_user_id, start, end],
        ).fetchall()

    def prune_heartbeats(self, before: float) -> int:
        """Delete raw heartbeats older than `before` (epoch seconds); rollups stay."""
        with self.transaction() as db:
            return db.execute("DELETE FROM heartbeats WHERE time < ?", [before]).rowcount

    # -- rollups ----------------------------------------------------------------------------

    def save_focus_days(self, slack_user_id: str, days: Iterable[date], rows: Sequence[FocusDay], at: datetime) -> None:
        """Replace the rollups of `days` for one person with `rows` (a day without a row has no data)."""
        with self.transaction() as db:
            db.conn.executemany(
                "DELETE FROM focus_days WHERE slack_user_id = ? AND day = ?",
                [(slack_user_id, d.isoformat()) for d in days],
            )
            db.conn.executemany(
                "INSERT OR REPLACE INTO focus_days (slack_user_id, day, focus_seconds, active_seconds,"
                " research_seconds, engineering_seconds, blocks, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.slack_user_id, r.day.isoformat(), r.focus_seconds, r.active_seconds, r.research_seconds,
                  r.engineering_seconds, r.blocks, to_db_time(at)) for r in rows],
            )

    def add_focus_days(self, slack_user_id: str, changes: Sequence[FocusDay], at: datetime) -> None:
        """Add per-day changes to one person's rollups (a day without a row gets the change as
        its row). Not rounded: heartbeat times are doubles on one 2**-22 s grid (epoch seconds
        of 2004-2038), so every difference and sum of them is exact and the rows equal a
        recomputation bit for bit; rounding each sum to 6 decimals would make them drift."""
        with self.transaction() as db:
            db.conn.executemany(
                "INSERT INTO focus_days (slack_user_id, day, focus_seconds, active_seconds, research_seconds,"
                " engineering_seconds, blocks, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (slack_user_id, day) DO UPDATE SET"
                " focus_seconds = focus_seconds + excluded.focus_seconds,"
                " active_seconds = active_seconds + excluded.active_seconds,"
                " research_seconds = research_seconds + excluded.research_seconds,"
                " engineering_seconds = engineering_seconds + excluded.engineering_seconds,"
                " blocks = blocks + excluded.blocks, updated_at = excluded.updated_at",
                [(slack_user_id, c.day.isoformat(), c.focus_seconds, c.active_seconds, c.research_seconds,
                  c.engineering_seconds, int(c.blocks), to_db_time(at)) for c in changes],
            )

    def focus_days(self, start: date, end: date, slack_user_ids: Sequence[str] | None = None) -> list[FocusDay]:
        """Rollups with start <= day <= end, for everyone or the given people, by person then day."""
        sql = ("SELECT slack_user_id, day, focus_seconds, active_seconds, research_seconds, engineering_seconds,"
               " blocks FROM focus_days WHERE day >= ? AND day <= ?")
        params: list = [start.isoformat(), end.isoformat()]
        if slack_user_ids is not None:
            ids = list(slack_user_ids)
            if not ids:
                return []
            sql += f" AND slack_user_id IN ({', '.join('?' for _ in ids)})"
            params += ids
        rows = self.db.conn.execute(sql + " ORDER BY slack_user_id, day", params)
        return [FocusDay(r[0], date.fromisoformat(r[1]), *r[2:]) for r in rows]

    # -- Slack profiles (timezone cache) -----------------------------------------------------

    def save_profile(self, slack_user_id: str, name: str | None, tz: str | None, at: datetime) -> None:
        with self.transaction() as db:
            db.table("slack_profiles").upsert(
                {"slack_user_id": slack_user_id, "name": name, "tz": tz, "updated_at": to_db_time(at)},
                pk="slack_user_id",
            )

    def profile(self, slack_user_id: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM slack_profiles WHERE slack_user_id = ?", [slack_user_id]))
        return rows[0] if rows else None

    # -- alert ledger -----------------------------------------------------------------------

    def record_focus_message(self, slack_user_id: str, iso_week: str, kind: str, at: datetime,
                             average_seconds: float | None) -> bool:
        """Claim the (person, week, kind) message; False when it was already sent.

        Call before posting, inside the same transaction as the state change, so two racing
        jobs cannot both send it.
        """
        with self.transaction() as db:
            cursor = db.conn.execute(
                "INSERT OR IGNORE INTO focus_alerts (slack_user_id, iso_week, kind, sent_at, average_seconds)"
                " VALUES (?, ?, ?, ?, ?)",
                [slack_user_id, iso_week, kind, to_db_time(at), average_seconds],
            )
            return cursor.rowcount > 0

    def forget_focus_message(self, slack_user_id: str, iso_week: str, kind: str) -> None:
        """Undo a claim whose message could not be delivered, so the next run retries it."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM focus_alerts WHERE slack_user_id = ? AND iso_week = ? AND kind = ?",
                [slack_user_id, iso_week, kind],
            )

    def focus_messages(self, slack_user_id: str) -> list[dict]:
        return list(self.db.query(
            "SELECT * FROM focus_alerts WHERE slack_user_id = ? ORDER BY sent_at", [slack_user_id]))

    def focus_low(self, slack_user_id: str) -> bool:
        """Whether the person was last told their focus is low (and not yet that it recovered)."""
        row = self.db.conn.execute(
            "SELECT low FROM focus_alert_state WHERE slack_user_id = ?", [slack_user_id]
        ).fetchone()
        return bool(row and row[0])

    def set_focus_low(self, slack_user_id: str, low: bool, at: datetime) -> None:
        with self.transaction() as db:
            db.table("focus_alert_state").upsert(
                {"slack_user_id": slack_user_id, "low": int(low), "changed_at": to_db_time(at)},
                pk="slack_user_id",
            )
