"""The composition root: the only module (with the CLI) that binds the layers to a store.

`slack_context` gives the Slack listeners their queries and the two writes they may ask
for; `create_slack_app` builds the Bolt app on it; `build_server` wires everything `serve`
runs: the web app, the Slack app, the scheduler and Socket Mode."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.ingest.keys import issue_key
from bot.ingest.people import remember_profile
from bot.jobs import Services, build_scheduler
from bot.priority import IngestActivity
from bot.queries import Queries
from bot.slack.context import SlackContext
from bot.store import Store
from bot.web import create_web_app

log = logging.getLogger(__name__)


def slack_context(settings: Settings, store: Store, clock: Clock = utc_now) -> SlackContext:
    """What the Slack listeners get for this store: read-only queries, and keys and profiles
    written through `bot.ingest`."""
    return SlackContext(
        settings=settings,
        queries=Queries.of(store, settings),
        clock=clock,
        issue_key=lambda user, now: issue_key(store, user, now),
        remember_profile=lambda user, answer, now: remember_profile(store, settings, user, answer, now),
    )


def create_slack_app(settings: Settings, store: Store, clock: Clock = utc_now,
                     activity: IngestActivity | None = None) -> Any:
    """The Bolt app for this store (see `bot.slack.app.create_app`)."""
    from bot.slack.app import create_app

    return create_app(slack_context(settings, store, clock), activity)


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
    if settings.slack_configured:
        from bot.slack.app import socket_mode_handler

        slack_app = create_slack_app(settings, store, clock, activity)
        if settings.slack_app_token:
            socket_handler = socket_mode_handler(slack_app, settings)
    else:
        log.warning("Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET): slash commands are off")
    jobs = build_scheduler(Services(settings, store, clock)) if scheduler else None

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
    )
    return Server(web=web, slack_app=slack_app, scheduler=jobs)
