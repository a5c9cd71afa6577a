"""The Bolt app factory: credentials, the Web API client, listeners and the one error handler."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import ConfigError, Settings
from bot.slack.context import SlackContext
from bot.slack.errors import on_error, slack_auth_hint, slack_unreachable
from bot.slack.listeners import register_all
from bot.slack.load import BoundedListenerExecutor, shed_when_full
from bot.web.priority import IngestActivity

# Bolt and the Web API clients log request and response bodies at DEBUG: this logger stays at
# INFO even with -v (bot.logs), so a key in a message never reaches a log line.
log = logging.getLogger("bot.slack.sdk")
# Bolt reads SLACK_BOT_TOKEN from the environment even when handed a client built with that
# same token, then warns that it will not use it: a warning about nothing, on every start.
log.addFilter(lambda record: "`token` will be unused" not in record.getMessage())


def web_client(settings: Settings) -> WebClient:
    """A Web API client on SLACK_API_URL (or Slack's own), retrying 429s and 5xx a few times."""
    base_url = settings.slack_api_url or WebClient.BASE_URL
    retries = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ]
    return WebClient(
        token=settings.slack_bot_token, base_url=base_url.rstrip("/") + "/", retry_handlers=retries, logger=log
    )


def posting_client(settings: Settings) -> WebClient:
    """A client for what is posted once (digests, handoff cards): 429s are retried after
    Retry-After (nothing was posted), but 5xx and dropped connections are not retried
    blindly, because Slack may have posted anyway; `bot.delivery.once` checks the channel
    before trying again."""
    base_url = settings.slack_api_url or WebClient.BASE_URL
    return WebClient(token=settings.slack_bot_token, base_url=base_url.rstrip("/") + "/",
                     retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)], logger=log)


def create_app(ctx: SlackContext, activity: IngestActivity | None = None) -> App:
    """The Bolt app for HTTP mode (or Socket Mode via `socket_mode_handler`), with every
    listener; its answers yield to the ingest requests `activity` counts (`bot.slack.load`).
    The composition root (`bot.app.create_slack_app`) builds `ctx` for a store.

    Calls `auth.test` once, so a wrong token stops start-up with a clear error.
    """
    settings = ctx.settings
    if not settings.slack_configured:
        raise ConfigError(["SLACK_BOT_TOKEN/SLACK_SIGNING_SECRET: both set to run the Slack app"])
    listeners = BoundedListenerExecutor(activity)
    client = web_client(settings)
    try:
        client.auth_test()  # a wrong or revoked token, or no way to Slack, stops start-up here
    except SlackApiError as exc:
        raise ConfigError([f"SLACK_BOT_TOKEN: Slack answered {exc.response.get('error')} to auth.test;"
                           f" {slack_auth_hint(exc)}"]) from None
    except OSError as exc:  # URLError, timeouts, refused connections
        raise ConfigError([f"SLACK_API_URL: {slack_unreachable(settings, exc)}"]) from None
    app = _bolt_app(settings, client, listeners)
    app.middleware(shed_when_full(listeners))
    register_all(app, ctx)
    app.error(on_error)
    return app


def _bolt_app(settings: Settings, client: WebClient, listeners: BoundedListenerExecutor) -> App:
    return App(
        client=client,
        token_verification_enabled=False,  # create_app called auth.test already
        signing_secret=settings.slack_signing_secret,
        # Requests are verified on their raw bytes before Bolt sees them (bot.slack.gate),
        # which hands Bolt the parsed body; Socket Mode traffic is Slack's own connection.
        request_verification_enabled=False,
        process_before_response=False,
        listener_executor=listeners,
        logger=log,
    )


def socket_mode_handler(app: App, settings: Settings, **kwargs: Any) -> SocketModeHandler:
    """Socket Mode transport (SLACK_APP_TOKEN); its client shares the app's base URL."""
    if not settings.slack_app_token:
        raise ConfigError(["SLACK_APP_TOKEN: an app-level token starting with xapp- for Socket Mode"])
    return SocketModeHandler(app, app_token=settings.slack_app_token, web_client=app.client, **kwargs)
