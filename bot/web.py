"""The HTTP server: Slack events and the ingest endpoints, one FastAPI app."""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from typing import Any, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot import __version__, web_limits
from bot.clock import Clock, utc_now
from bot.config import DigestSettings, Settings
from bot.priority import CountIngest, IngestActivity
from bot.sources.api import make_router as ingest_api_router
from bot.sources.github import make_router as github_router
from bot.sources.gitlab import make_router as gitlab_router
from bot.sources.heartbeats import make_router as heartbeats_router
from bot.sources.jira_webhook import make_router as jira_router
from bot.sources.wakatime_read import make_router as wakatime_read_router
from bot.store import Store

SWITCH_INTERVAL = 0.001  # seconds a thread may hold the interpreter while others wait


def create_web_app(
    settings: Settings,
    store: Store,
    *,
    slack_app: Any | None = None,
    clock: Clock = utc_now,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
    activity: IngestActivity | None = None,
) -> FastAPI:
    """Build the FastAPI app; `slack_app` is a Bolt App (HTTP mode) or None. Ingest
    requests are counted in `activity`, which the Slack app's answers yield to."""

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        # A write transaction gives up the interpreter at every SQLite call; with a CPU-bound
        # thread (a Slack answer) about, it waited up to the default 5 ms to get it back each
        # time and every write queued behind it. 1 ms keeps heartbeat p99 under 100 ms under a
        # flood (benchmarks/bench_flood.py).
        sys.setswitchinterval(SWITCH_INTERVAL)
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
    if activity is not None:
        app.add_middleware(CountIngest, activity=activity)

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
    app.include_router(wakatime_read_router(store, settings, clock))
    app.include_router(github_router(store, settings, clock))
    app.include_router(gitlab_router(store, settings, clock))
    app.include_router(ingest_api_router(store, settings, clock))

    if slack_app is not None:
        from bot.slack.http import make_router as slack_router

        app.include_router(slack_router(slack_app, settings))
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
