"""Block Kit for handoffs: `/handoffs` (open, stats, team, mine, an issue's timeline), its
help, and the App Home. Pure functions from query results to typed blocks (see `kit`)."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    SectionBlock,
)

from bot.formatting import business_days, duration, local_date, local_time, percent
from bot.metrics.handoffs import HandoffStats, business_wait_seconds, wait_seconds
from bot.metrics.workcal import WorkCalendar
from bot.models import HandoffState, HandoffView
from bot.queries.handoffs import IssueReport, StatsReport
from bot.slack.blocks.cards import claim_button
from bot.slack.blocks.kit import (
    MAX_HOME_BLOCKS,
    MAX_MESSAGE_BLOCKS,
    MAX_SUMMARY,
    clip,
    context,
    escape,
    fit,
    header,
    key_link,
    pack_lines,
    section,
)

REPORT_HINT = "use `research-bridge report handoffs` for all"
_WINDOW_TITLES = {"7d": "last 7 days", "30d": "last 30 days", "90d": "last 90 days", "quarter": "this quarter"}


# -- handoff rows ------------------------------------------------------------------------------


def _wait(seconds: float, business: float, calendar: WorkCalendar) -> str:
    return f"*{business_days(business, calendar.seconds_per_workday)}* ({duration(seconds)})"


def _handoff_row(
    view: HandoffView, now: datetime, calendar: WorkCalendar, tz: ZoneInfo, sla_workdays: float,
    claimable: bool = False,
) -> SectionBlock:
    """One handoff: link, summary, wait (business and calendar), requester, team, SLA marker;
    a Claim button beside it while it is open, when `claimable`."""
    c = view.cycle
    waited, business = wait_seconds(c, now), business_wait_seconds(c, now, calendar)
    title = f"{key_link(view.key, view.url)} {clip(escape(view.summary), MAX_SUMMARY)}"
    if c.state is HandoffState.PICKED_UP:
        who = f" by {escape(c.picked_up_by_name)}" if c.picked_up_by_name else ""
        status = f":hammer_and_wrench: picked up{who} after {_wait(waited, business, calendar)}"
    else:
        status = f":hourglass_flowing_sand: waiting {_wait(waited, business, calendar)}"
    details = [status]
    by = f" by {escape(c.requested_by_name)}" if c.requested_by_name else ""
    details.append(f"handed over {local_time(c.requested_at, tz)}{by}")
    if view.team:
        details.append(f"team *{escape(view.team)}*")
    text = f"{title}\n{' · '.join(details)}"
    if c.state is HandoffState.OPEN and business > sla_workdays * calendar.seconds_per_workday:
        text += f"\n:warning: over the {sla_workdays:g}-workday pick-up SLA"
    block = section(text)
    if claimable and c.state is HandoffState.OPEN:
        block.accessory = claim_button(c.issue_key, c.cycle_no)
    return block


def _oldest_first(views: Iterable[HandoffView]) -> list[HandoffView]:
    return sorted(views, key=lambda v: (v.cycle.requested_at, v.key, v.cycle.cycle_no))


def open_handoffs_blocks(
    views: Sequence[HandoffView],
    now: datetime,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    title: str = "Open handoffs",
    *,
    sla_workdays: float = 3,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    claimable: bool = False,
) -> list[Block]:
    """Open handoffs oldest first, with a one-line summary; one friendly line when empty."""
    if not views:
        return [section(f"*{escape(title)}*: nothing is waiting for engineering right now :sparkles:")]
    ordered = _oldest_first(views)
    limit = sla_workdays * calendar.seconds_per_workday
    breaches = sum(1 for v in ordered if business_wait_seconds(v.cycle, now, calendar) > limit)
    oldest = wait_seconds(ordered[0].cycle, now)
    summary = f"*{len(ordered)}* waiting for engineering · oldest {duration(oldest)}"
    if breaches:
        summary += f" · {breaches} over the {sla_workdays:g}-workday SLA"
    head = [header(title), context(summary)]
    rows = [_handoff_row(v, now, calendar, tz, sla_workdays, claimable) for v in ordered]
    return fit(head, rows, max_blocks=max_blocks, hint=REPORT_HINT)


def team_handoffs_blocks(
    team: str,
    views: Sequence[HandoffView],
    now: datetime,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    *,
    sla_workdays: float = 3,
    claimable: bool = False,
) -> list[Block]:
    """A team's open handoffs (the open-handoffs list with the team in the title)."""
    return open_handoffs_blocks(views, now, calendar, tz, f"Open handoffs — team {team}", sla_workdays=sla_workdays,
                                claimable=claimable)


def user_handoffs_blocks(
    views: Sequence[HandoffView],
    now: datetime,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    *,
    sla_workdays: float = 3,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    title: str = "Your active handoffs",
    claimable: bool = False,
) -> list[Block]:
    """The caller's active handoffs: open ones (oldest first), then those picked up."""
    if not views:
        return [section(f"*{escape(title)}*: none right now — nothing of yours is waiting on engineering.")]
    ordered = _oldest_first(views)
    open_views = [v for v in ordered if v.cycle.state is HandoffState.OPEN]
    picked = [v for v in ordered if v.cycle.state is not HandoffState.OPEN]
    head = [header(title), context(f"*{len(open_views)}* waiting · *{len(picked)}* picked up")]
    rows = [_handoff_row(v, now, calendar, tz, sla_workdays, claimable) for v in open_views + picked]
    return fit(head, rows, max_blocks=max_blocks, hint=REPORT_HINT)


# -- statistics --------------------------------------------------------------------------------


def _stats_lines(s: HandoffStats, calendar: WorkCalendar) -> list[str]:
    per_day = calendar.seconds_per_workday
    return [
        f"*Requested* {s.requested} · *Picked up* {s.picked_up}"
        f" · *Delivered* {s.delivered} · *Withdrawn* {s.withdrawn}",
        f"*Wait for pick-up*: median {business_days(s.median_business_wait_seconds, per_day)}"
        f" ({duration(s.median_wait_seconds)}) · p90 {business_days(s.p90_business_wait_seconds, per_day)}"
        f" ({duration(s.p90_wait_seconds)})",
        f"*Conversion* (requested → delivered): {percent(s.conversion)}"
        f" · *Time to production*: median {duration(s.median_productionization_seconds)}",
        f"*Open now*: {s.open_now}"
        + (f" (oldest {duration(s.oldest_open_wait_seconds)})" if s.oldest_open_wait_seconds is not None else "")
        + (f" · {s.sla_breaches} over SLA" if s.sla_breaches else ""),
    ]


def _team_line(team: str, s: HandoffStats, calendar: WorkCalendar) -> str:
    wait = business_days(s.median_business_wait_seconds, calendar.seconds_per_workday)
    return (
        f"*{escape(team)}*: {s.requested} requested · {s.picked_up} picked up · {s.delivered} delivered"
        f" · median wait {wait} · {s.open_now} open · conversion {percent(s.conversion)}"
    )


def stats_blocks(report: StatsReport, calendar: WorkCalendar, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[Block]:
    """Window, counts, median and p90 wait (calendar and business), conversion, open now, per team."""
    window = _WINDOW_TITLES.get(report.window, report.window)
    head: list[Block] = [
        header(f"Handoff stats — {window}"),
        context(
            f"{local_date(report.start, calendar.tz)} – {local_date(report.now, calendar.tz)} ({calendar.timezone})"
            " · waits in business days (calendar time)"
        ),
        section("\n".join(_stats_lines(report.overall, calendar))),
    ]
    if not report.by_team:
        return head
    lines = [_team_line(team, s, calendar) for team, s in report.by_team.items()]
    return fit([*head, DividerBlock(), section("*By team*")], pack_lines(lines), max_blocks=max_blocks,
               hint=REPORT_HINT)


# -- one issue ---------------------------------------------------------------------------------


def _cycle_line(view: HandoffView, now: datetime, calendar: WorkCalendar, tz: ZoneInfo) -> str:
    c = view.cycle
    waited = _wait(wait_seconds(c, now), business_wait_seconds(c, now, calendar), calendar)
    by = f" by {escape(c.requested_by_name)}" if c.requested_by_name else ""
    line = f"*Handoff {c.cycle_no}* — requested {local_time(c.requested_at, tz)}{by}; "
    if c.state is HandoffState.OPEN:
        return line + f"waiting {waited}"
    if c.state is HandoffState.WITHDRAWN:
        return line + f"withdrawn {local_time(c.withdrawn_at, tz)} after {waited}"
    picker = f" by {escape(c.picked_up_by_name)}" if c.picked_up_by_name else ""
    line += f"picked up {local_time(c.picked_up_at, tz)}{picker} after {waited}"
    if c.state is HandoffState.DELIVERED and c.delivered_at and c.picked_up_at:
        production = duration((c.delivered_at - c.picked_up_at).total_seconds())
        line += f"; delivered {local_time(c.delivered_at, tz)}, {production} later"
    return line


def issue_timeline_blocks(
    report: IssueReport, now: datetime, calendar: WorkCalendar, tz: ZoneInfo, *, max_blocks: int = MAX_MESSAGE_BLOCKS
) -> list[Block]:
    """An issue's handoff cycles and its handoff-relevant history, times in `tz`."""
    issue = report.issue
    head: list[Block] = [
        header(f"{issue.key} — handoff timeline"),
        section(
            f"{key_link(issue.key, issue.url)} {clip(escape(issue.summary), MAX_SUMMARY)}\n"
            f"Status *{escape(issue.status)}* · {escape(issue.issue_type)} in {escape(issue.project)}"
        ),
    ]
    if report.cycles:
        cycles = pack_lines(_cycle_line(v, now, calendar, tz) for v in report.cycles)
    else:
        cycles = [section("No handoff yet: it starts when the handoff label is added in Jira.")]
    events = [
        f"`{local_time(e.at, tz)}` {escape(e.text)}" + (f" — {escape(e.who)}" if e.who else "")
        for e in report.events
    ]
    rows = [*cycles, DividerBlock(), *pack_lines(events)]
    return fit(head, rows, max_blocks=max_blocks, hint="see the issue in Jira for its full history")


def note_blocks(text: str) -> list[Block]:
    """A one-line answer (`text` is mrkdwn, already escaped where it holds user text)."""
    return [section(text)]


# -- help and home -----------------------------------------------------------------------------

_HELP = (
    ("/handoffs", "open handoffs, oldest first", "/handoffs"),
    ("/handoffs stats [7d|30d|90d|quarter]", "requested, picked up, delivered, waits and conversion (default 30d)",
     "/handoffs stats 90d"),
    ("/handoffs mine", "the handoffs you requested or are assigned to", "/handoffs mine"),
    ("/handoffs team NAME", "one team's open handoffs", "/handoffs team vision"),
    ("/handoffs KEY", "one issue's handoff timeline", "/handoffs RES-42"),
    ("/handoffs new", "hand something to engineering: a form that creates the Jira issue", "/handoffs new"),
    ("/handoffs request KEY", "hand an existing issue to engineering (adds the handoff label)",
     "/handoffs request RES-42"),
    ("/handoffs withdraw KEY", "take a handoff back (removes the label)", "/handoffs withdraw RES-42"),
    ("/handoffs help", "this help", "/handoffs help"),
)


def help_blocks(note: str | None = None) -> list[Block]:
    """Every `/handoffs` subcommand with an example; `note` (already mrkdwn-safe) first."""
    blocks: list[Block] = []
    if note:
        blocks.append(section(f":information_source: {note}"))
    blocks.append(header("/handoffs — research handoffs"))
    lines = [f"`{usage}` — {what}. Example: `{example}`" for usage, what, example in _HELP]
    blocks.extend(pack_lines(lines))
    blocks.append(context("Answers are visible only to you. Waits are in business days (calendar time)."))
    return blocks


def home_blocks(
    views: Sequence[HandoffView],
    open_count: int,
    now: datetime,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    *,
    sla_workdays: float = 3,
    claimable: bool = False,
) -> list[Block]:
    """App Home: the user's active handoffs, the org's open count, and the slash commands."""
    waiting = "handoff is" if open_count == 1 else "handoffs are"
    head: list[Block] = [
        header("Research Bridge"),
        section(f"*{open_count}* {waiting} waiting for engineering across the organisation."),
        DividerBlock(),
    ]
    tail: list[Block] = [
        DividerBlock(),
        context(
            "Try `/handoffs` for all open handoffs, `/handoffs mine`, `/handoffs stats 30d`,"
            " `/focus` and `/pipelines`."
        ),
    ]
    mine = user_handoffs_blocks(
        views, now, calendar, tz, sla_workdays=sla_workdays, max_blocks=MAX_HOME_BLOCKS - len(head) - len(tail),
        claimable=claimable,
    )
    return [*head, *mine, *tail]
