"""`research-bridge`: a thin shell over the library, one module per command group. Every
command has --help."""

from __future__ import annotations

import click

from bot import __version__
from bot.cli import config, demo, digest, jobs, keys, report, serve, sync
from bot.logs import configure_logging


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


for module in (serve, config, sync, jobs, report, digest, keys, demo):
    cli.add_command(module.command)
