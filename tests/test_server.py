"""`research-bridge serve` as wired: scheduler, Jira sync, Slack, /healthz, `config check`.

The real server (build_server) runs in uvicorn with its lifespan, against the fake Jira and
the fake Slack over HTTP.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner

from bot.app import build_server
from bot.cli import cli
from bot.config import settings_from_mapping
from bot.jobs import Services, run_job
from bot.store import Store
from tests.fakes.fake_jira import ALICE, FakeJira
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.live import serve

TOKEN, SECRET = "xoxb-test-token", "signing-secret-for-tests"
CREATED = datetime.now(UTC) - timedelta(days=3)


@pytest.fixture
def jira():
    with FakeJira("Cloud") as fake:
        issue = fake.add_issue("RES-7", CREATED, summary="Distil the ranking model", labels=["ml"])
        issue.add_label(CREATED + timedelta(hours=1), "research-handoff")
        yield fake


@pytest.fixture
def slack():
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ALICE", "alice", real_name="Alice Researcher", email=ALICE.email)
        yield fake


def environ(jira: FakeJira, slack: FakeSlack, db) -> dict[str, str]:
    return {**jira.env(), "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url, "BRIDGE_DB": str(db)}


def wait_until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def slash(url: str, slack: FakeSlack, text: str = "") -> str:
    """Send a signed /handoffs as U0ALICE; return the response_url it was given."""
    body, response_url = slack_requests.slash_body(slack, "/handoffs", text, "U0ALICE")
    assert slack_requests.signed_post(url, body, SECRET).status_code == 200
    return response_url


def test_serve_syncs_at_start_and_answers_handoffs(jira, slack, tmp_path):
    settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, environ(jira, slack, tmp_path / "b.db"))
    store = Store(settings.db_path)
    with serve(build_server(settings, store).web) as url:
        health = wait_until(lambda: (h := httpx.get(url + "/healthz").json())["sources"].get("jira", {})
                            .get("last_success_at") and h)
        assert health["status"] == "ok" and health["sources"]["jira"]["last_error"] is None
        post = slack.response_to(slash(url, slack))
        text = str(post.body)
        assert "RES-7" in text and "Distil the ranking model" in text
    # The scheduler stopped with the server; linking Jira users to Slack is a job like the sync.
    assert "linked 1 Jira users" in run_job("link-users", Services(settings, store))
    assert store.user_links() == {ALICE.email: "U0ALICE"}


def test_serve_sends_a_digest_missed_while_it_was_down_once(jira, slack, tmp_path):
    """Started on Monday 11:00, two hours after the digest's time: the scheduler's start-up run
    of the `digests` job posts last week's digest; a restart does not post it again."""
    config = {"jira": {"jql": "project = RES"}, "digest": [{"channel": "C0LEADS", "schedule": "mon 09:00"}]}
    settings = settings_from_mapping(config, environ(jira, slack, tmp_path / "b.db"))
    monday = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    for _ in range(2):  # start, stop, start again
        server = build_server(settings, Store(settings.db_path), clock=lambda: monday)
        assert {"digest:C0LEADS", "digests"} <= {j.id for j in server.scheduler.get_jobs()}
        with serve(server.web) as url:
            health = wait_until(lambda: (h := httpx.get(url + "/healthz").json())["digests"]["digest:C0LEADS"]
                                ["status"] == "posted" and h)
            assert health["digests"]["digest:C0LEADS"]["latest_week"] == "2026-W47"
            assert health["digests"]["digest:C0LEADS"]["error"] is None
    posts = [m for m in slack.messages("C0LEADS") if m.get("metadata")]
    assert [m["metadata"]["event_payload"]["week"] for m in posts] == ["2026-W47"]


def test_a_failing_jira_never_takes_the_server_down(jira, slack, tmp_path):
    jira.fail_next("/search", status=500, times=None)
    settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, environ(jira, slack, tmp_path / "b.db"))
    import bot.sources.http as http

    original = http.RetryingAdapter._backoff
    http.RetryingAdapter._backoff = lambda self, attempt: 0.0  # no real back-off sleeps in a test
    try:
        with serve(build_server(settings, Store(settings.db_path)).web) as url:
            health = wait_until(lambda: (h := httpx.get(url + "/healthz").json())["sources"].get("jira", {})
                                .get("last_error") and h)
            assert health["status"] == "ok"
            assert "500" in health["sources"]["jira"]["last_error"]
            assert jira.api_token not in str(health)
            post = slack.response_to(slash(url, slack, "help"))
            assert "/handoffs stats" in str(post.body)
    finally:
        http.RetryingAdapter._backoff = original


def test_config_check_calls_slack_and_jira(jira, slack, tmp_path, monkeypatch):
    (tmp_path / "bridge.toml").write_text('[jira]\njql = "project = RES"\n')
    monkeypatch.chdir(tmp_path)
    for name, value in environ(jira, slack, tmp_path / "b.db").items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "slack: ok" in result.output and "jira: ok - Cloud" in result.output
    assert [c.method for c in slack.calls("auth.test")] == ["auth.test"]

    monkeypatch.setenv("JIRA_API_TOKEN", "wrong-token-value")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 1
    assert "slack: FAILED - auth.test answered invalid_auth" in result.output
    assert "jira: FAILED" in result.output
    assert "wrong-token-value" not in result.output and "xoxb-wrong" not in result.output


def test_config_check_checks_each_digest_channel(jira, slack, tmp_path, monkeypatch):
    (tmp_path / "bridge.toml").write_text(
        '[jira]\njql = "project = RES"\n'
        + "".join(f'[[digest]]\nchannel = "{c}"\n' for c in ("C0OK", "C0OUTSIDE", "G0SECRET", "C0OLD")))
    slack.add_channel("C0OUTSIDE", member=False)
    slack.add_channel("G0SECRET", member=False, private=True)
    slack.add_channel("C0OLD", archived=True)
    monkeypatch.chdir(tmp_path)
    for name, value in environ(jira, slack, tmp_path / "b.db").items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 1  # the private and the archived channel cannot get a digest
    lines = result.output.splitlines()
    assert "digest C0OK: ok - #c0ok, the bot is a member" in lines
    assert any(ln.startswith("digest C0OUTSIDE: WARNING") and "/invite @Research Bridge" in ln for ln in lines)
    assert any(ln.startswith("digest G0SECRET: FAILED - channel_not_found") for ln in lines)
    assert "digest C0OLD: FAILED - #c0old is archived" in lines


def test_sync_jira_command_backfills_and_reports(jira, slack, tmp_path, monkeypatch):
    (tmp_path / "bridge.toml").write_text('[jira]\njql = "project = RES"\n')
    monkeypatch.chdir(tmp_path)
    for name, value in environ(jira, slack, tmp_path / "b.db").items():
        monkeypatch.setenv(name, value)
    since = (CREATED - timedelta(days=1)).strftime("%Y-%m-%d")
    result = CliRunner().invoke(cli, ["sync", "jira", "--since", since])
    assert result.exit_code == 0, result.output
    assert "1 issues, 1 new changelog items, 2 API calls (0 changelog pages)" in result.output  # myself + one page
    assert Store(tmp_path / "b.db").handoffs()[0].key == "RES-7"
    search = [r for r in jira.requests if r.path.endswith("/search/jql")]
    assert f'updated >= "{since.replace("-", "/")} 00:00"' in search[-1].param("jql")

    monkeypatch.setenv("JIRA_API_TOKEN", "wrong-token-value")
    result = CliRunner().invoke(cli, ["sync", "jira"])
    assert result.exit_code == 1 and "Error:" in result.output
    assert "wrong-token-value" not in result.output
