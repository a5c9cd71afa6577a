"""`config check`: can we reach Slack and Jira with these credentials?

Each check answers (verdict, what was found or what to do): "ok", "FAILED" (configured but
not working: `config check` exits 1), or "not configured" (nothing set up, which is fine).
"""

from __future__ import annotations

from bot.config import Settings
from bot.slack.errors import slack_auth_hint, slack_unreachable

OK, FAILED, NOT_CONFIGURED = "ok", "FAILED", "not configured"


def check_slack(settings: Settings) -> tuple[str, str]:
    """Call auth.test; report the bot and workspace, or why it failed."""
    if not settings.slack_bot_token and not settings.slack_signing_secret:
        return NOT_CONFIGURED, "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET for slash commands and digests"
    if not settings.slack_bot_token:
        return FAILED, "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not"
    from slack_sdk.errors import SlackApiError

    from bot.slack.app import web_client

    client = web_client(settings)
    try:
        info = client.auth_test()
    except SlackApiError as exc:
        return FAILED, f"auth.test answered {exc.response.get('error', 'an error')}: {slack_auth_hint(exc)}"
    except OSError as exc:
        return FAILED, slack_unreachable(settings, exc)
    if not settings.slack_signing_secret:
        return FAILED, f"bot {info.get('user')} is reachable, but SLACK_SIGNING_SECRET is not set"
    return OK, f"bot {info.get('user')} in workspace {info.get('team')}"


def check_jira(settings: Settings) -> tuple[str, str]:
    """Fetch server info, then `myself` (server info answers anonymously; `myself` proves the
    credentials); report deployment, version and the user, or why it failed."""
    if not settings.jira.configured:
        return NOT_CONFIGURED, "set JIRA_URL (and credentials) to measure handoffs"
    from bot.sources.jira_client import JiraSyncError, connect

    try:
        client = connect(settings, retries=0)  # a check answers now; it does not wait out outages
        info = client.server_info()
        me = client.myself()
    except JiraSyncError as exc:
        return FAILED, str(exc)
    except Exception as exc:  # the jira library raises many types; report, never crash
        return FAILED, f"cannot reach Jira at {settings.jira.url} ({type(exc).__name__}); check JIRA_URL and the network"
    who = me.get("displayName") or me.get("name") or "?"
    return OK, f"{info.get('deploymentType', 'Jira')} {info.get('version', '')} at {settings.jira.url} as {who}"


def check_digest_channels(settings: Settings) -> list[tuple[str, str, str]]:
    """For each `[[digest]]` channel: (channel, "ok" | "WARNING" | "FAILED", what to do).
    FAILED: the digest cannot be posted there; WARNING: it can, but without the chart."""
    from slack_sdk.errors import SlackApiError

    from bot.delivery.digests import explain
    from bot.slack.app import web_client

    client = web_client(settings)
    results = []
    for channel in dict.fromkeys(d.channel for d in settings.digests):
        try:
            info = client.conversations_info(channel=channel)["channel"]
        except SlackApiError as exc:
            results.append((channel, "FAILED", explain(str(exc.response.get("error")), channel)))
            continue
        except OSError as exc:
            results.append((channel, "FAILED", f"cannot reach Slack ({type(exc).__name__})"))
            continue
        name = f"#{info.get('name', channel)}"
        if info.get("is_archived"):
            results.append((channel, "FAILED", f"{name} is archived"))
        elif not info.get("is_member"):
            results.append((channel, "WARNING", f"{name}: the bot is not a member, so the digest posts"
                            " (chat:write.public) but its chart cannot be attached: `/invite @Research Bridge`"))
        else:
            results.append((channel, "ok", f"{name}, the bot is a member"))
    return results
