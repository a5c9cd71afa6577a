"""Storing what sources deliver, and keeping the derived handoff cycles in step.

Sync, webhooks and the demo all go through here, so a change is handled the same way
whichever path brought it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from bot.metrics.handoffs import HandoffRules, derive_cycles
from bot.models import ChangeItem, JiraIssue
from bot.store import Store


def record_jira_issue(store: Store, issue: JiraIssue, items: Sequence[ChangeItem], rules: HandoffRules) -> int:
    """Upsert an issue and its changelog items, then re-derive its handoff cycles.

    Returns the number of changelog items that were new. All in one transaction.
    """
    with store.transaction():
        store.save_issue(issue)
        new_items = store.save_changelog(items)
        cycles = derive_cycles(issue, store.changelog(issue.key), rules)
        store.replace_cycles(issue.key, cycles)
    return new_items


def record_jira_deletion(store: Store, key: str, at: datetime) -> bool:
    """Hide a deleted issue and its handoffs; True when it was known and visible."""
    return store.mark_issue_deleted(key, at)
