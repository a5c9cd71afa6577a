"""Reading the settings: secrets and deployment values from the environment, the rest from
`bridge.toml`. Every problem is collected, so one `ConfigError` names them all."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Mapping

from bot.clock import zone_named
from bot.config.settings import (
    DEFAULT_DIGEST_NAME,
    DEFAULT_SECTIONS,
    SECTIONS,
    WEEKDAYS,
    AirflowSettings,
    ConfigError,
    DeliverySettings,
    DigestSettings,
    FocusSettings,
    JiraSettings,
    MlflowSettings,
    ResearchSettings,
    Settings,
    Team,
    is_channel_id,
)

# The keys each table takes; any other key is an error naming it (a typo never passes silently).
_TOP_KEYS = ("timezone", "workdays", "work_hours", "jira", "focus", "streams", "team", "digest", "airflow", "mlflow",
             "delivery", "identities", "research")
_JIRA_KEYS = ("jql", "sync_interval_minutes", "handoff_labels", "ready_statuses", "pickup_statuses", "done_statuses",
              "handoff_sla_workdays", "incident_issue_types", "user_map", "allow_unsigned_webhooks",
              "escalation_channel", "card_lookback_hours")
_FOCUS_KEYS = ("heartbeat_timeout_minutes", "min_block_minutes", "threshold_hours", "window_workdays", "alert_time",
               "researcher_groups", "researchers", "leads", "share_individuals_with_leads", "heartbeat_retention_days")
_STREAMS_KEYS = ("research", "engineering", "research_repos")
_RESEARCH_KEYS = ("initiative_issue_types", "initiative_projects")
_TEAM_KEYS = ("name", "members", "jira_projects", "channel", "leads")
_DIGEST_KEYS = ("channel", "name", "schedule", "timezone", "sections", "teams", "chart", "grace_hours", "show_names")
_AIRFLOW_KEYS = ("url", "api_version")
_MLFLOW_KEYS = ("url", "experiments")
_DELIVERY_KEYS = ("model_targets",)
_DIGEST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_SLACK_ID = re.compile(r"^[UWCGS][A-Z0-9]{2,}$")


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, key: str, expected: str, value: Any = None) -> None:
        got = "" if value is None else f" (got {value!r})"
        self.problems.append(f"{key}: expected {expected}{got}")

    def string(self, table: Mapping, key: str, name: str, default: str | None) -> str | None:
        value = table.get(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(name, "a string", value)
            return default
        return value

    def integer(self, table: Mapping, key: str, name: str, default: int, minimum: int = 1) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(name, f"a whole number >= {minimum}", value)
            return default
        return value

    def number(self, table: Mapping, key: str, name: str, default: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self.fail(name, "a positive number", value)
            return default
        return float(value)

    def boolean(self, table: Mapping, key: str, name: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.fail(name, "true or false", value)
            return default
        return value

    def strings(self, table: Mapping, key: str, name: str, default: tuple[str, ...],
                non_empty: bool = False) -> tuple[str, ...]:
        value = table.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(name, "a list of non-empty strings", value)
            return default
        if non_empty and not value:
            self.fail(name, "at least one entry", value)
            return default
        return tuple(value)

    def slack_ids(self, table: Mapping, key: str, name: str) -> tuple[str, ...]:
        ids = self.strings(table, key, name, ())
        for value in ids:
            if not _SLACK_ID.match(value):
                self.fail(name, "Slack IDs such as U0123ABCD", value)
        return ids

    def channel(self, table: Mapping, key: str, name: str) -> str | None:
        """An optional channel ID (C…, G…); "" or absent is None."""
        value = self.string(table, key, name, None)
        if not value:
            return None
        if not is_channel_id(value):
            self.fail(name, "a channel ID such as C0123ABCD (not a name or a user)", value)
            return None
        return value

    def clock(self, table: Mapping, key: str, name: str, default: time) -> time:
        value = table.get(key)
        if value is None:
            return default
        match = _HHMM.match(value) if isinstance(value, str) else None
        if not match:
            self.fail(name, 'a 24-hour time "HH:MM"', value)
            return default
        return time(int(match[1]), int(match[2]))

    def timezone(self, table: Mapping, key: str, name: str, default: str) -> str:
        value = table.get(key, default)
        if zone_named(value) is None:
            self.fail(name, 'an IANA timezone such as "Europe/Berlin"', value)
            return default
        return value

    def table(self, data: Mapping, key: str, name: str | None = None, keys: tuple[str, ...] | None = None) -> Mapping:
        """The table at `key` ({} when absent or not a table, which is a problem named `name`);
        with `keys`, any other key in it is a problem too."""
        value = data.get(key, {})
        name = name or key
        if not isinstance(value, dict):
            self.fail(f"[{name}]", "a table", value)
            return {}
        if keys is not None:
            self.known(value, name, keys)
        return value

    def known(self, table: Mapping, name: str, keys: tuple[str, ...]) -> None:
        for key in table:
            if key not in keys:
                where = f"{name}.{key}" if name else str(key)
                self.fail(where, "one of " + ", ".join(keys) + " (unknown key)")

    def tables(self, data: Mapping, key: str, keys: tuple[str, ...]) -> list[tuple[str, Mapping]]:
        """The array of tables at `key` (`[[key]]`) as (name, table) pairs, e.g. ("team[1]", {...})."""
        value = data.get(key, [])
        if not isinstance(value, list):
            self.fail(key, f"an array of [[{key}]] tables", value)
            return []
        out: list[tuple[str, Mapping]] = []
        for i, entry in enumerate(value):
            if not isinstance(entry, dict):
                self.fail(f"{key}[{i}]", f"a [[{key}]] table", entry)
                continue
            self.known(entry, f"{key}[{i}]", keys)
            out.append((f"{key}[{i}]", entry))
        return out


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_path: str | os.PathLike | None = None,
) -> Settings:
    """Read and validate the environment and the TOML file; raise ConfigError on problems.

    A file named by `config_path` (the `--config` option) or BRIDGE_CONFIG must exist; the
    default `bridge.toml` may be missing, and then every default is in force."""
    environ = os.environ if environ is None else environ
    source = "--config" if config_path is not None else "BRIDGE_CONFIG" if environ.get("BRIDGE_CONFIG") else None
    path = Path(config_path or environ.get("BRIDGE_CONFIG") or "bridge.toml")
    data: dict[str, Any] = {}
    if path.is_dir():
        raise ConfigError([f"{source or 'bridge.toml'}: {str(path)!r} is a folder, not a TOML file"])
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
        except OSError as exc:
            raise ConfigError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    elif source:
        raise ConfigError([f"{source}: file {str(path)!r} does not exist"])
    return settings_from_mapping(data, environ, config_path=str(path), config_found=path.exists())


def settings_from_mapping(
    data: Mapping[str, Any], environ: Mapping[str, str], config_path: str = "bridge.toml",
    config_found: bool = True,
) -> Settings:
    """Build Settings from parsed TOML and an environment mapping."""
    r = _Reader()
    r.known(data, "", _TOP_KEYS)

    timezone = r.timezone(data, "timezone", "timezone", "UTC")
    workdays = r.strings(data, "workdays", "workdays", ("mon", "tue", "wed", "thu", "fri"), non_empty=True)
    for day in workdays:
        if day not in WEEKDAYS:
            r.fail("workdays", "day names from " + ", ".join(WEEKDAYS), day)
    workdays = tuple(d for d in workdays if d in WEEKDAYS) or ("mon", "tue", "wed", "thu", "fri")
    work_hours = _work_hours(r, data)

    jira = _jira(r, r.table(data, "jira", keys=_JIRA_KEYS), environ)
    focus = _focus(r, r.table(data, "focus", keys=_FOCUS_KEYS))
    streams_table = r.table(data, "streams", keys=_STREAMS_KEYS)
    streams = {
        "research": r.strings(streams_table, "research", "streams.research", ()),
        "engineering": r.strings(streams_table, "engineering", "streams.engineering", ()),
    }
    teams = _teams(r, r.tables(data, "team", _TEAM_KEYS))
    digests = _digests(r, r.tables(data, "digest", _DIGEST_KEYS), timezone, teams, focus)
    airflow = _airflow(r, r.table(data, "airflow", keys=_AIRFLOW_KEYS), environ)
    mlflow = _mlflow(r, r.table(data, "mlflow", keys=_MLFLOW_KEYS), environ)
    delivery_table = r.table(data, "delivery", keys=_DELIVERY_KEYS)
    delivery = DeliverySettings(r.strings(delivery_table, "model_targets", "delivery.model_targets", ()))
    research = _research(r, r.table(data, "research", keys=_RESEARCH_KEYS), streams_table)
    identities = _identities(r, r.table(data, "identities"))

    port_text = environ.get("PORT", "3000")
    port = 3000
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        r.fail("PORT", "a TCP port number 1-65535", port_text)
    else:
        port = int(port_text)

    slack_api_url = _env(environ, "SLACK_API_URL")
    if slack_api_url and not slack_api_url.startswith(("http://", "https://")):
        r.fail("SLACK_API_URL", "an http(s) URL such as https://slack.com/api/", slack_api_url)
    app_token = _env(environ, "SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        r.fail("SLACK_APP_TOKEN", "an app-level token starting with xapp-")

    if r.problems:
        raise ConfigError(r.problems)
    return Settings(
        timezone=timezone,
        workdays=workdays,
        work_hours=work_hours,
        jira=jira,
        focus=focus,
        streams=streams,
        teams=teams,
        digests=digests,
        airflow=airflow,
        mlflow=mlflow,
        delivery=delivery,
        research=research,
        identities=identities,
        slack_bot_token=_env(environ, "SLACK_BOT_TOKEN"),
        slack_signing_secret=_env(environ, "SLACK_SIGNING_SECRET"),
        slack_app_token=app_token,
        slack_api_url=slack_api_url,
        github_webhook_secret=_env(environ, "GITHUB_WEBHOOK_SECRET"),
        gitlab_webhook_token=_env(environ, "GITLAB_WEBHOOK_TOKEN"),
        bridge_api_token=_env(environ, "BRIDGE_API_TOKEN"),
        db_path=_env(environ, "BRIDGE_DB") or "bridge.db",
        config_path=config_path,
        config_found=config_found,
        port=port,
    )


def _work_hours(r: _Reader, data: Mapping) -> tuple[time, time]:
    value = data.get("work_hours", ["09:00", "18:00"])
    if not (isinstance(value, list) and len(value) == 2):
        r.fail("work_hours", 'two times ["HH:MM", "HH:MM"]', value)
        return (time(9, 0), time(18, 0))
    start = r.clock({"v": value[0]}, "v", "work_hours", time(9, 0))
    end = r.clock({"v": value[1]}, "v", "work_hours", time(18, 0))
    if end <= start:
        r.fail("work_hours", "an end time after the start time (business time is counted between them)", value)
        return (time(9, 0), time(18, 0))
    return (start, end)


def _jira(r: _Reader, t: Mapping, environ: Mapping[str, str]) -> JiraSettings:
    url = _env(environ, "JIRA_URL")
    email, token, pat = _env(environ, "JIRA_EMAIL"), _env(environ, "JIRA_API_TOKEN"), _env(environ, "JIRA_PAT")
    jql = r.string(t, "jql", "jira.jql", None)
    if url:
        if not url.startswith(("http://", "https://")):
            r.fail("JIRA_URL", "an http(s) URL such as https://example.atlassian.net", url)
        if not (pat or (email and token)):
            r.fail("JIRA_EMAIL/JIRA_API_TOKEN", "both set (Jira Cloud), or JIRA_PAT (Data Center), when JIRA_URL is set")
        if not jql:
            r.fail("jira.jql", 'a JQL query such as "project in (RES, MLE)" (required with JIRA_URL)')
    user_map = t.get("user_map", {})
    if not isinstance(user_map, dict) or not all(
        isinstance(v, str) and _SLACK_ID.match(v) for v in user_map.values()
    ):
        r.fail("jira.user_map", 'a table of Jira account id or e-mail = "U0123ABCD"', user_map)
        user_map = {}
    return JiraSettings(
        url=url.rstrip("/") if url else None,
        email=email,
        api_token=token,
        pat=pat,
        webhook_secret=_env(environ, "JIRA_WEBHOOK_SECRET"),
        jql=jql,
        sync_interval_minutes=r.integer(t, "sync_interval_minutes", "jira.sync_interval_minutes", 5),
        handoff_labels=r.strings(t, "handoff_labels", "jira.handoff_labels", ("research-handoff",)),
        ready_statuses=r.strings(t, "ready_statuses", "jira.ready_statuses", ()),
        pickup_statuses=r.strings(t, "pickup_statuses", "jira.pickup_statuses", ("In Progress",)),
        done_statuses=r.strings(t, "done_statuses", "jira.done_statuses", ("Done",)),
        handoff_sla_workdays=r.integer(t, "handoff_sla_workdays", "jira.handoff_sla_workdays", 3),
        incident_issue_types=r.strings(t, "incident_issue_types", "jira.incident_issue_types", ("Incident",)),
        user_map=dict(user_map),
        allow_unsigned_webhooks=r.boolean(t, "allow_unsigned_webhooks", "jira.allow_unsigned_webhooks", False),
        escalation_channel=r.channel(t, "escalation_channel", "jira.escalation_channel"),
        card_lookback_hours=r.integer(t, "card_lookback_hours", "jira.card_lookback_hours", 24, minimum=0),
    )


def _focus(r: _Reader, t: Mapping) -> FocusSettings:
    return FocusSettings(
        heartbeat_timeout_minutes=r.integer(t, "heartbeat_timeout_minutes", "focus.heartbeat_timeout_minutes", 15),
        min_block_minutes=r.integer(t, "min_block_minutes", "focus.min_block_minutes", 30),
        threshold_hours=r.number(t, "threshold_hours", "focus.threshold_hours", 3.0),
        window_workdays=r.integer(t, "window_workdays", "focus.window_workdays", 5),
        alert_time=r.clock(t, "alert_time", "focus.alert_time", time(10, 0)),
        researcher_groups=r.strings(t, "researcher_groups", "focus.researcher_groups", ()),
        researchers=r.slack_ids(t, "researchers", "focus.researchers"),
        leads=r.slack_ids(t, "leads", "focus.leads"),
        share_individuals_with_leads=r.boolean(
            t, "share_individuals_with_leads", "focus.share_individuals_with_leads", False
        ),
        heartbeat_retention_days=r.integer(t, "heartbeat_retention_days", "focus.heartbeat_retention_days", 30),
    )


def _teams(r: _Reader, entries: list[tuple[str, Mapping]]) -> tuple[Team, ...]:
    teams: list[Team] = []
    for where, t in entries:
        name = r.string(t, "name", f"{where}.name", None)
        if not name or not name.strip():
            r.fail(f"{where}.name", "a team name")
            continue
        if any(other.name.strip().lower() == name.strip().lower() for other in teams):
            r.fail(f"{where}.name", "a name no other [[team]] has (compared without case)", name)
            continue
        teams.append(Team(
            name=name.strip(),
            members=r.slack_ids(t, "members", f"{where}.members"),
            jira_projects=r.strings(t, "jira_projects", f"{where}.jira_projects", ()),
            channel=r.channel(t, "channel", f"{where}.channel"),
            leads=r.slack_ids(t, "leads", f"{where}.leads"),
        ))
    return tuple(teams)


def _digests(
    r: _Reader, entries: list[tuple[str, Mapping]], org_timezone: str, teams: tuple[Team, ...], focus: FocusSettings
) -> tuple[DigestSettings, ...]:
    team_names = {t.name.lower() for t in teams}
    digests: list[DigestSettings] = []
    for where, t in entries:
        channel = r.string(t, "channel", f"{where}.channel", None)
        if not channel or not is_channel_id(channel):
            r.fail(f"{where}.channel", "a channel ID such as C0123ABCD (not a name or a user)", channel)
            continue
        name = r.string(t, "name", f"{where}.name", DEFAULT_DIGEST_NAME) or DEFAULT_DIGEST_NAME
        if not _DIGEST_NAME.match(name):
            r.fail(f"{where}.name", "lower-case letters, digits, - or _ (at most 40)", name)
        schedule = t.get("schedule", "mon 09:00")
        parts = schedule.split() if isinstance(schedule, str) else []
        weekday, at = "mon", time(9, 0)
        if len(parts) != 2 or parts[0] not in WEEKDAYS or not _HHMM.match(parts[1]):
            r.fail(f"{where}.schedule", 'a weekday and time such as "mon 09:00"', schedule)
        else:
            weekday = parts[0]
            at = time(int(parts[1][:2]), int(parts[1][3:]))
        sections = r.strings(t, "sections", f"{where}.sections", DEFAULT_SECTIONS)
        for s in sections:
            if s not in SECTIONS:
                r.fail(f"{where}.sections", "sections from " + ", ".join(SECTIONS), s)
        digest_teams = r.strings(t, "teams", f"{where}.teams", ())
        for team in digest_teams:
            if team.lower() not in team_names:
                r.fail(f"{where}.teams", "names of [[team]] entries", team)
        show_names = r.boolean(t, "show_names", f"{where}.show_names", False)
        if show_names and not focus.share_individuals_with_leads:
            r.fail(f"{where}.show_names", "false unless focus.share_individuals_with_leads = true", True)
        digest = DigestSettings(
            channel=channel,
            schedule_weekday=weekday,
            schedule_time=at,
            timezone=r.timezone(t, "timezone", f"{where}.timezone", org_timezone),
            sections=tuple(dict.fromkeys(sections)),
            teams=digest_teams,
            chart=r.boolean(t, "chart", f"{where}.chart", True),
            name=name,
            grace_hours=r.number(t, "grace_hours", f"{where}.grace_hours", 12.0),
            show_names=show_names,
        )
        if any(d.channel == channel and d.name == name for d in digests):
            r.fail(f"{where}", f"a name unique per channel (another digest for {channel} is called {name!r};"
                   " set name = \"...\" on one of them)")
        digests.append(digest)
    return tuple(digests)


def _mlflow(r: _Reader, t: Mapping, environ: Mapping[str, str]) -> MlflowSettings:
    url = r.string(t, "url", "mlflow.url", "") or ""
    if url and not url.startswith(("http://", "https://")):
        r.fail("mlflow.url", "an http(s) URL such as https://mlflow.example.com", url)
    username, password = _env(environ, "MLFLOW_TRACKING_USERNAME"), _env(environ, "MLFLOW_TRACKING_PASSWORD")
    if bool(username) != bool(password):
        r.fail("MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD", "both set (basic auth), or neither")
    return MlflowSettings(url=url.rstrip("/"), experiments=r.strings(t, "experiments", "mlflow.experiments", ()),
                          username=username, password=password, token=_env(environ, "MLFLOW_TRACKING_TOKEN"))


def _airflow(r: _Reader, t: Mapping, environ: Mapping[str, str]) -> AirflowSettings:
    version = t.get("api_version", 2)
    if version not in (1, 2):
        r.fail("airflow.api_version", "1 (Airflow 2) or 2 (Airflow 3)", version)
        version = 2
    url = r.string(t, "url", "airflow.url", "") or ""
    if url and not url.startswith(("http://", "https://")):
        r.fail("airflow.url", "an http(s) URL", url)
    return AirflowSettings(
        url=url.rstrip("/"),
        api_version=version,
        token=_env(environ, "AIRFLOW_TOKEN"),
        username=_env(environ, "AIRFLOW_USERNAME"),
        password=_env(environ, "AIRFLOW_PASSWORD"),
    )


_IDENTITY = re.compile(r"^[a-z][a-z0-9_-]*:\S.*$")


def _identities(r: _Reader, t: Mapping) -> dict[str, str]:
    """`[identities]`: "source:name" = "U0123ABCD" (keys compared without case)."""
    identities: dict[str, str] = {}
    for key, value in t.items():
        if not _IDENTITY.match(key.casefold()):
            r.fail(f'identities."{key}"', 'a key "source:name" such as "mlflow:alice" or "github:alice-gh"', key)
        elif not (isinstance(value, str) and _SLACK_ID.match(value)):
            r.fail(f'identities."{key}"', 'a Slack user ID such as "U0123ABCD"', value)
        else:
            identities[key.casefold()] = value
    return identities


def _research(r: _Reader, t: Mapping, streams: Mapping) -> ResearchSettings:
    return ResearchSettings(
        initiative_issue_types=r.strings(t, "initiative_issue_types", "research.initiative_issue_types", ("Epic",),
                                         non_empty=True),
        initiative_projects=r.strings(t, "initiative_projects", "research.initiative_projects", ()),
        repos=r.strings(streams, "research_repos", "streams.research_repos", ()),
    )
