"""Fixtures any test may use: a fresh store, and a clean call log on the module's fake Slack."""

from __future__ import annotations

import pytest

from bot.store import Store
from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def store(tmp_path) -> Store:
    """A migrated store in a fresh SQLite file of the test's own."""
    return Store(tmp_path / "bridge.db")


@pytest.fixture(autouse=True)
def _fresh_slack_calls(request: pytest.FixtureRequest) -> None:
    """A module's `fake` Slack is shared by its tests (module scope, for speed); each test
    starts with its call log empty, so what it asserts was sent is what it caused."""
    if "fake" in request.fixturenames:
        fake = request.getfixturevalue("fake")
        if isinstance(fake, FakeSlack):
            fake.reset()
