"""Storing what sources deliver, and keeping the derived handoff cycles in step.

Sync, webhooks and the demo all go through here, so a change is handled the same way
whichever path brought it.

Jira incidents: an issue whose type is one of `jira.incident_issue_types` (compared without
regard to case) is also kept as an `Incident` (source "jira", id = the issue key): started =
the issue's creation, resolved = its resolution date (open again when Jira clears it on
reopening), target = its first component, else the NAME of its first `service:NAME` or
`model:NAME` label, else unknown. When the issue's type changes to another type, or the issue
is deleted, the incident goes.

Parents: an issue's `parent_key` (its epic, or a sub-task's parent) is stored as given. A
None parent_key clears the stored parent only when the caller says the payload carried the
parent information (`parent_carried`): a page or webhook that did not (a Data Center
payload read before the Epic Link field id is known, a read-back that asked only for
`parent`) leaves the stored parent as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Sequence

from bot.config import JiraSettings
from bot.metrics.handoffs import HandoffRules, derive_cycles
from bot.models import ChangeItem, Incident, JiraIssue
from bot.store import Store

JIRA = "jira"
TARGET_LABEL_PREFIXES = ("service:", "model:")


def incident_target(issue: JiraIssue) -> str | None:
    """The service or model an incident issue is about: first component, else a `service:`/`model:` label."""
    for component in issue.components:
        if component.strip():
            return component.strip()
    for label in issue.labels:
        prefix = next((p for p in TARGET_LABEL_PREFIXES if label.lower().startswith(p)), None)
        if prefix and label[len(prefix):].strip():
            return label[len(prefix):].strip()
    return None


def is_incident(issue: JiraIssue, incident_types: frozenset[str]) -> bool:
    wanted = {t.casefold() for t in incident_types}
    return bool(issue.issue_type) and issue.issue_type.casefold() in wanted


def jira_incident(issue: JiraIssue) -> Incident:
    """The incident an incident-type issue stands for."""
    return Incident(source=JIRA, incident_id=issue.key, title=issue.summary, started_at=issue.created,
                    resolved_at=issue.resolved, target=incident_target(issue), url=issue.url or None)


def record_jira_issue(store: Store, issue: JiraIssue, items: Sequence[ChangeItem], rules: HandoffRules,
                      incident_types: frozenset[str] = frozenset(), *, parent_carried: bool = False) -> int:
    """Upsert an issue and its changelog items, then re-derive its handoff cycles and keep its
    incident (if its type is one of `incident_types`) in step; without incident types, no
    Jira issue is an incident. A None `parent_key` keeps the stored parent unless
    `parent_carried` (see the module docstring).

    Returns the number of changelog items that were new. All in one transaction.
    """
    with store.transaction():
        if issue.parent_key is None and not parent_carried:
            issue = replace(issue, parent_key=store.parent_key_of(issue.key))
        store.save_issue(issue)
        new_items = store.save_changelog(items)
        cycles = derive_cycles(issue, store.changelog(issue.key), rules)
        store.replace_cycles(issue.key, cycles)
        if is_incident(issue, incident_types):
            store.save_incidents([jira_incident(issue)])
        else:
            store.delete_incident(JIRA, issue.key)
    return new_items


@dataclass(frozen=True)
class JiraIngest:
    """Recording issues under the configured rules (handoff cycles, incident types): what the
    sync and the webhook hold, so neither needs the metrics themselves."""

    rules: HandoffRules
    incident_types: frozenset[str] = frozenset()

    @classmethod
    def of(cls, jira: JiraSettings) -> JiraIngest:
        return cls(HandoffRules.from_settings(jira), frozenset(jira.incident_issue_types))

    def issue(self, store: Store, issue: JiraIssue, items: Sequence[ChangeItem], *,
              parent_carried: bool = False) -> int:
        """`record_jira_issue` under these rules; the number of new changelog items."""
        return record_jira_issue(store, issue, items, self.rules, self.incident_types,
                                 parent_carried=parent_carried)


def record_jira_deletion(store: Store, key: str, at: datetime) -> bool:
    """Hide a deleted issue and its handoffs, drop its incident; True when it was known and visible."""
    with store.transaction():
        store.delete_incident(JIRA, key)
        return store.mark_issue_deleted(key, at)
