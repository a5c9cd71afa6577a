"""Handing off from Slack: create a Jira issue with the handoff label (`/handoffs new`, the
"Hand off to engineering" message shortcut), or add or remove the label on an issue that
exists (`/handoffs request KEY`, `/handoffs withdraw KEY`).

Each writes to Jira, then reads the issue back and stores it through `bot.ingest`, so the
handoff's request time is Jira's and its card follows (the caller brings the cards up to
date). Issues outside the synced scope are refused: the bot would never see them again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.ingest.jira import JiraIngest
from bot.sources.jira_writes import JiraWriteError, JiraWriter
from bot.store import Store

log = logging.getLogger(__name__)

MAX_SUMMARY = 255  # Jira's limit


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    issue_key: str | None = None


def _store_back(store: Store, settings: Settings, jira: JiraWriter, key: str) -> None:
    try:
        issue, items = jira.read_issue(key)
        JiraIngest.of(settings.jira).issue(store, issue, items)
    except (JiraWriteError, ValueError) as exc:  # the webhook or the next sync brings it
        log.warning("%s: written to Jira, not read back yet: %s", key, exc)


def create_handoff(store: Store, settings: Settings, jira: JiraWriter, project: str, summary: str,
                   description: str) -> ActionResult:
    """A new issue in `project`, labelled for handoff (the first of `jira.handoff_labels`)."""
    label = settings.jira.handoff_labels[0]
    try:
        key = jira.create_issue(project, summary, description, [label])
    except JiraWriteError as exc:
        log.warning("creating a handoff in %s refused: %s", project, exc)
        return ActionResult(False, f"Jira refused to create the issue: {exc}. Nothing was created.")
    _store_back(store, settings, jira, key)
    return ActionResult(True, f"Created {key} and handed it to engineering (label `{label}`).", key)


def set_handoff_label(store: Store, settings: Settings, jira: JiraWriter, key: str, handed_over: bool) -> ActionResult:
    """Add the handoff label to `key` (`handed_over`) or remove every handoff label from it."""
    issue = store.issue(key.upper())
    if issue is None:
        return ActionResult(False, f"I don't know {key.upper()}: it may be outside the synced Jira scope (`jira.jql`)"
                                   " or not synced yet. Nothing was changed.")
    labels = settings.jira.handoff_labels
    present = [label for label in issue.labels if label in labels]
    if handed_over and present:
        return ActionResult(False, f"{issue.key} is already handed over (label `{present[0]}`). Nothing was changed.",
                            issue.key)
    if not handed_over and not present:
        return ActionResult(False, f"{issue.key} is not handed over (no handoff label). Nothing was changed.", issue.key)
    try:
        if handed_over:
            jira.edit_labels(issue.key, add=[labels[0]])
        else:
            jira.edit_labels(issue.key, remove=present)
    except JiraWriteError as exc:
        log.warning("labels of %s refused: %s", issue.key, exc)
        return ActionResult(False, f"Jira refused: {exc}. Nothing was changed.", issue.key)
    _store_back(store, settings, jira, issue.key)
    done = f"handed {issue.key} to engineering" if handed_over else f"withdrew the handoff of {issue.key}"
    return ActionResult(True, f"Done: {done} in Jira.", issue.key)
