"""The settings, validated: what every part of the app reads (see `bot.config.reader` for
how they are read from the environment and `bridge.toml`)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import time
from typing import Mapping
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECTIONS = ("handoffs", "focus", "pipelines", "delivery", "research")  # every section a digest can have
DEFAULT_SECTIONS = ("handoffs", "focus", "pipelines", "delivery")  # a digest without `sections`
DEFAULT_DIGEST_NAME = "weekly"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class JiraSettings:
    url: str | None = None
    email: str | None = None
    api_token: str | None = None
    pat: str | None = None
    webhook_secret: str | None = None
    jql: str | None = None
    sync_interval_minutes: int = 5
    handoff_labels: tuple[str, ...] = ("research-handoff",)
    ready_statuses: tuple[str, ...] = ()
    pickup_statuses: tuple[str, ...] = ("In Progress",)
    done_statuses: tuple[str, ...] = ("Done",)
    handoff_sla_workdays: int = 3
    incident_issue_types: tuple[str, ...] = ("Incident",)
    user_map: Mapping[str, str] = field(default_factory=dict)
    allow_unsigned_webhooks: bool = False  # Jira Data Center webhooks without a secret
    escalation_channel: str | None = None  # handoffs at twice the SLA are listed here
    card_lookback_hours: int = 24  # only handoffs requested this recently get a card (no flood on backfill)

    @property
    def configured(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class FocusSettings:
    heartbeat_timeout_minutes: int = 15
    min_block_minutes: int = 30
    threshold_hours: float = 3.0
    window_workdays: int = 5
    alert_time: time = time(10, 0)
    researcher_groups: tuple[str, ...] = ()
    researchers: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()
    share_individuals_with_leads: bool = False
    heartbeat_retention_days: int = 30


@dataclass(frozen=True)
class Team:
    name: str
    members: tuple[str, ...] = ()
    jira_projects: tuple[str, ...] = ()
    channel: str | None = None  # where the team's handoff cards go (none: no cards)
    leads: tuple[str, ...] = ()  # Slack users nudged when a handoff passes its SLA


@dataclass(frozen=True)
class DigestSettings:
    """One `[[digest]]`: a weekly post to a channel (ledger key: channel, name, ISO week)."""

    channel: str
    schedule_weekday: str = "mon"
    schedule_time: time = time(9, 0)
    timezone: str = "UTC"
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    teams: tuple[str, ...] = ()
    chart: bool = True
    name: str = "weekly"
    grace_hours: float = 12.0  # a digest missed while down is still sent this long after its time
    show_names: bool = False  # name who is below the focus line (needs share_individuals_with_leads)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def job_id(self) -> str:
        """The scheduler's id for this digest: digest:CHANNEL, or digest:CHANNEL:NAME."""
        return f"digest:{self.channel}" + ("" if self.name == DEFAULT_DIGEST_NAME else f":{self.name}")


@dataclass(frozen=True)
class AirflowSettings:
    url: str = ""
    api_version: int = 2
    token: str | None = None
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class MlflowSettings:
    url: str = ""  # the tracking server; empty: no sync
    experiments: tuple[str, ...] = ()  # experiment name patterns (fnmatch, case-insensitive); empty: all
    username: str | None = None  # MLFLOW_TRACKING_USERNAME (basic auth, with the password)
    password: str | None = None
    token: str | None = None  # MLFLOW_TRACKING_TOKEN (bearer)

    def wants(self, experiment: str) -> bool:
        """Whether runs of `experiment` are synced."""
        name = experiment.casefold()
        return not self.experiments or any(fnmatch.fnmatchcase(name, p.casefold()) for p in self.experiments)


@dataclass(frozen=True)
class ResearchSettings:
    """Research initiatives (Jira) and the repositories whose pushes are research activity."""

    initiative_issue_types: tuple[str, ...] = ("Epic",)
    initiative_projects: tuple[str, ...] = ()  # Jira project keys; empty: every synced project
    repos: tuple[str, ...] = ()  # `[streams] research_repos`: "org/repo" patterns (fnmatch, case-insensitive)

    def is_initiative(self, issue_type: str, project: str) -> bool:
        """Whether an issue of this type in this project is a research initiative."""
        types = {t.casefold() for t in self.initiative_issue_types}
        projects = {p.casefold() for p in self.initiative_projects}
        return issue_type.casefold() in types and (not projects or project.casefold() in projects)

    def is_research_repo(self, repo: str) -> bool:
        """Whether pushes to `repo` ("org/repo") count as research activity (none do without patterns)."""
        name = repo.casefold()
        return any(fnmatch.fnmatchcase(name, p.casefold()) for p in self.repos)


@dataclass(frozen=True)
class DeliverySettings:
    model_targets: tuple[str, ...] = ()  # fnmatch patterns of deployment targets that are models

    def is_model(self, target: str) -> bool:
        """Whether a deployment target is a model (every target is, without patterns)."""
        if not self.model_targets:
            return True
        name = target.casefold()
        return any(fnmatch.fnmatchcase(name, p.casefold()) for p in self.model_targets)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs, validated."""

    timezone: str = "UTC"
    workdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    work_hours: tuple[time, time] = (time(9, 0), time(18, 0))
    jira: JiraSettings = field(default_factory=JiraSettings)
    focus: FocusSettings = field(default_factory=FocusSettings)
    streams: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"research": (), "engineering": ()}
    )
    teams: tuple[Team, ...] = ()
    digests: tuple[DigestSettings, ...] = ()
    airflow: AirflowSettings = field(default_factory=AirflowSettings)
    mlflow: MlflowSettings = field(default_factory=MlflowSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    research: ResearchSettings = field(default_factory=ResearchSettings)
    identities: Mapping[str, str] = field(default_factory=dict)  # "source:name" (lower case) -> Slack user ID
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    github_webhook_secret: str | None = None
    gitlab_webhook_token: str | None = None
    bridge_api_token: str | None = None
    db_path: str = "bridge.db"
    config_path: str = "bridge.toml"
    config_found: bool = True  # False: no file at config_path, every default in force
    port: int = 3000

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def workday_numbers(self) -> tuple[int, ...]:
        """Workdays as `date.weekday()` numbers (Monday = 0)."""
        return tuple(WEEKDAYS.index(d) for d in self.workdays)

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def cards_configured(self) -> bool:
        """Handoff cards (and their escalations) are on: Slack, and a team with a channel."""
        return self.slack_configured and any(t.channel for t in self.teams)

    def secret_values(self) -> tuple[str, ...]:
        """Every credential in the settings (kept out of logs by `bot.logs`)."""
        values = (self.slack_bot_token, self.slack_signing_secret, self.slack_app_token, self.jira.api_token,
                  self.jira.pat, self.jira.webhook_secret, self.github_webhook_secret, self.gitlab_webhook_token,
                  self.bridge_api_token, self.airflow.token, self.airflow.password, self.mlflow.password,
                  self.mlflow.token)
        return tuple(v for v in values if v)

    def identity(self, source: str, name: str | None) -> str | None:
        """The Slack user `[identities]` maps a foreign identity to ("mlflow", "alice"), if any."""
        return self.identities.get(f"{source}:{name}".casefold()) if name else None

    def team_named(self, name: str) -> Team | None:
        wanted = name.strip().lower()
        return next((t for t in self.teams if t.name.lower() == wanted), None)


def is_channel_id(text: str) -> bool:
    """A public or private channel ID (C…, G…), not a name, user or group."""
    return bool(_CHANNEL_ID.match(text))
