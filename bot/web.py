"""The HTTP server: Slack events and the ingest endpoints, one FastAPI app."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot import __version__
from bot.clock import Clock, utc_now
from bot.config import DigestSettings, Settings
from bot.sources.api import make_router as ingest_api_router
from bot.sources.github import make_router as github_router
from bot.sources.gitlab import make_router as gitlab_router
from bot.sources.heartbeats import make_router as heartbeats_router
from bot.sources.jira_webhook import make_router as jira_router
from bot.store import Store


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
        from slack_bolt.adapter.starlette.handler import (
            to_bolt_request,
            to_starlette_response,
        )
        from starlette.concurrency import run_in_threadpool

        @app.post("/slack/events", include_in_schema=False)
        async def slack_events(request: Request):
            # Bolt's App is synchronous: dispatch off the event loop so one slow request
            # never holds up the others (it returns as soon as the listener calls ack()).
            bolt_request = to_bolt_request(request, await request.body())
            return to_starlette_response(await run_in_threadpool(slack_app.dispatch, bolt_request))
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
