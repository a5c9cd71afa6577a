"""The weekly digest as Block Kit, plain notification text and terminal text (pure).

Readable on a phone: one short section per topic, numbers with units, each next to last
week's. A section with nothing this week is one line; a digest with nothing at all is one
message line. Limits come from `bot.slack.blocks` (at most 5 rows per list, "…and N more").
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.digest.model import (
    DeliverySection,
    Digest,
    FocusSection,
    HandoffSection,
    PipelineSection,
    ResearchSection,
    TeamFocusWeek,
)
from bot.formatting import (
    business_days,
    duration,
    hours_minutes,
    percent,
    percent_change,
    plural,
)
from bot.metrics.delivery import DeliveryMetrics
from bot.metrics.handoffs import HandoffStats
from bot.metrics.workcal import WorkCalendar
from bot.slack.blocks import research as rb
from bot.slack.blocks.kit import (
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
from bot.slack.blocks.pipelines import (
    counts,
    link,
    reliability,
    streak_text,
    trend_arrow,
)

MAX_ROWS = 5  # oldest handoffs, worst pipelines: the rest is one "…and N more" line
MAX_TEXT_FALLBACK = 600
SECTION_NAMES = {"handoffs": "research handoffs", "focus": "Focus Time data",
                 "pipelines": "pipeline runs", "delivery": "deployments or incidents",
                 "research": "training runs or research pushes"}


# -- small helpers -------------------------------------------------------------------------


def week_range(digest: Digest) -> str:
    """'16–22 Nov 2026' for the ISO week (Monday to Sunday, local)."""
    first, last = digest.week.start.date(), digest.week.end.date() - timedelta(days=1)
    if first.month == last.month:
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def count_change(current: int, previous: int) -> str:
    """'12 (+3)', '12 (−2)', '12 (=)' against last week."""
    diff = current - previous
    sign = "=" if diff == 0 else (f"+{diff:,}" if diff > 0 else f"−{-diff:,}")
    return f"{current:,} ({sign})"


def _vs(current: str, previous: str) -> str:
    return current if previous == "—" else f"{current} (last week {previous})"


def _wait_line(c: HandoffStats, p: HandoffStats, per_day: float) -> str:
    """Median and p90 waits for pick-up against last week's; one clause when none was picked up."""
    def bd(seconds: float | None) -> str:
        return business_days(seconds, per_day)

    if c.median_business_wait_seconds is None:
        before = ("" if p.median_business_wait_seconds is None else
                  f" (last week median {bd(p.median_business_wait_seconds)} · p90 {bd(p.p90_business_wait_seconds)})")
        return "Wait for pick-up: none picked up this week" + before
    return ("Wait for pick-up: median " + _vs(bd(c.median_business_wait_seconds), bd(p.median_business_wait_seconds))
            + " · p90 " + _vs(bd(c.p90_business_wait_seconds), bd(p.p90_business_wait_seconds)))


# -- sections ----------------------------------------------------------------------------------


def handoff_blocks(part: HandoffSection, calendar: WorkCalendar, sla_workdays: float) -> list[Block]:
    title = ":handshake: *Research handoffs*"
    if part.quiet:
        return [section(f"{title}: a quiet week — nothing requested, picked up or waiting.")]
    c, p = part.current, part.previous
    per_day = calendar.seconds_per_workday
    lines = [
        title,
        f"Requested {count_change(c.requested, p.requested)} · picked up {count_change(c.picked_up, p.picked_up)}"
        f" · delivered {count_change(c.delivered, p.delivered)}"
        + (f" · withdrawn {c.withdrawn}" if c.withdrawn else ""),
        _wait_line(c, p, per_day),
        f"Still waiting at the week's end: *{c.open_now}*"
        + (f" · {c.sla_breaches} over the {sla_workdays:g}-workday SLA" if c.sla_breaches else ""),
    ]
    blocks: list[Block] = [section("\n".join(lines))]
    if part.oldest_open:
        rows = []
        limit = sla_workdays * per_day
        shown = list(zip(part.oldest_open, part.oldest_waits, part.oldest_business_waits,
                         part.owners))[:MAX_ROWS]
        for view, waited, business, owner in shown:
            who = f"<@{owner}>" if owner else (escape(view.assignee_name) if view.assignee_name else "unassigned")
            by = f" · from {escape(view.cycle.requested_by_name)}" if view.cycle.requested_by_name else ""
            late = ", over the SLA" if business > limit else ""
            rows.append(f"• {key_link(view.key, view.url)} {clip(escape(view.summary), MAX_SUMMARY // 2)}"
                        f" — waiting {business_days(business, per_day)} ({duration(waited)}){late}"
                        f" · owner {who}{by}")
        more = len(part.oldest_open) - len(rows)
        if more > 0:
            rows.append(f"…and {more} more waiting (`/handoffs` lists them all)")
        blocks += pack_lines(["*Oldest still waiting*", *rows])
    if len(part.teams) > 1:
        blocks += pack_lines(["*By team*"] + [
            f"• *{escape(team)}*: {s.requested} requested · {s.picked_up} picked up · median wait "
            f"{business_days(s.median_business_wait_seconds, per_day)} · {s.open_now} waiting"
            for team, s in part.teams
        ])
    return blocks


def _focus_line(name: str, week: TeamFocusWeek, threshold: float, bold: bool) -> str:
    c, p = week.current, week.previous
    label = f"*{escape(name)}*" if bold else escape(name)
    if c.people_with_data == 0:
        return f"{label}: no IDE data this week"
    share = c.research_share
    split = "" if share is None else f" · research {percent(share)} / engineering {percent(1 - share)}"
    below = f"{c.below_threshold} of {c.people_with_data} with IDE data below the line"
    return (f"{label}: " + _vs(f"*{hours_minutes(c.average_focus_seconds)} a day*",
                                hours_minutes(p.average_focus_seconds)) + f" · {below}{split}")


def focus_blocks(part: FocusSection) -> list[Block]:
    line = f"{part.threshold_seconds / 3600:g}h"
    title = f":brain: *Research Focus Time* (team averages per workday; the line is {line})"
    if part.quiet:
        return [section(":brain: *Research Focus Time*: a quiet week — no IDE data from the teams.")]
    label = part.teams[0].team if len(part.teams) == 1 else part.overall.team
    lines = [title, _focus_line(label, part.overall, part.threshold_seconds, True)]
    if len(part.teams) > 1:
        lines += ["• " + _focus_line(t.team, t, part.threshold_seconds, False) for t in part.teams]
    named = [(t.team, t.below_people) for t in part.teams if t.below_people]
    blocks: list[Block] = list(pack_lines(lines))
    if named:
        blocks.append(context("Below the line (shared by the org's choice): " + "; ".join(
            f"{escape(team)}: " + ", ".join(f"<@{u}>" for u in people) for team, people in named)))
    return blocks


def pipeline_blocks(part: PipelineSection) -> list[Block]:
    title = ":gear: *Pipelines*"
    if part.quiet:
        return [section(f"{title}: a quiet week — no finished pipeline runs.")]
    o, p = part.overall, part.overall_previous
    # last week's figure is printed beside it: the change is the one between the printed percents
    change = percent_change(o.reliability, p.reliability)
    change = f" {change}" if change else ""
    ran = sum(1 for s in part.pipelines if s.current.runs)
    head = (f"{title}: reliability " + _vs(f"*{reliability(o)}*{change}", reliability(p))
            + f" · {counts(o)} across {ran:,} pipeline{'s' if ran != 1 else ''}")
    troubled = [s for s in part.pipelines if s.current.runs and (s.current.failed or s.streak)]
    if not troubled:
        return [section(head + "\nNo failed runs this week. :white_check_mark:")]
    rows = []
    for s in troubled[:MAX_ROWS]:
        streak = streak_text(s.streak)
        arrow = trend_arrow(s.trend)
        rows.append(f"• *{link(s.current.last_url, s.pipeline)}* {reliability(s.current)}"
                    + (f" {arrow}" if arrow else "") + f" · {counts(s.current)}" + (f" · {streak}" if streak else ""))
    if len(troubled) > MAX_ROWS:
        rows.append(f"…and {len(troubled) - MAX_ROWS} more with failures (`/pipelines` lists them all)")
    return list(pack_lines([head, "*Worst this week*", *rows]))


def delivery_blocks(part: DeliverySection) -> list[Block]:
    title = ":rocket: *ML delivery*"
    if part.quiet:
        return [section(f"{title}: a quiet week — no deployments or incidents.")]
    c, p = part.current, part.previous
    n, days = c.successful_production_deployments, c.deployment_days
    lines = [f"{title}: {count_change(n, p.successful_production_deployments)} production deployment"
             f"{'s' if n != 1 else ''}" + (f" on {days} day{'s' if days != 1 else ''}" if days else "")]
    if c.production_deployments:
        if c.lead_time_median_seconds is None:
            before = p.lead_time_median_seconds
            lines.append("Lead time (commit → production): no commit times this week"
                         + (f" (last week median {duration(before)})" if before is not None else ""))
        else:
            lines.append("Lead time (commit → production): median " + _vs(duration(c.lead_time_median_seconds),
                                                                           duration(p.lead_time_median_seconds))
                         + f" · p90 {duration(c.lead_time_p90_seconds)}")
        lines.append("Change failure rate " + _vs(percent(c.change_failure_rate), percent(p.change_failure_rate))
                     + f" · rollbacks {c.rollbacks}" + (f" (model rollback rate {percent(c.model_rollback_rate)})"
                                                        if c.model_rollback_rate is not None else ""))
    lines.append(_incidents(c))
    return [section("\n".join(lines))]


def _incidents(c: DeliveryMetrics) -> str:
    """'Incidents 2 · time to restore median 4h 0m · 1 still open'; 'No incidents' for none."""
    if not c.incidents:
        return "No incidents"
    restore = c.time_to_restore_median_seconds
    return (f"Incidents {c.incidents}"
            + (f" · time to restore median {duration(restore)}" if restore is not None else "")
            + (f" · {c.open_incidents} still open" if c.open_incidents else ""))


def research_blocks(part: ResearchSection) -> list[Block]:
    """Experiment velocity (this week against the four before) and the quarter's funnel."""
    title = ":test_tube: *Research*"
    if part.quiet:
        return [section(f"{title}: a quiet week — no training runs or research pushes.")]
    lines = [f"{title}: " + (rb.runs_line(*part.overall) if part.overall else "by team")]
    if part.overall:
        lines += [x for x in (rb.outcome_line(part.overall[0]), rb.repo_line(*part.overall)) if x]
    if part.overall is None or len(part.teams) > 1:
        lines += [f"• *{escape(name)}*: {rb.runs_line(week, before)}" for name, week, before in part.teams[:MAX_ROWS]]
    lines.append(f"Initiatives, {part.funnel.quarter}: {rb.funnel_line(part.funnel)}")
    if part.funnel.waiting:
        lines.append(f"{len(part.funnel.waiting)} waiting for engineering (`/research` lists them)")
    return list(pack_lines(lines))


# -- the message -------------------------------------------------------------------------------


def digest_blocks(digest: Digest, calendar: WorkCalendar, sla_workdays: float) -> list[Block]:
    """The whole digest: header, context, one part per section, footer."""
    teams = ", ".join(escape(t) for t in digest.teams) or "all teams"
    head: list[Block] = [
        header(f"Weekly digest · {digest.week.label}"),
        context(f"{week_range(digest)} ({escape(digest.timezone)}) · {teams}"),
    ]
    if digest.quiet:
        included = [k for k, s in _sections(digest) if s is not None]
        what = ", ".join(SECTION_NAMES[k] for k in included) or "figures"
        return [*head, section(f":zzz: A quiet week: no {what}.")]
    parts: list[list[Block]] = []
    if digest.handoffs is not None:
        parts.append(handoff_blocks(digest.handoffs, calendar, sla_workdays))
    if digest.focus is not None:
        parts.append(focus_blocks(digest.focus))
    if digest.pipelines is not None:
        parts.append(pipeline_blocks(digest.pipelines))
    if digest.delivery is not None:
        parts.append(delivery_blocks(digest.delivery))
    if digest.research is not None:
        parts.append(research_blocks(digest.research))
    body: list[Block] = []
    for part in parts:
        body += ([DividerBlock()] if body else []) + part
    footer = context("More: `/handoffs stats 7d` · `/focus team NAME` · `/pipelines`"
                     + (" · `/research`" if digest.research is not None else "")
                     + (" · trends chart in the thread" if digest.history else ""))
    return fit(head, body, [footer], hint="see `research-bridge digest --dry-run`")


def _sections(digest: Digest) -> list[tuple[str, object]]:
    return [("handoffs", digest.handoffs), ("focus", digest.focus),
            ("pipelines", digest.pipelines), ("delivery", digest.delivery), ("research", digest.research)]


def digest_text(digest: Digest, calendar: WorkCalendar) -> str:
    """The notification text (`text` of chat.postMessage): the headline figures in one line."""
    parts = [f"Weekly digest {digest.week.label}"]
    if digest.quiet:
        return parts[0] + ": a quiet week."
    h, f, p, d = digest.handoffs, digest.focus, digest.pipelines, digest.delivery
    if h is not None and not h.quiet:
        median = h.current.median_business_wait_seconds
        wait = "" if median is None else f", median wait {business_days(median, calendar.seconds_per_workday)}"
        parts.append(f"{h.current.requested} handoffs requested{wait}, {h.current.open_now} waiting")
    if f is not None and not f.quiet:
        parts.append(f"focus {hours_minutes(f.overall.current.average_focus_seconds)} a day")
    if p is not None and not p.quiet:
        parts.append(f"pipelines {reliability(p.overall)} reliable")
    if d is not None and not d.quiet:
        n = d.current.successful_production_deployments
        parts.append(f"{n} production deployment{'s' if n != 1 else ''}")
    r = digest.research
    if r is not None and not r.quiet and r.overall is not None:
        parts.append(plural(r.overall[0].runs, "training run"))
    return clip(parts[0] + ": " + " · ".join(parts[1:]), MAX_TEXT_FALLBACK)


# -- terminal ----------------------------------------------------------------------------------

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")


def blocks_as_text(blocks: Sequence[Block], width: int = 72) -> str:
    """How the message reads, for a terminal: links as 'label (url)', mentions as @ID,
    bold markers and emoji codes dropped."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, HeaderBlock) and block.text is not None:
            title = block.text.text
            out += ["", title, "=" * min(width, len(title))]
        elif isinstance(block, SectionBlock) and block.text is not None:
            out += [_plain(block.text.text), ""]
        elif isinstance(block, ContextBlock):
            out += ["  " + _plain(" ".join(e.text for e in block.elements if hasattr(e, "text")))]
        elif isinstance(block, DividerBlock):
            out += ["-" * width]
    return "\n".join(out).strip("\n") + "\n"


def _plain(text: str) -> str:
    text = _LINK.sub(lambda m: f"{m[2]} ({m[1]})", text)
    text = _MENTION.sub(r"@\1", text)
    text = re.sub(r":[a-z_]+: ?", "", text).replace("*", "").replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
