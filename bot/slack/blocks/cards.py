"""A handoff's card: the message in its team's channel (and the same facts in unfurls and
the App Home), with a Claim button while it is open.

The card shows only what stays true until the cycle changes: times are Slack date tokens
(`<!date^…^{ago}|…>`), which each reader's Slack renders in their own timezone and keeps
current ("3 hours ago"), so a card needs an update only when its handoff does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.formatting import business_days
from bot.models import HandoffState, JiraIssue
from bot.queries.handoffs import HandoffCard
from bot.slack.blocks.kit import MAX_SUMMARY, clip, context, escape, fallback_text, key_link, section, to_dicts

CLAIM_ACTION = "handoff_claim"
OPEN_ACTION = "handoff_open"


def claim_value(issue_key: str, cycle_no: int) -> str:
    """What a Claim button carries: the cycle it claims."""
    return f"{issue_key}#{cycle_no}"


def parse_claim_value(value: str) -> tuple[str, int] | None:
    """The (issue key, cycle number) of a Claim button's value, or None when it is not one."""
    key, sep, number = (value or "").rpartition("#")
    if not sep or not key or not number.isdigit() or len(value) > 100:
        return None
    return key, int(number)


def slack_date(at: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A time every reader's Slack shows in their own timezone; UTC in the fallback text."""
    return f"<!date^{int(at.timestamp())}^{fmt}|{at:%Y-%m-%d %H:%M} UTC>"


def claim_button(issue_key: str, cycle_no: int) -> ButtonElement:
    return ButtonElement(text="Claim", action_id=CLAIM_ACTION, value=claim_value(issue_key, cycle_no),
                         style="primary")


def card_blocks(card: HandoffCard, seconds_per_workday: float, sla_workdays: float) -> list[Block]:
    """Title, who handed it over and when, its state line, and Claim / Open in Jira while open."""
    view, c = card.view, card.view.cycle
    title = f":handshake: {key_link(view.key, view.url)} {clip(escape(view.summary), MAX_SUMMARY)}"
    by = f" by {escape(c.requested_by_name)}" if c.requested_by_name else ""
    facts = [f"Handed over{by} {slack_date(c.requested_at, '{ago}')}"]
    if view.team:
        facts.append(f"team *{escape(view.team)}*")
    blocks: list[Block] = [section(title), context(" · ".join(facts))]
    blocks.append(section(_state_line(card, seconds_per_workday, sla_workdays)))
    if card.is_open:
        buttons = [claim_button(c.issue_key, c.cycle_no)]
        if view.url:
            buttons.append(ButtonElement(text="Open in Jira", action_id=OPEN_ACTION, url=view.url))
        blocks.append(ActionsBlock(block_id=f"handoff:{claim_value(c.issue_key, c.cycle_no)}", elements=buttons))
    return blocks


def _state_line(card: HandoffCard, seconds_per_workday: float, sla_workdays: float) -> str:
    c = card.view.cycle
    after = "" if card.waited_workdays is None else \
        f" after {business_days(card.waited_workdays * seconds_per_workday, seconds_per_workday)}"
    if card.deleted:
        return ":wastebasket: The issue was deleted in Jira."
    if c.state is HandoffState.OPEN and card.claimed_by:  # Jira's pick-up not read back yet
        return f":white_check_mark: Claimed by <@{card.claimed_by}>"
    if c.state is HandoffState.OPEN:
        return (f":hourglass_flowing_sand: Waiting for engineering · pick-up SLA ({sla_workdays:g} workdays)"
                f" due {slack_date(card.sla_due)}")
    who = _who(card)
    if c.state is HandoffState.PICKED_UP:
        return f":white_check_mark: {'Claimed' if card.claimed_by else 'Picked up'}{who}{after}"
    if c.state is HandoffState.DELIVERED:
        when = f" {slack_date(c.delivered_at)}" if c.delivered_at else ""
        picked = f" (picked up{who}{after})" if c.picked_up_at else ""
        return f":rocket: Delivered{when}{picked}"
    when = f" {slack_date(c.withdrawn_at)}" if c.withdrawn_at else ""
    return f":leftwards_arrow_with_hook: Withdrawn by research{when}"


def _who(card: HandoffCard) -> str:
    if card.claimed_by:
        return f" by <@{card.claimed_by}>"
    if card.picked_up_by:
        return f" by <@{card.picked_up_by}>"
    name = card.view.cycle.picked_up_by_name or card.view.assignee_name
    return f" by {escape(name)}" if name else ""


def issue_blocks(issue: JiraIssue) -> list[Block]:
    """The plain facts of an issue that is not a handoff (a pasted link's unfurl)."""
    facts = [f"*{escape(issue.status)}*", escape(issue.issue_type)]
    facts.append(f"assigned to {escape(issue.assignee_name)}" if issue.assignee_name else "unassigned")
    return [section(f"{key_link(issue.key, issue.url)} {clip(escape(issue.summary), MAX_SUMMARY)}"),
            context(" · ".join(f for f in facts if f))]


def card_message(card: HandoffCard, seconds_per_workday: float, sla_workdays: float) -> tuple[str, list[dict]]:
    """(notification text, blocks) of a card, ready for chat.postMessage / chat.update."""
    blocks = card_blocks(card, seconds_per_workday, sla_workdays)
    return fallback_text(blocks), to_dicts(blocks)


def fingerprint(text: str, blocks: list[dict]) -> str:
    """A short digest of what a card shows: it is updated only when this changes."""
    return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()[:32]
