"""The one JSON error shape every endpoint answers with, and the handlers that produce it.

An error is `{"ok": false, "error": "<what is wrong>"}` (plus any fields the endpoint adds,
such as a heartbeat post's per-item `reasons`). Endpoints raise `RequestError`; a database
too busy to write (`sqlite3.OperationalError`, e.g. locked) becomes a 503 with
`Retry-After`, so senders keep their data and send it again; FastAPI's own 404/405/422
answers take the same shape. Nothing of the request body reaches a log line.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 5  # what a 503 for a busy database asks the sender to wait
BUSY_MESSAGE = "temporarily unable to store; retry later"


class RequestError(Exception):
    """A request refused with `status` and a message naming the problem."""

    status = 400

    def __init__(self, message: str, status: int | None = None, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.headers = headers
        self.extra = extra


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    """The JSON error answer: `{"ok": false, "error": message, **extra}`."""
    return JSONResponse({"ok": False, "error": message, **extra}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every refusal, busy database and framework error of `app` in the one shape."""

    async def refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return error_response(exc.status, str(exc), exc.headers, **exc.extra)

    async def busy(request: Request, exc: Exception) -> Response:
        log.error("%s %s not stored, the database is busy: %s", request.method, request.url.path, exc)
        return error_response(503, BUSY_MESSAGE, {"Retry-After": str(BUSY_RETRY_SECONDS)})

    async def framework(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    async def invalid(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "; ".join(_problem(e) for e in exc.errors()[:10]) or "invalid request")

    app.add_exception_handler(RequestError, refused)
    app.add_exception_handler(sqlite3.OperationalError, busy)
    app.add_exception_handler(HTTPException, framework)
    app.add_exception_handler(RequestValidationError, invalid)


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
