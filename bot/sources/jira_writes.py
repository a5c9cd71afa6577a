"""Writing to Jira for what people do in Slack: claim a handoff (assign it and move it into a
pick-up status), and read the issue back so the store holds Jira's own times.

Through the `jira` library, on the retrying session of `connect` (429 and 5xx retried with
Retry-After). A claim costs three calls when the clicker's account is known: the issue's
transitions, the assignee, the transition; then one read of the issue with its changelog.
The library's `assign_issue` would first search users by a query string, which cannot find
an account id, so the assignee is set on `PUT issue/{key}/assignee` directly (the endpoint
that needs only the *Assign Issues* permission).

Every failure is a `JiraWriteError` whose message says what Jira answered, never a secret.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Sequence

import requests
from jira import JIRA, JIRAError

from bot.config import Settings
from bot.models import ChangeItem, JiraIssue
from bot.sources.jira import changelog_items, issue_from_raw
from bot.sources.jira_client import ISSUE_FIELDS, connect, describe_error, secrets_of


class JiraWriteError(Exception):
    """Jira refused or could not be reached; `status` is its HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to: str  # the status it leads to


class JiraWriter:
    """Jira writes on one client (made on first use, shared by the threads that call it)."""

    def __init__(self, settings: Settings, client: JIRA | None = None):
        self.settings = settings
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> JIRA:
        with self._lock:
            if self._client is None:
                self._client = connect(self.settings)
            return self._client

    @property
    def cloud(self) -> bool:
        return bool(self.client._is_cloud)

    def _fail(self, exc: BaseException, what: str) -> JiraWriteError:
        status = exc.status_code if isinstance(exc, JIRAError) else None
        return JiraWriteError(f"{what}: {describe_error(exc, secrets_of(self.settings))}", status)

    def account_for_email(self, email: str) -> str | None:
        """The account id (Cloud) or user name (Data Center) of the Jira user with `email`."""
        try:
            users = (self.client.search_users(query=email, maxResults=10) if self.cloud
                     else self.client.search_users(user=email, maxResults=10))
        except (JIRAError, requests.RequestException) as exc:
            raise self._fail(exc, "looking up your Jira account") from None
        exact = [u for u in users if (getattr(u, "emailAddress", "") or "").lower() == email.lower()]
        chosen = exact or (users if len(users) == 1 else [])
        if not chosen:
            return None
        user = chosen[0]
        return str(user.accountId if self.cloud else user.name)

    def transitions(self, key: str) -> list[Transition]:
        """The transitions Jira offers the bot's account on `key` now."""
        try:
            raw = self.client.transitions(key)
        except (JIRAError, requests.RequestException) as exc:
            raise self._fail(exc, f"reading the transitions of {key}") from None
        return [Transition(str(t["id"]), str(t.get("name") or ""), str((t.get("to") or {}).get("name") or ""))
                for t in raw]

    def assign(self, key: str, account: str) -> None:
        """Make `account` (an account id on Cloud, a user name on Data Center) the assignee."""
        body = {"accountId": account} if self.cloud else {"name": account}
        try:
            self.client._session.put(self.client._get_latest_url(f"issue/{key}/assignee"), json=body)
        except (JIRAError, requests.RequestException) as exc:
            raise self._fail(exc, f"assigning {key}") from None

    def transition(self, key: str, transition: Transition) -> None:
        try:
            self.client.transition_issue(key, transition.id)
        except (JIRAError, requests.RequestException) as exc:
            raise self._fail(exc, f"moving {key} to {transition.to}") from None

    def create_issue(self, project: str, summary: str, description: str, labels: Sequence[str],
                     issue_type: str = "Task") -> str:
        """Create an issue; its key. The description is sent as plain text (an Atlassian
        document on Cloud's API v3; on Data Center, inside {noformat} so no wiki markup works)."""
        fields: dict[str, Any] = {"project": {"key": project}, "summary": summary, "issuetype": {"name": issue_type},
                                  "labels": list(labels)}
        if description.strip():
            fields["description"] = plain_description(description, cloud=self.cloud)
        try:
            response = self.client._session.post(self.client._get_url("issue"), json={"fields": fields})
            return str(response.json()["key"])
        except (JIRAError, requests.RequestException, ValueError, KeyError) as exc:
            raise self._fail(exc, f"creating the issue in {project}") from None

    def edit_labels(self, key: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        """Add and remove labels of `key` in one edit."""
        operations = [{"add": label} for label in add] + [{"remove": label} for label in remove]
        try:
            self.client._session.put(self.client._get_url(f"issue/{key}"), json={"update": {"labels": operations}})
        except (JIRAError, requests.RequestException) as exc:
            raise self._fail(exc, f"changing the labels of {key}") from None

    def read_issue(self, key: str) -> tuple[JiraIssue, list[ChangeItem]]:
        """The issue and its changelog as Jira has them now (for the store)."""
        try:
            raw: dict[str, Any] = self.client._get_json(
                f"issue/{key}", params={"fields": ",".join(ISSUE_FIELDS), "expand": "changelog"})
        except (JIRAError, requests.RequestException) as exc:
            raise self._fail(exc, f"reading {key} back") from None
        issue = issue_from_raw(raw, self.settings.jira.url or self.client.server_url)
        histories = (raw.get("changelog") or {}).get("histories") or []
        return issue, changelog_items(issue.key, histories)


def plain_description(text: str, *, cloud: bool) -> Any:
    """`text` as Jira shows it literally: paragraphs of text nodes (Cloud), or a {noformat}
    block (Data Center's wiki markup), with any {noformat} in the text itself taken out."""
    if cloud:  # ADF: no newline inside a text node (a hardBreak instead), no empty text node
        paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        content = []
        for paragraph in paragraphs:
            nodes: list[dict] = []
            for line in paragraph.split("\n"):
                if nodes:
                    nodes.append({"type": "hardBreak"})
                if line:
                    nodes.append({"type": "text", "text": line})
            content.append({"type": "paragraph", "content": nodes})
        return {"type": "doc", "version": 1, "content": content}
    return "{noformat}\n" + text.replace("{noformat}", "") + "\n{noformat}"


def pickup_transition(transitions: Sequence[Transition], pickup_statuses: Sequence[str]) -> Transition | None:
    """The transition into the first of `pickup_statuses` (in their order) Jira offers."""
    for status in pickup_statuses:
        for t in transitions:
            if t.to.casefold() == status.casefold():
                return t
    return None
