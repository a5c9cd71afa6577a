"""What the pull sources (Jira, Airflow) share: one retrying HTTP transport, one error base,
one way to mask secrets in a message, and the bookkeeping around a sync run.

`RetryingAdapter` is mounted on a `requests.Session` (the `jira` library's own, or ours for
Airflow); the library's retry stays off. It sleeps exactly `Retry-After` on 429/503
(bounded), backs off on other 5xx and dropped connections for requests that are safe to
repeat, and puts a timeout on every request. A new pull source builds on the same parts.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from bot.clock import Clock
from bot.logs import MIN_SECRET_LENGTH
from bot.store import Store

log = logging.getLogger(__name__)

UTC = timezone.utc
Sleep = Callable[[float], None]
Result = TypeVar("Result")
REPLAYABLE_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
RETRIED_STATUSES = (429, 500, 502, 503, 504)
RETRY_AFTER_STATUSES = (429, 503)  # asked to wait: safe to resend, the request was not processed


class SyncError(RuntimeError):
    """A pull from an outside service failed; the message is safe to show and log."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class RetryingAdapter(HTTPAdapter):
    """requests transport with bounded retries; counts every request it sends.

    429 and 503 are retried after exactly `Retry-After` seconds (or back-off without one);
    500/502/504 and dropped connections with exponential back-off, only for requests that
    are safe to replay (reads, and POSTs to a path ending in one of `replayable_posts`).
    A `Retry-After` longer than `max_retry_after` is not waited for: the error goes up and
    the next run tries again. `service` names the upstream in log lines.
    """

    def __init__(self, service: str, *, replayable_posts: tuple[str, ...] = (), sleep: Sleep = time.sleep,
                 retries: int = 5, backoff: float = 1.0, max_backoff: float = 30.0, max_retry_after: float = 600.0,
                 timeout: float | tuple[float, float] = (10.0, 60.0)) -> None:
        super().__init__()
        self.service, self.replayable_posts = service, replayable_posts
        self.sleep, self.retries, self.backoff, self.max_backoff = sleep, retries, backoff, max_backoff
        self.max_retry_after, self.timeout = max_retry_after, timeout
        self.requests_sent = 0

    def mount_on(self, session: requests.Session) -> None:
        """Send every request of `session` through this adapter."""
        session.mount("https://", self)
        session.mount("http://", self)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        path = urlsplit(request.url or "").path
        replayable = request.method in REPLAYABLE_METHODS or (
            request.method == "POST" and bool(self.replayable_posts) and path.endswith(self.replayable_posts))
        attempt = 0
        while True:
            self.requests_sent += 1
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not replayable or attempt >= self.retries or isinstance(exc, requests.exceptions.SSLError):
                    raise
                delay, why = self._backoff(attempt), type(exc).__name__
            else:
                wait = self._delay(response, attempt, replayable)
                if wait is None or attempt >= self.retries:
                    return response
                delay, why = wait, f"HTTP {response.status_code}"
                response.close()
            attempt += 1
            log.warning("%s %s %s: %s; retry %d/%d in %.1fs", self.service, request.method, path, why, attempt,
                        self.retries, delay)
            self.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2**attempt)

    def _delay(self, response: requests.Response, attempt: int, replayable: bool) -> float | None:
        status = response.status_code
        if status not in RETRIED_STATUSES or (status not in RETRY_AFTER_STATUSES and not replayable):
            return None
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is None:
            return self._backoff(attempt)
        if asked > self.max_retry_after:
            log.warning("%s asked to retry after %.0fs (limit %.0fs): giving up this run", self.service, asked,
                        self.max_retry_after)
            return None
        return asked


def requests_sent(session: requests.Session, url: str) -> int | None:
    """How many requests the retrying adapter serving `url` has sent (None without one)."""
    adapter = session.get_adapter(url)
    return adapter.requests_sent if isinstance(adapter, RetryingAdapter) else None


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every configured secret replaced by ***. Secrets shorter than
    `MIN_SECRET_LENGTH` are left: a one-letter "secret" would blank out words."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return text


def describe_transport_error(exc: BaseException, service: str, where: str = "") -> str | None:
    """The one-line text for a timeout or connection failure; None for other errors."""
    if isinstance(exc, requests.Timeout):
        return f"{service} did not answer in time ({type(exc).__name__})"
    if isinstance(exc, requests.RequestException):
        return f"cannot reach {service}{f' at {where}' if where else ''} ({type(exc).__name__})"
    return None


def recorded_run(store: Store, source: str, clock: Clock, run: Callable[[], Result],
                 describe: Callable[[BaseException], str], error: type[SyncError],
                 expected: tuple[type[BaseException], ...] = ()) -> Result:
    """`run()` with its attempt, and any failure, recorded in `sync_state`. A failure is logged
    and raised as `error` with the secret-free `describe(exc)`; an unexpected one (not a
    `SyncError`, a requests error or one of `expected`) is logged with its traceback."""
    store.record_sync_attempt(source, clock())
    try:
        return run()
    except Exception as exc:
        message = describe(exc)
        known = isinstance(exc, (SyncError, requests.RequestException, *expected))
        log.error("%s sync failed: %s", source.capitalize(), message, exc_info=not known)
        try:
            store.record_sync_failure(source, clock(), message)
        except Exception:  # the store being unwritable must not hide the sync error
            log.exception("could not record the %s sync failure", source)
        raise error(message) from None
