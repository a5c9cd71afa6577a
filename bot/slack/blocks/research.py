"""Block Kit renderers for `/research`: experiment velocity per team (this week against the
four before), the quarter's funnel of research initiatives, a person's own runs, help.

Pure functions from `bot.queries.research` results to typed blocks. Team aggregates only: no
person is named or ranked (a person's own figures go only to them, in `/research mine`).
Experiment names and issue summaries come from outside: escaped before they reach mrkdwn.
The line helpers at the top are shared with the digest renderer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from slack_sdk.models.blocks import Block, DividerBlock

from bot.formatting import duration, number, percent, plural
from bot.metrics.funnel import Funnel, InitiativeStage
from bot.metrics.research import Velocity
from bot.queries.research import PersonalResearch, ResearchOverview, trailing
from bot.slack.blocks.kit import (
    MAX_MESSAGE_BLOCKS,
    clip,
    context,
    escape,
    fit,
    header,
    key_link,
    pack_lines,
    section,
)

MAX_WAITING = 10
MAX_EXPERIMENTS = 15
CONNECT = (
    "No research activity yet. Point Research Bridge at your MLflow tracking server (`[mlflow] url`),"
    " have a training platform POST runs to `/api/v1/experiment-runs`, list research repositories in"
    " `[streams] research_repos` (GitHub `push`/`create`, GitLab Push Hook webhooks), and research"
    " initiatives come from Jira epics (`[research] initiative_issue_types`)."
)

# -- shared lines (also used by the digest renderer) ---------------------------------------------


def runs_line(week: Velocity, before: Velocity) -> str:
    """'42 runs (4-week average 35) · 5 experiments (avg 4.5), 8.4 runs each'."""
    if not week.runs and not before.runs:
        return "no training runs"
    text = f"{plural(week.runs, 'run')} (4-week average {number(before.runs)})"
    if week.experiments:
        text += f" · {plural(week.experiments, 'experiment')} (avg {number(before.experiments)})"
        if week.runs_per_experiment is not None:
            each = round(week.runs_per_experiment, 1)
            text += f", {number(each)} run{'' if each == 1 else 's'} each"
    return text


def outcome_line(week: Velocity) -> str:
    """'finished 80% · failed 15% · killed 5% · median run 1h 12m', or '' with no ended runs."""
    if not week.ended:
        return f"{plural(week.running, 'run')} still running" if week.running else ""
    text = " · ".join(f"{s} {percent(week.share(s))}" for s in ("finished", "failed", "killed"))
    if week.median_run_seconds is not None:
        text += f" · median run {duration(week.median_run_seconds)}"
    return text


def repo_line(week: Velocity, before: Velocity) -> str:
    """'12 commits (avg 9) · 3 branches (avg 1.5) on research repositories', or ''."""
    if not (week.commits or week.branches or before.commits or before.branches):
        return ""
    return (f"{plural(week.commits, 'commit')} (avg {number(before.commits)}) · "
            f"{plural(week.branches, 'branch', 'branches')} (avg {number(before.branches)})"
            " on research repositories")


def funnel_line(f: Funnel) -> str:
    """'12 active → 5 handed off → 2 in production (17%) · median 9d from first handoff to production'."""
    if not f.active:
        return "no initiative active this quarter"
    text = f"{f.active} active → {f.handed_off} handed off → {f.delivered} in production ({percent(f.conversion)})"
    if f.median_time_to_production_seconds is not None:
        text += f" · median {duration(f.median_time_to_production_seconds)} from first handoff to production"
    return text


def waiting_line(stage: InitiativeStage, now: datetime) -> str:
    """'RES-12 Better ranker — waiting 6d 2h (RES-40)'."""
    i = stage.initiative
    since = stage.waiting_since or now
    on = f" ({stage.waiting_key})" if stage.waiting_key and stage.waiting_key != i.key else ""
    return f"{key_link(i.key, i.url)} {escape(clip(i.summary, 120))} — waiting {duration((now - since).total_seconds())}{on}"


def velocity_text(name: str, rows: Sequence[Velocity]) -> str:
    week, before = trailing(rows)
    lines = [f"*{escape(name)}* — {runs_line(week, before)}"]
    lines += [line for line in (outcome_line(week), repo_line(week, before)) if line]
    return "\n".join(lines)


# -- blocks --------------------------------------------------------------------------------------


def overview_blocks(o: ResearchOverview, *, team: str | None = None) -> list[Block]:
    """`/research` (or `/research team NAME`): velocity per team, then the funnel."""
    if o.quiet:
        return [section(f"Nothing to show for {escape(team)} yet." if team else CONNECT)]
    title = f"Research: {team}" if team else "Research"
    head: list[Block] = [header(f"{title}, week {o.weeks[-1]}"),
                         context("This week so far against the average of the four before. Teams, never people.")]
    rows = o.teams if team or len(o.teams) != 1 else {}
    lines = [velocity_text(name, r) for name, r in rows.items()] or [velocity_text("Everyone", o.org)]
    return fit(head, pack_lines(lines), funnel_blocks(o), hint="`research-bridge report experiments` has every team")


def funnel_blocks(o: ResearchOverview) -> list[Block]:
    """The quarter's funnel (overall, then per team when there are several) and who waits."""
    lines = [f"*All initiatives* — {funnel_line(o.funnel)}"] if len(o.funnels) != 1 else []
    lines += [f"*{escape(name)}* — {funnel_line(f)}" for name, f in o.funnels.items()]
    blocks: list[Block] = [DividerBlock(), header(f"Initiatives, {o.quarter.label}")]
    blocks += pack_lines(lines or [f"*All initiatives* — {funnel_line(o.funnel)}"])
    if o.funnel.waiting:
        waiting = [waiting_line(s, o.now) for s in o.funnel.waiting[:MAX_WAITING]]
        more = len(o.funnel.waiting) - MAX_WAITING
        if more > 0:
            waiting.append(f"…and {more} more: `research-bridge report initiatives`")
        blocks += pack_lines(["*Waiting for engineering now*", *waiting])
    blocks.append(context("Active: the initiative or a child changed this quarter. Handed off: a handoff"
                          " requested, not withdrawn. In production: such a handoff delivered."))
    return blocks


def mine_blocks(p: PersonalResearch) -> list[Block]:
    """`/research mine`: only you see this."""
    week, before = trailing(p.velocity)
    if all(v.quiet for v in p.velocity):
        hint = ("Runs are matched to you by the e-mail your platform records, or by `[identities]` in"
                " bridge.toml (for example `\"mlflow:alice\" = \"U0123ABCD\"`).")
        return [section(f"No runs, commits or branches of yours in the last five weeks. {hint}")]
    blocks: list[Block] = [header(f"Your research, week {p.weeks[-1]}"),
                           context("Only you can see this. Against the average of your four weeks before.")]
    lines = [runs_line(week, before), outcome_line(week), repo_line(week, before)]
    blocks += pack_lines([line for line in lines if line])
    if p.experiments:
        rows = [f"• {escape(clip(name, 150))} ({escape(source)}): {plural(runs, 'run')}, latest {at:%Y-%m-%d}"
                for source, name, runs, at in p.experiments[:MAX_EXPERIMENTS]]
        more = len(p.experiments) - MAX_EXPERIMENTS
        blocks += pack_lines(["*Your experiments, last five weeks*", *rows,
                              *([f"…and {more} more"] if more > 0 else [])])
    return blocks[:MAX_MESSAGE_BLOCKS]


def unknown_team_blocks(name: str, teams: Sequence[str]) -> list[Block]:
    known = ", ".join(escape(t) for t in teams) or "none configured ([[team]] in bridge.toml)"
    return [section(f"No team named *{escape(clip(name, 80))}*. Teams: {known}.")]


def unknown_blocks(text: str) -> list[Block]:
    return [section(f"I don't know `/research {escape(clip(text, 80))}`."), *help_blocks()]


def help_blocks() -> list[Block]:
    return [section(
        "*`/research`* — experiment velocity per team (training runs, experiments, outcomes, median run"
        " time, commits and branches on research repositories), this week against the four before, and"
        " this quarter's funnel of research initiatives.\n"
        "• `/research team NAME` — one team\n"
        "• `/research mine` — your own runs and experiments (only you see it)\n"
        "• `/research help` — this help"
    )]
