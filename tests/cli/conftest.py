"""The CLI tests run each command in an empty folder with none of the bot's variables set."""

from __future__ import annotations

from pathlib import Path

import pytest

ENV_NAMES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "SLACK_APP_TOKEN", "JIRA_URL", "JIRA_EMAIL",
             "JIRA_API_TOKEN", "JIRA_PAT", "BRIDGE_CONFIG", "BRIDGE_DB", "AIRFLOW_TOKEN")


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """An empty folder as the working directory and an environment with nothing set."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path
