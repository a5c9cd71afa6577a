"""`research-bridge digest`: render a channel's weekly digest (dry run) or post it once."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.options import db_option, settings_of, store_of
from bot.clock import utc_now
from bot.config import DigestSettings, Settings, is_channel_id
from bot.digest.model import Digest


def choose_digest(settings: Settings, channel: str, name: str | None) -> tuple[DigestSettings, str | None]:
    """The `[[digest]]` for `channel` (and `name`); an unconfigured channel gets the defaults
    (all sections and teams, the org's timezone) and a note saying so."""
    found = [d for d in settings.digests if d.channel == channel and (name is None or d.name == name)]
    if len(found) == 1:
        return found[0], None
    if len(found) > 1:
        names = ", ".join(d.name for d in found)
        raise click.BadParameter(f"{channel} has several digests ({names}): choose one with --name", param_hint="--name")
    if name is not None and any(d.channel == channel for d in settings.digests):
        names = ", ".join(d.name for d in settings.digests if d.channel == channel)
        raise click.BadParameter(f"no digest {name!r} for {channel} (configured: {names})", param_hint="--name")
    note = f"{channel} has no [[digest]] entry: using the defaults (all sections and teams, {settings.timezone})"
    return DigestSettings(channel=channel, timezone=settings.timezone, name=name or "weekly"), note


@click.command("digest")
@click.option("--channel", required=True, help="Channel ID, e.g. C0123ABCD (its [[digest]] settings apply).")
@click.option("--name", default=None, help="Which digest, when a channel has several [[digest]] entries.")
@click.option("--week", default=None, metavar="2026-W47", help="ISO week (default: last complete week).")
@click.option("--dry-run", is_flag=True, help="Print the digest here; send nothing, record nothing.")
@click.option("--chart-file", type=click.Path(dir_okay=False), help="Also write the chart PNG to this file.")
@db_option
@click.pass_context
def digest(ctx: click.Context, channel: str, name: str | None, week: str | None, dry_run: bool,
           chart_file: str | None, db: str | None) -> None:
    """Render the weekly digest for CHANNEL, or post it (once: a week already posted to the
    channel is never posted again, whoever runs it)."""
    from bot.digest.compute import build_digest
    from bot.digest.period import last_complete_week, week_named
    from bot.metrics.workcal import WorkCalendar
    from bot.slack.blocks.digest import blocks_as_text, digest_blocks

    if not is_channel_id(channel):
        raise click.BadParameter(f"{channel!r} is not a channel ID (such as C0123ABCD)", param_hint="--channel")
    settings = settings_of(ctx)
    chosen, note = choose_digest(settings, channel, name)
    now = utc_now()
    try:
        period = week_named(week, chosen.tz) if week else last_complete_week(now, chosen.tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    if period.end > now:
        raise click.BadParameter(f"{period.label} has not ended yet (it ends {period.end:%a %d %b %H:%M %Z})",
                                 param_hint="--week")
    if note:
        click.echo(note, err=True)
    store = store_of(settings, db, existing=True)
    if dry_run or chart_file:
        content = build_digest(store, settings, chosen, period)
        if dry_run:
            calendar = WorkCalendar.from_settings(settings)
            click.echo(blocks_as_text(digest_blocks(content, calendar, settings.jira.handoff_sla_workdays)))
        if chart_file:
            click.echo(write_chart(content, chart_file))
        if dry_run:
            return
    if not settings.slack_configured:
        raise click.ClickException("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set to post (or use --dry-run)")
    from bot.delivery.digests import FAILED, deliver
    from bot.slack.app import posting_client

    outcome = deliver(store, settings, chosen, period, posting_client(settings), now)
    click.echo(outcome.line())
    if outcome.status == FAILED:
        ctx.exit(1)


def write_chart(content: Digest, path: str) -> str:
    """Write the digest's chart to `path`; say what was written."""
    from bot.slack.blocks.charts import digest_chart

    png = digest_chart(content)
    if png is None:
        return "no chart: nothing to draw for these weeks (or chart = false)"
    try:
        Path(path).write_bytes(png)
    except OSError as exc:
        raise click.BadParameter(f"cannot write {path}: {exc.strerror or exc}", param_hint="--chart-file") from None
    return f"chart written to {path} ({len(png):,} bytes)"


command = digest
