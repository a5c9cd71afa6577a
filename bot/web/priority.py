"""Ingest first: Slack answers yield to heartbeat, webhook and API requests in progress.

The server is one Python process: a thread computing a Slack answer holds the interpreter
while an ingest request's write transaction waits for it at every SQLite call, and all
writes queue behind that transaction. So the Slack listener threads wait, before each
answer, until no ingest request is in progress, for at most `MAX_DEFER` seconds: under
a flood of both, ingest keeps its pace and Slack answers get the time left over (they are
acknowledged at once either way; only the answer at the response_url waits).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable

INGEST_PREFIXES = ("/api/", "/webhooks/")
MAX_DEFER = 0.05  # seconds a Slack answer waits for ingest to go quiet, at most
MAX_ACK_DEFER = 0.01  # seconds a Slack request waits before its ack, at most


class IngestActivity:
    """How many ingest requests are in progress; threads can wait for none."""

    def __init__(self) -> None:
        self._busy = 0
        self._quiet = threading.Condition()
        self._loop_quiet: asyncio.Event | None = None  # for the event loop's own waits

    @property
    def busy(self) -> int:
        return self._busy

    def started(self) -> None:
        """Called on the event loop when an ingest request begins."""
        with self._quiet:
            self._busy += 1
        self._event().clear()

    def finished(self) -> None:
        """Called on the event loop when an ingest request has been answered."""
        with self._quiet:
            self._busy -= 1
            quiet = self._busy == 0
            if quiet:
                self._quiet.notify_all()
        if quiet:
            self._event().set()

    async def quiet(self, timeout: float = MAX_ACK_DEFER) -> None:
        """On the event loop: wait until no ingest request is in progress, or `timeout`."""
        if self._busy:
            try:
                await asyncio.wait_for(self._event().wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _event(self) -> asyncio.Event:
        if self._loop_quiet is None:
            self._loop_quiet = asyncio.Event()
            if self._busy == 0:
                self._loop_quiet.set()
        return self._loop_quiet

    def wait_quiet(self, timeout: float = MAX_DEFER) -> bool:
        """Block until no ingest request is in progress (True) or `timeout` passed (False)."""
        with self._quiet:
            return self._quiet.wait_for(lambda: self._busy == 0, timeout)


class CountIngest:
    """ASGI middleware: counts the ingest requests in progress in `activity`."""

    def __init__(self, app: Callable[..., Awaitable[None]], activity: IngestActivity,
                 prefixes: tuple[str, ...] = INGEST_PREFIXES):
        self.app, self.activity, self.prefixes = app, activity, prefixes

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        self.activity.started()
        try:
            await self.app(scope, receive, send)
        finally:
            self.activity.finished()
