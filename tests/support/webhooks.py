"""Webhook deliveries as Jira, GitHub and the ingest clients sign them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import httpx


def hub_signature(body: bytes, secret: str) -> str:
    """`X-Hub-Signature` (Jira) / `X-Hub-Signature-256` (GitHub): sha256=HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_jira(url: str, payload: dict, secret: str, delivery: str | None = None) -> httpx.Response:
    """POST a Jira webhook delivery, signed, to the app at `url`."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature": hub_signature(body, secret),
               "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4())}
    return httpx.post(url + "/webhooks/jira", content=body, headers=headers, timeout=10)
