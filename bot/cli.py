"""`research-bridge`: a thin shell over the library. Every command has --help."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from bot import __version__
from bot.clock import utc_now
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging, register_secrets
from bot.store import Store


def _settings(ctx: click.Context) -> Settings:
    try:
        settings = load_settings(config_path=ctx.obj.get("config"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    register_secrets(settings.secret_values())
    return settings


def _store(settings: Settings, db: str | None = None, existing: bool = False) -> Store:
    """The database at --db, else BRIDGE_DB (bridge.db). With `existing` (commands that only
    read), a file that is not there is an error naming where the path came from, instead of
    a new empty database."""
    path = db or settings.db_path
    if existing and not Path(path).exists():
        if db:
            raise click.BadParameter(f"no database at {db}", param_hint="--db")
        raise click.ClickException(
            f"BRIDGE_DB: no database at {path}; `research-bridge serve` or `sync jira` creates it, "
            "or point BRIDGE_DB or --db at an existing one (e.g. --db demo.db after `research-bridge demo`)")
    return open_database(path, "--db" if db else "BRIDGE_DB")


def open_database(path: str, source: str) -> Store:
    """`Store(path)`, or one line naming `source` when SQLite cannot use the file."""
    try:
        return Store(path)
    except sqlite3.OperationalError as exc:  # a folder that does not exist, no permission, a full disk
        raise click.ClickException(f"{source}: cannot open {path} ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{source}: {path} is not a Research Bridge database (SQLite: {exc})") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="research-bridge")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="TOML config file (default: $BRIDGE_CONFIG or bridge.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """Research Bridge: research handoffs, focus time and ML pipeline reliability, in Slack."""
    configure_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 3000).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int | None) -> None:
    """Run the HTTP server, the Slack app and the scheduler (one process)."""
    import uvicorn

    from bot.app import build_server
    from bot.web_limits import raise_open_file_limit, server_config

    settings = _settings(ctx)
    try:
        server = build_server(settings, _store(settings))
    except ConfigError as exc:  # e.g. Slack refusing the token, or not reachable
        raise click.ClickException(str(exc)) from None
    raise_open_file_limit()
    uvicorn.Server(server_config(server.web, host=host, port=port or settings.port)).run()


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@click.option("--offline", is_flag=True, help="Validate the settings only; do not call Slack or Jira.")
@click.pass_context
def config_check(ctx: click.Context, offline: bool) -> None:
    """Validate settings, then check Slack (auth.test), Jira (server info) and each digest
    channel (conversations.info: it exists, is not archived, the bot is a member)."""
    from bot.connectivity import (
        FAILED,
        OK,
        check_digest_channels,
        check_jira,
        check_slack,
    )

    settings = _settings(ctx)
    if settings.config_found:
        teams, digests = len(settings.teams), len(settings.digests)
        click.echo(f"config: ok ({settings.config_path}: timezone {settings.timezone}, {teams} team{'s' * (teams != 1)},"
                   f" {digests} digest{'s' * (digests != 1)})")
    else:
        click.echo(f"config: ok, using every default: there is no {settings.config_path} here"
                   " (copy bridge.example.toml to bridge.toml to start one)")
    if offline:
        return
    failures = 0
    for name, check in (("slack", check_slack), ("jira", check_jira)):
        verdict, message = check(settings)
        failures += verdict == FAILED
        click.echo(f"{name}: {verdict} - {message}")
        if name == "slack" and verdict == OK:
            for channel, result, detail in check_digest_channels(settings):
                failures += result == FAILED
                click.echo(f"digest {channel}: {result} - {detail}")
    if failures:
        sys.exit(1)


@cli.group()
def sync() -> None:
    """Pull data from sources now."""


@sync.command("jira")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), help="Backfill from this date (UTC) instead of the stored cursor.")
@click.pass_context
def sync_jira(ctx: click.Context, since: datetime | None) -> None:
    """Sync Jira issues (incremental from the cursor, or a backfill with --since)."""
    from bot.sources.jira import JiraSyncError, sync_jira

    settings = _settings(ctx)
    if not settings.jira.configured:
        raise click.ClickException("JIRA_URL is not set: nothing to sync")
    store = _store(settings)
    with click.progressbar(length=0, label="Syncing Jira", show_pos=True) as bar:
        def progress(done: int, total: int | None = None) -> None:
            if total:
                bar.length = total
            bar.update(done - bar.pos)

        try:
            result = sync_jira(
                settings, store, since=since.replace(tzinfo=timezone.utc) if since else None, progress=progress
            )
        except JiraSyncError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"{result.issues} issues, {result.new_items} new changelog items, "
        f"{result.api_calls} API calls ({result.changelog_pages} changelog pages)"
    )


@cli.group()
def jobs() -> None:
    """Scheduled jobs."""


@jobs.command("list")
@click.pass_context
def jobs_list(ctx: click.Context) -> None:
    """Show each job and when it would next run."""
    from apscheduler.triggers.cron import CronTrigger

    from bot.jobs import all_jobs

    settings = _settings(ctx)
    now = utc_now()
    jobs = all_jobs(settings)
    width = max(len(name) for name in jobs)
    for job in jobs.values():
        trigger = job.trigger(settings)
        nxt = trigger.get_next_fire_time(None, now) if trigger is not None else None
        # Weekly and daily jobs in their own timezone (a digest's may differ from the org's).
        zone = getattr(trigger, "timezone", None) if isinstance(trigger, CronTrigger) else settings.tz
        when = nxt.astimezone(zone or settings.tz).strftime("%Y-%m-%d %H:%M %Z") if nxt else "not scheduled"
        click.echo(f"{job.name:<{width}}  next {when:<24} {job.description}")


@jobs.command("run")
@click.argument("name")
@click.pass_context
def jobs_run(ctx: click.Context, name: str) -> None:
    """Run the job NAME once, now."""
    from bot.jobs import Services, all_jobs, run_job

    settings = _settings(ctx)
    jobs = all_jobs(settings)
    if name not in jobs:
        raise click.BadParameter(f"unknown job {name!r}; jobs: {', '.join(jobs)}", param_hint="NAME")
    from slack_sdk.errors import SlackApiError

    from bot.slack.errors import slack_auth_hint, slack_unreachable
    from bot.sources.airflow import AirflowSyncError
    from bot.sources.jira import JiraSyncError

    try:
        click.echo(f"{name}: {run_job(name, Services(settings, _store(settings)))}")
    except (JiraSyncError, AirflowSyncError) as exc:  # already logged and recorded, without secrets
        raise click.ClickException(f"{name} failed: {exc}") from None
    except SlackApiError as exc:
        raise click.ClickException(f"{name} failed: Slack answered {exc.response.get('error')};"
                                   f" {slack_auth_hint(exc)}") from None
    except OSError as exc:  # a job that talks to Slack, with Slack out of reach
        raise click.ClickException(f"{name} failed: {slack_unreachable(settings, exc)}") from None


@cli.group()
def report() -> None:
    """Export metrics for scripts and BI tools (table, JSON or CSV)."""


@report.command("handoffs")
@click.option("--window", type=click.Choice(["7d", "30d", "90d", "quarter"]), default="30d", show_default=True)
@click.option("--state", type=click.Choice(["open", "picked_up", "delivered", "withdrawn"]), help="Only cycles in this state.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file (default: $BRIDGE_DB or bridge.db).")
@click.pass_context
def report_handoffs(ctx: click.Context, window: str, state: str | None, fmt: str, db: str | None) -> None:
    """Handoff cycles active in the window (plus every open one), oldest first."""
    from bot.formatting import business_days
    from bot.queries.handoffs import HandoffQueries
    from bot.reports import encode, handoff_rows, parse_state

    settings = _settings(ctx)
    queries = HandoffQueries(_store(settings, db, existing=True), settings)
    now = utc_now()
    rows = handoff_rows(queries.filtered(window, now, parse_state(state)), now, queries.calendar)
    if fmt == "table":  # for people: business days, as Slack shows them; JSON and CSV keep seconds
        per_day = queries.calendar.seconds_per_workday
        rows = [{**r, "business_wait": business_days(r["business_wait_seconds"], per_day)} for r in rows]
    columns = [("key", "key"), ("state", "state"), ("team", "team"), ("requested_at", "requested"),
               ("picked_up_at", "picked up"), ("business_wait", "business wait"), ("summary", "summary")]
    click.echo(encode(rows, fmt, columns))


from bot.cli_digest import digest  # noqa: E402
from bot.cli_focus import focus as report_focus  # noqa: E402  (these modules import cli lazily)
from bot.cli_keys import keys  # noqa: E402
from bot.cli_pipelines import delivery as report_delivery  # noqa: E402
from bot.cli_pipelines import pipelines as report_pipelines  # noqa: E402

report.add_command(report_focus)
report.add_command(report_pipelines)
report.add_command(report_delivery)
cli.add_command(keys)
cli.add_command(digest)


@cli.command()
@click.option("--db", default="demo.db", show_default=True, type=click.Path(dir_okay=False), help="SQLite file to (re)create.")
@click.option("--issues", default=320, show_default=True, type=click.IntRange(1, 100_000),
              help="How many Jira issues to synthesise.")
def demo(db: str, issues: int) -> None:
    """Build a synthetic org in a local SQLite file and print what Slack would show."""
    from bot.demo import DEMO_CONFIG, build_demo_org, demo_settings
    from bot.demo_focus import build_demo_focus, demo_focus_text
    from bot.demo_pipelines import build_demo_pipelines, demo_pipelines_text
    from bot.queries.handoffs import HandoffQueries
    from bot.reports import open_handoffs_text, stats_text

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
    queries = HandoffQueries(store, settings)
    calendar, sla = queries.calendar, settings.jira.handoff_sla_workdays
    click.echo(f"\nDemo organisation in {db}: 3 teams, 12 weeks, {issues} Jira issues (times in {settings.timezone})\n")
    click.secho("/handoffs", bold=True)
    click.echo(open_handoffs_text(queries.open_handoffs(), now, calendar, sla))
    click.echo()
    click.secho("/handoffs stats 30d", bold=True)
    click.echo(stats_text(queries.stats("30d", now), calendar, settings.tz))
    click.echo()
    click.echo(demo_focus_text(store, settings, now))
    click.echo()
    click.echo(demo_pipelines_text(store, settings, now))
    click.echo()
    _demo_digest(store, settings, now, Path(db).with_name("demo-digest.png"))
    config = Path(db).with_name("demo.toml")
    config.write_text(DEMO_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"\nThe demo's settings are in {config}. Explore further, e.g.:\n"
               f"  research-bridge --config {config} report handoffs --db {db}\n"
               f"  research-bridge --config {config} digest --channel C0DEMO0001 --dry-run --db {db}")


def _demo_digest(store: Store, settings: Settings, now: datetime, chart_path: Path) -> None:
    """The demo's last word: Monday's digest as it would appear, and its chart as a file."""
    from bot.cli_digest import write_chart
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
