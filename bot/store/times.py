"""How times are stored: UTC ISO 8601 text with microseconds, which sorts in time order."""

from __future__ import annotations

from datetime import datetime, timezone

UTC = timezone.utc


def to_db_time(value: datetime | None) -> str | None:
    """UTC ISO 8601 with microseconds: sorts lexically in time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: store only aware datetimes")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def required_db_time(value: str | None) -> datetime:
    """A time that is never NULL (a NOT NULL column, or one every write sets)."""
    if value is None:
        raise ValueError("a required time column is NULL")
    return datetime.fromisoformat(value)
