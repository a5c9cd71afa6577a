"""The digest tests' seeded org, built once per module."""

from __future__ import annotations

import pytest

from bot.store import Store
from tests.support.digests import seed_org


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Store:
    """The org of `tests.support.digests.seed_org`, in a store of the module's own."""
    return seed_org(Store(tmp_path_factory.mktemp("org") / "bridge.db"))
