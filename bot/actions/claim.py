"""Claiming a handoff from Slack: the clicker becomes its assignee in Jira and it moves into
the first of `jira.pickup_statuses` a transition reaches.

Exactly one claim wins: the cycle's claim row is taken in one transaction before any Jira
call (`Store.start_claim`), so two clicks at once make one set of Jira writes and the other
person is told who has it. When Jira refuses, the row is dropped and the store is as it was;
the answer names what was and was not changed in Jira. After the writes the issue is read
back and stored, so the pick-up time is Jira's transition time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from bot.config import Settings
from bot.ingest.jira import JiraIngest
from bot.models import HandoffState
from bot.queries.handoffs import HandoffQueries
from bot.sources.jira_writes import JiraWriteError, JiraWriter, pickup_transition
from bot.store import Store

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)  # a claim still "in progress" after this was left by a crash

CLAIMED, TAKEN, CLOSED, GONE, UNLINKED, REFUSED = "claimed", "taken", "closed", "gone", "unlinked", "refused"


@dataclass(frozen=True)
class ClaimResult:
    """What a Claim click did: `status` (one of the constants above) and the sentence for the clicker."""

    status: str
    message: str
    issue_key: str
    cycle_no: int

    @property
    def ok(self) -> bool:
        return self.status == CLAIMED


def jira_identity(store: Store, settings: Settings, slack_user_id: str, slack_email: str | None) -> tuple[str | None, str | None]:
    """(account, e-mail) of a Slack user in Jira: an account id or user name from
    `[jira.user_map]` or from the synced issues, else the e-mail to look up."""
    emails: list[str] = []
    for jira_user, slack_id in settings.jira.user_map.items():
        if slack_id == slack_user_id:
            if "@" not in jira_user:
                return jira_user, None
            emails.append(jira_user)
    emails += [u for u, s in store.user_links().items() if s == slack_user_id and "@" in u]
    if slack_email:
        emails.append(slack_email)
    for email in emails:
        account = store.jira_account_of(email)
        if account:
            return account, email
    return None, (emails[0] if emails else None)


def claim_handoff(store: Store, settings: Settings, writer: Callable[[], JiraWriter], issue_key: str, cycle_no: int,
                  slack_user_id: str, slack_email: str | None, now: datetime) -> ClaimResult:
    """Claim cycle `cycle_no` of `issue_key` for `slack_user_id` (see the module docstring)."""

    def result(status: str, message: str) -> ClaimResult:
        return ClaimResult(status, message, issue_key, cycle_no)

    queries = HandoffQueries(store, settings)
    view = queries.cycle(issue_key, cycle_no)
    if view is None:
        return result(GONE, f"I can't find that handoff of {issue_key} any more (deleted in Jira?). Nothing was changed.")
    held = store.claim_of(issue_key, cycle_no)
    if view.cycle.state is not HandoffState.OPEN:
        who = f"<@{held.slack_user_id}>" if held else (view.cycle.picked_up_by_name or "someone")
        what = {"picked_up": f"already picked up by {who}", "delivered": "already delivered",
                "withdrawn": "withdrawn by research"}[view.cycle.state.value]
        return result(CLOSED, f"{issue_key} is {what}. Nothing was changed.")
    taken, claim = store.start_claim(issue_key, cycle_no, slack_user_id, now, CLAIM_LEASE)
    if not taken:
        if claim.slack_user_id == slack_user_id:
            return result(TAKEN, f"Your claim of {issue_key} is already under way.")
        return result(TAKEN, f"{issue_key} is already claimed by <@{claim.slack_user_id}>. Nothing was changed.")
    try:
        outcome = _write(store, settings, writer(), issue_key, slack_user_id, slack_email)
    except Exception:
        store.drop_claim(issue_key, cycle_no)
        raise
    if not outcome.ok:
        store.drop_claim(issue_key, cycle_no)
        return result(outcome.status, outcome.message)
    store.finish_claim(issue_key, cycle_no, now)
    return result(CLAIMED, outcome.message)


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status: str
    message: str


def _write(store: Store, settings: Settings, jira: JiraWriter, key: str, slack_user_id: str,
           slack_email: str | None) -> _Outcome:
    """The Jira calls of a claim, in the order that leaves the least half-done."""
    statuses = settings.jira.pickup_statuses
    try:
        account, email = jira_identity(store, settings, slack_user_id, slack_email)
        if account is None and email:
            account = jira.account_for_email(email)
        if account is None:
            where = f" (Jira has no user with {email})" if email else ""
            return _Outcome(False, UNLINKED, (
                f"I don't know your Jira account{where}, so I can't assign {key} to you. Nothing was changed. "
                "Ask your Research Bridge admin to add you to `[jira.user_map]` "
                f'(`"YOUR-JIRA-ACCOUNT-ID-OR-EMAIL" = "{slack_user_id}"`), or use the same e-mail in Slack and Jira.'))
        transition = pickup_transition(jira.transitions(key), statuses)
        current = store.issue(key)
        already = current is not None and current.status.casefold() in {s.casefold() for s in statuses}
        if transition is None and not already:
            wanted = " or ".join(f"*{s}*" for s in statuses)
            status = f" from *{current.status}*" if current else ""
            return _Outcome(False, REFUSED, (
                f"Jira offers no transition{status} to {wanted} for {key}, so I did not claim it. Nothing was"
                " changed. Move it in Jira, or add the status it can reach to `[jira] pickup_statuses`; the"
                " bot's Jira account needs the Transition Issues permission."))
        jira.assign(key, account)
    except JiraWriteError as exc:
        log.warning("claim of %s by %s refused: %s", key, slack_user_id, exc)
        return _Outcome(False, REFUSED, f"Jira refused the claim: {exc}. Nothing was changed.")
    try:
        if transition is not None:
            jira.transition(key, transition)
    except JiraWriteError as exc:
        log.warning("claim of %s by %s: assigned, not moved: %s", key, slack_user_id, exc)
        return _Outcome(False, REFUSED, (
            f"{key} is now assigned to you in Jira, but Jira refused to move it: {exc}. Move it in Jira;"
            " the wait stops when it does."))
    moved = f" and moved it to *{transition.to}*" if transition else ""
    try:
        issue, items = jira.read_issue(key)
        JiraIngest.of(settings.jira).issue(store, issue, items)
    except (JiraWriteError, ValueError) as exc:  # the webhook or the next sync brings it
        log.warning("claim of %s: written to Jira, not read back yet: %s", key, exc)
    return _Outcome(True, CLAIMED, f"You claimed {key}: Jira now has it assigned to you{moved}.")
