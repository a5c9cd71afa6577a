"""The Jira client: a `jira.JIRA` on the retrying transport of `bot.sources.http`, with
server info loaded, and errors described without secrets."""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence
from urllib.parse import urlsplit

from jira import JIRA, JIRAError

from bot.config import Settings
from bot.sources.http import RetryingAdapter, Sleep, SyncError, describe_transport_error, mask

log = logging.getLogger(__name__)

ISSUE_FIELDS = ("summary", "status", "labels", "issuetype", "project", "created", "updated", "reporter", "assignee",
                "resolutiondate", "components", "parent")
# The schema of Jira Software's Epic Link custom field (its id, `customfield_NNNNN`, differs per site).
EPIC_LINK_SCHEMA = "com.pyxis.greenhopper.jira:gh-epic-link"
# The search POSTs read, so they are safe to resend.
REPLAYABLE_POSTS = ("/search", "/search/jql", "/search/approximate-count")


class JiraSyncError(SyncError):
    """Connecting to or syncing Jira failed; the message is safe to show and log."""


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
    else:
        text = describe_transport_error(exc, "Jira") or f"{type(exc).__name__}: {exc}"[:500]
    return mask(text, secrets)


def epic_link_field(fields: Any) -> str:
    """The id of the Epic Link field in a `GET /rest/api/2/field` answer; "" when there is
    none (no Jira Software). ValueError when the answer is not a list of fields."""
    if not isinstance(fields, list):
        raise ValueError("GET /field did not answer a list of fields")
    for field in fields:
        schema = field.get("schema") if isinstance(field, dict) else None
        if isinstance(schema, dict) and schema.get("custom") == EPIC_LINK_SCHEMA and isinstance(field.get("id"), str):
            return str(field["id"])
    return ""


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
    adapter = RetryingAdapter("Jira", replayable_posts=REPLAYABLE_POSTS, sleep=sleep, retries=retries, timeout=timeout)
    try:
        client = JIRA(cfg.url, get_server_info=False, max_retries=0, timeout=timeout, **auth)
        adapter.mount_on(client._session)
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
    # GET /field (one extra call per client, a large answer on real sites). The Data Center
    # sync asks for the field list itself, once a run, for the Epic Link id.
    client._fields_cache_value = {f: f for f in ISSUE_FIELDS}
    return client
