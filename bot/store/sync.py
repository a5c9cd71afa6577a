"""Sync bookkeeping (each source's cursor, last success and last error), what a sync learned
about its server (e.g. Jira's Epic Link field id), and the webhook deliveries already stored,
so a redelivery is stored once."""

from __future__ import annotations

from datetime import datetime

from bot.store.base import StoreBase
from bot.store.times import to_db_time

LEARNED = "#"  # sync_state rows named "<source>#<name>" hold a learned value, not a sync


class SyncStore(StoreBase):
    """`sync_state` and `webhook_deliveries`."""

    def sync_state(self, source: str) -> dict:
        rows = list(self.db.query("SELECT * FROM sync_state WHERE source = ?", [source]))
        return rows[0] if rows else {"source": source}

    def all_sync_states(self) -> list[dict]:
        """Each source's sync state (learned values left out)."""
        return list(self.db.query("SELECT * FROM sync_state WHERE instr(source, ?) = 0 ORDER BY source", [LEARNED]))

    def learned(self, source: str, name: str) -> str | None:
        """The value a sync of `source` last learned as `name`; None when never learned."""
        row = self.db.execute("SELECT cursor FROM sync_state WHERE source = ?", [f"{source}{LEARNED}{name}"]).fetchone()
        return None if row is None else str(row[0] or "")

    def remember_learned(self, source: str, name: str, value: str, at: datetime) -> None:
        """Keep what a sync learned about its server (its own row: the cursor column holds it)."""
        with self.transaction() as db:
            db.table("sync_state").upsert(
                {"source": f"{source}{LEARNED}{name}", "cursor": value, "last_success_at": to_db_time(at)},
                pk="source")

    def record_sync_attempt(self, source: str, at: datetime) -> None:
        with self.transaction() as db:
            db.table("sync_state").upsert({"source": source, "last_attempt_at": to_db_time(at)}, pk="source")

    def record_sync_success(self, source: str, at: datetime, cursor: str | None, items: int) -> None:
        with self.transaction() as db:
            row = {"source": source, "last_success_at": to_db_time(at), "items_last_run": items, "last_error": None}
            if cursor is not None:
                row["cursor"] = cursor
            db.table("sync_state").upsert(row, pk="source")

    def record_sync_failure(self, source: str, at: datetime, error: str) -> None:
        with self.transaction() as db:
            db.table("sync_state").upsert(
                {"source": source, "last_error": error[:1000], "last_error_at": to_db_time(at)}, pk="source"
            )

    def remember_delivery(self, source: str, delivery_id: str, at: datetime) -> bool:
        """Record a webhook delivery id; False when it was seen before.

        Call it inside the same `transaction()` as the writes it guards, so a delivery
        that fails half-way is not remembered and its redelivery is processed.
        """
        with self.transaction() as db:
            before = db.conn.total_changes
            db.table("webhook_deliveries").insert(
                {"source": source, "delivery_id": delivery_id, "received_at": to_db_time(at)},
                pk=("source", "delivery_id"),
                ignore=True,
            )
            return db.conn.total_changes > before

    def prune_deliveries(self, before: datetime) -> int:
        with self.transaction() as db:
            return db.execute("DELETE FROM webhook_deliveries WHERE received_at < ?", [to_db_time(before)]).rowcount
