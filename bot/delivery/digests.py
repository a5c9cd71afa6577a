"""Post each digest exactly once: claim the ledger row, post, record; then attach the chart.

Exactly once across restarts, manual runs and overlapping jobs: the (channel, digest, week)
row is claimed in one SQLite transaction before anything reaches Slack, and a posted row is
final. The message carries Slack message metadata naming the digest and week, so when an
earlier attempt may have reached Slack without being recorded (a crash mid-post, a timeout,
a 5xx), the channel's history is read first and the message found there is recorded instead
of posting a second one. 429s are retried by slack_sdk's `RateLimitErrorRetryHandler`
(honouring Retry-After); anything still failing is released and retried at the next tick,
while the digest is due (`period.due_week`).
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

from bot.config import DigestSettings, Settings
from bot.delivery.once import Unsure, find_posted, post_once
from bot.digest.compute import build_digest
from bot.digest.model import Digest, Week
from bot.digest.period import due_week
from bot.metrics.workcal import WorkCalendar
from bot.slack.blocks.digest import digest_blocks, digest_text
from bot.slack.blocks.kit import to_dicts
from bot.store import Store

log = logging.getLogger(__name__)

EVENT_TYPE = "research_bridge_digest"  # Slack message metadata on every digest
LEASE = timedelta(minutes=10)  # a claim older than this was left by a run that died
HISTORY_SLACK = timedelta(minutes=5)  # read the channel from a little before the first claim

POSTED, ALREADY_POSTED, IN_PROGRESS, FAILED = "posted", "already posted", "in progress", "failed"

_HINTS = {
    "not_in_channel": "the bot is not a member of {channel}: invite it with `/invite @Research Bridge`",
    "channel_not_found": "channel {channel} not found: check `[[digest]] channel` (an ID such as C0123ABCD)"
                         " and that the bot can see the channel",
    "is_archived": "channel {channel} is archived: unarchive it or point `[[digest]] channel` elsewhere",
    "missing_scope": "the Slack app lacks a scope this needs: reinstall it from manifest.yml",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid for this workspace",
    "not_authed": "SLACK_BOT_TOKEN is not set",
    "ratelimited": "Slack kept answering 429 (rate limited) after the retries",
}


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did (its `line` is logged and printed by the CLI)."""

    channel: str
    name: str
    week: str
    status: str
    ts: str | None = None
    error: str | None = None
    chart: str | None = None  # "attached", "none", "pending", or why it is missing

    def line(self) -> str:
        label = f"{self.channel}/{self.name} {self.week}"
        if self.status == POSTED:
            return f"{label}: posted (ts {self.ts}); chart {self.chart}"
        if self.status == ALREADY_POSTED:
            extra = f"; chart {self.chart}" if self.chart else ""
            return f"{label}: already posted (ts {self.ts}), not posted again{extra}"
        if self.status == IN_PROGRESS:
            return f"{label}: another run is posting it right now"
        return f"{label}: not posted: {self.error} (retried at the next tick while due)"


def explain(error: str, channel: str) -> str:
    """A Slack error code as a sentence saying what to do."""
    hint = _HINTS.get(error)
    return f"{error}: {hint.format(channel=channel)}" if hint else error


def deliver(store: Store, settings: Settings, digest: DigestSettings, week: Week, client: WebClient,
            now: datetime, *, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Post `digest` for `week` unless the ledger says it is posted (or being posted)."""
    token = uuid.uuid4().hex
    key = (digest.channel, digest.name, week.label)
    claim = store.claim_digest(*key, token, now, LEASE)
    if claim.state == "posted":
        chart = claim.chart
        if chart == "pending":  # the chart failed at post time: try again while due
            chart = _attach_chart(store, client, build_digest(store, settings, digest, week), claim.message_ts)
        return Outcome(*key, ALREADY_POSTED, ts=claim.message_ts, chart=chart)
    if claim.state == "busy":
        return Outcome(*key, IN_PROGRESS)
    since = (claim.first_claimed_at or now) - HISTORY_SLACK
    try:
        content = build_digest(store, settings, digest, week)
        ts = _find_posted(client, digest, week, since) if claim.verify else None
        if ts is None:
            ts = _post(client, digest, week, content, settings, since, sleep)
    except Unsure as exc:
        store.digest_failed(*key, token, str(exc), outcome_known=False)
        log.warning("digest %s/%s %s: %s", *key, exc)
        return Outcome(*key, FAILED, error=str(exc))
    except SlackApiError as exc:
        error = explain(str(exc.response.get("error")), digest.channel)
        store.digest_failed(*key, token, error, outcome_known=True)
        log.error("digest %s/%s %s not posted: %s", *key, error)
        return Outcome(*key, FAILED, error=error)
    except Exception:  # a bug or a database error: release the claim; the next run looks before posting
        store.digest_failed(*key, token, "internal error (see the log)", outcome_known=False)
        raise
    with_chart = content.history is not None
    store.digest_posted(*key, token, ts, now, "pending" if with_chart else "none")
    chart = _attach_chart(store, client, content, ts) if with_chart else "none"
    log.info("digest %s/%s %s posted (ts %s), chart %s", *key, ts, chart)
    return Outcome(*key, POSTED, ts=ts, chart=chart)


def deliver_due(store: Store, settings: Settings, client: WebClient, now: datetime,
                digests: tuple[DigestSettings, ...] | None = None,
                *, sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """Deliver every digest whose latest scheduled time is within its grace at `now`."""
    outcomes = []
    for digest in settings.digests if digests is None else digests:
        due = due_week(digest, now)
        if due is not None:
            outcomes.append(deliver(store, settings, digest, due[1], client, now, sleep=sleep))
    return outcomes


# -- posting -----------------------------------------------------------------------------------


def _metadata(digest: DigestSettings, week: Week) -> dict:
    """What marks the message as this digest's, for `_find_posted`."""
    return {"event_type": EVENT_TYPE,
            "event_payload": {"channel": digest.channel, "digest": digest.name, "week": week.label}}


def _post(client: WebClient, digest: DigestSettings, week: Week, content: Digest, settings: Settings,
          since: datetime, sleep: Callable[[float], None]) -> str:
    """Post the digest once (see `bot.delivery.once`)."""
    calendar = WorkCalendar.from_settings(settings)
    blocks = to_dicts(digest_blocks(content, calendar, settings.jira.handoff_sla_workdays))
    return post_once(client, digest.channel, text=digest_text(content, calendar), blocks=blocks,
                     metadata=_metadata(digest, week), since=since,
                     label=f"digest {digest.channel}/{digest.name} {week.label}",
                     explain=lambda error: explain(error, digest.channel), sleep=sleep)


def _find_posted(client: WebClient, digest: DigestSettings, week: Week, since: datetime) -> str | None:
    """The ts of this digest's message in the channel since `since`, if Slack has it."""
    return find_posted(client, digest.channel, _metadata(digest, week), since,
                       explain=lambda error: explain(error, digest.channel))


# -- chart -------------------------------------------------------------------------------------


def _attach_chart(store: Store, client: WebClient, content: Digest, ts: str | None) -> str:
    """Upload the chart into the digest's thread; record and return what happened."""
    from bot.slack.blocks.charts import digest_chart

    key = (content.channel, content.name, content.week.label)
    png = digest_chart(content)
    if png is None:
        store.digest_chart(*key, "none")
        return "none (no data to draw)"
    try:
        client.files_upload_v2(channel=content.channel, thread_ts=ts, file=png,
                               filename=f"research-bridge-{content.week.label}.png",
                               title=f"Research Bridge trends, 8 weeks to {content.week.label}")
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        if error == "not_in_channel":
            store.digest_chart(*key, "failed", error)
            _say_not_in_channel(client, content.channel, ts)
            log.error("digest %s/%s %s: chart not attached: %s", *key, explain(error, content.channel))
            return "not attached: " + explain(error, content.channel)
        store.digest_chart(*key, "pending", error)
        log.warning("digest %s/%s %s: chart upload failed (%s), retried at the next tick", *key, error)
        return f"pending ({error}; retried at the next tick)"
    except (SlackClientError, OSError) as exc:
        store.digest_chart(*key, "pending", type(exc).__name__)
        return f"pending ({type(exc).__name__}; retried at the next tick)"
    store.digest_chart(*key, "posted")
    return "attached"


def _say_not_in_channel(client: WebClient, channel: str, ts: str | None) -> None:
    """Tell the channel, in the digest's thread, why the chart is missing and how to fix it."""
    try:
        client.chat_postMessage(channel=channel, thread_ts=ts,
                                text="I could not attach this week's trends chart: I am not a member of this"
                                     " channel. Invite me with `/invite @Research Bridge` and next week's"
                                     " digest will have it.")
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not explain the missing chart in %s: %s", channel, exc)
