"""Posting a message once: chat.postMessage with message metadata that names what it is, and,
when an earlier attempt may have reached Slack (a 5xx, a timeout, a crash mid-post), a look
in the channel's history for that metadata before posting again.

Used with a ledger claim (`Store.claim_digest`; `Store.claim_post` in `post_recorded`): the
claim stops two runs posting at once; this stops one run posting twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.store import Store

log = logging.getLogger(__name__)

POST_ATTEMPTS = 3
BACKOFF_SECONDS = (2.0, 8.0)  # before the 2nd and 3rd attempt after a 5xx or timeout
LEASE = timedelta(minutes=5)  # a ledger claim older than this was left by a run that died
HISTORY_SLACK = timedelta(minutes=5)  # read the channel from a little before the first claim


class Unsure(Exception):
    """Slack may or may not have posted: a 5xx, a timeout, a dropped connection."""


def post_once(client: WebClient, channel: str, *, text: str, blocks: list[dict], metadata: dict,
              since: datetime, label: str, thread_ts: str | None = None,
              explain: Callable[[str], str] = str, sleep: Callable[[float], None] = time.sleep) -> str:
    """chat.postMessage with `metadata`; after an unsure failure, look in the channel (since
    `since`) before trying again. Returns the message ts. Raises SlackApiError (Slack said
    no: nothing was posted) or Unsure."""
    problem = ""
    for attempt in range(POST_ATTEMPTS):
        if attempt:
            sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
            found = find_posted(client, channel, metadata, since, thread_ts=thread_ts, explain=explain)
            if found:
                return found
        try:
            response = client.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata,
                                               thread_ts=thread_ts, unfurl_links=False, unfurl_media=False)
            return str(response["ts"])
        except SlackApiError as exc:
            if exc.response.status_code < 500:
                raise
            problem = f"Slack answered HTTP {exc.response.status_code}"
        except (SlackClientError, OSError) as exc:  # timeouts, refused or dropped connections
            problem = f"Slack could not be reached ({type(exc).__name__})"
        log.warning("%s: attempt %d: %s", label, attempt + 1, problem)
    raise Unsure(f"{problem} on {POST_ATTEMPTS} attempts; the next run checks the channel before posting")


def find_posted(client: WebClient, channel: str, metadata: dict, since: datetime, *, thread_ts: str | None = None,
                explain: Callable[[str], str] = str) -> str | None:
    """The ts of the message carrying `metadata` in `channel` (or in the thread of
    `thread_ts`) since `since`, if Slack has it. Raises Unsure when the channel cannot be read
    (then nobody can tell, so nobody posts)."""
    cursor = None
    oldest = f"{since.timestamp():.6f}"
    try:
        while True:
            if thread_ts:
                page = client.conversations_replies(channel=channel, ts=thread_ts, oldest=oldest,
                                                    include_all_metadata=True, limit=200, cursor=cursor)
            else:
                page = client.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True,
                                                    limit=200, cursor=cursor)
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                if (meta.get("event_type") == metadata["event_type"]
                        and meta.get("event_payload") == metadata["event_payload"]):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
    except SlackApiError as exc:
        error = explain(str(exc.response.get("error")))
        raise Unsure(f"could not check the channel for an earlier post ({error})") from None
    except (SlackClientError, OSError) as exc:
        raise Unsure(f"could not check the channel for an earlier post ({type(exc).__name__})") from None


@dataclass(frozen=True)
class Delivered:
    """What `post_recorded` did: "posted", "already" (posted before), "busy" (another run is
    posting it) or "failed" (`error` says why; retried next run)."""

    status: str
    ts: str | None = None
    error: str | None = None


def post_recorded(store: Store, client: WebClient, kind: str, key: str, channel: str, *, text: str,
                  blocks: list[dict], metadata: dict, now: datetime, label: str, thread_ts: str | None = None,
                  fingerprint: str | None = None, final: bool = False, lease: timedelta = LEASE,
                  sleep: Callable[[float], None] = time.sleep) -> Delivered:
    """Post (kind, key) once ever: claim its row of the post ledger, look in the channel when
    an earlier attempt may have reached Slack, post, record the ts."""
    token = uuid.uuid4().hex
    claim = store.claim_post(kind, key, channel, token, now, lease)
    if claim.state == "posted":
        return Delivered("already", ts=claim.message_ts)
    if claim.state == "busy":
        return Delivered("busy")
    since = (claim.first_claimed_at or now) - HISTORY_SLACK
    try:
        ts = find_posted(client, channel, metadata, since, thread_ts=thread_ts) if claim.verify else None
        if ts is None:
            ts = post_once(client, channel, text=text, blocks=blocks, metadata=metadata, since=since, label=label,
                           thread_ts=thread_ts, sleep=sleep)
    except Unsure as exc:
        store.post_failed(kind, key, token, str(exc), outcome_known=False)
        log.warning("%s: %s", label, exc)
        return Delivered("failed", error=str(exc))
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        store.post_failed(kind, key, token, error, outcome_known=True)
        log.error("%s not posted: %s", label, error)
        return Delivered("failed", error=error)
    except Exception:
        store.post_failed(kind, key, token, "internal error (see the log)", outcome_known=False)
        raise
    store.post_done(kind, key, token, ts, now, fingerprint, final=final)
    log.info("%s posted (ts %s)", label, ts)
    return Delivered("posted", ts=ts)
