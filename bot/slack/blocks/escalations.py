"""The words of an SLA escalation: the nudge in a card's thread, the DM to each lead at twice
the SLA, and the line in the escalation channel. Never @here or @channel: leads are named."""

from __future__ import annotations

from typing import Sequence

from slack_sdk.models.blocks import Block

from bot.models import HandoffView
from bot.slack.blocks.kit import MAX_SUMMARY, clip, escape, key_link, section


def _title(view: HandoffView) -> str:
    return f"{key_link(view.key, view.url)} {clip(escape(view.summary), MAX_SUMMARY)}"


def _team(view: HandoffView) -> str:
    return f"team *{escape(view.team)}*" if view.team else "no team"


def thread_nudge(view: HandoffView, leads: Sequence[str], waited_days: float, sla_days: float) -> list[Block]:
    """The reply in the card's thread once the SLA has passed."""
    who = " ".join(f"<@{lead}>" for lead in leads) if leads else (
        f"Team *{escape(view.team)}*" if view.team else "Engineering")
    return [section(f":alarm_clock: {who}: this handoff has waited *{waited_days:.1f} bd* for engineering, past"
                    f" the {sla_days:g}-workday pick-up SLA. Claim it on the card above, or say in this thread"
                    " why it waits.")]


def lead_dm(view: HandoffView, waited_days: float, sla_days: float, card_channel: str) -> list[Block]:
    """The private message to each of the team's leads at twice the SLA."""
    return [section(f":rotating_light: {_title(view)} has waited *{waited_days:.1f} bd* for engineering: twice"
                    f" the {sla_days:g}-workday pick-up SLA ({_team(view)}). Its card is in <#{card_channel}>.")]


def channel_line(view: HandoffView, waited_days: float, sla_days: float) -> list[Block]:
    """The line in `jira.escalation_channel` at twice the SLA."""
    return [section(f":rotating_light: {_title(view)} · {_team(view)} · waited *{waited_days:.1f} bd*, twice the"
                    f" {sla_days:g}-workday pick-up SLA")]
