"""The composition root: the only module (with the CLI) that binds the layers to a store.

`slack_context` gives the Slack listeners their queries and the two writes they may ask
for; `create_slack_app` builds the Bolt app on it; `build_server` wires everything `serve`
runs: the web app, the Slack app, the scheduler and Socket Mode."""

from __future__ import annotations

import gc
import logging
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from fastapi import FastAPI

from bot import __version__
from bot.actions.claim import ClaimResult, claim_handoff
from bot.actions.requests import ActionResult, create_handoff, set_handoff_label
from bot.clock import Clock, utc_now
from bot.config import DigestSettings, Settings
from bot.delivery.handoff_cards import CardSync, refresh_card
from bot.ingest.keys import issue_key
from bot.ingest.people import remember_profile
from bot.jobs import Services, build_scheduler
from bot.queries import Queries
from bot.queries.people import People
from bot.slack.context import SlackContext
from bot.sources.api import make_router as ingest_api_router
from bot.sources.github import make_router as github_router
from bot.sources.gitlab import make_router as gitlab_router
from bot.sources.heartbeats import make_router as heartbeats_router
from bot.sources.jira_webhook import make_router as jira_router
from bot.sources.jira_writes import JiraWriter
from bot.sources.wakatime_read import make_router as wakatime_read_router
from bot.store import Store
from bot.web import errors as web_errors
from bot.web import limits as web_limits
from bot.web.priority import CountIngest, IngestActivity

log = logging.getLogger(__name__)

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
    cards: CardSync | None = None,
) -> FastAPI:
    """Build the FastAPI app; `slack_app` is a Bolt App (HTTP mode) or None. Ingest
    requests are counted in `activity`, which the Slack app's answers yield to. Jira
    webhooks bring the handoff cards up to date through `cards` (made here when Slack is
    configured and not given)."""

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
    web_errors.install(app)
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

    if cards is None and slack_app is not None:
        cards = CardSync.of(settings, store, clock)
    app.include_router(jira_router(store, settings, clock, on_change=cards.request if cards else None))
    app.include_router(heartbeats_router(store, settings, clock))
    people = People(store, settings)
    app.include_router(wakatime_read_router(store, settings, clock, timezone_of=people.timezone))
    app.include_router(github_router(store, settings, clock))
    app.include_router(gitlab_router(store, settings, clock))
    app.include_router(ingest_api_router(store, settings, clock))

    if slack_app is not None:
        from bot.slack.http import make_router as slack_router

        app.include_router(slack_router(slack_app, settings))
    else:

        @app.post("/slack/events", include_in_schema=False)
        async def slack_not_configured() -> None:
            raise web_errors.RequestError("Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET", 503)

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


def slack_context(settings: Settings, store: Store, clock: Clock = utc_now,
                  queries: Queries | None = None) -> SlackContext:
    """What the Slack listeners get for this store: read-only queries; keys and profiles
    written through `bot.ingest`; Claim through `bot.actions` (one Jira client, made on the
    first click) and the card brought up to date through `bot.delivery`."""
    from bot.slack.app import posting_client

    jira = JiraWriter(settings)

    def claim(key: str, cycle_no: int, user: str, email: str | None, now: datetime) -> ClaimResult:
        return claim_handoff(store, settings, lambda: jira, key, cycle_no, user, email, now)

    def refresh(key: str, cycle_no: int) -> bool:
        return refresh_card(store, settings, posting_client(settings), key, cycle_no, clock())

    def create(project: str, summary: str, description: str) -> ActionResult:
        return create_handoff(store, settings, jira, project, summary, description)

    def label(key: str, handed_over: bool) -> ActionResult:
        return set_handoff_label(store, settings, jira, key, handed_over)

    cards = CardSync.of(settings, store, clock)

    return SlackContext(
        settings=settings,
        queries=queries or Queries.of(store, settings),
        clock=clock,
        issue_key=lambda user, now: issue_key(store, user, now),
        remember_profile=lambda user, answer, now: remember_profile(store, settings, user, answer, now),
        claim_handoff=claim if settings.jira.configured else None,
        refresh_card=refresh,
        create_handoff=create if settings.jira.configured else None,
        set_handoff_label=label if settings.jira.configured else None,
        refresh_cards=cards.request if cards else None,
    )


def create_slack_app(settings: Settings, store: Store, clock: Clock = utc_now,
                     activity: IngestActivity | None = None, queries: Queries | None = None) -> Any:
    """The Bolt app for this store (see `bot.slack.app.create_app`); `queries` shared with the
    scheduled jobs when given."""
    from bot.slack.app import create_app

    return create_app(slack_context(settings, store, clock, queries), activity)


@dataclass
class Server:
    web: FastAPI
    slack_app: Any | None
    scheduler: Any | None = None  # the BackgroundScheduler, started and stopped with `web`


def build_server(settings: Settings, store: Store, clock: Clock = utc_now, *, scheduler: bool = True) -> Server:
    """Everything `serve` runs. The scheduler and Socket Mode start and stop with the web app."""
    slack_app = None
    socket_handler = None
    activity = IngestActivity()
    queries = Queries.of(store, settings)  # one set: the research-refresh job warms what /research reads
    if settings.slack_configured:
        from bot.slack.app import socket_mode_handler

        slack_app = create_slack_app(settings, store, clock, activity, queries)
        if settings.slack_app_token:
            socket_handler = socket_mode_handler(slack_app, settings)
    else:
        log.warning("Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET): slash commands are off")
    cards = CardSync.of(settings, store, clock)
    jobs = build_scheduler(Services(settings, store, clock, cards, queries.research)) if scheduler else None

    def start() -> None:
        # Everything loaded so far lives as long as the process: move it out of the cyclic
        # collector's sight, so full collections stay short under load (p99 of commands).
        gc.collect()
        gc.freeze()
        if jobs is not None:
            jobs.start()
            log.info("scheduler started: %s", ", ".join(j.id for j in jobs.get_jobs()) or "no jobs")
        if socket_handler is not None:
            socket_handler.connect()
            log.info("Slack Socket Mode connected")

    def stop() -> None:
        if socket_handler is not None:
            socket_handler.close()
        if jobs is not None and jobs.running:
            jobs.shutdown(wait=False)

    web = create_web_app(
        settings,
        store,
        slack_app=None if socket_handler else slack_app,
        clock=clock,
        on_startup=start,
        on_shutdown=stop,
        activity=activity,
        cards=cards,
    )
    return Server(web=web, slack_app=slack_app, scheduler=jobs)
