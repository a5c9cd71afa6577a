"""What the heartbeat tests share: an ingest app on a fresh store, a key of Ada's, and
heartbeats as WakaTime clients serialise and post them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.ingest.keys import issue_key
from bot.models import Heartbeat
from bot.store import Store

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
T = NOW.timestamp()
ADA = "U0ADA0001"
BOB = "U0BOB0002"
BULK = "/api/v1/users/current/heartbeats.bulk"
SINGLE = "/api/v1/users/current/heartbeats"
UA = "wakatime/13.1.0 (Linux-6.1-x86_64) Python3.9.18.final.0 vscode/1.85.0 vscode-wakatime/24.0.0"


def make_settings():
    return settings_from_mapping({"timezone": "UTC", "streams": {"research": ["research-*"]}}, {})


@pytest.fixture
def client(store) -> TestClient:
    return TestClient(create_web_app(make_settings(), store, clock=lambda: NOW))


@pytest.fixture
def key(store) -> str:
    return issue_key(store, ADA, NOW)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(key.encode()).decode()


def beat(t: float, entity: str = "/home/ada/research-x/model.py", **extra) -> dict:
    """A heartbeat as the legacy client and wakatime-cli serialise it (extra fields included)."""
    return {"entity": entity, "type": "file", "category": "coding", "time": t, "project": "research-x",
            "branch": "main", "language": "Python", "is_write": False, "dependencies": ["torch"],
            "lines": 120, "lineno": 14, "cursorpos": 3, "user_agent": UA, **extra}


def post(client: TestClient, body, key: str | None, path: str = BULK, *, auth: str = "basic", headers=None):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": UA,
         "X-Machine-Name": "ada-laptop", **(headers or {})}
    params = {}
    if key is not None:
        if auth == "basic":
            h["Authorization"] = basic(key)
        elif auth == "query":
            params["api_key"] = key
    return client.post(path, content=content, headers=h, params=params)


def stored(store: Store, user: str = ADA) -> list[Heartbeat]:
    return store.heartbeats_between(user, 0, 1e12)


def day_row(store: Store, day: date, user: str = ADA):
    rows = store.focus_days(day, day, [user])
    return rows[0] if rows else None
