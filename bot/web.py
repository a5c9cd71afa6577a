"""The HTTP server: Slack events and the ingest endpoints, one FastAPI app."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, Callable

from anyio import CapacityLimiter
from anyio.to_thread import run_sync
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot import __version__, web_limits
from bot.clock import Clock, utc_now
from bot.config import DigestSettings, Settings
from bot.sources.api import make_router as ingest_api_router
from bot.sources.github import make_router as github_router
from bot.sources.gitlab import make_router as gitlab_router
from bot.sources.heartbeats import make_router as heartbeats_router
from bot.sources.jira_webhook import make_router as jira_router
from bot.store import Store

log = logging.getLogger(__name__)
SLACK_THREADS = 8  # Slack requests at once; ingest keeps the rest of the worker threads


def create_web_app(
    settings: Settings,
    store: Store,
    *,
    slack_app: Any | None = None,
    clock: Clock = utc_now,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the FastAPI app; `slack_app` is a Bolt App (HTTP mode) or None."""

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if on_startup:
            on_startup()
        try:
            yield
        finally:
            if on_shutdown:
                on_shutdown()

    app = FastAPI(
        title="Research Bridge",
        version=__version__,
        description="Slack bot for research handoffs, focus time and ML pipeline reliability.",
        lifespan=lifespan,
    )
    web_limits.install(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict:
        """Liveness, with the time of each source's last successful sync and each digest's
        latest week (posted, or why not)."""
        return {
            "status": "ok",
            "version": __version__,
            "sources": {
                row["source"]: {
                    "last_success_at": row.get("last_success_at"),
                    "last_error_at": row.get("last_error_at"),
                    "last_error": row.get("last_error"),
                }
                for row in store.all_sync_states()
            },
            "digests": {digest.job_id: _digest_health(store, digest) for digest in settings.digests},
        }

    app.include_router(jira_router(store, settings, clock))
    app.include_router(heartbeats_router(store, settings, clock))
    app.include_router(github_router(store, settings, clock))
    app.include_router(gitlab_router(store, settings, clock))
    app.include_router(ingest_api_router(store, settings, clock))

    if slack_app is not None:
        from slack_bolt.adapter.starlette.handler import to_starlette_response

        from bot.slack.gate import Refused, parse, response_hosts, signature_problem

        secret = settings.slack_signing_secret or ""
        hosts = response_hosts(settings.slack_api_url)
        slack_threads = CapacityLimiter(SLACK_THREADS)

        @app.post("/slack/events", include_in_schema=False)
        async def slack_events(request: Request):
            # Verified on the raw bytes before Bolt parses anything (bot.slack.gate). Bolt's
            # App is synchronous: it runs on its own few threads, so a flood of commands
            # cannot take the threads ingest needs (dispatch returns at ack()).
            body = await request.body()
            problem = signature_problem(secret, body, request.headers)
            if problem is not None:
                log.info("Slack request refused (401): %s", problem)
                return JSONResponse({"ok": False, "error": problem}, status_code=401)

            def dispatch() -> Any:
                parsed = parse(body, request.headers, request.url.query, hosts)
                return parsed if isinstance(parsed, Refused) else to_starlette_response(slack_app.dispatch(parsed))

            answer = await run_sync(dispatch, limiter=slack_threads)
            if isinstance(answer, Refused):
                log.info("Slack request refused (%d): %s", answer.status, answer.error)
                return JSONResponse({"ok": False, "error": answer.error}, status_code=answer.status)
            return answer
    else:

        @app.post("/slack/events", include_in_schema=False)
        async def slack_not_configured() -> JSONResponse:
            return JSONResponse(
                {"error": "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"},
                status_code=503,
            )

    return app


def _digest_health(store: Store, digest: DigestSettings) -> dict:
    row = store.latest_digest_delivery(digest.channel, digest.name) or {}
    return {
        "channel": digest.channel,
        "latest_week": row.get("period"),
        "status": row.get("status"),
        "posted_at": row.get("posted_at"),
        "error": row.get("error") if row.get("status") != "posted" else None,
        "chart": row.get("chart"),
    }
