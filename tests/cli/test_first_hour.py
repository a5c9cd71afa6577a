"""A new user's first hour, through the real command line: every bad value, missing file and
unreachable service is one clear line naming the key or variable (never a traceback), the
config is strict, the example config is valid, and read commands never create a database."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.config import reader as config_module
from bot.config import settings_from_mapping
from tests.fakes.fake_slack import FakeSlack
from tests.support import ROOT
from tests.support.cli import invoke

EXAMPLE = ROOT / "bridge.example.toml"
def check(here: Path, toml: str):
    (here / "bridge.toml").write_text(toml)
    return invoke("config", "check", "--offline")


# -- one line naming the key -------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe", "America", "Mars/Olympus", "", "UTC ", "../etc"])
def test_a_bad_timezone_names_the_key(here, zone):
    for toml, key in ((f'timezone = "{zone}"\n', "timezone"),
                      (f'[[digest]]\nchannel = "C0123ABCD"\ntimezone = "{zone}"\n', "digest[0].timezone")):
        result = check(here, toml)
        assert result.exit_code == 1
        assert f"{key}: expected an IANA timezone" in result.output, result.output


@pytest.mark.parametrize("toml, message", [
    ('team = ["vision"]\n', "team[0]: expected a [[team]] table (got 'vision')"),
    ('team = "vision"\n', "team: expected an array of [[team]] tables"),
    ("jira = 3\n", "[jira]: expected a table"),
    ('[[digest]]\nchannel = "C0AAA"\n[[digest]]\nchannel = "C0BBB"\nsections = "handoffs"\n',
     "digest[1].sections: expected a list of non-empty strings"),
    ('[focus]\nthreshold_hours = "3"\n', "focus.threshold_hours: expected a positive number"),
    ('[focus]\nalert_time = 10\n', 'focus.alert_time: expected a 24-hour time "HH:MM"'),
    ('[jira]\nuser_map = ["x"]\n', "jira.user_map: expected a table"),
    ('[streams]\nresearch = "x-*"\n', "streams.research: expected a list of non-empty strings"),
    ('workdays = []\n', "workdays: expected at least one entry"),
    ('work_hours = ["09:00", "09:00"]\n', "work_hours: expected an end time after the start time"),
    ('[delivery]\nmodel_targets = "ranker*"\n', "delivery.model_targets: expected a list of non-empty strings"),
    ('[[team]]\nname = "vision"\n[[team]]\nname = "Vision"\n', "team[1].name: expected a name no other [[team]] has"),
    ("timezone = \n", "not valid TOML"),
])
def test_values_of_the_wrong_shape_name_their_path(here, toml, message):
    result = check(here, toml)
    assert result.exit_code == 1 and message in result.output, result.output


@pytest.mark.parametrize("toml, key", [
    ("[jira]\nsla = 3\n", "jira.sla"),
    ("[focus]\nthreshold = 2\n", "focus.threshold"),
    ('[[team]]\nname = "vision"\njira_project = ["VIS"]\n', "team[0].jira_project"),
    ("[streams]\nresarch = []\n", "streams.resarch"),
    ('[airflow]\nurl = ""\nversion = 2\n', "airflow.version"),
    ('[[digest]]\nchannel = "C0123ABCD"\nsection = ["focus"]\n', "digest[0].section"),
    ("[delivery]\nmodels = []\n", "delivery.models"),
    ("timezon = \"UTC\"\n", "timezon"),
])
def test_unknown_keys_are_errors_in_every_table(here, toml, key):
    result = check(here, toml)
    assert result.exit_code == 1 and f"{key}: expected one of" in result.output and "(unknown key)" in result.output


def test_without_a_config_file_check_says_defaults_are_in_force(here):
    result = invoke("config", "check", "--offline")
    assert result.exit_code == 0
    assert "using every default: there is no bridge.toml here" in result.output


def test_a_missing_config_names_the_option_or_the_variable(here, monkeypatch):
    result = invoke("--config", "missing.toml", "config", "check", "--offline")
    assert result.exit_code == 1 and "--config: file 'missing.toml' does not exist" in result.output
    monkeypatch.setenv("BRIDGE_CONFIG", "elsewhere.toml")
    result = invoke("config", "check", "--offline")
    assert result.exit_code == 1 and "BRIDGE_CONFIG: file 'elsewhere.toml' does not exist" in result.output
    (here / "folder.toml").mkdir()
    result = invoke("--config", "folder.toml", "config", "check", "--offline")
    assert result.exit_code == 2 and "--config" in result.output and "is a directory" in result.output


def test_config_check_online_reports_what_is_not_configured_without_failing(here):
    result = invoke("config", "check")
    assert result.exit_code == 0, result.output
    assert "slack: not configured" in result.output and "jira: not configured" in result.output


def test_config_check_fails_for_a_configured_source_that_does_not_work(here, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-anything")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens on port 9
    result = invoke("config", "check")
    assert result.exit_code == 1
    assert "slack: FAILED - cannot reach Slack at http://127.0.0.1:9/api/" in result.output
    assert "check the network, HTTPS_PROXY and SLACK_API_URL" in result.output
    assert "jira: not configured" in result.output


# -- serve with a wrong token or no Slack --------------------------------------------------------


def test_serve_with_a_wrong_token_is_one_line_saying_what_to_check(here, monkeypatch):
    with FakeSlack(tokens=("xoxb-right",)) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        result = invoke("serve", "--port", "0")
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines[-1].strip().startswith("- SLACK_BOT_TOKEN: Slack answered invalid_auth to auth.test")
    assert "Bot User OAuth Token (xoxb-" in lines[-1] and len(lines) <= 2


def test_serve_with_slack_unreachable_is_one_line(here, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-anything")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    result = invoke("serve", "--port", "0")
    assert result.exit_code == 1
    assert "SLACK_API_URL: cannot reach Slack at http://127.0.0.1:9/api/" in result.output


# -- read commands never create a database -------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("report", "handoffs"), ("report", "focus"), ("report", "pipelines"), ("report", "delivery"),
    ("digest", "--channel", "C0123ABCD", "--dry-run"), ("keys", "revoke", "--slack-user", "U0123ABCD"),
])
def test_read_commands_refuse_a_database_that_does_not_exist(here, monkeypatch, args):
    monkeypatch.setenv("BRIDGE_DB", str(here / "nowhere.db"))
    result = invoke(*args)
    assert result.exit_code == 1 and "BRIDGE_DB: no database at" in result.output, result.output
    assert not (here / "nowhere.db").exists()
    result = invoke(*args, "--db", str(here / "other.db"))
    assert result.exit_code == 2 and "--db" in result.output and "no database at" in result.output
    assert not (here / "other.db").exists()


def test_a_file_that_is_not_a_database_is_named(here):
    (here / "notes.txt").write_text("not sqlite, but long enough to have a header of sorts " * 10)
    result = invoke("report", "handoffs", "--db", "notes.txt")
    assert result.exit_code == 1 and "--db: notes.txt is not a Research Bridge database" in result.output


@pytest.mark.parametrize("args, fragment", [
    (("report", "handoffs", "--window", "1y"), "'1y' is not one of"),
    (("report", "focus", "--days", "0"), "0 is not in the range"),
    (("digest", "--channel", "general"), "'general' is not a channel ID"),
    (("digest", "--channel", "C0123ABCD", "--week", "2026-W99"), "--week"),
    (("keys", "create", "--slack-user", "alice"), "--slack-user"),
    (("demo", "--issues", "-3"), "--issues"),
    (("jobs", "run", "nope"), "unknown job 'nope'"),
    (("sync", "jira"), "JIRA_URL is not set"),
    (("sync", "jira", "--since", "yesterday"), "--since"),
])
def test_bad_arguments_are_named_without_a_traceback(here, args, fragment):
    result = invoke(*args)
    assert result.exit_code in (1, 2) and fragment in result.output, result.output


# -- the example config and the demo's --------------------------------------------------------------


def test_the_example_config_is_valid_as_it_stands(here):
    (here / "bridge.toml").write_text(EXAMPLE.read_text())
    result = invoke("config", "check", "--offline")
    assert result.exit_code == 0, result.output
    assert "config: ok (bridge.toml: timezone UTC, 1 team, 1 digest)" in result.output


def test_the_example_config_shows_every_key_the_settings_read():
    text = EXAMPLE.read_text()
    tables = {"": config_module._TOP_KEYS, "jira": config_module._JIRA_KEYS, "focus": config_module._FOCUS_KEYS,
              "streams": config_module._STREAMS_KEYS, "team": config_module._TEAM_KEYS,
              "digest": config_module._DIGEST_KEYS, "airflow": config_module._AIRFLOW_KEYS,
              "mlflow": config_module._MLFLOW_KEYS, "delivery": config_module._DELIVERY_KEYS,
              "research": config_module._RESEARCH_KEYS, "identities": ()}
    for table, keys in tables.items():
        for key in keys:
            if table == "" and key in tables:
                assert re.search(rf"^\[\[?{key}\]\]?", text, re.M), f"[{key}] is not in the example"
                continue
            if key == "user_map":
                assert "[jira.user_map]" in text
                continue
            assert re.search(rf"^{key} = ", text, re.M), f"{table}.{key} is not in the example"
    data = tomllib.loads(text)
    assert settings_from_mapping(data, {}).delivery.model_targets == ()


def test_the_demo_writes_its_settings_so_reports_show_its_teams(here):
    result = invoke("demo", "--db", "demo.db", "--issues", "80")
    assert result.exit_code == 0, result.output
    assert (here / "demo.toml").read_text() == (ROOT / "bot" / "demo" / "demo.toml").read_text()
    assert "research-bridge --config demo.toml report handoffs --db demo.db" in result.output
    report = invoke("--config", "demo.toml", "report", "handoffs", "--db", "demo.db")
    assert report.exit_code == 0
    assert {"vision", "language", "reinforcement"} <= set(report.output.split())
    assert re.search(r"\d+\.\d bd", report.output), report.output  # business waits, not seconds
    assert "BUSINESS WAIT S" not in report.output


def test_model_targets_decide_which_deployments_are_models():
    settings = settings_from_mapping({"delivery": {"model_targets": ["ranker*", "models/*"]}}, {})
    assert [settings.delivery.is_model(t) for t in ("ranker-v2", "RANKER", "models/vision", "api", "my-ranker")] == [
        True, True, True, False, False]
    assert settings_from_mapping({}, {}).delivery.is_model("anything")  # no patterns: every target


def test_starting_the_slack_app_warns_about_nothing(here, monkeypatch, caplog):
    from bot.app import create_slack_app
    from bot.store import Store

    with FakeSlack(tokens=("xoxb-right",)) as slack:
        env = {"SLACK_BOT_TOKEN": "xoxb-right", "SLACK_SIGNING_SECRET": "secret", "SLACK_API_URL": slack.api_url}
        for name, value in env.items():
            monkeypatch.setenv(name, value)  # Bolt also reads SLACK_BOT_TOKEN from the environment
        with caplog.at_level("WARNING"):
            create_slack_app(settings_from_mapping({}, env), Store(here / "b.db"))
        assert [c.method for c in slack.calls()] == ["auth.test"]  # once, not once more by Bolt
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


def test_files_that_cannot_be_written_are_named(here):
    result = invoke("demo", "--db", str(here / "missing-folder" / "demo.db"))
    assert result.exit_code == 1 and "--db: cannot open" in result.output
    assert invoke("demo", "--db", "demo.db", "--issues", "40").exit_code == 0
    result = invoke("--config", "demo.toml", "digest", "--channel", "C0DEMO0001", "--dry-run", "--db", "demo.db",
                 "--chart-file", str(here / "missing-folder" / "chart.png"))
    assert result.exit_code == 2 and "--chart-file" in result.output and "cannot write" in result.output


def test_a_job_that_needs_slack_says_it_cannot_reach_it(here, monkeypatch):
    assert invoke("demo", "--db", "demo.db", "--issues", "40").exit_code == 0  # Jira users with e-mails to link
    for name, value in {"SLACK_BOT_TOKEN": "xoxb-anything", "SLACK_SIGNING_SECRET": "secret",
                        "SLACK_API_URL": "http://127.0.0.1:9/api/", "BRIDGE_DB": "demo.db"}.items():
        monkeypatch.setenv(name, value)
    result = invoke("jobs", "run", "link-users")
    assert result.exit_code == 1
    assert "link-users failed: cannot reach Slack at http://127.0.0.1:9/api/" in result.output


def test_the_model_rollback_rate_counts_only_model_targets(here):
    """The demo deploys services and models (`*-model`, [delivery] model_targets in demo.toml):
    the model rollback rate is over the models' production deployments only."""
    from datetime import UTC, datetime

    from bot.demo import demo_settings
    from bot.demo.pipelines import build_demo_pipelines
    from bot.queries.pipelines import PipelineQueries
    from bot.store import Store

    store, now = Store(here / "b.db"), datetime.now(UTC)
    build_demo_pipelines(store, now)
    settings = demo_settings()
    assert settings.delivery.model_targets == ("*-model",)
    models = PipelineQueries(store, settings).delivery(now, 90)
    everything = PipelineQueries(store, settings_from_mapping({}, {})).delivery(now, 90)
    assert 0 < models.model_production_deployments < models.production_deployments
    assert everything.model_production_deployments == everything.production_deployments


@pytest.mark.parametrize("zone", ["Europe", "Mars/Olympus", "", "UTC "])
def test_a_slack_profile_with_no_real_zone_falls_back_to_the_orgs_with_a_log_line(zone, caplog):
    from zoneinfo import ZoneInfo

    from bot.queries.people import People
    from bot.store import Store

    org_zone = ZoneInfo("Europe/Berlin")
    people = People(Store(":memory:"), settings_from_mapping({"timezone": "Europe/Berlin"}, {}))
    with caplog.at_level("WARNING"):
        assert people.zone(zone, "U0ALICE") == org_zone
    assert ("unknown timezone" in caplog.text) == bool(zone)
