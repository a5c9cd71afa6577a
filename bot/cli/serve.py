"""`research-bridge serve`: the HTTP server, the Slack app and the scheduler, in one process."""

from __future__ import annotations

import click

from bot.cli.options import settings_of, store_of
from bot.config import ConfigError


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 3000).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int | None) -> None:
    """Run the HTTP server, the Slack app and the scheduler (one process)."""
    import uvicorn

    from bot.app import build_server
    from bot.web.limits import raise_open_file_limit, server_config

    settings = settings_of(ctx)
    try:
        server = build_server(settings, store_of(settings))
    except ConfigError as exc:  # e.g. Slack refusing the token, or not reachable
        raise click.ClickException(str(exc)) from None
    raise_open_file_limit()
    uvicorn.Server(server_config(server.web, host=host, port=port or settings.port)).run()


command = serve
