"""Limits every HTTP request meets before an endpoint sees it, and the uvicorn settings.

- A body limit per path (`body_limit`): a `Content-Length` above it is answered 413 before
  a byte of the body is read; a body that grows past it while streaming (chunked, or a
  lying length) stops with 413 there. Slack's own payloads are small, webhooks a few MiB.
- A deadline for the whole body (`BODY_SECONDS`): a client trickling its body gets 408.
- A deadline for the request line and headers (`HEAD_SECONDS`, in `GuardedH11Protocol`):
  a connection that sends nothing, or its headers a byte at a time, is closed; idle
  keep-alive connections close after `KEEP_ALIVE_SECONDS`.
- A client that goes away mid-body is one INFO line, not a traceback.

A reverse proxy in front (see the README's HTTPS section) should enforce the same limits.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any, Callable

import h11
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.web.errors import error_response

log = logging.getLogger(__name__)

KiB, MiB = 1024, 1024 * 1024
SLACK_BODY_BYTES = 1 * MiB  # slash commands, events and interactivity are a few KiB
WEBHOOK_BODY_BYTES = 5 * MiB  # Jira, GitHub and GitLab events with long descriptions
INGEST_BODY_BYTES = 1 * MiB  # heartbeats and the generic ingest API
OTHER_BODY_BYTES = 64 * KiB
BODY_SECONDS = 30.0
HEAD_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
LIMIT_CONCURRENCY = 500  # connections + requests at once; beyond it uvicorn answers 503
_PREFIXES = (("/slack/", SLACK_BODY_BYTES), ("/webhooks/", WEBHOOK_BODY_BYTES), ("/api/", INGEST_BODY_BYTES))


def body_limit(path: str) -> int:
    """The largest body accepted on `path`, in bytes."""
    return next((limit for prefix, limit in _PREFIXES if path.startswith(prefix)), OTHER_BODY_BYTES)


class BodyTooLarge(Exception):
    """The body grew past the path's limit while it was being read."""

    def __init__(self, limit: int):
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit


class BodyTimeout(Exception):
    """The body did not arrive within `BODY_SECONDS`."""


def refusal(status: int, message: str) -> JSONResponse:
    """An error answer that also closes the connection (the rest of the body is not read)."""
    return error_response(status, message, {"Connection": "close"})


class RequestLimits:
    """ASGI middleware: the body limit and body deadline of every HTTP request."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int] = body_limit,
                 body_seconds: float = BODY_SECONDS):
        self.app, self.limit_for, self.body_seconds = app, limit_for, body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = _header(scope, b"content-length")
        if length is not None and not length.isdigit():
            await refusal(400, "Content-Length is not a number")(scope, receive, send)
            return
        if length is not None and int(length) > limit:
            await refusal(413, f"body larger than {limit} bytes")(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_seconds
        received, complete = 0, False

        async def bounded_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except asyncio.TimeoutError:
                raise BodyTimeout() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, bounded_receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1").strip()
    return None


def install(app: FastAPI) -> None:
    """Add the limits and the answers for requests that break them to `app`."""

    async def too_large(_: Request, exc: Exception) -> Response:
        return refusal(413, str(exc))

    async def too_slow(_: Request, __: Exception) -> Response:
        return refusal(408, f"the body did not arrive within {BODY_SECONDS:.0f} seconds")

    async def gone(request: Request, __: Exception) -> Response:
        log.info("client went away before sending the whole body of %s %s", request.method, request.url.path)
        return Response(status_code=400)  # nobody is listening any more

    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(BodyTimeout, too_slow)
    app.add_exception_handler(ClientDisconnect, gone)
    app.add_middleware(RequestLimits, body_seconds=BODY_SECONDS)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's line and headers: uvicorn
    itself waits for them forever, so idle and slow-header sockets would pile up."""

    head_seconds = HEAD_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:  # waiting for the next request on this connection
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_seconds, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "info",
                  access_log: bool = True) -> uvicorn.Config:
    """The uvicorn settings `serve`, the tests and the benchmarks all run with. Logging is the
    process's own (`bot.logs`), so uvicorn's lines are one-line and redacted too."""
    return uvicorn.Config(
        app, host=host, port=port, http=GuardedH11Protocol, log_config=None, log_level=log_level,
        access_log=access_log, timeout_keep_alive=KEEP_ALIVE_SECONDS, limit_concurrency=LIMIT_CONCURRENCY,
        h11_max_incomplete_event_size=16 * KiB, server_header=False,
    )


def raise_open_file_limit(wanted: int = LIMIT_CONCURRENCY + 200) -> int:
    """Lift the soft limit on open files towards the hard one, so the connection limit is
    reached before the process runs out of descriptors; returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < wanted:
        log.warning("only %d open files allowed (ulimit -n): fewer than the %d connections the server admits",
                    soft, LIMIT_CONCURRENCY)
    return soft
