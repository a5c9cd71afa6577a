"""Block Kit renderers for Focus Time: `/focus`, `/focus team`, `/focus setup`, the DMs.

Pure functions from query results to typed `slack_sdk` blocks, within Slack's limits (the
helpers of `bot.slack.blocks`). Wording is supportive: figures describe a calendar, not a
person. Individual figures appear only in messages to that person; a lead is told who is
below the line (never their figures) only when the organisation opted in
(`focus.share_individuals_with_leads`). A figure is never rounded up to the line: durations
and bars are cut (`hours_minutes`, `bar`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    PlainTextObject,
)

from bot.formatting import hours_minutes, line_cells, local_time, percent
from bot.models import FocusDay
from bot.queries.focus import KeyStatus, PersonFocus, TeamReport
from bot.slack.blocks.kit import context, escape, fit, header, pack_lines, section

BAR_WIDTH = 12  # cells; the line sits in the middle, so a full bar is twice the threshold
PLACEHOLDER_HOST = "https://YOUR-BRIDGE-HOST"
REPLACE_KEY_ACTION = "focus_replace_key"
KEEP_KEY_ACTION = "focus_keep_key"
TODAY_MARK = "(today so far)"
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
    """A text bar with the threshold marked by '|': '██████|██░░░░' is above the line. Cells
    are cut like the figures: a value under the line fills fewer cells than the line, a value
    on or above it at least as many."""
    half = width // 2
    filled = line_cells(seconds, threshold_seconds, half)
    cells = "█" * filled + "░" * (width - filled)
    return cells[:half] + "|" + cells[half:]


def day_label(day: date) -> str:
    return day.strftime("%a %d %b")


def day_line(day: date, row: FocusDay | None, threshold_seconds: float, note: str = "") -> str:
    """One workday: bar, focus time and its research / engineering split, or 'no data'."""
    label = day_label(day)
    if row is None:
        return f"{label}  {' ' * (BAR_WIDTH + 1)}  no data" + (f"  {note}" if note else "")
    split = f"research {hours_minutes(row.research_seconds)} · engineering {hours_minutes(row.engineering_seconds)}"
    text = f"{label}  {bar(row.focus_seconds, threshold_seconds)}  {hours_minutes(row.focus_seconds):>7}  {split}"
    return text + (f"  {note}" if note else "")


def day_lines(person: PersonFocus) -> list[str]:
    """The window's workdays (today so far is `today_line`)."""
    return [day_line(d, r, person.threshold_seconds) for d, r in zip(person.window, person.days)]


def today_line(person: PersonFocus) -> str | None:
    """Today so far, marked partial; None when nothing arrived today."""
    if person.today is None or person.today_row is None:
        return None
    return day_line(person.today, person.today_row, person.threshold_seconds, TODAY_MARK)


def average_sentence(person: PersonFocus) -> str:
    """'2h 48m a day over 4 workdays with data' (plain text, for the terminal)."""
    n = person.days_with_data
    return f"{hours_minutes(person.average_seconds)} a day over {n} workday{'s' if n != 1 else ''} with data"


def _over(with_data: int, total: int, whose: str) -> str:
    """Which days an average is over: 'over your last 5 workdays', 'over the 3 of your last 5
    workdays with IDE data', 'on the only one of your last 5 workdays with IDE data'."""
    if total == 1:
        return f"on {whose} last workday"
    if with_data >= total:
        return f"over {whose} last {total} workdays"
    if with_data == 1:
        return f"on the only one of {whose} last {total} workdays with IDE data"
    return f"over the {with_data} of {whose} last {total} workdays with IDE data"


def focus_figure(person: PersonFocus, *, whose: str = "your", bold: bool = False) -> str:
    """'2h 38m of focus a day over your last 5 workdays' ('2h 0m of focus on …' for one day)."""
    n, b = person.days_with_data, "*" if bold else ""
    per_day = " a day" if n > 1 else ""
    return f"{b}{hours_minutes(person.average_seconds)} of focus{per_day}{b} {_over(n, len(person.window), whose)}"


def averaged(person: PersonFocus, *, bold: bool = False) -> str:
    """'averaged *2h 38m of focus a day* over your last 5 workdays' (after 'you')."""
    verb = "averaged" if person.days_with_data > 1 else "had"
    return f"{verb} {focus_figure(person, bold=bold)}"


def supportive_line(person: PersonFocus) -> str:
    """After the average: where it is against the line, kindly (only with data)."""
    line = hours(person.threshold_seconds)
    if person.below:
        return (f"That is under the {line} line, which usually says more about a calendar than about you. "
                + WHAT_EATS_FOCUS)
    return f"That is at or above the {line} line — nicely protected focus time. :sparkles:"


def ago(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """'less than a minute ago', '12 min ago', '3 hours ago', 'yesterday at 17:40', '4 days ago, on Mon 09 Jun'."""
    seconds = (now - at).total_seconds()
    if seconds < 60:
        return "less than a minute ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    day, today = at.astimezone(tz), now.astimezone(tz).date()
    if day.date() >= today:
        n = int(seconds // 3600)
        return f"{n} hour{'s' if n != 1 else ''} ago"
    if day.date() == today - timedelta(days=1):
        return f"yesterday at {day:%H:%M}"
    return f"{(today - day.date()).days} days ago, on {day_label(day.date())}"


def cfg_check(key: KeyStatus, tz: ZoneInfo, public_url: str | None, *, named: bool = False) -> str:
    """What to check in the IDE set-up, naming the key by when it was created (unless the
    sentence before did: `named`)."""
    which = "that key" if named else f"the key you got on {local_time(key.created_at, tz)}"
    return (f"`~/.wakatime.cfg` (on Windows `%USERPROFILE%\\.wakatime.cfg`) needs, under `[settings]`,"
            f" `api_url = {heartbeats_url(public_url)}` and {which} as `api_key`. After editing it, restart"
            " the IDE and type in a file: the plugin sends a heartbeat every few minutes. A 401 in the"
            " plugin's log means the key in the file is not your current one.")


def key_status_text(key: KeyStatus, now: datetime, tz: ZoneInfo, public_url: str | None, *,
                    quiet: bool = False) -> str:
    """The last heartbeat of a person with a key; what to check when none arrived with it
    (or, with `quiet`, none lately)."""
    created = local_time(key.created_at, tz)
    last = key.last_heartbeat_at
    if last is not None and key.heard_since_created:
        text = f":electric_plug: Last heartbeat {ago(last, now, tz)}."
        if quiet:
            text += (" If you have been coding since, check your IDE's WakaTime plugin:"
                     f" {cfg_check(key, tz, public_url)}")
        return text
    if last is None:
        none = "received yet" if key.never_heard(now) else f"in the last {key.retention_days} days"
        return (f":hourglass_flowing_sand: No heartbeat {none} with your key created {created}."
                f" Check your IDE's WakaTime set-up: {cfg_check(key, tz, public_url, named=True)}")
    return (f":hourglass_flowing_sand: No heartbeat received yet with your key created {created}; the last one"
            f" arrived {ago(last, now, tz)}, with an older key. Your IDE probably still has the old key:"
            f" {cfg_check(key, tz, public_url, named=True)}")


def _code(lines: Sequence[str]) -> str:
    return "```" + "\n".join(lines) + "```"


def _window_text(window: Sequence[date]) -> str:
    if not window:
        return "no workdays"
    return f"{day_label(window[0])} – {day_label(window[-1])}"


# -- /focus --------------------------------------------------------------------------------------


def person_blocks(
    person: PersonFocus,
    *,
    min_block_minutes: int = 30,
    key: KeyStatus | None = None,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    public_url: str | None = None,
) -> list[Block]:
    """The caller's own figures for the window against the line, today so far (partial, not in
    the average) and, with a key, when the last heartbeat arrived (private). Someone with a
    key is pointed at their IDE plugin, never at `/focus setup` (which replaces the key)."""
    n, line = len(person.window), hours(person.threshold_seconds)
    today = today_line(person)
    head = f"Your Focus Time — last {n} workdays" + (" and today so far" if today else "")
    lines = day_lines(person) + ([today] if today else [])
    if person.has_data:
        text = f"You {averaged(person, bold=True)}.\n{supportive_line(person)}"
    elif key is None:
        text = (f"The line is {line} a day.\nNo focus data for these days — vacation, or not tracked yet."
                " If you'd like to see it, `/focus setup` connects your IDE in a minute.")
    elif today:
        text = f"No past workday with IDE data yet, so there is no average to hold against the {line} line."
        if key.heard_since_created:
            text += " Your IDE is sending: your figures build up from here."
    else:
        text = f"The line is {line} a day.\nNo focus data for these days."
    if today and person.today_row is not None:
        when = ("it is not in the average until the day is over" if person.today_is_workday
                else "today is not a workday, so it never counts in the average")
        text += f"\nToday so far: {hours_minutes(person.today_row.focus_seconds)} of focus — partial: {when}."
    blocks: list[Block] = [
        header(head),
        section(_code(lines) if lines else "No workdays configured."),
        section(text),
    ]
    if key is not None and now is not None:
        quiet = not person.has_data and not today
        blocks.append(section(key_status_text(key, now, tz or ZoneInfo("UTC"), public_url, quiet=quiet)))
    blocks.append(context(
        f"Only you can see this. Focus Time = stretches of at least {min_block_minutes} min of"
        " uninterrupted IDE activity. Days without data are left out of the average, not counted as zero."
    ))
    return blocks


# -- /focus team ---------------------------------------------------------------------------------


def team_blocks(report: TeamReport, *, shared_with_leads: bool = False) -> list[Block]:
    """Team aggregates; who is below the line only when the org shares individuals with leads."""
    f, line = report.focus, hours(report.threshold_seconds)
    research = "—" if f.research_share is None else (
        f"{percent(f.research_share)} research · {percent(1 - f.research_share)} engineering")
    lines = [
        f"*People*: {f.people} ({f.people_with_data} with data)",
        f"*Average focus*: {hours_minutes(f.average_focus_seconds)} per person-day"
        f" · median person {hours_minutes(f.median_person_seconds)}",
        f"*Below the {line} line*: {f.below_threshold} of {f.people_with_data} with data",
        f"*Focus split*: {research}",
    ]
    head: list[Block] = [
        header(f"Focus Time — team {report.team}"),
        context(f"Last {len(report.window)} workdays ({_window_text(report.window)})"),
        section("\n".join(lines)),
    ]
    if not shared_with_leads:
        return [*head, context("Team aggregates only: each person sees their own figures with `/focus`.")]
    names = [f"• <@{escape(u)}>" for u in report.below_people] or ["Nobody is below the line."]
    rows = pack_lines([f"*Below the {line} line* (shared with leads by your organisation's setting):", *names])
    tail = [context("Please use this to lighten calendars, not to compare people.")]
    return fit([*head, DividerBlock()], rows, tail, hint="use `research-bridge report focus` for all")


def not_a_lead_blocks() -> list[Block]:
    return [section(
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


def setup_blocks(api_key: str, public_url: str | None, *, replaced: bool = False) -> list[Block]:
    """The two `~/.wakatime.cfg` lines with a fresh key (shown once), and plugin hints."""
    cfg = _code(["[settings]", f"api_url = {heartbeats_url(public_url)}", f"api_key = {api_key}"])
    blocks: list[Block] = [header("Connect your IDE to Research Bridge")]
    if replaced:
        blocks.append(section(":white_check_mark: Your old key is switched off: put this new one in every IDE"
                               " you use."))
    blocks += [
        section(f"Put these two lines in `~/.wakatime.cfg` (on Windows `%USERPROFILE%\\.wakatime.cfg`),"
                 f" under `[settings]`:\n{cfg}"),
    ]
    if not public_url:
        blocks.append(section(
            f":warning: Replace `{PLACEHOLDER_HOST}` with the address of your Research Bridge server"
            " (your admin can set `BRIDGE_PUBLIC_URL` so this shows it)."
        ))
    blocks += [
        section(":key: This key is shown only once. If you lose it, run `/focus setup` again: it offers to"
                 " replace it, and the old key then stops working."),
        section(
            "*VS Code*: install the *WakaTime* extension.\n"
            "*JetBrains* (PyCharm, IntelliJ, …): Settings → Plugins → *WakaTime*.\n"
            "*JupyterLab*: `pip install jupyterlab-wakatime`, then restart JupyterLab.\n"
            "They all read `~/.wakatime.cfg`: no other setting is needed. If a plugin asks for an API key,"
            " paste the one above."
        ),
        context("Collected: time stamps, project, file, language and editor of your IDE activity."
                 " Your figures are shown only to you."),
    ]
    return blocks


def key_exists_blocks(key: KeyStatus, now: datetime, tz: ZoneInfo, public_url: str | None) -> list[Block]:
    """`/focus setup` for someone who already has a key: what it is, and a choice (nothing is
    revoked until they confirm "Replace my key")."""
    created = local_time(key.created_at, tz)
    last = key.last_heartbeat_at
    if last is not None and key.heard_since_created:
        heard = f" Its last heartbeat arrived {ago(last, now, tz)}."
    elif last is None:
        heard = (" No heartbeat has arrived with it yet." if key.never_heard(now)
                 else f" No heartbeat has arrived with it in the last {key.retention_days} days.")
    else:
        heard = f" No heartbeat has arrived with it yet; the last one came {ago(last, now, tz)}, with an older key."
    confirm = ConfirmObject(
        title="Replace your key?",
        text=PlainTextObject(text="The old key stops working at once: every IDE that still has it stops sending"
                                  " until you put the new key in ~/.wakatime.cfg."),
        confirm="Replace my key",
        deny="Cancel",
        style="danger",
    )
    return [
        section(f":key: You already have a Focus Time key, created {created}.{heard}"),
        section("Nothing needs to change while your IDE is sending. If it isn't, check the plugin first: "
                 f"{cfg_check(key, tz, public_url, named=True)}\nReplace the key only if you lost it or it may"
                 " have leaked."),
        ActionsBlock(block_id="focus_setup_key", elements=[
            ButtonElement(text="Replace my key", action_id=REPLACE_KEY_ACTION, value="replace", style="danger",
                          confirm=confirm),
            ButtonElement(text="Keep my key", action_id=KEEP_KEY_ACTION, value="keep"),
        ]),
        context("Only you can see this."),
    ]


def key_kept_blocks() -> list[Block]:
    return [section("Nothing changed: your key stays as it is. `/focus` shows when its last heartbeat arrived.")]


# -- help ----------------------------------------------------------------------------------------

_HELP = (
    ("/focus", "your Focus Time for the last five workdays, against the line (only you see it)"),
    ("/focus team NAME", "a team's aggregates (for leads)"),
    ("/focus setup", "a personal key and the `~/.wakatime.cfg` lines for your IDE plugin"
                     " (asks before replacing a key you already have)"),
    ("/focus help", "this help"),
)


def help_blocks(note: str | None = None) -> list[Block]:
    """Every `/focus` subcommand; `note` (already mrkdwn-safe) first."""
    blocks: list[Block] = []
    if note:
        blocks.append(section(f":information_source: {note}"))
    blocks.append(header("/focus — your Focus Time"))
    blocks.extend(pack_lines(f"`{usage}` — {what}" for usage, what in _HELP))
    blocks.append(context("Answers are visible only to you."))
    return blocks


# -- direct messages -----------------------------------------------------------------------------


def alert_text(person: PersonFocus) -> str:
    """Notification text of the low-focus DM."""
    return f"A gentle heads-up: you {averaged(person)}, under the {hours(person.threshold_seconds)} line."


def alert_blocks(person: PersonFocus, *, shared_with_leads: bool = False) -> list[Block]:
    """The weekly low-focus DM: kind, with the figures per day and the line."""
    privacy = "Only you get this message" if not shared_with_leads else (
        "Your organisation shares who is below the line with leads; nobody else gets this message")
    return [
        section(
            f"Hi <@{escape(person.slack_user_id)}>, a gentle heads-up: you {averaged(person, bold=True)},"
            f" under the *{hours(person.threshold_seconds)}* line."
        ),
        section(_code(day_lines(person))),
        section(f"A figure under the line usually says more about a calendar than about you. {WHAT_EATS_FOCUS}"),
        context(f"{privacy}. It comes at most once a week; `/focus` shows your figures any time."),
    ]


def recovery_text(person: PersonFocus) -> str:
    return (f"Good news: your Focus Time is back at or above the {hours(person.threshold_seconds)} line"
            f" — you {averaged(person)}.")


def recovery_blocks(person: PersonFocus) -> list[Block]:
    """The short note once a person is back at or above the line."""
    return [
        section(
            f"Good news <@{escape(person.slack_user_id)}>: your Focus Time is back at or above the"
            f" {hours(person.threshold_seconds)} line — you {averaged(person, bold=True)}. :tada:"
        ),
    ]


def _researchers_are(n: int) -> str:
    return f"{n} researcher{'s are' if n != 1 else ' is'}"


def leads_text(people: Sequence[PersonFocus]) -> str:
    return f"Focus Time: {_researchers_are(len(people))} below the line."


def leads_blocks(people: Sequence[PersonFocus]) -> list[Block]:
    """To a lead (only when the org opted in): who is below the line. Not their figures: those
    reach only the person (as `/focus team` and the digest name people without figures)."""
    line = hours(people[0].threshold_seconds) if people else "3h"
    days = f"last {len(people[0].window)} workdays" if people else "last workdays"
    they = "Each of them gets" if len(people) != 1 else "They get"
    head: list[Block] = [section(
        f"*Focus Time check*: {_researchers_are(len(people))} below the {line} line over their {days}."
        f" {they} a private, supportive note, at most once a week; their figures stay with them."
    )]
    rows = pack_lines(f"• <@{escape(p.slack_user_id)}>" for p in people)
    tail = [context("Shared because `focus.share_individuals_with_leads` is on. Please use it to lighten"
                     " calendars, not to compare people.")]
    return fit(head, rows, tail, hint="use `research-bridge report focus` for all")
