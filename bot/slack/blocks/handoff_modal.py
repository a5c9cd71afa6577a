"""The "Hand off to engineering" modal (`/handoffs new`, the message shortcut) and the check
of what is submitted: errors come back inline, next to their field (`response_action: errors`).

Everything a person types is read as plain text: it goes to Jira as text, and never into
mrkdwn unescaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from bot.config import Team

CALLBACK_ID = "handoff_new"
SHORTCUT_ID = "handoff_from_message"
MAX_SUMMARY = 255  # Jira's limit for a summary
MAX_DESCRIPTION = 3000  # Slack's limit for a plain-text input
MAX_OPTIONS = 100  # Slack's limit for a static select


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def _options(values: Sequence[tuple[str, str]]) -> list[dict]:
    return [{"text": _plain(label[:75]), "value": value[:150]} for value, label in values[:MAX_OPTIONS]]


def new_handoff_view(projects: Sequence[str], teams: Sequence[Team], description: str = "",
                     channel: str | None = None) -> dict:
    """The modal: summary, description (prefilled from a message), project, team."""
    blocks: list[dict] = [
        {"type": "input", "block_id": "summary", "label": _plain("Summary"),
         "element": {"type": "plain_text_input", "action_id": "value", "max_length": MAX_SUMMARY,
                     "placeholder": _plain("What engineering should pick up")}},
        {"type": "input", "block_id": "description", "optional": True, "label": _plain("Description"),
         "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                     "max_length": MAX_DESCRIPTION, **({"initial_value": description[:MAX_DESCRIPTION]}
                                                       if description else {})}},
        {"type": "input", "block_id": "project", "optional": bool(teams), "label": _plain("Jira project"),
         "hint": _plain("Or leave it to the team's project."),
         "element": {"type": "static_select", "action_id": "value", "options": _options([(p, p) for p in projects])}},
    ]
    if teams:
        blocks.append({"type": "input", "block_id": "team", "optional": True, "label": _plain("Team"),
                       "element": {"type": "static_select", "action_id": "value",
                                   "options": _options([(t.name, t.name) for t in teams])}})
    return {"type": "modal", "callback_id": CALLBACK_ID, "title": _plain("Hand off to engineering"),
            "submit": _plain("Hand off"), "close": _plain("Cancel"), "blocks": blocks,
            "private_metadata": json.dumps({"channel": channel})}


@dataclass(frozen=True)
class NewHandoff:
    project: str
    summary: str
    description: str


def _value(values: dict, block: str) -> Any:
    entry = (values.get(block) or {}).get("value") or {}
    if not isinstance(entry, dict):
        return None
    selected = entry.get("selected_option")
    return (selected or {}).get("value") if "selected_option" in entry else entry.get("value")


def read_submission(view: dict, projects: Sequence[str], teams: Sequence[Team]) -> tuple[NewHandoff | None, dict]:
    """(the handoff to create, {}) or (None, errors by block id) for a submitted modal."""
    values = ((view.get("state") or {}).get("values") or {}) if isinstance(view, dict) else {}
    summary = _value(values, "summary")
    description = _value(values, "description")
    project, team_name = _value(values, "project"), _value(values, "team")
    errors: dict[str, str] = {}
    summary = " ".join(summary.split()) if isinstance(summary, str) else ""
    if not summary:
        errors["summary"] = "Give the handoff a summary."
    elif len(summary) > MAX_SUMMARY:
        errors["summary"] = f"At most {MAX_SUMMARY} characters (Jira's limit)."
    description = description if isinstance(description, str) else ""
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"At most {MAX_DESCRIPTION} characters."
    team = next((t for t in teams if isinstance(team_name, str) and t.name == team_name), None)
    if team_name is not None and team is None:
        errors["team"] = "Choose one of the teams listed."
    if project is not None and project not in projects:
        errors["project"] = "Choose one of the synced Jira projects listed."
    elif project is None:
        own = [p for p in (team.jira_projects if team else ()) if p in projects]
        if own:
            project = own[0]
        elif "project" not in errors:
            errors["project" if not team else "team"] = (
                "Choose a Jira project." if not team else f"Team {team.name} has no Jira project: choose one above.")
    elif team and team.jira_projects and project not in team.jira_projects:
        errors["project"] = f"{project} is not one of team {team.name}'s projects ({', '.join(team.jira_projects)})."
    if errors:
        return None, errors
    return NewHandoff(str(project), summary, description.strip()), {}
