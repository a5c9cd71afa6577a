"""Jira push: `POST /webhooks/jira` for issue created / updated / deleted webhooks.

Jira signs admin webhooks that have a secret with HMAC-SHA256 over the raw body, sent as
`X-Hub-Signature: sha256=<hex>` (WebSub `method=signature`). A request without a valid
signature gets 401 and nothing is stored. Without `JIRA_WEBHOOK_SECRET` the endpoint answers
503, unless `[jira] allow_unsigned_webhooks = true` (for Jira Data Center versions that
cannot sign), which is logged as a warning at start-up.

Redeliveries are dropped by `X-Atlassian-Webhook-Identifier`, remembered in the same
transaction as the writes. A change also arriving through the sync is stored once: its
changelog items are keyed by (issue, changelog id, item position) on both paths.

Parents: Jira's webhooks carry every field, so a payload's `parent` is read, and on Data
Center its Epic Link field too once a sync has learned that field's id (remembered in the
store). Until then a Data Center payload without `parent` leaves the stored parent alone;
see `bot.sources.jira.issue_parent` for when a payload clears one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.ingest.jira import JiraIngest, record_jira_deletion
from bot.models import ChangeItem, JiraIssue
from bot.sources.jira import EPIC_LINK_STATE, SOURCE, history_items, issue_from_raw, parent_carried, parse_jira_time
from bot.sources.webhooks import PayloadError, check_time, decode_object, ignored, require_secret, require_signature
from bot.store import Store

log = logging.getLogger(__name__)

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"


@dataclass(frozen=True)
class IssueEvent:
    """What one webhook delivery asks to store."""

    event: str
    key: str
    at: datetime
    issue: JiraIssue | None = None  # None for deletions
    items: tuple[ChangeItem, ...] = ()
    parent_carried: bool = False  # the payload said what the parent is (a None parent clears it)


def _base_url(settings: Settings, issue: dict) -> str:
    if settings.jira.url:
        return settings.jira.url
    self_link = str(issue.get("self") or "")
    return self_link.split("/rest/api/")[0] if "/rest/api/" in self_link else ""


def parse_event(payload: dict, settings: Settings, now: datetime, epic_field: str | None = None) -> IssueEvent:
    """Normalise a `jira:issue_*` payload; PayloadError names what is missing or malformed.
    `epic_field`: the Epic Link field id the sync learned (None: not yet)."""
    event = str(payload.get("webhookEvent"))
    issue_raw = payload.get("issue")
    if not isinstance(issue_raw, dict) or not isinstance(issue_raw.get("key"), str) or not issue_raw["key"].strip():
        raise PayloadError("payload has no issue.key")
    key = issue_raw["key"]
    try:
        at = parse_jira_time(payload["timestamp"], "timestamp") if payload.get("timestamp") is not None else now
    except (ValueError, OverflowError, OSError):
        raise PayloadError("timestamp is not epoch milliseconds") from None
    check_time(at, "timestamp", now)
    if event == "jira:issue_deleted":
        return IssueEvent(event, key, at)
    try:
        issue = issue_from_raw(issue_raw, _base_url(settings, issue_raw), epic_field)
        carried = parent_carried(issue_raw, epic_field)
    except (ValueError, TypeError, AttributeError) as exc:
        raise PayloadError(str(exc) if isinstance(exc, ValueError) else f"issue of {key} is malformed") from None
    check_time(issue.created, "issue.fields.created", now)
    check_time(issue.updated, "issue.fields.updated", now)
    if issue.resolved is not None:
        check_time(issue.resolved, "issue.fields.resolutiondate", now)
    changelog = payload.get("changelog")
    items: list[ChangeItem] = []
    if changelog is not None:
        if not isinstance(changelog, dict) or changelog.get("id") in (None, ""):
            raise PayloadError("changelog has no id")
        if not isinstance(changelog.get("items", []), list):
            raise PayloadError("changelog.items is not a list")
        items = history_items(key, str(changelog["id"]), at, payload.get("user"), changelog.get("items"))
    return IssueEvent(event, key, at, issue, tuple(items), carried)


def apply_event(store: Store, event: IssueEvent, ingest: JiraIngest, delivery_id: str | None,
                received_at: datetime) -> dict[str, Any]:
    """Store one event, once per delivery id; returns the JSON answer's body."""
    with store.transaction():
        if delivery_id and not store.remember_delivery(SOURCE, delivery_id, received_at):
            return {"ok": True, "duplicate": True, "issue": event.key}
        if event.issue is None:
            return {"ok": True, "issue": event.key, "deleted": record_jira_deletion(store, event.key, event.at)}
        current = store.issue(event.key)
        issue = current if current is not None and current.updated > event.issue.updated else event.issue
        new_items = ingest.issue(store, issue, event.items, parent_carried=event.parent_carried)
        return {"ok": True, "issue": event.key, "new_items": new_items}


_DESCRIPTION = """Point a Jira admin webhook (System > WebHooks) here with the events *Issue
created*, *updated* and *deleted*, the JQL you sync, and a secret equal to
`JIRA_WEBHOOK_SECRET`: every delivery must carry a valid `X-Hub-Signature`. Without the
secret configured the endpoint answers 503 (unless `[jira] allow_unsigned_webhooks = true`).
Other events get 202."""
_REQUEST = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["webhookEvent"],
    "properties": {"webhookEvent": {"type": "string", "enum": list(ISSUE_EVENTS)},
                   "timestamp": {"type": "integer", "description": "Epoch milliseconds"},
                   "issue": {"type": "object", "description": "The issue as Jira's REST API returns it"},
                   "changelog": {"type": "object", "description": "The history entry of this change"},
                   "user": {"type": "object"}}}}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (or a redelivery already stored)"},
    202: {"description": "Acknowledged and ignored (not an issue event)"},
    400: {"description": "Malformed JSON or a missing or invalid field (named in `error`); nothing stored"},
    401: {"description": "Missing or invalid X-Hub-Signature; nothing stored"},
    413: {"description": "Body larger than 5 MiB"},
    503: {"description": "JIRA_WEBHOOK_SECRET is not set, or the database is busy"},
}


def make_router(store: Store, settings: Settings, clock: Clock = utc_now,
                on_change: Callable[[str], object] | None = None) -> APIRouter:
    """`POST /webhooks/jira`; `on_change(issue key)` runs after each stored event, once the
    answer is sent (the composition root brings that issue's handoff cards up to date)."""
    router = APIRouter(tags=["webhooks"])
    ingest = JiraIngest.of(settings.jira)
    secret = settings.jira.webhook_secret
    unsigned = not secret and settings.jira.allow_unsigned_webhooks
    if unsigned:
        log.warning("Jira webhooks are accepted UNSIGNED ([jira] allow_unsigned_webhooks = true): anyone who can "
                    "reach /webhooks/jira can write issues and incidents; set JIRA_WEBHOOK_SECRET instead")
    elif not secret:
        log.warning("JIRA_WEBHOOK_SECRET is not set: Jira webhooks are refused (503)")

    @router.post("/webhooks/jira", summary="Jira issue webhooks", description=_DESCRIPTION,
                 responses=_RESPONSES, openapi_extra=_REQUEST, response_class=JSONResponse)
    async def jira_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
        if not unsigned:
            require_secret(secret, "Jira", "JIRA_WEBHOOK_SECRET")
        body = await request.body()
        if secret:
            require_signature(secret, body, SIGNATURE_HEADER, request.headers.get(SIGNATURE_HEADER), "Jira")
        now = clock()
        payload = decode_object(body)
        name = payload.get("webhookEvent")
        if name not in ISSUE_EVENTS:
            return ignored(str(name))
        epic_field = await run_in_threadpool(store.learned, SOURCE, EPIC_LINK_STATE)
        event = parse_event(payload, settings, now, epic_field)
        delivery = request.headers.get(DELIVERY_HEADER)  # a busy database is a 503: Jira retries 5xx
        result = await run_in_threadpool(apply_event, store, event, ingest, delivery, now)
        if on_change is not None:
            background.add_task(on_change, event.key)
        return JSONResponse({"event": name, **result})

    return router
