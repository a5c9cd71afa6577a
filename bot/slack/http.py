"""`POST /slack/events`: the gate, Slack's share of the server, then Bolt.

A request is verified on its raw bytes before anything parses it (`bot.slack.gate`), then
admitted at `RATE` requests a second (bursts of `BURST`): far above what a workspace sends
(Slack's own Events API limit is about 8 a second), so only a flood meets the limit. A
request over it waits `OVER_RATE_WAIT` without using the processor, then is answered at
once with a private "busy" note and never reaches Bolt: a client sending as fast as it is
answered is slowed, not served faster. Bolt's App is synchronous: admitted requests are
dispatched on `SLACK_THREADS` threads of their own, so they cannot take the threads ingest
needs (dispatch returns at the ack; the answers run on `bot.slack.load`'s listener thread).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from anyio import CapacityLimiter
from anyio.to_thread import run_sync
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_starlette_response

from bot.config import Settings
from bot.slack.gate import Refused, parse, response_hosts, signature_problem
from bot.slack.load import BUSY
from bot.web.errors import error_response

log = logging.getLogger(__name__)

SLACK_THREADS = 1  # the ack path is CPU: one thread keeps it to one share of the interpreter
RATE = 100.0  # Slack requests admitted a second
BURST = 200
OVER_RATE_WAIT = 0.02  # seconds an over-rate request waits before its busy answer


class TokenBucket:
    """`rate` admissions a second on average, `burst` at once (used on the event loop only)."""

    def __init__(self, rate: float = RATE, burst: int = BURST) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.at = float(burst), time.monotonic()

    def admit(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def make_router(slack_app: App, settings: Settings) -> APIRouter:
    """The Slack request URL, for a Bolt app in HTTP mode."""
    router = APIRouter()
    secret = settings.slack_signing_secret or ""
    hosts = response_hosts(settings.slack_api_url)
    threads = CapacityLimiter(SLACK_THREADS)
    bucket = TokenBucket(RATE, BURST)
    shed = {"since": 0.0, "count": 0}

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request):
        body = await request.body()
        problem = signature_problem(secret, body, request.headers)
        if problem is not None:
            log.info("Slack request refused (401): %s", problem)
            return error_response(401, problem)
        if not bucket.admit():
            _count_shed(shed)
            await asyncio.sleep(OVER_RATE_WAIT)
            return JSONResponse({"response_type": "ephemeral", "text": BUSY})

        def dispatch() -> Any:
            parsed = parse(body, request.headers, request.url.query, hosts)
            return parsed if isinstance(parsed, Refused) else to_starlette_response(slack_app.dispatch(parsed))

        answer = await run_sync(dispatch, limiter=threads)
        if isinstance(answer, Refused):
            log.info("Slack request refused (%d): %s", answer.status, answer.error)
            return error_response(answer.status, answer.error)
        return answer

    return router


def _count_shed(shed: dict[str, float]) -> None:
    """One warning a minute while requests arrive over the rate."""
    now = time.monotonic()
    shed["count"] += 1
    if now - shed["since"] >= 60:
        log.warning("Slack requests over %.0f a second: %d answered busy in the last minute", RATE, shed["count"])
        shed["since"], shed["count"] = now, 0
