"""Block Kit renderers for Focus Time: `/focus`, `/focus team`, `/focus setup`, the DMs.

Pure functions from query results to typed `slack_sdk` blocks, within Slack's limits (the
helpers of `bot.slack.blocks`). Wording is supportive: figures describe a calendar, not a
person. Individual figures appear only in messages to that person, and in a lead's view only
when the organisation opted in (`focus.share_individuals_with_leads`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Sequence

from slack_sdk.models.blocks import Block, DividerBlock

from bot.focus import PersonFocus, TeamReport
from bot.formatting import duration, percent
from bot.models import FocusDay
from bot.slack.blocks import _context, _fit, _header, _pack_lines, _section, escape

BAR_WIDTH = 12  # cells; the line sits in the middle, so a full bar is twice the threshold
PLACEHOLDER_HOST = "https://YOUR-BRIDGE-HOST"
WHAT_EATS_FOCUS = (
    "What usually eats focus time: meetings scattered through the day, code reviews and"
    " on-call interruptions. If one of those has grown lately, a blocked two-hour slot for"
    " deep work is often the easiest fix."
)

# -- shared text (also used by the terminal renderers) ------------------------------------------


def hours(seconds: float) -> str:
    """The threshold as people say it: '3h', '2.5h'."""
    return f"{seconds / 3600:g}h"


def bar(seconds: float, threshold_seconds: float, width: int = BAR_WIDTH) -> str:
    """A text bar with the threshold marked by '|': '██████|██░░░░' is above the line."""
    half = width // 2
    cell = threshold_seconds / half if half else threshold_seconds
    filled = min(width, int(round(seconds / cell))) if cell > 0 else 0
    cells = "█" * filled + "░" * (width - filled)
    return cells[:half] + "|" + cells[half:]


def day_label(day: date) -> str:
    return day.strftime("%a %d %b")


def day_line(day: date, row: FocusDay | None, threshold_seconds: float) -> str:
    """One workday: bar, focus time and its research / engineering split, or 'no data'."""
    label = day_label(day)
    if row is None:
        return f"{label}  {' ' * (BAR_WIDTH + 1)}  no data"
    split = f"research {duration(row.research_seconds)} · engineering {duration(row.engineering_seconds)}"
    return f"{label}  {bar(row.focus_seconds, threshold_seconds)}  {duration(row.focus_seconds):>7}  {split}"


def day_lines(person: PersonFocus) -> list[str]:
    return [day_line(d, r, person.threshold_seconds) for d, r in zip(person.window, person.days)]


def average_sentence(person: PersonFocus) -> str:
    """'2h 48m a day over 4 workdays with data' (plain text)."""
    n = person.days_with_data
    return f"{duration(person.average_seconds)} a day over {n} workday{'s' if n != 1 else ''} with data"


def supportive_line(person: PersonFocus) -> str:
    line = hours(person.threshold_seconds)
    if not person.has_data:
        return ("No focus data for these days — vacation, or not tracked yet. If you'd like to see it,"
                " `/focus setup` connects your IDE in a minute.")
    if person.below:
        return (f"That is under the {line} line. It usually says more about a calendar than about a person: "
                + WHAT_EATS_FOCUS)
    return f"That is at or above the {line} line — nicely protected focus time. :sparkles:"


def _code(lines: Sequence[str]) -> str:
    return "```" + "\n".join(lines) + "```"


def _window_text(window: Sequence[date]) -> str:
    if not window:
        return "no workdays"
    return f"{day_label(window[0])} – {day_label(window[-1])}"


# -- /focus --------------------------------------------------------------------------------------


def person_blocks(person: PersonFocus, *, min_block_minutes: int = 30) -> list[Block]:
    """The caller's own figures for the window, against the line (private)."""
    n = len(person.window)
    head = f"Your Focus Time — last {n} workdays"
    if person.has_data:
        summary = f"Average *{average_sentence(person)}* (the line is {hours(person.threshold_seconds)})."
    else:
        summary = f"The line is {hours(person.threshold_seconds)} a day."
    return [
        _header(head),
        _section(_code(day_lines(person)) if person.window else "No workdays configured."),
        _section(f"{summary}\n{supportive_line(person)}"),
        _context(
            f"Only you can see this. Focus Time = stretches of at least {min_block_minutes} min of"
            " uninterrupted IDE activity. Days without data are left out of the average, not counted as zero."
        ),
    ]


# -- /focus team ---------------------------------------------------------------------------------


def team_blocks(report: TeamReport, *, shared_with_leads: bool = False) -> list[Block]:
    """Team aggregates; who is below the line only when the org shares individuals with leads."""
    f, line = report.focus, hours(report.threshold_seconds)
    research = "—" if f.research_share is None else (
        f"{percent(f.research_share)} research · {percent(1 - f.research_share)} engineering")
    lines = [
        f"*People*: {f.people} ({f.people_with_data} with data)",
        f"*Average focus*: {duration(f.average_focus_seconds)} per person-day"
        f" · median person {duration(f.median_person_seconds)}",
        f"*Below the {line} line*: {f.below_threshold} of {f.people_with_data} with data",
        f"*Focus split*: {research}",
    ]
    head: list[Block] = [
        _header(f"Focus Time — team {report.team}"),
        _context(f"Last {len(report.window)} workdays ({_window_text(report.window)})"),
        _section("\n".join(lines)),
    ]
    if not shared_with_leads:
        return [*head, _context("Team aggregates only: each person sees their own figures with `/focus`.")]
    names = [f"• <@{escape(u)}>" for u in report.below_people] or ["Nobody is below the line."]
    rows = _pack_lines([f"*Below the {line} line* (shared with leads by your organisation's setting):", *names])
    tail = [_context("Please use this to lighten calendars, not to compare people.")]
    return _fit([*head, DividerBlock()], rows, tail, hint="use `research-bridge report focus` for all")


def not_a_lead_blocks() -> list[Block]:
    return [_section(
        "Team focus figures are shared with the leads listed in `focus.leads`. If you need them,"
        " your Research Bridge admin can add you. Your own figures are always there with `/focus`."
    )]


def unknown_team_blocks(name: str, teams: Sequence[str]) -> list[Block]:
    known = ", ".join(f"`{escape(t)}`" for t in teams) or "none configured"
    return help_blocks(f"There is no team `{escape(name)}` (teams: {known}).")


# -- /focus setup --------------------------------------------------------------------------------


def heartbeats_url(public_url: str | None) -> str:
    """The `api_url` line's value: the public URL (scheme optional) + the bulk heartbeats path."""
    host = (public_url or "").strip().rstrip("/") or PLACEHOLDER_HOST
    if not re.match(r"^https?://", host, re.IGNORECASE):
        host = "https://" + host
    return f"{host}/api/v1/users/current/heartbeats.bulk"


def setup_blocks(api_key: str, public_url: str | None) -> list[Block]:
    """The two `~/.wakatime.cfg` lines with a fresh key (shown once), and plugin hints."""
    cfg = _code(["[settings]", f"api_url = {heartbeats_url(public_url)}", f"api_key = {api_key}"])
    blocks: list[Block] = [
        _header("Connect your IDE to Research Bridge"),
        _section(f"Put these two lines in `~/.wakatime.cfg` (on Windows `%USERPROFILE%\\.wakatime.cfg`),"
                 f" under `[settings]`:\n{cfg}"),
    ]
    if not public_url:
        blocks.append(_section(
            f":warning: Replace `{PLACEHOLDER_HOST}` with the address of your Research Bridge server"
            " (your admin can set `BRIDGE_PUBLIC_URL` so this shows it)."
        ))
    blocks += [
        _section(":key: This key is shown only once. Running `/focus setup` again gives you a new key"
                 " and switches this one off."),
        _section(
            "*VS Code*: install the *WakaTime* extension.\n"
            "*JetBrains* (PyCharm, IntelliJ, …): Settings → Plugins → *WakaTime*.\n"
            "*JupyterLab*: `pip install jupyterlab-wakatime`, then restart JupyterLab.\n"
            "They all read `~/.wakatime.cfg`: no other setting is needed. If a plugin asks for an API key,"
            " paste the one above."
        ),
        _context("Collected: time stamps, project, file, language and editor of your IDE activity."
                 " Your figures are shown only to you."),
    ]
    return blocks


# -- help ----------------------------------------------------------------------------------------

_HELP = (
    ("/focus", "your Focus Time for the last five workdays, against the line (only you see it)"),
    ("/focus team NAME", "a team's aggregates (for leads)"),
    ("/focus setup", "a personal key and the `~/.wakatime.cfg` lines for your IDE plugin"),
    ("/focus help", "this help"),
)


def help_blocks(note: str | None = None) -> list[Block]:
    """Every `/focus` subcommand; `note` (already mrkdwn-safe) first."""
    blocks: list[Block] = []
    if note:
        blocks.append(_section(f":information_source: {note}"))
    blocks.append(_header("/focus — your Focus Time"))
    blocks.extend(_pack_lines(f"`{usage}` — {what}" for usage, what in _HELP))
    blocks.append(_context("Answers are visible only to you."))
    return blocks


# -- direct messages -----------------------------------------------------------------------------


def alert_text(person: PersonFocus) -> str:
    """Notification text of the low-focus DM."""
    return (f"Your Focus Time averaged {average_sentence(person)} over your last {len(person.window)} workdays"
            f" — under the {hours(person.threshold_seconds)} line.")


def alert_blocks(person: PersonFocus, *, shared_with_leads: bool = False) -> list[Block]:
    """The weekly low-focus DM: kind, with the figures per day and the line."""
    privacy = "Only you get this message" if not shared_with_leads else (
        "Your organisation shares who is below the line with leads; nobody else gets this message")
    return [
        _section(
            f"Hi <@{escape(person.slack_user_id)}>, a gentle heads-up: over your last {len(person.window)}"
            f" workdays your Focus Time averaged *{average_sentence(person)}*, under the"
            f" *{hours(person.threshold_seconds)}* line."
        ),
        _section(_code(day_lines(person))),
        _section(WHAT_EATS_FOCUS),
        _context(f"{privacy}. It comes at most once a week; `/focus` shows your figures any time."),
    ]


def recovery_text(person: PersonFocus) -> str:
    return f"Your Focus Time is back above the {hours(person.threshold_seconds)} line: {average_sentence(person)}."


def recovery_blocks(person: PersonFocus) -> list[Block]:
    """The short note once a person is back at or above the line."""
    return [
        _section(
            f"Good news <@{escape(person.slack_user_id)}>: your Focus Time is back at or above the"
            f" {hours(person.threshold_seconds)} line — *{average_sentence(person)}* over your last"
            f" {len(person.window)} workdays. :tada:"
        ),
    ]


def leads_text(people: Sequence[PersonFocus]) -> str:
    return f"Focus Time: {len(people)} researcher{'s are' if len(people) != 1 else ' is'} below the line."


def leads_blocks(people: Sequence[PersonFocus]) -> list[Block]:
    """To a lead (only when the org opted in): who is below the line, with their averages."""
    line = hours(people[0].threshold_seconds) if people else "3h"
    head: list[Block] = [_section(
        f"*Focus Time check*: {len(people)} researcher{'s are' if len(people) != 1 else ' is'} below the"
        f" {line} line over their last workdays. Each of them got a private, supportive note."
    )]
    rows = _pack_lines(f"• <@{escape(p.slack_user_id)}> — {average_sentence(p)}" for p in people)
    tail = [_context("Shared because `focus.share_individuals_with_leads` is on. Please use it to lighten"
                     " calendars, not to compare people.")]
    return _fit(head, rows, tail, hint="use `research-bridge report focus` for all")
