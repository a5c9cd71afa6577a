"""What the commands share, defined once: reading the settings, opening the database
(`--db`, else BRIDGE_DB), and the `--db` and `--format` options."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from bot.config import ConfigError, Settings, load_settings
from bot.logs import register_secrets
from bot.store import Store
from bot.terminal.encode import FORMATS

db_option = click.option("--db", type=click.Path(dir_okay=False),
                         help="SQLite file (default: $BRIDGE_DB or bridge.db).")
format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                             help="table for people; json or csv for scripts and BI tools.")


def settings_of(ctx: click.Context) -> Settings:
    """The validated settings (--config, else BRIDGE_CONFIG or bridge.toml), or one clear error."""
    try:
        settings = load_settings(config_path=ctx.obj.get("config"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    register_secrets(settings.secret_values())
    return settings


def store_of(settings: Settings, db: str | None = None, existing: bool = False) -> Store:
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
