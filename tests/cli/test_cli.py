"""The command line end to end: demo, exports, jobs, config check (through click)."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from bot.demo import demo_settings
from bot.demo.handoffs import build_demo_org
from bot.store import Store
from tests.support.cli import invoke


@pytest.fixture
def env(here, monkeypatch):
    """An empty environment and config, a database with the demo org in it."""
    db = here / "bridge.db"
    monkeypatch.setenv("BRIDGE_DB", str(db))
    build_demo_org(Store(db), datetime.now(UTC), issues=120)
    return here


def test_demo_prints_the_slack_views(tmp_path):
    result = invoke("demo", "--db", str(tmp_path / "demo.db"), "--issues", "150")
    assert result.exit_code == 0, result.output
    assert "/handoffs\nOpen research handoffs:" in result.output
    assert "/handoffs stats 30d" in result.output
    assert "wait to pick-up: median" in result.output
    for team in ("vision", "language", "reinforcement"):
        assert team in result.output
    # It ends with Monday's digest as it would appear, and names the chart file it wrote.
    digest = result.output[result.output.index("Weekly digest to C0DEMO0001"):]
    assert "Research handoffs" in digest and "Research Focus Time" in digest and "ML delivery" in digest
    chart = tmp_path / "demo-digest.png"
    assert f"chart written to {chart}" in digest and chart.read_bytes().startswith(b"\x89PNG")


def test_report_handoffs_json_has_the_documented_fields(env):
    result = invoke("report", "handoffs", "--window", "90d", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows, "the demo org has handoffs in the last 90 days"
    for field in ("key", "summary", "state", "requested_at", "picked_up_at", "delivered_at",
                  "wait_seconds", "business_wait_seconds"):
        assert field in rows[0]
    picked = [r for r in rows if r["picked_up_at"]]
    assert picked and all(r["picked_up_at"].endswith("Z") for r in picked)
    start = datetime.fromisoformat(picked[0]["requested_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(picked[0]["picked_up_at"].replace("Z", "+00:00"))
    assert abs(picked[0]["wait_seconds"] - (end - start).total_seconds()) <= 1  # ISO times are to the second
    assert picked[0]["business_wait_seconds"] <= picked[0]["wait_seconds"]
    requested = [r["requested_at"] for r in rows]
    assert requested == sorted(requested)


def test_report_state_filter_and_csv(env):
    result = invoke("report", "handoffs", "--state", "open", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows and {r["state"] for r in rows} == {"open"}
    assert all(r["picked_up_at"] == "" for r in rows)


def test_report_rejects_unknown_state_and_window(env):
    assert invoke("report", "handoffs", "--state", "lost").exit_code == 2
    assert invoke("report", "handoffs", "--window", "2y").exit_code == 2


def test_jobs_list_and_unknown_job(env):
    result = invoke("jobs", "list")
    assert "jira-sync" in result.output and "not scheduled" in result.output
    result = invoke("jobs", "run", "nope")
    assert result.exit_code == 2 and "unknown job 'nope'" in result.output
    result = invoke("jobs", "run", "jira-sync")
    assert result.exit_code == 0 and "Jira is not configured" in result.output


def test_config_check_names_the_bad_key(env):
    (env / "bridge.toml").write_text('timezone = "Nowhere/Atlantis"\n')
    result = invoke("config", "check", "--offline")
    assert result.exit_code == 1
    assert "timezone: expected an IANA timezone" in result.output
    (env / "bridge.toml").write_text('timezone = "Europe/Paris"\n')
    result = invoke("config", "check", "--offline")
    assert result.exit_code == 0 and "timezone Europe/Paris" in result.output


def test_demo_settings_are_valid():
    assert [t.name for t in demo_settings().teams] == ["vision", "language", "reinforcement"]
