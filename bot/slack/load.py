"""Slack's share of the server: a listener thread that yields to ingest, a bounded backlog.

Listeners run after the ack on `LISTENER_THREADS` threads; their work is CPU-bound Python,
so more threads would not answer faster, they would only take the interpreter from
heartbeat and webhook ingest, which each answer waits for first (`bot.web.priority`). While
`BACKLOG` answers are already waiting, a new slash
command is answered at once with a private "busy" note instead of joining the queue
(Slack's users would wait for it longer than they keep looking), and other requests are
acknowledged and dropped, with one warning a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from slack_bolt import BoltRequest, BoltResponse

from bot.web.priority import IngestActivity

log = logging.getLogger(__name__)

LISTENER_THREADS = 1
BACKLOG = 5
BUSY = (":hourglass_flowing_sand: Research Bridge is answering a lot of requests right now; "
        "please try again in a few seconds.")
_WARN_EVERY = 60.0


class BoundedListenerExecutor(ThreadPoolExecutor):
    """A thread pool that knows how many of its jobs are queued or running."""

    def __init__(self, activity: IngestActivity | None = None, threads: int = LISTENER_THREADS,
                 backlog: int = BACKLOG):
        super().__init__(max_workers=threads, thread_name_prefix="slack-listener")
        self.activity = activity
        self.backlog = backlog
        self._pending = 0
        self._lock = threading.Lock()
        self._warned_at = 0.0

    @property
    def full(self) -> bool:
        return self._pending >= self.backlog

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            self._pending += 1
        future = super().submit(self._after_ingest, fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _after_ingest(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.activity is not None:
            self.activity.wait_quiet()
        return fn(*args, **kwargs)

    def _done(self, _: Future) -> None:
        with self._lock:
            self._pending -= 1

    def warn_shed(self, what: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning("Slack backlog full (%d answers waiting): %s answered busy", self._pending, what)


def shed_when_full(
    executor: BoundedListenerExecutor,
) -> Callable[[BoltRequest, Callable[[], BoltResponse]], BoltResponse]:
    """A Bolt global middleware: answer at once instead of queueing while the backlog is full."""

    def middleware(request: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        if not executor.full:
            return next()
        command = request.body.get("command")
        executor.warn_shed(command or request.body.get("type") or "a request")
        if command:
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": BUSY})
        return BoltResponse(status=200, body="")

    return middleware
