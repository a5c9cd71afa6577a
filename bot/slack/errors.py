"""What happens when a listener fails: one log line (no tokens, no response URLs) and a
private "sorry" to the person, from the app's single error path; and the one-line
explanations of Slack refusing the token or being out of reach."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from slack_bolt import BoltContext, Respond

from bot.config import Settings

log = logging.getLogger("bot.slack.app")

SORRY = ":warning: Sorry, something went wrong while answering that. It has been logged; please try again in a minute."


def report_failure(error: BaseException, what: str, user: str | None, respond: Respond | None,
                   logger: logging.Logger = log) -> None:
    """Log the failure and tell the user privately when there is a response_url to answer on."""
    logger.error("%s failed for user %s: %s: %s", what, user, type(error).__name__, error, exc_info=error)
    if respond is None or not respond.response_url:
        return
    try:
        respond(text=SORRY, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # the error path must never raise itself
        logger.warning("could not tell the user about the error: %s", type(exc).__name__)


def on_error(error: Exception, body: dict, context: BoltContext, logger: logging.Logger) -> None:
    """The app's `@app.error` handler (events, actions, anything not a slash command)."""
    event = body.get("event") or {}
    what = body.get("command") or event.get("type") or body.get("type") or "request"
    user = body.get("user_id") or event.get("user") or (body.get("user") or {}).get("id")
    report_failure(error, what, user, context.respond, logger)


def answering_errors(listener: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a slash-command or action listener (it must take `respond`, and `command` or
    `body`) so a failure is reported by `report_failure` instead of escaping to Bolt.

    Bolt 1.x in HTTP mode runs the listener in a worker thread after ack(); when it raises,
    the runner sets status 500 on the very response object already handed back for the
    ack, so Slack would, at random, show its own error on top of ours. Bolt reads the
    listener's arguments through `__wrapped__`, so injection is unchanged.
    """

    @functools.wraps(listener)
    def run(**kwargs: Any) -> Any:
        try:
            return listener(**kwargs)
        except Exception as error:
            command, body = kwargs.get("command") or {}, kwargs.get("body") or {}
            what = command.get("command") or (body.get("actions") or [{}])[0].get("action_id") or "command"
            user = command.get("user_id") or (body.get("user") or {}).get("id")
            report_failure(error, what, user, kwargs.get("respond"))
            return None

    return run


def slack_auth_hint(exc) -> str:
    """What to check when Slack refuses the token."""
    error = str(exc.response.get("error", ""))
    if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
        return "check SLACK_BOT_TOKEN: the Bot User OAuth Token (xoxb-…) of the installed app"
    return "see https://api.slack.com/methods/auth.test"


def slack_unreachable(settings: Settings, exc: BaseException) -> str:
    """One line for a Slack API that cannot be reached (no network, proxy, firewall)."""
    where = settings.slack_api_url or "https://slack.com/api/"
    reason = getattr(exc, "reason", None) or exc
    return (f"cannot reach Slack at {where} ({type(reason).__name__}: {str(reason)[:120]}); check the network,"
            " HTTPS_PROXY and SLACK_API_URL")
