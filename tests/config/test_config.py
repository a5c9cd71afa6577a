"""Settings: defaults, validation naming the key, secrets from the environment."""

from datetime import time

import pytest

from bot.config import ConfigError, load_settings, settings_from_mapping


def test_defaults_match_the_spec():
    s = settings_from_mapping({}, {})
    assert s.timezone == "UTC"
    assert s.workday_numbers == (0, 1, 2, 3, 4)
    assert s.work_hours == (time(9), time(18))
    assert s.jira.handoff_labels == ("research-handoff",)
    assert s.jira.pickup_statuses == ("In Progress",)
    assert s.jira.done_statuses == ("Done",)
    assert s.jira.sync_interval_minutes == 5
    assert s.focus.threshold_hours == 3.0
    assert s.db_path == "bridge.db"
    assert s.port == 3000


def test_every_problem_is_reported_with_its_key():
    data = {
        "timezone": "Mars/Olympus",
        "work_hours": ["18:00", "09:00"],
        "jira": {"sync_interval_minutes": 0, "handoff_labels": "research-handoff"},
        "digest": [{"channel": "general", "schedule": "monday 9am"}],
        "bogus": 1,
    }
    with pytest.raises(ConfigError) as err:
        settings_from_mapping(data, {"PORT": "http"})
    text = str(err.value)
    for key in ("timezone", "work_hours", "jira.sync_interval_minutes", "jira.handoff_labels",
                "digest[0].channel", "bogus", "PORT"):
        assert key in text
    assert "IANA timezone" in text


def test_jira_url_requires_credentials_and_jql_but_never_echoes_secrets():
    with pytest.raises(ConfigError) as err:
        settings_from_mapping({}, {"JIRA_URL": "https://x.atlassian.net", "JIRA_API_TOKEN": "s3cret-token"})
    text = str(err.value)
    assert "jira.jql" in text and "JIRA_EMAIL" in text
    assert "s3cret-token" not in text


def test_cloud_and_data_center_credentials():
    cloud = settings_from_mapping(
        {"jira": {"jql": "project = RES"}},
        {"JIRA_URL": "https://x.atlassian.net/", "JIRA_EMAIL": "a@b.c", "JIRA_API_TOKEN": "t"},
    )
    assert cloud.jira.url == "https://x.atlassian.net" and cloud.jira.configured
    dc = settings_from_mapping({"jira": {"jql": "project = RES"}}, {"JIRA_URL": "https://jira.corp", "JIRA_PAT": "p"})
    assert dc.jira.pat == "p"


def test_teams_and_slack_ids_are_checked():
    s = settings_from_mapping({"team": [{"name": "vision", "members": ["U0123ABCD"], "jira_projects": ["VIS"]}]}, {})
    assert s.team_named("Vision").jira_projects == ("VIS",)
    with pytest.raises(ConfigError, match=r"team\[0\].members"):
        settings_from_mapping({"team": [{"name": "x", "members": ["alice"]}]}, {})


def test_load_settings_reads_toml_and_reports_bad_toml(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text('timezone = "Europe/Berlin"\n[jira]\nready_statuses = ["Ready for Engineering"]\n')
    s = load_settings(environ={"BRIDGE_DB": str(tmp_path / "x.db")}, config_path=path)
    assert s.timezone == "Europe/Berlin" and s.jira.ready_statuses == ("Ready for Engineering",)
    path.write_text("timezone = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={}, config_path=path)
    with pytest.raises(ConfigError, match="BRIDGE_CONFIG"):
        load_settings(environ={"BRIDGE_CONFIG": str(tmp_path / "missing.toml")})


def test_team_channels_leads_and_the_card_settings():
    s = settings_from_mapping({"team": [{"name": "vision", "channel": "C0VISION", "leads": ["U0LEAD1"]}],
                               "jira": {"escalation_channel": "G0ESCALATE", "card_lookback_hours": 0}}, {})
    assert (s.teams[0].channel, s.teams[0].leads) == ("C0VISION", ("U0LEAD1",))
    assert (s.jira.escalation_channel, s.jira.card_lookback_hours) == ("G0ESCALATE", 0)
    defaults = settings_from_mapping({"team": [{"name": "vision", "channel": ""}]}, {})
    assert (defaults.teams[0].channel, defaults.jira.escalation_channel, defaults.jira.card_lookback_hours) == (
        None, None, 24)
    with pytest.raises(ConfigError) as bad:
        settings_from_mapping({"team": [{"name": "x", "channel": "#vision", "leads": ["bob"]}],
                               "jira": {"escalation_channel": "U0PERSON", "card_lookback_hours": -1}}, {})
    assert bad.value.problems == [
        "jira.escalation_channel: expected a channel ID such as C0123ABCD (not a name or a user) (got 'U0PERSON')",
        "jira.card_lookback_hours: expected a whole number >= 0 (got -1)",
        "team[0].channel: expected a channel ID such as C0123ABCD (not a name or a user) (got '#vision')",
        "team[0].leads: expected Slack IDs such as U0123ABCD (got 'bob')",
    ]
