"""Jira's HTTP layer: a `jira.JIRA` client that honours Retry-After exactly.

The library's own retry is off; `RetryingAdapter`, mounted on the client's session, sleeps
exactly `Retry-After` on 429/503 (bounded), backs off on other 5xx and dropped connections
for requests that are safe to repeat, and puts a timeout on every request. Errors are
described without secrets.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

import requests
from jira import JIRA, JIRAError
from requests.adapters import HTTPAdapter

from bot.config import Settings
from bot.logs import MIN_SECRET_LENGTH

log = logging.getLogger(__name__)

UTC = timezone.utc
ISSUE_FIELDS = ("summary", "status", "labels", "issuetype", "project", "created", "updated", "reporter", "assignee",
                "resolutiondate", "components")

Sleep = Callable[[float], None]


class JiraSyncError(RuntimeError):
    """Connecting to or syncing Jira failed; the message is safe to show and log."""


# -- HTTP --------------------------------------------------------------------------------------


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
    are safe to replay (reads and the search POSTs). A `Retry-After` longer than
    `max_retry_after` is not waited for: the error goes up and the next run tries again.
    """

    _REPLAYABLE_POSTS: tuple[str, ...] = ("/search", "/search/jql", "/search/approximate-count")
    service = "Jira"  # the upstream named in log lines (subclasses for other services change both)

    def __init__(self, *, sleep: Sleep = time.sleep, retries: int = 5, backoff: float = 1.0,
                 max_backoff: float = 30.0, max_retry_after: float = 600.0,
                 timeout: float | tuple[float, float] = (10.0, 60.0)) -> None:
        super().__init__()
        self.sleep, self.retries, self.backoff, self.max_backoff = sleep, retries, backoff, max_backoff
        self.max_retry_after, self.timeout = max_retry_after, timeout
        self.requests_sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        path = urlsplit(request.url or "").path
        replayable = request.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE") or (
            request.method == "POST" and path.endswith(self._REPLAYABLE_POSTS))
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
                delay = self._delay(response, attempt, replayable)
                if delay is None or attempt >= self.retries:
                    return response
                why = f"HTTP {response.status_code}"
                response.close()
            attempt += 1
            log.warning("%s %s %s: %s; retry %d/%d in %.1fs", self.service, request.method, path, why, attempt,
                        self.retries, delay)
            self.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2**attempt)

    def _delay(self, response: requests.Response, attempt: int, replayable: bool) -> float | None:
        status = response.status_code
        if status not in (429, 500, 502, 503, 504) or (status not in (429, 503) and not replayable):
            return None
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is None:
            return self._backoff(attempt)
        if asked > self.max_retry_after:
            log.warning("%s asked to retry after %.0fs (limit %.0fs): giving up this run", self.service, asked,
                        self.max_retry_after)
            return None
        return asked


def secrets_of(settings: Settings) -> list[str]:
    j = settings.jira
    return [s for s in (j.api_token, j.pat, j.webhook_secret) if s]


def describe_error(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """A short, secret-free description of a failed Jira call."""
    if isinstance(exc, JiraSyncError):
        text = str(exc)
    elif isinstance(exc, JIRAError):
        path = urlsplit(exc.url or "").path or "Jira"
        detail = (exc.text or "").strip().replace("\n", " ")[:300]
        if exc.status_code in (401, 403):
            text = f"Jira refused the credentials (HTTP {exc.status_code} on {path}); check JIRA_EMAIL/JIRA_API_TOKEN or JIRA_PAT"
        else:
            text = f"Jira answered HTTP {exc.status_code} on {path}" + (f": {detail}" if detail else "")
    elif isinstance(exc, requests.Timeout):
        text = f"Jira did not answer in time ({type(exc).__name__})"
    elif isinstance(exc, requests.RequestException):
        text = f"cannot reach Jira ({type(exc).__name__})"
    else:
        text = f"{type(exc).__name__}: {exc}"[:500]
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH:  # a one-letter "secret" would blank out words
            text = text.replace(secret, "***")
    return text


def connect(settings: Settings, *, sleep: Sleep = time.sleep, retries: int = 5,
            timeout: float | tuple[float, float] = (10.0, 60.0)) -> JIRA:
    """A `jira.JIRA` client for JIRA_URL, with the retrying HTTP layer and server info loaded.

    Server info is fetched after the retrying layer is mounted (the library's own
    `get_server_info=True` would fetch it before), then set exactly as the library does,
    so `client._is_cloud` is right. Raises `JiraSyncError` with a clean message.
    """
    cfg = settings.jira
    if not cfg.url:
        raise JiraSyncError("JIRA_URL is not set")
    if cfg.email and cfg.api_token:
        auth: dict[str, Any] = {"basic_auth": (cfg.email, cfg.api_token)}
    elif cfg.pat:
        auth = {"token_auth": cfg.pat}
    else:
        raise JiraSyncError("set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Data Center)")
    adapter = RetryingAdapter(sleep=sleep, retries=retries, timeout=timeout)
    try:
        client = JIRA(cfg.url, get_server_info=False, max_retries=0, timeout=timeout, **auth)
        client._session.mount("https://", adapter)
        client._session.mount("http://", adapter)
        info = client.server_info()
        client._version = tuple(info["versionNumbers"])
        client.deploymentType = info.get("deploymentType")
        if client._is_cloud:
            # Jira Cloud's current REST API: /rest/api/3/search/jql, /rest/api/3/issue/{key}/changelog.
            # (Data Center only has version 2.)
            client._options["rest_api_version"] = "3"
    except Exception as exc:  # the library raises JIRAError, requests errors, KeyError...
        raise JiraSyncError(describe_error(exc, secrets_of(settings))) from None
    # We only request field ids, which need no name translation: skip the library's lazy
    # GET /field (one extra call per client, a large answer on real sites).
    client._fields_cache_value = {f: f for f in ISSUE_FIELDS}
    return client
