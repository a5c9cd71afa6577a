"""`research-bridge config check`: the settings, then Slack, Jira and each digest channel."""

from __future__ import annotations

import sys

import click

from bot.cli.options import settings_of


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@click.option("--offline", is_flag=True, help="Validate the settings only; do not call Slack or Jira.")
@click.pass_context
def config_check(ctx: click.Context, offline: bool) -> None:
    """Validate settings, then check Slack (auth.test), Jira (server info) and each digest
    channel (conversations.info: it exists, is not archived, the bot is a member)."""
    from bot.cli.checks import (
        FAILED,
        OK,
        check_digest_channels,
        check_jira,
        check_slack,
    )

    settings = settings_of(ctx)
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


command = config
