"""`research-bridge keys create|revoke`: per-person heartbeat API keys for the IDE plugins.

A key is shown once, in the two lines that go into `~/.wakatime.cfg`; only its hash is kept."""

from __future__ import annotations

import os
import re

import click

from bot.cli.options import db_option, settings_of, store_of
from bot.clock import utc_now
from bot.ingest.keys import issue_key, revoke_keys

HEARTBEAT_PATH = "/api/v1/users/current/heartbeats.bulk"


HOST_PLACEHOLDER = "https://YOUR-BRIDGE-HOST"


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _slack_user(ctx: click.Context, param: click.Parameter, value: str) -> str:
    value = value.strip()
    if not _SLACK_USER.match(value):
        raise click.BadParameter(f"{value!r} is not a Slack user ID (like U0123ABCD)")
    return value


def api_url(host: str | None) -> str:
    """The `api_url` for `~/.wakatime.cfg`: HOST (with or without scheme) + the bulk path."""
    base = (host or "").strip().rstrip("/") or HOST_PLACEHOLDER
    if not re.match(r"^https?://", base, re.IGNORECASE):
        base = "https://" + base
    return base + HEARTBEAT_PATH


def wakatime_cfg(host: str | None, key: str) -> str:
    """The two lines (under `[settings]`) an IDE plugin needs to report to Research Bridge."""
    return f"[settings]\napi_url = {api_url(host)}\napi_key = {key}"


_user_option = click.option("--slack-user", "slack_user", required=True, callback=_slack_user,
                            help="The person's Slack user ID, e.g. U0123ABCD.")


@click.group()
def keys() -> None:
    """Heartbeat API keys for the IDE plugins (WakaTime-compatible)."""


@keys.command("create")
@_user_option
@click.option("--keep-old", is_flag=True, help="Keep the person's existing keys working (default: revoke them).")
@click.option("--host", default=lambda: os.environ.get("BRIDGE_PUBLIC_URL", ""),
              help="Public URL of this server for api_url (default: $BRIDGE_PUBLIC_URL).")
@db_option
@click.pass_context
def keys_create(ctx: click.Context, slack_user: str, keep_old: bool, host: str, db: str | None) -> None:
    """Create a key for a person and print the ~/.wakatime.cfg lines (the key is shown once)."""

    settings = settings_of(ctx)
    key = issue_key(store_of(settings, db), slack_user, utc_now(), replace=not keep_old)
    older = "older keys still work" if keep_old else "older keys revoked"
    click.echo(f"Created a heartbeat key for {slack_user} ({older}). It is shown only this once.")
    click.echo("Put these lines in ~/.wakatime.cfg (VS Code, JetBrains and JupyterLab plugins read it):\n")
    click.echo(wakatime_cfg(host, key))
    if not host:
        click.echo(f"\nReplace {HOST_PLACEHOLDER} with this server's public URL (or set BRIDGE_PUBLIC_URL).", err=True)


@keys.command("revoke")
@_user_option
@db_option
@click.pass_context
def keys_revoke(ctx: click.Context, slack_user: str, db: str | None) -> None:
    """Revoke every key of a person; their IDE plugins then get 401 until given a new key."""

    settings = settings_of(ctx)
    count = revoke_keys(store_of(settings, db, existing=True), slack_user, utc_now())
    if count:
        click.echo(f"Revoked {count} key{'s' if count != 1 else ''} of {slack_user}.")
    else:
        click.echo(f"{slack_user} has no active key: nothing to revoke.")


command = keys
