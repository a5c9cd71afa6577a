"""Normalised records shared by sources, store, metrics and presentation.

All datetimes are timezone-aware and in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import NamedTuple


@dataclass(frozen=True)
class JiraIssue:
    """One Jira issue, reduced to the fields Research Bridge needs."""

    key: str
    id: str
    project: str
    summary: str
    issue_type: str
    status: str
    labels: tuple[str, ...]
    created: datetime
    updated: datetime
    url: str
    reporter_name: str | None = None
    reporter_email: str | None = None
    reporter_account_id: str | None = None
    assignee_name: str | None = None
    assignee_email: str | None = None
    assignee_account_id: str | None = None
    resolved: datetime | None = None  # Jira's resolutiondate (cleared when reopened)
    components: tuple[str, ...] = ()  # component names, in Jira's order
    parent_key: str | None = None  # the parent issue (sub-task, or epic child via parent / Epic Link)


@dataclass(frozen=True)
class ChangeItem:
    """One item of one changelog history entry (a history may hold several items,
    even several for the same field)."""

    issue_key: str
    history_id: str
    item_index: int
    created: datetime
    field: str
    from_string: str | None
    to_string: str | None
    author_name: str | None = None
    author_email: str | None = None
    author_account_id: str | None = None


class HandoffState(str, Enum):
    OPEN = "open"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    WITHDRAWN = "withdrawn"


class HandoffCycle(NamedTuple):
    """One research handoff: from 'requested' to pick-up, delivery or withdrawal.

    A NamedTuple rather than a frozen dataclass: just as immutable, and about five times
    cheaper to build, which matters when `/handoffs stats` reads thousands of them.
    """

    issue_key: str
    cycle_no: int
    requested_at: datetime
    state: HandoffState
    requested_by_name: str | None = None
    requested_by_email: str | None = None
    requested_by_account_id: str | None = None
    picked_up_at: datetime | None = None
    picked_up_by_name: str | None = None
    delivered_at: datetime | None = None
    withdrawn_at: datetime | None = None


class HandoffView(NamedTuple):
    """A cycle joined with what presentation needs from its issue."""

    cycle: HandoffCycle
    summary: str
    project: str
    url: str
    assignee_name: str | None = None
    assignee_email: str | None = None
    team: str | None = None

    @property
    def key(self) -> str:
        return self.cycle.issue_key


class Heartbeat(NamedTuple):
    """One WakaTime heartbeat of one person (`time` in epoch seconds, UTC)."""

    slack_user_id: str
    time: float
    entity: str
    type: str = "file"
    category: str | None = None
    project: str | None = None
    branch: str | None = None
    language: str | None = None
    is_write: bool = False
    editor: str | None = None  # the plugin's user agent
    machine: str | None = None


class FocusDay(NamedTuple):
    """Focus figures of one person on one local date (the rollup queries read)."""

    slack_user_id: str
    day: date
    focus_seconds: float  # total length of that day's focus blocks
    active_seconds: float  # total length of all sessions that day
    research_seconds: float  # focus time on research-stream projects
    engineering_seconds: float  # focus time on engineering-stream projects
    blocks: int  # focus blocks that touch the day


class PipelineRun(NamedTuple):
    """One finished attempt of a data/ML pipeline run, from any source."""

    source: str  # github | gitlab | airflow | api
    pipeline: str  # e.g. "org/repo: train.yml", "feature_refresh" (an Airflow DAG)
    run_id: str
    attempt: int
    status: str  # success | failed | cancelled | skipped (normalised)
    finished_at: datetime
    started_at: datetime | None = None
    url: str | None = None
    commit_sha: str | None = None
    commit_at: datetime | None = None  # when that commit was made (lead time)
    branch: str | None = None


class Deployment(NamedTuple):
    """One deployment of a service or a model to an environment."""

    source: str
    deployment_id: str
    target: str  # the service or model deployed
    version: str  # a version, tag or commit sha
    environment: str
    status: str  # success | failed
    finished_at: datetime
    is_production: bool = True
    is_rollback: bool = False  # as reported; rollbacks are also inferred (metrics.delivery)
    commit_sha: str | None = None
    commit_at: datetime | None = None
    url: str | None = None


class Incident(NamedTuple):
    """A production incident (time to restore, change failure rate)."""

    source: str  # jira | api
    incident_id: str
    title: str
    started_at: datetime
    resolved_at: datetime | None = None
    target: str | None = None  # the service or model affected, when known
    deployment_id: str | None = None  # the deployment that caused it, when known
    url: str | None = None


class ExperimentRun(NamedTuple):
    """One training run or experiment run from a tracking platform (MLflow, W&B, a script)."""

    source: str  # mlflow | wandb | kubeflow | ... (with run_id, the identity)
    run_id: str
    experiment: str  # the experiment's name (runs of one sweep share it)
    status: str  # running | finished | failed | killed (normalised)
    started_at: datetime
    finished_at: datetime | None = None
    user: str | None = None  # the platform's own user name (mapped to Slack through [identities])
    jira_key: str | None = None
    url: str | None = None


class RepoCommit(NamedTuple):
    """One commit pushed to a research repository (counted once, however many pushes carry it)."""

    source: str  # github | gitlab
    repo: str  # "org/repo" (GitLab: the project's path with namespace)
    sha: str
    committed_at: datetime  # the commit's own timestamp
    author_login: str | None = None  # GitHub login / GitLab username, when the payload names one
    author_email: str | None = None
    author_name: str | None = None


class RepoBranch(NamedTuple):
    """A branch created on a research repository (the first creation of a name is kept)."""

    source: str  # github | gitlab
    repo: str
    branch: str  # without refs/heads/
    created_at: datetime
    user_login: str | None = None  # who pushed or created it
    user_email: str | None = None
