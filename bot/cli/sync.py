"""`research-bridge sync jira`: pull from a source now, with progress."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from bot.cli.options import settings_of, store_of


@click.group()
def sync() -> None:
    """Pull data from sources now."""


@sync.command("jira")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), help="Backfill from this date (UTC) instead of the stored cursor.")
@click.pass_context
def sync_jira(ctx: click.Context, since: datetime | None) -> None:
    """Sync Jira issues (incremental from the cursor, or a backfill with --since)."""
    from bot.sources.jira import sync_jira
    from bot.sources.jira_client import JiraSyncError

    settings = settings_of(ctx)
    if not settings.jira.configured:
        raise click.ClickException("JIRA_URL is not set: nothing to sync")
    store = store_of(settings)
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


command = sync
