"""What the push sources share: signature and secret checks on the raw body, the one payload
error, strict JSON decoding, field lookups that name what is missing, time parsing within a
sane range, and the answer to a delivery stored once (by `bot.ingest.pipelines.store_once`).
Refusals are raised (`RequestError`, `PayloadError`) and answered in the one JSON error
shape by `bot.web.errors`; a busy database is its 503.

Used by the Jira, GitHub, GitLab and generic-API sources and the heartbeat ingest. Body size
limits are enforced for every path before any of this runs (`bot.web.limits`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Literal, NamedTuple, overload

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.ingest.pipelines import store_once
from bot.store import Store
from bot.web.errors import RequestError

log = logging.getLogger(__name__)

UTC = timezone.utc
PRODUCTION_NAMES = ("production", "prod")
MAX_ATTEMPT = 1_000_000
# Times a record may carry: nothing of ours predates 2000, and a clock more than a day ahead
# is wrong (a run "finishing" in 9999 would also overflow the day rollups).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class PayloadError(RequestError, ValueError):
    """The body lacks something needed, or holds it malformed; the message names it (400)."""


class Ignored(NamedTuple):
    """A well-formed event that carries nothing to store (e.g. a run still in progress)."""

    reason: str


def ignored(reason: str) -> JSONResponse:
    return JSONResponse({"ok": True, "ignored": reason[:200]}, status_code=202)


def secret_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a shared secret."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def verify_signature(secret: str | None, body: bytes, header: str | None) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of body>` (or the bare hex) for
    `secret`: GitHub's X-Hub-Signature-256 and Jira's X-Hub-Signature."""
    if not secret or not header:
        return False
    method, sep, signature = header.strip().partition("=")
    if not sep:
        method, signature = "sha256", method
    if method.strip().lower() != "sha256":
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace"))


def require_secret(secret: str | None, source: str, variable: str) -> None:
    """503 naming `variable` when a webhook's secret is not configured: refused, not open."""
    if not secret:
        raise RequestError(f"{source} webhooks are refused: set {variable} to the webhook's secret", 503)


def require_signature(secret: str | None, body: bytes, header: str, signature: str | None, source: str) -> None:
    """401 (and a warning) unless `signature` is the HMAC of the raw `body` for `secret`."""
    if not verify_signature(secret, body, signature):
        log.warning("%s webhook refused: missing or invalid %s", source, header)
        raise RequestError(f"missing or invalid {header} signature", 401)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(body: bytes, check_unicode: bool = True) -> Any:
    """The JSON value of a request body. PayloadError for a body that is not UTF-8, not JSON
    (NaN and Infinity included), nested too deeply to parse, or (with `check_unicode`, for
    callers that do not validate each string themselves) holding a string that is not valid
    Unicode (a lone surrogate such as "\\ud800", which could never be stored)."""
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
    except ValueError as exc:
        raise PayloadError(f"body is not valid JSON: {str(exc)[:120]}") from None
    if check_unicode and _SURROGATE_ESCAPE.search(body):  # only then can a string hold a lone surrogate
        where = unstorable_string(payload)
        if where is not None:
            raise PayloadError(f"{where} is not valid Unicode")
    return payload


def decode_object(body: bytes) -> dict[str, Any]:
    """`decode_json` for bodies that must be one JSON object."""
    payload = decode_json(body)
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    return payload


def unstorable_string(payload: Any, root: str = "body") -> str | None:
    """The path of the first string (key or value) that cannot be encoded as UTF-8, or None."""
    stack: list[tuple[Any, str]] = [(payload, root)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not encodable(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if not encodable(key):
                    return f"a key in {path}"
                stack.append((item, key if path == root else f"{path}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None


def encodable(text: str) -> bool:
    """Whether `text` can be stored (UTF-8 has no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_time(at: datetime, path: str, now: datetime) -> datetime:
    """`at` when it is a plausible time for a record (from 2000 to a day ahead of `now`)."""
    if at < EARLIEST:
        raise PayloadError(f"{path} is before {EARLIEST:%Y-%m-%d}")
    if at > now + MAX_AHEAD:
        raise PayloadError(f"{path} is more than a day in the future; check the sender's clock")
    return at


def check_order(start: datetime | None, end: datetime | None, start_path: str, end_path: str) -> None:
    """PayloadError when a start is after its end."""
    if start is not None and end is not None and start > end:
        raise PayloadError(f"{start_path} is after {end_path}")


def _walk(payload: Any, path: str) -> Any:
    for part in path.split("."):
        payload = payload.get(part) if isinstance(payload, dict) else None
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


@overload
def parse_time(value: Any, path: str, now: datetime, required: Literal[True] = True) -> datetime: ...
@overload
def parse_time(value: Any, path: str, now: datetime, required: bool) -> datetime | None: ...
def parse_time(value: Any, path: str, now: datetime, required: bool = True) -> datetime | None:
    """An ISO 8601 time with a timezone, or GitLab's `2016-08-12 15:23:28 UTC` /
    `2021-04-28 21:50:00 +0200`, as an aware UTC datetime within `check_time`'s range.
    A number is refused: it would be read as seconds since 1970."""
    parsed = read_time(value, path, required)
    return None if parsed is None else check_time(parsed, path, now)


@overload
def read_time(value: Any, path: str, required: Literal[True] = True) -> datetime: ...
@overload
def read_time(value: Any, path: str, required: bool) -> datetime | None: ...
def read_time(value: Any, path: str, required: bool = True) -> datetime | None:
    """`parse_time` without the range check (for times a sender's clock may get wrong)."""
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


async def store_response(store: Store, source: str, delivery: str | None, records: Iterable[Any],
                         received_at: datetime, event: str) -> JSONResponse:
    result = await run_in_threadpool(store_once, store, source, delivery, list(records), received_at)
    return JSONResponse({"event": event, **result})
