"""WakaTime-compatible heartbeat ingest: `POST /api/v1/users/current/heartbeats[.bulk]`.

The IDE plugins (through wakatime-cli, or the legacy pure-Python `wakatime` client) post a
JSON array of heartbeats to `api_url` with `Authorization: Basic base64(api_key)` and read
back `{"responses": [[{"data": {...}}, 201], [{"error": "..."}, 400], ...]}`, one pair per
heartbeat in input order. A 400 pair means "do not retry this one"; a 401 or 5xx makes the
client keep the heartbeats in its offline queue and send them again later.

The body is parsed here rather than by pydantic so every error has WakaTime's shapes: per
item for a bulk post, a plain `{"error": ...}` when nothing in it is usable.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import re
from typing import Any, Mapping, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.ingest.focus import record_heartbeats
from bot.models import Heartbeat
from bot.sources.webhooks import PayloadError, decode_json, encodable
from bot.store import Store
from bot.store.focus import heartbeat_id
from bot.web.errors import RequestError

log = logging.getLogger(__name__)

MAX_HEARTBEATS = 1000  # a post; the plugins send at most 25, so no request holds the writer long
MAX_FUTURE_SECONDS = 3600.0
ENTITY_TYPES = ("file", "app", "domain", "url")
MAX_ENTITY_CHARS = 4096
MAX_TEXT_CHARS = 1024
_OPTIONAL_TEXT = ("category", "project", "branch", "language")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)

SINGLE_PATHS = (
    "/api/v1/users/current/heartbeats",
    "/api/heartbeat",
    "/api/heartbeats",
    "/api/v1/heartbeats",
    "/api/compat/wakatime/v1/users/current/heartbeats",
    "/api/users/current/heartbeats",  # where wakatime-cli posts when api_url ends in /api/heartbeat(s)
)
BULK_PATHS = (
    "/api/v1/users/current/heartbeats.bulk",
    "/api/v1/heartbeats.bulk",
    "/api/compat/wakatime/v1/users/current/heartbeats.bulk",
    "/api/users/current/heartbeats.bulk",
)


class InvalidHeartbeat(ValueError):
    """One heartbeat cannot be stored; the message starts with the field at fault."""


# -- parsing --------------------------------------------------------------------------------


def _text(item: Mapping[str, Any], field: str, limit: int = MAX_TEXT_CHARS) -> str | None:
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidHeartbeat(f"{field}: expected a string or null (got {type(value).__name__})")
    if len(value) > limit:
        raise InvalidHeartbeat(f"{field}: longer than {limit} characters")
    if not encodable(value):  # a lone surrogate such as "\ud800" (valid JSON, not storable)
        raise InvalidHeartbeat(f"{field}: not valid Unicode")
    return value.strip() or None


def parse_heartbeat(
    item: Any,
    slack_user_id: str,
    *,
    now: float,
    max_age_seconds: float,
    user_agent: str | None = None,
    machine: str | None = None,
) -> Heartbeat:
    """Validate one WakaTime heartbeat object; InvalidHeartbeat names the field at fault.

    Required as WakaTime requires them: `entity` (non-empty string) and `time` (epoch
    seconds, a number). `type` defaults to "file" when a client leaves it out (the legacy
    client and wakatime-cli always send it) but must be one of file/app/domain/url when
    given. `user_agent` and `machine` fall back to the request's `User-Agent` and
    `X-Machine-Name` headers. `time` older than `max_age_seconds` or more than an hour
    ahead of `now` is refused.
    """
    if not isinstance(item, dict):
        raise InvalidHeartbeat(f"heartbeat: expected a JSON object (got {type(item).__name__})")
    if not isinstance(item.get("entity"), str):
        raise InvalidHeartbeat("entity: required, a non-empty string")
    entity = _text(item, "entity", MAX_ENTITY_CHARS)
    if entity is None:
        raise InvalidHeartbeat("entity: required, a non-empty string")
    t = item.get("time")
    try:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t := float(t)):
            raise ValueError
    except (ValueError, OverflowError):  # OverflowError: an integer too large for a float
        raise InvalidHeartbeat("time: required, a number of epoch seconds (e.g. 1767225600.25)") from None
    if t < now - max_age_seconds:
        days = round(max_age_seconds / 86400)
        raise InvalidHeartbeat(f"time: older than {days} days (the heartbeat retention); not stored")
    if t > now + MAX_FUTURE_SECONDS:
        raise InvalidHeartbeat("time: more than 1 hour in the future; check the machine's clock")
    kind = item.get("type")
    if kind is None:
        kind = "file"
    elif kind not in ENTITY_TYPES:
        raise InvalidHeartbeat(f"type: expected one of {', '.join(ENTITY_TYPES)} (got {str(kind)[:40]!r})")
    is_write = item.get("is_write")
    if is_write is None:
        is_write = False
    elif not isinstance(is_write, bool):
        if isinstance(is_write, int) and is_write in (0, 1):
            is_write = bool(is_write)
        else:
            raise InvalidHeartbeat("is_write: expected true, false or null")
    category, project, branch, language = (_text(item, f) for f in _OPTIONAL_TEXT)
    editor = _text(item, "user_agent") or (user_agent or "")[:MAX_TEXT_CHARS] or None
    host = _text(item, "machine") or (machine or "")[:MAX_TEXT_CHARS] or None
    return Heartbeat(slack_user_id, t, entity, kind, category, project, branch, language,
                     is_write, editor, host)


def parse_heartbeats(
    items: Sequence[Any], slack_user_id: str, *, now: float, max_age_seconds: float,
    user_agent: str | None = None, machine: str | None = None,
) -> list[Heartbeat | str]:
    """Per item, in input order: the Heartbeat, or the reason (a str) it was refused."""
    out: list[Heartbeat | str] = []
    for item in items:
        try:
            out.append(parse_heartbeat(item, slack_user_id, now=now, max_age_seconds=max_age_seconds,
                                       user_agent=user_agent, machine=machine))
        except InvalidHeartbeat as exc:
            out.append(str(exc))
    return out


def heartbeat_data(hb: Heartbeat) -> dict[str, Any]:
    """The `data` WakaTime answers for a stored heartbeat (wakatime-cli reads it back)."""
    return {
        "id": heartbeat_id(hb),
        "entity": hb.entity,
        "type": hb.type,
        "time": hb.time,
        "category": hb.category,
        "project": hb.project,
        "branch": hb.branch,
        "language": hb.language,
        "is_write": hb.is_write,
        "user_agent": hb.editor or "",
    }


# -- authentication -------------------------------------------------------------------------


def _decode_b64(token: str) -> str | None:
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def api_key_candidates(authorization: str | None, query_key: str | None) -> list[str]:
    """The UUID-shaped keys a request may carry, in the forms WakaTime clients send them:
    `Basic base64(key)` (also `base64(key:)`), `Bearer base64(key)`, `Bearer key`, `?api_key=`."""
    raw: list[str] = []
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() in ("basic", "bearer") and token:
        decoded = _decode_b64(token)
        if decoded is not None:
            raw.extend(decoded.split(":"))
        raw.append(token)
    if query_key:
        raw.append(query_key)
    keys: list[str] = []
    for value in raw:
        value = value.strip()
        if _UUID.match(value) and value.lower() not in keys:
            keys.append(value.lower())
    return keys


def authenticate(store: Store, authorization: str | None, query_key: str | None) -> str | None:
    """The Slack user of the first active key the request carries, or None."""
    for key in api_key_candidates(authorization, query_key):
        user = store.user_for_api_key(key)
        if user is not None:
            return user
    return None


# -- HTTP -----------------------------------------------------------------------------------


_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Research Bridge"'}


async def request_user(store: Store, request: Request) -> str:
    """The Slack user of the active key a request carries; a 401 (with WWW-Authenticate) for
    a missing, unknown or revoked key. Every WakaTime endpoint uses it."""
    authorization = request.headers.get("authorization")
    query_key = request.query_params.get("api_key")
    if not authorization and not query_key:
        raise RequestError("missing API key: send Authorization: Basic base64(api_key) or ?api_key=", 401,
                           headers=_CHALLENGE)
    user = await run_in_threadpool(authenticate, store, authorization, query_key)
    if user is None:
        raise RequestError("invalid or revoked API key", 401, headers=_CHALLENGE)
    return user


def _optional_text(description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"], "maxLength": MAX_TEXT_CHARS}
    return {**schema, "description": description} if description else schema


_HEARTBEAT_SCHEMA = {
    "type": "object",
    "required": ["entity", "time"],
    "properties": {
        "entity": {"type": "string", "minLength": 1, "maxLength": MAX_ENTITY_CHARS, "pattern": r"\S",
                   "description": "File path, app or domain"},
        "time": {"type": "number", "description": "Epoch seconds (UTC), with fraction; from the retention "
                 "period ago to an hour ahead"},
        "type": {"type": ["string", "null"], "enum": [*ENTITY_TYPES, None], "default": "file"},
        "category": _optional_text(),
        "project": _optional_text(),
        "branch": _optional_text(),
        "language": _optional_text(),
        "is_write": {"enum": [True, False, 0, 1, None], "description": "true/false (0/1 from older clients)"},
        "user_agent": _optional_text("Editor and plugin"),
        "machine": _optional_text(),
    },
}
_OPENAPI = {
    "parameters": [{"name": "api_key", "in": "query", "required": False, "schema": {"type": "string"},
                    "description": "The key, for clients that cannot send an Authorization header"}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [_HEARTBEAT_SCHEMA, {"type": "array", "items": _HEARTBEAT_SCHEMA, "minItems": 1,
                                      "maxItems": MAX_HEARTBEATS}]}}}},
}
_DESCRIPTION = """WakaTime-compatible heartbeat ingest for the IDE plugins: put
`api_url = https://HOST/api/v1/users/current/heartbeats.bulk` and the key from `/focus setup`
(or `research-bridge keys create`) in `~/.wakatime.cfg`.

Auth: `Authorization: Basic base64(key)` (as WakaTime clients send it), `Bearer base64(key)`,
`Bearer key`, or `?api_key=key`. A missing, unknown or revoked key gets 401 and nothing is stored.

Body: one heartbeat object or an array of up to 1,000 of them (at most 1 MiB, else 413). The answer is 201
with `{"responses": [[{"data": {...}}, 201] | [{"error": "..."}, 400], ...]}` in input order
(a single object posted to a non-bulk path gets `{"data": {...}}`). Heartbeats older than the
retention or more than an hour in the future are refused per item. When no item is valid the
answer is a plain 400 with the reasons. A heartbeat sent twice is stored once."""
_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "Stored (per-item results in `responses`)"},
    400: {"description": "Malformed JSON, or no valid heartbeat"},
    401: {"description": "Missing, unknown or revoked API key"},
    413: {"description": "Body larger than 1 MiB, or more than 1,000 heartbeats"},
    503: {"description": "The database is busy; the plugin keeps the heartbeats and sends them again"},
}


def make_router(store: Store, settings: Settings, clock: Clock = utc_now) -> APIRouter:
    """The heartbeat endpoints, on every path WakaTime-compatible servers accept."""
    router = APIRouter(tags=["heartbeats"])
    max_age = settings.focus.heartbeat_retention_days * 86400.0

    async def ingest(request: Request, bulk_path: bool) -> JSONResponse:
        user = await request_user(store, request)
        payload = decode_json(await request.body(), check_unicode=False)  # checked per heartbeat
        single = isinstance(payload, dict)
        if not single and not isinstance(payload, list):
            raise PayloadError("body must be a heartbeat object or an array of heartbeat objects")
        items = [payload] if single else payload
        if not items:
            raise PayloadError("body holds no heartbeats")
        if len(items) > MAX_HEARTBEATS:
            raise RequestError(f"more than {MAX_HEARTBEATS} heartbeats in one post; send them in smaller batches", 413)
        now = clock()
        parsed = parse_heartbeats(items, user, now=now.timestamp(), max_age_seconds=max_age,
                                  user_agent=request.headers.get("user-agent"),
                                  machine=request.headers.get("x-machine-name"))
        valid = [p for p in parsed if isinstance(p, Heartbeat)]
        if not valid:
            refused = [p for p in parsed if isinstance(p, str)]  # all of them: none is valid
            reasons = [f"#{i}: {p}" for i, p in enumerate(refused)]
            log.info("heartbeats of %s refused: %s", user, "; ".join(reasons[:5]))
            raise PayloadError(refused[0] if single else "no valid heartbeat: " + "; ".join(reasons[:10]),
                               reasons=reasons)
        # a busy database is a 503 (bot.web.errors): the plugin keeps the heartbeats and retries
        await run_in_threadpool(record_heartbeats, store, user, valid, settings, now)
        if single and not bulk_path:
            return JSONResponse({"data": heartbeat_data(valid[0])}, status_code=201)
        responses = [[{"data": heartbeat_data(p)}, 201] if isinstance(p, Heartbeat) else [{"error": p}, 400]
                     for p in parsed]
        return JSONResponse({"responses": responses}, status_code=201)

    async def post_heartbeats(request: Request) -> JSONResponse:
        return await ingest(request, bulk_path=False)

    async def post_heartbeats_bulk(request: Request) -> JSONResponse:
        return await ingest(request, bulk_path=True)

    for path in SINGLE_PATHS + BULK_PATHS:
        bulk = path in BULK_PATHS
        main = path.startswith("/api/v1/users/current/")
        router.add_api_route(
            path,
            post_heartbeats_bulk if bulk else post_heartbeats,
            methods=["POST"],
            status_code=201,
            summary=("Send heartbeats in bulk" if bulk else "Send a heartbeat") + ("" if main else " (alias)"),
            description=_DESCRIPTION if main else f"Same as `POST {BULK_PATHS[0] if bulk else SINGLE_PATHS[0]}`.",
            responses=_RESPONSES,
            openapi_extra=_OPENAPI,
            response_class=JSONResponse,
        )
    return router
