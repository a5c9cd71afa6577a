"""The real app (FastAPI + Bolt) served on loopback against a fake Slack, with its clock in
the test's hands, and the round trip every Slack test makes: a signed slash command, acked at
once and answered privately through its response_url."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

import httpx

from bot.app import create_slack_app, create_web_app
from bot.config import Settings, settings_from_mapping
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.live import serve

MAX_BLOCKS = 50  # Slack refuses a message with more
MAX_TEXT = 3000  # characters in one section's text


def slack_env(fake: FakeSlack, token: str, secret: str, **env: str) -> dict[str, str]:
    """The environment of an app that talks to `fake` with `token` and `secret` (plus `env`)."""
    return {"SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": fake.api_url, **env}


def slack_settings(fake: FakeSlack, token: str, secret: str, config: dict, **env: str) -> Settings:
    """Settings from `config` in the environment of `slack_env`."""
    return settings_from_mapping(config, slack_env(fake, token, secret, **env))


@dataclass
class Bridge:
    """A running app: its URL, the fake Slack it talks to, its store and settings, and its clock."""

    url: str
    fake: FakeSlack
    store: Store
    settings: Settings
    now: list[datetime]  # the server's clock reads now[0]

    @contextmanager
    def at(self, when: datetime) -> Iterator[None]:
        """Run with the server's clock at `when`, then put it back."""
        before, self.now[0] = self.now[0], when
        try:
            yield
        finally:
            self.now[0] = before

    def post(self, body: str, *, secret: str | None = None, **kwargs) -> httpx.Response:
        """POST `body` to /slack/events, signed with the app's secret unless `secret` is given
        (see `slack_requests.signed_headers` for `age`, `signature` and `content_type`)."""
        return slack_requests.signed_post(self.url, body, secret or self.settings.slack_signing_secret, **kwargs)

    def click(self, action_id: str, user: str, value: str, **kwargs) -> dict:
        """Click a button as `user` (see `slack_requests.block_actions` for kwargs); check it
        was acked at once; return what the app posted to the click's response_url."""
        response_url = self.fake.response_url()
        started = time.monotonic()
        resp = self.post(slack_requests.block_actions(action_id, user, value, response_url, **kwargs))
        assert resp.status_code == 200, resp.text
        assert time.monotonic() - started < 1.5  # acked at once; the work follows
        return self.fake.response_to(response_url).body

    def ask(self, command: str, text: str, user: str) -> dict:
        """Send `command text` as `user`; check it was acked at once and answered privately
        within Slack's limits; return the answer posted to the response_url."""
        body, response_url = slack_requests.slash_body(self.fake, command, text, user)
        started = time.monotonic()
        resp = self.post(body)
        assert resp.status_code == 200, resp.text
        assert time.monotonic() - started < 1.5  # acked at once; the answer follows via response_url
        posted = self.fake.response_to(response_url).body
        assert posted["response_type"] == "ephemeral" and posted["text"]
        assert len(posted["blocks"]) <= MAX_BLOCKS
        return posted


@contextmanager
def running_bridge(settings: Settings, store: Store, fake: FakeSlack, now: datetime) -> Iterator[Bridge]:
    """Serve the app built from `settings` and `store`, its clock starting at `now`."""
    clock_value = [now]
    clock = lambda: clock_value[0]  # noqa: E731
    web = create_web_app(settings, store, slack_app=create_slack_app(settings, store, clock=clock), clock=clock)
    with serve(web) as url:
        yield Bridge(url, fake, store, settings, clock_value)


def texts(blocks: list[dict]) -> list[str]:
    """The text of each block and of each of its elements (a button's label included), in order."""
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text", "")
            out.append(text["text"] if isinstance(text, dict) else text)
    return out


def joined(blocks: list[dict]) -> str:
    """All the text of `blocks`, one line per block or element."""
    return "\n".join(texts(blocks))


def posted_card(fake: FakeSlack, channel: str, count: int = 1, timeout: float = 5) -> str:
    """The ts of the `count`-th message the app posted to `channel` (waiting for it to be stored)."""
    deadline = time.monotonic() + timeout
    while len(fake.messages(channel)) < count:
        assert time.monotonic() < deadline, f"no message {count} in {channel} within {timeout} s"
        time.sleep(0.01)
    return fake.messages(channel)[count - 1]["ts"]
