"""GitHub push: `POST /webhooks/github` for `workflow_run`, `deployment_status`, `push` and
`create` webhooks.

GitHub signs every delivery with HMAC-SHA256 over the raw body (`X-Hub-Signature-256:
sha256=<hex>`). Unsigned GitHub webhooks are never accepted: without `GITHUB_WEBHOOK_SECRET`
the endpoint answers 503, and a missing or wrong signature gets 401; nothing is stored.

Normalisation (documented in the README):
- `workflow_run` `completed` -> one PipelineRun per run attempt, status from `conclusion`:
  success -> success; failure, timed_out, startup_failure -> failed; cancelled -> cancelled;
  skipped, neutral, stale, action_required -> skipped (no pass/fail verdict on the code).
  Other actions (`requested`, `in_progress`) are acknowledged with 202 and ignored.
- `deployment_status` success -> success; failure, error -> failed; pending, queued,
  in_progress, inactive -> 202 ignored. target = `deployment.payload.target` when the
  deployer set it (e.g. a model name), else the repository's full name; version =
  `payload.version`, else the commit sha (never the branch: redeploying `main` is not a
  rollback), else the ref.
A state GitHub adds later is acknowledged (202) and logged, never stored half-understood.
- `push` and `create` on a research repository (`[streams] research_repos`): its commits and
  new branches, parsed and stored by `bot.sources.repo_pushes` (other repositories, tags and
  deletions get 202; without any `research_repos` pattern both events get 202 unread).

Redeliveries count once (`X-GitHub-Delivery`, remembered in the same transaction as the
write); the same run or deployment seen again is one row (primary keys), and an older state
never overwrites a newer one.

Shared helpers (`PayloadError`, `pick`, `parse_time`, `store_response`, ...) live in
`bot.sources.webhooks`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.models import Deployment, PipelineRun
from bot.sources.repo_pushes import GITHUB_PARSERS, store_activity
from bot.sources.webhooks import (
    MAX_ATTEMPT,
    Ignored,
    PayloadError,
    check_order,
    decode_json,
    decode_object,
    first,
    ignored,
    is_production_name,
    parse_time,
    pick,
    pick_id,
    require_secret,
    require_signature,
    store_response,
)
from bot.store import Store

log = logging.getLogger(__name__)

UTC = timezone.utc

# -- GitHub -------------------------------------------------------------------------------

SOURCE = "github"
SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"

CONCLUSIONS = {
    "success": "success",
    "failure": "failed", "timed_out": "failed", "startup_failure": "failed",
    "cancelled": "cancelled",
    "skipped": "skipped", "neutral": "skipped", "stale": "skipped", "action_required": "skipped",
}
DEPLOYMENT_STATES = {"success": "success", "failure": "failed", "error": "failed"}
PENDING_DEPLOYMENT_STATES = ("pending", "queued", "in_progress", "inactive")


def decode_payload(body: bytes, content_type: str) -> dict:
    """The JSON object GitHub sent, as `application/json` or form-encoded `payload=`."""
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        try:
            forms = parse_qs(body.decode("utf-8"), strict_parsing=False).get("payload")
        except UnicodeDecodeError:
            raise PayloadError("body is not UTF-8") from None
        if not forms:
            raise PayloadError("form body has no payload field")
        body = forms[0].encode("utf-8")
    return decode_object(body)


def parse_workflow_run(payload: dict, now: datetime) -> PipelineRun | Ignored:
    """A completed `workflow_run` as a PipelineRun; other actions are Ignored."""
    action = first(payload, "action")
    if action != "completed":
        return Ignored(f"workflow_run action {str(action)[:40]!r} (only completed runs are stored)")
    run = pick(payload, "workflow_run", dict)
    conclusion = pick(payload, "workflow_run.conclusion")
    status = CONCLUSIONS.get(conclusion)
    if status is None:
        log.warning("GitHub workflow_run conclusion %r is not known: not stored", conclusion)
        return Ignored(f"unknown workflow_run.conclusion {conclusion[:40]!r}")
    name = first(payload, "workflow_run.name", "workflow.name", "workflow_run.path")
    if name is None:
        raise PayloadError("workflow_run.name and workflow_run.path are missing")
    attempt = pick(payload, "workflow_run.run_attempt", int, required=False) or 1
    if not 1 <= attempt <= MAX_ATTEMPT:
        raise PayloadError(f"workflow_run.run_attempt is not between 1 and {MAX_ATTEMPT}")
    finished = parse_time(run.get("updated_at"), "workflow_run.updated_at", now)
    started = parse_time(run.get("run_started_at") or run.get("created_at"), "workflow_run.run_started_at", now,
                         required=False)
    check_order(started, finished, "workflow_run.run_started_at", "workflow_run.updated_at")
    return PipelineRun(
        source=SOURCE,
        pipeline=f"{pick(payload, 'repository.full_name')}: {name}",
        run_id=pick_id(payload, "workflow_run.id"),
        attempt=attempt,
        status=status,
        finished_at=finished,
        started_at=started,
        url=first(payload, "workflow_run.html_url"),
        commit_sha=first(payload, "workflow_run.head_sha"),
        commit_at=parse_time(pick(payload, "workflow_run.head_commit.timestamp", required=False),
                             "workflow_run.head_commit.timestamp", now, required=False),
        branch=first(payload, "workflow_run.head_branch"),
    )


def _deployer_payload(deployment: dict) -> dict:
    """`deployment.payload`: an object, or (from some deployers) a JSON-encoded string; a
    string that is not JSON is free text and carries nothing for us."""
    extra = deployment.get("payload")
    if isinstance(extra, str) and extra.lstrip().startswith(("{", "[")):
        try:
            extra = decode_json(extra.encode("utf-8"))
        except PayloadError as exc:
            raise PayloadError(f"deployment.payload: {str(exc).removeprefix('body ')}") from None
    return extra if isinstance(extra, dict) else {}


def parse_deployment_status(payload: dict, now: datetime) -> Deployment | Ignored:
    """A finished `deployment_status` as a Deployment; pending states are Ignored."""
    state = pick(payload, "deployment_status.state")
    if state in PENDING_DEPLOYMENT_STATES:
        return Ignored(f"deployment_status state {state!r} (only success, failure and error are stored)")
    if state not in DEPLOYMENT_STATES:
        log.warning("GitHub deployment_status state %r is not known: not stored", state)
        return Ignored(f"unknown deployment_status.state {state[:40]!r}")
    deployment = pick(payload, "deployment", dict)
    extra = _deployer_payload(deployment)
    environment = first(payload, "deployment.environment") or pick(payload, "deployment_status.environment")
    production = deployment.get("production_environment")
    sha = first(payload, "deployment.sha")
    return Deployment(
        source=SOURCE,
        deployment_id=pick_id(payload, "deployment.id"),
        target=first(extra, "target") or pick(payload, "repository.full_name"),
        version=first(extra, "version") or sha or first(payload, "deployment.ref") or "unknown",
        environment=environment,
        status=DEPLOYMENT_STATES[state],
        finished_at=parse_time(first(payload, "deployment_status.updated_at", "deployment_status.created_at"),
                               "deployment_status.updated_at", now),
        is_production=production if isinstance(production, bool) else is_production_name(environment),
        is_rollback=extra.get("rollback") is True,
        commit_sha=sha,
        url=first(payload, "deployment_status.target_url", "deployment_status.log_url",
                  "deployment_status.environment_url"),
    )


_DESCRIPTION = """Point a repository or organisation webhook here (content type JSON, a secret
equal to `GITHUB_WEBHOOK_SECRET`, events *Workflow runs* and *Deployment statuses*; for research
repositories also *Pushes* and *Branch or tag creation*). Every delivery must carry a valid
`X-Hub-Signature-256`; without the secret configured the endpoint answers 503. `ping` gets 200;
events and actions not stored get 202. A push or branch creation counts only on a repository
matching `[streams] research_repos`: commits once by sha (GitHub lists at most 2,048 a push),
a branch once."""
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (or a redelivery already stored), or a ping"},
    202: {"description": "Acknowledged and ignored (another event, a run or deployment not finished, a tag, a "
                         "deletion, or a push to a repository that is not a research repository)"},
    400: {"description": "Malformed JSON or a missing or invalid field (named in `error`); nothing stored"},
    401: {"description": "Missing or invalid X-Hub-Signature-256; nothing stored"},
    413: {"description": "Body larger than 5 MiB"},
    503: {"description": "GITHUB_WEBHOOK_SECRET is not set, or the database is busy"},
}


_REQUEST = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "The event as GitHub sends it: a `workflow_run` "
                                    "(action, workflow_run, repository), `deployment_status` (deployment_status, "
                                    "deployment, repository), `push` (ref, created, deleted, commits, repository) or "
                                    "`create` (ref, ref_type, repository) payload"}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"payload": {
        "type": "string", "description": "The same JSON, for webhooks created with that content type"}}}}}}}


def make_router(store: Store, settings: Settings, clock: Clock = utc_now) -> APIRouter:
    """`POST /webhooks/github`."""
    router = APIRouter(tags=["webhooks"])
    secret = settings.github_webhook_secret

    @router.post("/webhooks/github", summary="GitHub workflow_run, deployment_status, push and create webhooks",
                 description=_DESCRIPTION, responses=_RESPONSES, openapi_extra=_REQUEST, response_class=JSONResponse)
    async def github_webhook(request: Request) -> JSONResponse:
        require_secret(secret, "GitHub", "GITHUB_WEBHOOK_SECRET")
        body = await request.body()
        require_signature(secret, body, SIGNATURE_HEADER, request.headers.get(SIGNATURE_HEADER), "GitHub")
        event = request.headers.get(EVENT_HEADER, "")
        now = clock()
        payload = decode_payload(body, request.headers.get("content-type", ""))
        if event == "ping":
            return JSONResponse({"ok": True, "event": "ping", "zen": first(payload, "zen")})
        if event in GITHUB_PARSERS and settings.research.repos:
            activity = GITHUB_PARSERS[event](payload, now, settings.research)
            return await store_activity(store, SOURCE, request.headers.get(DELIVERY_HEADER), activity, now, event)
        record: PipelineRun | Deployment | Ignored
        if event == "workflow_run":
            record = parse_workflow_run(payload, now)
        elif event == "deployment_status":
            record = parse_deployment_status(payload, now)
        else:
            return ignored(f"event {event[:60]!r} (only workflow_run and deployment_status are stored, and push and "
                           "create when [streams] research_repos is set)")
        if isinstance(record, Ignored):
            return ignored(record.reason)
        return await store_response(store, SOURCE, request.headers.get(DELIVERY_HEADER), [record], now, event)

    return router
