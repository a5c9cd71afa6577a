"""What the push sources share: capped body reads, constant-time secret checks, JSON error
replies, field lookups that name what is missing, time parsing, and storing a delivery once.

Used by the GitHub, GitLab and generic-API sources (and the heartbeat ingest's body read).
"""

from __future__ import annotations

import hmac
import logging
import re
import sqlite3
from datetime import datetime, timezone
from typing import Any, Iterable, NamedTuple, Sequence

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.models import Deployment, PipelineRun
from bot.store import Store

log = logging.getLogger(__name__)

UTC = timezone.utc
MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
PRODUCTION_NAMES = ("production", "prod")
MAX_ATTEMPT = 1_000_000



class PayloadError(ValueError):
    """The body lacks something needed; the message names it."""


class Ignored(NamedTuple):
    """A well-formed event that carries nothing to store (e.g. a run still in progress)."""

    reason: str


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status, headers=headers)


def ignored(reason: str) -> JSONResponse:
    return JSONResponse({"ok": True, "ignored": reason[:200]}, status_code=202)


def secret_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a shared secret."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None once it grows past `limit` (whatever Content-Length said)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _walk(payload: Any, path: str) -> Any:
    for part in path.split("."):
        payload = payload.get(part) if isinstance(payload, dict) else None
    if isinstance(payload, str):
        try:
            payload.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate such as "\ud800": valid JSON, not storable
            raise PayloadError(f"{path} is not valid Unicode") from None
    return payload


def pick(payload: Any, path: str, kind: type | tuple[type, ...] = str, required: bool = True) -> Any:
    """The value at the dotted `path`; PayloadError names the path if missing or mistyped."""
    value = _walk(payload, path)
    if value is None or value == "":
        if required:
            raise PayloadError(f"{path} is missing")
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise PayloadError(f"{path} must be {' or '.join(k.__name__ for k in kinds)}")
    return value


def first(payload: Any, *paths: str) -> Any:
    """The first non-empty string among the optional `paths` (None when there is none)."""
    for path in paths:
        value = _walk(payload, path)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def pick_id(payload: Any, path: str) -> str:
    """An identifier that may arrive as a number or a string."""
    return str(pick(payload, path, (int, str)))


_OFFSET_AFTER_SPACE = re.compile(r"\s+([+-]\d{2}:?\d{2})$")


def parse_time(value: Any, path: str, required: bool = True) -> datetime | None:
    """An ISO 8601 time with a timezone, or GitLab's `2016-08-12 15:23:28 UTC` /
    `2021-04-28 21:50:00 +0200`, as an aware UTC datetime."""
    if value is None or value == "":
        if required:
            raise PayloadError(f"{path} is missing")
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{path} must be an ISO 8601 time string")
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    text = _OFFSET_AFTER_SPACE.sub(r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"{path} is not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise PayloadError(f"{path} has no timezone: {value[:40]!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PayloadError(f"{path} is out of range: {value[:40]!r}") from None


def is_production_name(environment: str) -> bool:
    return environment.strip().lower() in PRODUCTION_NAMES


def record_json(record: NamedTuple) -> dict[str, Any]:
    """A stored record as JSON (times in UTC ISO 8601)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record._asdict().items()}


def _stored_newer(store: Store, record: PipelineRun | Deployment) -> bool:
    """True when a later state of the same run attempt / deployment is already stored."""
    if isinstance(record, PipelineRun):
        return any(r.source == record.source and r.run_id == record.run_id and r.attempt == record.attempt
                   and r.finished_at > record.finished_at
                   for r in store.pipeline_runs(record.finished_at, pipeline=record.pipeline))
    return any(d.source == record.source and d.deployment_id == record.deployment_id
               and d.finished_at > record.finished_at for d in store.deployments(record.finished_at))


def store_once(store: Store, source: str, delivery: str | None, records: Sequence[PipelineRun | Deployment],
               received_at: datetime) -> dict[str, Any]:
    """Store webhook records once per delivery id, in one transaction; a record older than
    what is stored for the same run attempt / deployment is skipped."""
    with store.transaction():
        if delivery and not store.remember_delivery(source, delivery[:200], received_at):
            return {"ok": True, "duplicate": True}
        fresh = [r for r in records if not _stored_newer(store, r)]
        store.save_pipeline_runs([r for r in fresh if isinstance(r, PipelineRun)])
        store.save_deployments([r for r in fresh if isinstance(r, Deployment)])
        return {"ok": True, "stored": [record_json(r) for r in fresh],
                "superseded": len(records) - len(fresh)}


async def store_response(store: Store, source: str, delivery: str | None, records: Iterable[Any],
                         received_at: datetime, event: str) -> JSONResponse:
    try:
        result = await run_in_threadpool(store_once, store, source, delivery, list(records), received_at)
    except sqlite3.OperationalError as exc:  # e.g. database locked: the delivery can be retried
        log.error("%s %s webhook not stored: %s", source, event, exc)
        return error(503, "temporarily unable to store the event; retry later")
    return JSONResponse({"event": event, **result})
