"""`research-bridge jobs list|run`: the scheduled jobs, and any of them once, now."""

from __future__ import annotations

import click

from bot.cli.options import settings_of, store_of
from bot.clock import utc_now


@click.group()
def jobs() -> None:
    """Scheduled jobs."""


@jobs.command("list")
@click.pass_context
def jobs_list(ctx: click.Context) -> None:
    """Show each job and when it would next run."""
    from apscheduler.triggers.cron import CronTrigger

    from bot.jobs import all_jobs

    settings = settings_of(ctx)
    now = utc_now()
    jobs = all_jobs(settings)
    width = max(len(name) for name in jobs)
    for job in jobs.values():
        trigger = job.trigger(settings)
        nxt = trigger.get_next_fire_time(None, now) if trigger is not None else None
        # Weekly and daily jobs in their own timezone (a digest's may differ from the org's).
        zone = getattr(trigger, "timezone", None) if isinstance(trigger, CronTrigger) else settings.tz
        when = nxt.astimezone(zone or settings.tz).strftime("%Y-%m-%d %H:%M %Z") if nxt else "not scheduled"
        click.echo(f"{job.name:<{width}}  next {when:<24} {job.description}")


@jobs.command("run")
@click.argument("name")
@click.pass_context
def jobs_run(ctx: click.Context, name: str) -> None:
    """Run the job NAME once, now."""
    from bot.jobs import Services, all_jobs, run_job

    settings = settings_of(ctx)
    jobs = all_jobs(settings)
    if name not in jobs:
        raise click.BadParameter(f"unknown job {name!r}; jobs: {', '.join(jobs)}", param_hint="NAME")
    from slack_sdk.errors import SlackApiError

    from bot.slack.errors import slack_auth_hint, slack_unreachable
    from bot.sources.http import SyncError

    try:
        click.echo(f"{name}: {run_job(name, Services(settings, store_of(settings)))}")
    except SyncError as exc:  # a pull source failed: already logged and recorded, without secrets
        raise click.ClickException(f"{name} failed: {exc}") from None
    except SlackApiError as exc:
        raise click.ClickException(f"{name} failed: Slack answered {exc.response.get('error')};"
                                   f" {slack_auth_hint(exc)}") from None
    except OSError as exc:  # a job that talks to Slack, with Slack out of reach
        raise click.ClickException(f"{name} failed: {slack_unreachable(settings, exc)}") from None


command = jobs
