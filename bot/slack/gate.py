"""The gate in front of Bolt for `POST /slack/events`.

Bolt parses a request before it verifies it, and hands its own failures, with the unverified
body, to the error handler (which could then post to an attacker's `response_url`). So a
request is verified here first, on its raw bytes: the `X-Slack-Request-Timestamp` must be
Unix seconds within five minutes and `X-Slack-Signature` the `v0=` HMAC-SHA256 of
`v0:{timestamp}:{body}` with the signing secret, else 401. A verified body is then parsed
here (UTF-8; JSON for the Events API, a form for slash commands, a form with one JSON
`payload` for interactivity) into an object, else 400, and any `response_url` in it must be
a Slack URL, else 400. Bolt's own verification is then redundant and switched off in
`bot.slack.app`. Where Bolt's parser reads the body differently (it takes any form whose
text merely contains the word "payload", such as `/pipelines payload-export`, for an
interactive payload, and finds none), the request carries what was parsed here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Mapping, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
MAX_CLOCK_SKEW = 300  # Slack's replay window: five minutes
SLACK_RESPONSE_HOSTS = ("hooks.slack.com",)


class Refused(NamedTuple):
    status: int
    error: str


def signature_problem(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> str | None:
    """Why the request is not signed by Slack with `secret`, or None when it is."""
    timestamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "X-Slack-Request-Timestamp is not Unix seconds"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_CLOCK_SKEW:
        return "X-Slack-Request-Timestamp is more than five minutes off (a replay, or a wrong clock)"
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        return "invalid X-Slack-Signature"
    return None


def response_hosts(slack_api_url: str | None) -> tuple[str, ...]:
    """Hosts a `response_url` may point at: Slack's, and SLACK_API_URL's (a test double)."""
    extra = urlsplit(slack_api_url).netloc.lower() if slack_api_url else ""
    return SLACK_RESPONSE_HOSTS + ((extra,) if extra else ())


def is_slack_url(url: str, hosts: tuple[str, ...]) -> bool:
    """True for an http(s) URL on one of `hosts` (https only for Slack's own)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = parts.netloc.lower()
    if host in SLACK_RESPONSE_HOSTS:
        return parts.scheme == "https"
    return host in hosts and parts.scheme in ("http", "https")


def slack_payload(text: str, content_type: str | None) -> dict[str, Any] | None:
    """What Slack sent, as an object, or None when it is not one."""
    try:
        if content_type == "application/json" or text.lstrip().startswith("{"):
            value: Any = json.loads(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            value = json.loads(form["payload"]) if "payload" in form else form
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def parse(body: bytes, headers: Mapping[str, str], query: str, hosts: tuple[str, ...]) -> BoltRequest | Refused:
    """The BoltRequest for a verified request (`signature_problem` said None), or why its
    body is refused."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(400, "body is not UTF-8")
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower() or None
    payload = slack_payload(text, content_type)
    if payload is None:
        return Refused(400, "body is not a Slack payload (a form, a JSON object, or payload= with one)")
    try:
        request = BoltRequest(body=text, query=query, headers=dict(headers))
        if request.body != payload:
            request.body = payload
            request.context = build_context(BoltContext({}), payload)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError):
        return Refused(400, "body is not a Slack payload: a field has the wrong type")
    url = request.context.response_url
    if url is not None and not (isinstance(url, str) and is_slack_url(url, hosts)):
        return Refused(400, "response_url is not a Slack URL")
    return request
