"""GitLab push: `POST /webhooks/gitlab` for Pipeline Hook, Deployment Hook and Push Hook webhooks.

GitLab sends the webhook's secret token verbatim in `X-Gitlab-Token`; it must equal
`GITLAB_WEBHOOK_TOKEN` (compared in constant time), else 401 and nothing is stored. Without
the token configured the endpoint answers 503: GitLab webhooks are never accepted unchecked.

Normalisation (documented in the README):
- Pipeline Hook (`object_kind` "pipeline"), finished statuses only: success -> success,
  failed -> failed, canceled -> cancelled, skipped -> skipped. created, waiting_for_resource,
  preparing, pending, running, canceling, manual, scheduled -> 202 ignored. One row per
  pipeline id with attempt 1: GitLab retries jobs inside the same pipeline, so a pipeline
  that finishes again (a retried job) replaces its earlier state.
- Deployment Hook (`object_kind` "deployment"): success -> success, failed -> failed;
  created, running, blocked, skipped and canceled -> 202 ignored (a canceled deployment
  changed nothing in the environment and is not a failed change). target = the project's
  path, version = `short_sha`, is_production from `environment_tier` (GitLab 15.x and
  later), else the environment name ("production" / "prod").
- Push Hook (`object_kind` "push") on a research project (`[streams] research_repos`): its
  commits and new branches, parsed and stored by `bot.sources.repo_pushes` (other projects,
  deleted branches and Tag Push Hooks get 202; without any `research_repos` pattern every
  Push Hook gets 202 unread). GitLab lists at most 20 commits a hook.
A status GitLab adds later is acknowledged (202) and logged: an error answer would count
towards GitLab disabling the webhook.

Redeliveries count once: the key is `X-Gitlab-Event-UUID` (or `Idempotency-Key`) together
with the object and its status, since GitLab reuses one event UUID for the hooks a single
request triggers recursively (a push: with its ref and new head). The same pipeline or
deployment seen again is one row, a commit one row by sha.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.models import Deployment, PipelineRun
from bot.sources.repo_pushes import parse_gitlab_push, store_activity
from bot.sources.webhooks import (
    Ignored,
    PayloadError,
    check_order,
    decode_object,
    first,
    ignored,
    is_production_name,
    parse_time,
    pick,
    pick_id,
    require_secret,
    secret_matches,
    store_response,
)
from bot.store import Store
from bot.web.errors import RequestError

log = logging.getLogger(__name__)

SOURCE = "gitlab"
TOKEN_HEADER = "X-Gitlab-Token"
EVENT_HEADER = "X-Gitlab-Event"
DELIVERY_HEADERS = ("X-Gitlab-Event-UUID", "Idempotency-Key")

PIPELINE_STATUSES = {"success": "success", "failed": "failed", "canceled": "cancelled", "skipped": "skipped"}
UNFINISHED_PIPELINE = ("created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending",
                       "running", "canceling", "manual", "scheduled")
DEPLOYMENT_STATUSES = {"success": "success", "failed": "failed"}
UNFINISHED_DEPLOYMENT = ("created", "running", "blocked", "skipped", "canceled")
_COMMIT_IN_URL = re.compile(r"/commit/([0-9a-f]{40})/?$")


def parse_pipeline(payload: dict, received_at: datetime) -> PipelineRun | Ignored:
    """A finished Pipeline Hook as a PipelineRun; unfinished statuses are Ignored."""
    attrs = pick(payload, "object_attributes", dict)
    raw = pick(payload, "object_attributes.status")
    if raw in UNFINISHED_PIPELINE:
        return Ignored(f"pipeline status {raw!r} (only finished pipelines are stored)")
    status = PIPELINE_STATUSES.get(raw)
    if status is None:
        log.warning("GitLab pipeline status %r is not known: not stored", raw)
        return Ignored(f"unknown object_attributes.status {raw[:40]!r}")
    project = pick(payload, "project.path_with_namespace")
    name = first(payload, "object_attributes.name", "object_attributes.ref")
    if name is None:
        raise PayloadError("object_attributes.name and object_attributes.ref are missing")
    run_id = pick_id(payload, "object_attributes.id")
    web_url = first(payload, "project.web_url")
    built = f"{web_url.rstrip('/')}/-/pipelines/{run_id}" if web_url else None
    url = first(payload, "object_attributes.url") or built
    # A pipeline without finished_at (some skipped ones) finished when GitLab told us.
    finished = parse_time(attrs.get("finished_at"), "object_attributes.finished_at", received_at,
                          required=False) or received_at
    started = parse_time(attrs.get("created_at"), "object_attributes.created_at", received_at, required=False)
    check_order(started, finished, "object_attributes.created_at", "object_attributes.finished_at")
    return PipelineRun(
        source=SOURCE,
        pipeline=f"{project}: {name}",
        run_id=run_id,
        attempt=1,
        status=status,
        finished_at=finished,
        started_at=started,
        url=url,
        commit_sha=first(payload, "object_attributes.sha"),
        commit_at=parse_time(pick(payload, "commit.timestamp", required=False), "commit.timestamp", received_at,
                             required=False),
        branch=first(payload, "object_attributes.ref"),
    )


def parse_deployment(payload: dict, received_at: datetime) -> Deployment | Ignored:
    """A finished Deployment Hook as a Deployment; other statuses are Ignored."""
    raw = pick(payload, "status")
    if raw in UNFINISHED_DEPLOYMENT:
        return Ignored(f"deployment status {raw!r} (only success and failed are stored)")
    status = DEPLOYMENT_STATUSES.get(raw)
    if status is None:
        log.warning("GitLab deployment status %r is not known: not stored", raw)
        return Ignored(f"unknown deployment status {raw[:40]!r}")
    environment = pick(payload, "environment")
    tier = first(payload, "environment_tier")
    commit_url = first(payload, "commit_url")
    match = _COMMIT_IN_URL.search(commit_url) if commit_url else None
    short_sha = first(payload, "short_sha")
    return Deployment(
        source=SOURCE,
        deployment_id=pick_id(payload, "deployment_id"),
        target=pick(payload, "project.path_with_namespace"),
        version=short_sha or first(payload, "ref") or "unknown",
        environment=environment,
        status=status,
        finished_at=parse_time(payload.get("status_changed_at"), "status_changed_at", received_at),
        is_production=tier == "production" if tier else is_production_name(environment),
        commit_sha=match.group(1) if match else short_sha,
        url=first(payload, "deployable_url") or commit_url,
    )


def delivery_key(request: Request, payload: dict) -> str | None:
    """The event UUID with the object and status it reports (None without a UUID header)."""
    uuid = next((request.headers[h] for h in DELIVERY_HEADERS if request.headers.get(h)), None)
    if uuid is None:
        return None
    attrs = payload.get("object_attributes")
    if not isinstance(attrs, dict):
        attrs = {}
    kind = payload.get("object_kind")
    ident = attrs.get("id") if kind == "pipeline" else payload.get("deployment_id")
    status = attrs.get("status") if kind == "pipeline" else payload.get("status")
    if kind == "push":
        ident, status = payload.get("ref"), payload.get("after")
    return f"{uuid}:{kind}:{ident}:{status}"


_DESCRIPTION = """Point a project or group webhook here with a secret token equal to
`GITLAB_WEBHOOK_TOKEN` and the triggers *Pipeline events* and *Deployment events* (for research
projects also *Push events*). A missing or wrong `X-Gitlab-Token` gets 401; without the token
configured, 503. Finished pipelines and deployments are stored, and pushes to projects matching
`[streams] research_repos` (commits once by sha, GitLab lists at most 20 a hook; new branches
once); every other event or status gets 202."""
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (or a redelivery already stored)"},
    202: {"description": "Acknowledged and ignored (another event, not finished, a deleted branch, or a push to "
                         "a project that is not a research repository)"},
    400: {"description": "Malformed JSON or a missing or invalid field (named in `error`); nothing stored"},
    401: {"description": "Missing or wrong X-Gitlab-Token; nothing stored"},
    413: {"description": "Body larger than 5 MiB"},
    503: {"description": "GITLAB_WEBHOOK_TOKEN is not set, or the database is busy"},
}


_REQUEST = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["object_kind"],
    "properties": {"object_kind": {"type": "string",
                                   "description": "`pipeline`, `deployment` and `push` (research projects) are stored"},
                   "object_attributes": {"type": "object"}, "project": {"type": "object"}},
    "description": "A Pipeline Hook, Deployment Hook or Push Hook payload as GitLab sends it"}}}}}


def make_router(store: Store, settings: Settings, clock: Clock = utc_now) -> APIRouter:
    """`POST /webhooks/gitlab`."""
    router = APIRouter(tags=["webhooks"])
    token = settings.gitlab_webhook_token

    @router.post("/webhooks/gitlab", summary="GitLab pipeline, deployment and push webhooks",
                 description=_DESCRIPTION, responses=_RESPONSES, openapi_extra=_REQUEST, response_class=JSONResponse)
    async def gitlab_webhook(request: Request) -> JSONResponse:
        require_secret(token, "GitLab", "GITLAB_WEBHOOK_TOKEN")
        if not secret_matches(token, request.headers.get(TOKEN_HEADER)):
            log.warning("GitLab webhook refused: missing or wrong %s", TOKEN_HEADER)
            raise RequestError(f"missing or wrong {TOKEN_HEADER}", 401)
        now = clock()
        payload = decode_object(await request.body())
        kind = payload.get("object_kind")
        if kind == "push" and settings.research.repos:
            activity = parse_gitlab_push(payload, now, settings.research)
            return await store_activity(store, SOURCE, delivery_key(request, payload), activity, now, kind)
        record: PipelineRun | Deployment | Ignored
        if kind == "pipeline":
            record = parse_pipeline(payload, now)
        elif kind == "deployment":
            record = parse_deployment(payload, now)
        else:
            hook = request.headers.get(EVENT_HEADER) or str(kind)
            return ignored(f"{hook[:60]!r} (only Pipeline Hook and Deployment Hook are stored, and Push Hook when "
                           "[streams] research_repos is set)")
        if isinstance(record, Ignored):
            return ignored(record.reason)
        return await store_response(store, SOURCE, delivery_key(request, payload), [record], now, str(kind))

    return router
