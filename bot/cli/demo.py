"""`research-bridge demo`: a synthetic organisation in a local SQLite file, shown as Slack would."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from bot.cli.options import open_database
from bot.clock import utc_now
from bot.config import Settings
from bot.store import Store


@click.command()
@click.option("--db", default="demo.db", show_default=True, type=click.Path(dir_okay=False), help="SQLite file to (re)create.")
@click.option("--issues", default=320, show_default=True, type=click.IntRange(1, 100_000),
              help="How many Jira issues to synthesise.")
def demo(db: str, issues: int) -> None:
    """Build a synthetic org in a local SQLite file and print what Slack would show."""
    from bot.demo import DEMO_CONFIG, demo_settings
    from bot.demo.focus import build_demo_focus
    from bot.demo.handoffs import build_demo_org
    from bot.demo.pipelines import build_demo_pipelines
    from bot.demo.research import build_demo_research
    from bot.queries import Queries
    from bot.slack.blocks.digest import blocks_as_text
    from bot.slack.blocks.research import overview_blocks
    from bot.terminal.focus import demo_focus_text
    from bot.terminal.handoffs import open_handoffs_text, stats_text
    from bot.terminal.pipelines import demo_pipelines_text

    for suffix in ("", "-wal", "-shm"):
        try:
            Path(db + suffix).unlink(missing_ok=True)
        except OSError as exc:
            raise click.BadParameter(f"cannot replace {db + suffix}: {exc.strerror or exc}", param_hint="--db") from None
    settings = demo_settings()
    store = open_database(db, "--db")
    now = utc_now()
    with click.progressbar(length=issues, label="Building a synthetic org", show_pos=True) as bar:
        build_demo_org(store, now, issues=issues, progress=lambda n: bar.update(1))
    build_demo_focus(store, settings, now)
    build_demo_pipelines(store, now)
    runs, commits, branches = build_demo_research(store, now)
    everything = Queries.of(store, settings)
    queries = everything.handoffs
    calendar, sla = queries.calendar, settings.jira.handoff_sla_workdays
    click.echo(f"\nDemo organisation in {db}: 3 teams, 12 weeks, {issues} Jira issues (times in {settings.timezone})\n")
    click.secho("/handoffs", bold=True)
    click.echo(open_handoffs_text(queries.open_handoffs(), now, calendar, sla))
    click.echo()
    click.secho("/handoffs stats 30d", bold=True)
    click.echo(stats_text(queries.stats("30d", now), calendar, settings.tz))
    click.echo()
    click.echo(demo_focus_text(everything.focus, everything.people, settings, now))
    click.echo()
    click.echo(demo_pipelines_text(everything.pipelines, settings, now))
    click.echo()
    click.secho(f"/research ({runs:,} MLflow runs, {commits:,} commits and {branches} branches on research"
                " repositories, 15 initiatives)", bold=True)
    click.echo(blocks_as_text(overview_blocks(everything.research.overview(now))))
    click.echo()
    _demo_digest(store, settings, now, Path(db).with_name("demo-digest.png"))
    config = Path(db).with_name("demo.toml")
    config.write_text(DEMO_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"\nThe demo's settings are in {config}. Explore further, e.g.:\n"
               f"  research-bridge --config {config} report handoffs --db {db}\n"
               f"  research-bridge --config {config} report experiments --db {db}\n"
               f"  research-bridge --config {config} digest --channel C0DEMO0001 --dry-run --db {db}")


def _demo_digest(store: Store, settings: Settings, now: datetime, chart_path: Path) -> None:
    """The demo's last word: Monday's digest as it would appear, and its chart as a file."""
    from bot.cli.digest import write_chart
    from bot.digest.compute import build_digest
    from bot.digest.period import last_complete_week
    from bot.metrics.workcal import WorkCalendar
    from bot.slack.blocks.digest import blocks_as_text, digest_blocks

    digest = settings.digests[0]
    content = build_digest(store, settings, digest, last_complete_week(now, digest.tz))
    click.secho(f"Weekly digest to {digest.channel} ({digest.schedule_weekday} {digest.schedule_time:%H:%M}"
                f" {digest.timezone}), as `research-bridge digest --dry-run` shows it", bold=True)
    calendar = WorkCalendar.from_settings(settings)
    click.echo(blocks_as_text(digest_blocks(content, calendar, settings.jira.handoff_sla_workdays)))
    click.echo(write_chart(content, str(chart_path)))


command = demo
