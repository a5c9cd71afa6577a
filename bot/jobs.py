"""Scheduled jobs: one APScheduler 3.x BackgroundScheduler inside `serve`.

Every job is a plain function of the wired `Services`, so `research-bridge jobs run NAME`
runs exactly what the scheduler would. A failing job is logged with its name and never
stops the scheduler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Callable

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, utc_now
from bot.config import WEEKDAYS, DigestSettings, Settings
from bot.store import Store

if TYPE_CHECKING:
    from bot.delivery.handoff_cards import CardSync
    from bot.queries.research import ResearchQueries

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What jobs need; built once by the CLI."""

    settings: Settings
    store: Store
    clock: Clock = utc_now
    cards: CardSync | None = None  # shared with the Jira webhook while serving
    research: ResearchQueries | None = None  # shared with the Slack listeners while serving

    def card_sync(self) -> CardSync | None:
        """The handoff card sync (made on first use outside `serve`); None when there are no cards."""
        if self.cards is None:
            from bot.delivery.handoff_cards import CardSync

            self.cards = CardSync.of(self.settings, self.store, self.clock)
        return self.cards

    def research_queries(self) -> ResearchQueries:
        """The research queries `/research` answers from (made on first use outside `serve`)."""
        if self.research is None:
            from bot.queries.research import ResearchQueries

            self.research = ResearchQueries(self.store, self.settings)
        return self.research


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: Callable[[Services], str]
    trigger: Callable[[Settings], BaseTrigger | None]  # None: not scheduled with these settings
    misfire_grace_seconds: int = 300
    run_at_start: bool = False


def run_jira_sync(services: Services) -> str:
    """Incremental Jira sync (the same code as `research-bridge sync jira`)."""
    from bot.sources.jira import sync_jira

    settings = services.settings
    if not settings.jira.configured:
        return "Jira is not configured (JIRA_URL unset): nothing to sync"
    result = sync_jira(settings, services.store, clock=services.clock)
    text = f"{result.issues} issues, {result.new_items} new changelog items, {result.api_calls} API calls"
    cards = services.card_sync()
    run = cards.request() if cards else None
    return text + (f"; {run.summary()}" if run else "")


def escalate_handoffs(services: Services) -> str:
    """Nudge the leads of handoffs past their SLA (once per tier; only in work hours)."""
    from bot.delivery.escalations import run_escalations
    from bot.slack.app import posting_client

    settings = services.settings
    if not settings.cards_configured:
        return "no escalations: Slack is not configured or no [[team]] has a channel (cards come first)"
    return run_escalations(services.store, settings, posting_client(settings), services.clock()).summary()


def sync_handoff_cards(services: Services) -> str:
    """Post missing handoff cards and update changed ones (also after each webhook and sync)."""
    cards = services.card_sync()
    if cards is None:
        return "no handoff cards: Slack is not configured or no [[team]] has a channel"
    run = cards.request()
    return run.summary() if run else "a card sync was running: it runs once more"


def run_airflow_sync(services: Services) -> str:
    """Incremental pull of finished Airflow DAG runs (`bot.sources.airflow`)."""
    from bot.sources.airflow import sync_airflow

    if not services.settings.airflow.url:
        return "Airflow is not configured (airflow.url unset): nothing to sync"
    result = sync_airflow(services.settings, services.store, clock=services.clock)
    return f"{result.runs} finished DAG runs, {result.pages} pages, {result.api_calls} API calls"


def run_mlflow_sync(services: Services) -> str:
    """Incremental pull of MLflow runs (`bot.sources.mlflow`)."""
    from bot.sources.mlflow import sync_mlflow

    if not services.settings.mlflow.url:
        return "MLflow is not configured (mlflow.url unset): nothing to sync"
    result = sync_mlflow(services.settings, services.store, clock=services.clock)
    skipped = f", {result.skipped} malformed runs skipped" if result.skipped else ""
    return f"{result.runs} runs of {result.experiments} experiments, {result.api_calls} API calls{skipped}"


def refresh_research(services: Services) -> str:
    """Recompute the research figures `/research` answers from, when the data moved."""
    import time

    started = time.monotonic()
    if not services.research_queries().warm(services.clock()):
        return "research figures are current"
    return f"research figures recomputed in {time.monotonic() - started:.1f} s"


def link_users(services: Services) -> str:
    """Link Jira requesters and assignees to Slack users by e-mail."""
    from bot.slack.app import web_client
    from bot.sources.slack_users import link_users_by_email

    if not services.settings.slack_configured:
        return "Slack is not configured: nothing to link"
    linked, missing = link_users_by_email(services.store, web_client(services.settings), services.clock())
    return f"linked {linked} Jira users to Slack, {missing} not found in Slack"


def prune_deliveries(services: Services) -> str:
    """Forget webhook delivery ids older than 7 days (redeliveries come within hours)."""
    removed = services.store.prune_deliveries(services.clock() - timedelta(days=7))
    return f"removed {removed} old webhook delivery ids"


def focus_alerts(services: Services) -> str:
    """Send the weekly low-focus DMs and recovery notes that are due."""
    from bot.delivery.focus_alerts import run_focus_alerts
    from bot.slack.app import web_client

    settings = services.settings
    if not settings.slack_configured:
        return "Slack is not configured: no focus alerts"
    return run_focus_alerts(services.store, settings, web_client(settings), services.clock())


def prune_heartbeats(services: Services) -> str:
    """Delete raw heartbeats past `focus.heartbeat_retention_days` (rollups stay)."""
    from bot.ingest.focus import prune_heartbeats_job

    settings = services.settings
    from bot.ingest.focus import PRUNE_MARGIN

    removed = prune_heartbeats_job(services.store, settings, services.clock())
    kept = settings.focus.heartbeat_retention_days + PRUNE_MARGIN.days
    return f"removed {removed} raw heartbeats older than {kept} days (retention + a margin for late ones)"


def deliver_due_digests(services: Services, only: DigestSettings | None = None) -> str:
    """Post every digest that is due (its latest scheduled time within its grace) and not
    yet posted; the ledger makes repeated and overlapping runs harmless."""
    from bot.delivery.digests import deliver_due
    from bot.slack.app import posting_client

    settings = services.settings
    if not settings.digests:
        return "no [[digest]] configured"
    if not settings.slack_configured:
        return "Slack is not configured: no digests"
    chosen = settings.digests if only is None else (only,)
    outcomes = deliver_due(services.store, settings, posting_client(settings), services.clock(), chosen)
    if not outcomes:
        return "nothing due (each digest's latest scheduled time is beyond its grace)"
    return "; ".join(o.line() for o in outcomes)


def _digest_trigger(digest: DigestSettings) -> Callable[[Settings], CronTrigger | None]:
    """Weekly at the digest's weekday and time, in its timezone (DST handled by APScheduler)."""

    def trigger(settings: Settings) -> CronTrigger | None:
        if not settings.slack_configured:
            return None
        at = digest.schedule_time
        return CronTrigger(day_of_week=WEEKDAYS.index(digest.schedule_weekday), hour=at.hour,
                           minute=at.minute, timezone=digest.tz)

    return trigger


def digest_jobs(settings: Settings) -> dict[str, Job]:
    """One cron job per `[[digest]]` (id `digest:CHANNEL[:NAME]`)."""
    jobs = {}
    for digest in settings.digests:
        jobs[digest.job_id] = Job(
            digest.job_id,
            f"Weekly digest to {digest.channel} ({digest.schedule_weekday} {digest.schedule_time:%H:%M} {digest.timezone})",
            partial(deliver_due_digests, only=digest),
            _digest_trigger(digest),
            misfire_grace_seconds=int(digest.grace_hours * 3600),
        )
    return jobs


def all_jobs(settings: Settings) -> dict[str, Job]:
    """The fixed jobs and the digests' jobs for these settings."""
    return {**JOBS, **digest_jobs(settings)}


def _focus_alerts_trigger(settings: Settings) -> CronTrigger | None:
    """Daily at `focus.alert_time` in the organisation's timezone, when Slack is configured."""
    if not settings.slack_configured:
        return None
    at = settings.focus.alert_time
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "jira-sync",
            "Pull Jira issues updated since the last sync",
            run_jira_sync,
            lambda s: IntervalTrigger(minutes=s.jira.sync_interval_minutes) if s.jira.configured else None,
            misfire_grace_seconds=60,
            run_at_start=True,
        ),
        Job(
            "link-users",
            "Link Jira users to Slack users by e-mail",
            link_users,
            lambda s: IntervalTrigger(hours=1) if s.slack_configured else None,
            misfire_grace_seconds=600,
            run_at_start=True,
        ),
        Job(
            "retention",
            "Prune bookkeeping rows past their retention",
            prune_deliveries,
            lambda s: IntervalTrigger(hours=6),
            misfire_grace_seconds=3600,
        ),
        Job(
            "focus-alerts",
            "Private low-focus DMs (once a week) and recovery notes",
            focus_alerts,
            _focus_alerts_trigger,
            misfire_grace_seconds=4 * 3600,
        ),
        Job(
            "heartbeat-retention",
            "Prune raw heartbeats past focus.heartbeat_retention_days",
            prune_heartbeats,
            lambda s: CronTrigger(hour=3, minute=30, timezone=s.timezone),
            misfire_grace_seconds=6 * 3600,
        ),
        Job(
            "digests",
            "Post digests missed while down (within their grace) and retry failed ones",
            deliver_due_digests,
            lambda s: IntervalTrigger(minutes=5) if s.digests and s.slack_configured else None,
            misfire_grace_seconds=240,
            run_at_start=True,
        ),
        Job(
            "handoff-cards",
            "Post missing handoff cards and update changed ones (retries failed posts)",
            sync_handoff_cards,
            lambda s: IntervalTrigger(minutes=1) if s.cards_configured else None,
            misfire_grace_seconds=50,
            run_at_start=True,
        ),
        Job(
            "handoff-escalations",
            "Nudge the leads of handoffs past their pick-up SLA (card thread; DMs at twice the SLA)",
            escalate_handoffs,
            lambda s: IntervalTrigger(minutes=15) if s.cards_configured else None,
            misfire_grace_seconds=600,
        ),
        Job(
            "mlflow-sync",
            "Pull MLflow runs started (or changed) since the last sync",
            run_mlflow_sync,
            lambda s: IntervalTrigger(minutes=10) if s.mlflow.url else None,
            misfire_grace_seconds=120,
            run_at_start=True,
        ),
        Job(
            "research-refresh",
            "Recompute the research figures /research answers from, when runs, pushes or Jira changed",
            refresh_research,
            lambda s: IntervalTrigger(minutes=2) if s.slack_configured else None,
            misfire_grace_seconds=100,
            run_at_start=True,
        ),
        Job(
            "airflow-sync",
            "Pull Airflow DAG runs finished since the last sync",
            run_airflow_sync,
            lambda s: IntervalTrigger(minutes=10) if s.airflow.url else None,
            misfire_grace_seconds=120,
            run_at_start=True,
        ),
    )
}


def run_job(name: str, services: Services) -> str:
    """Run one job now; raises KeyError for an unknown name."""
    return all_jobs(services.settings)[name].run(services)


def build_scheduler(services: Services) -> BackgroundScheduler:
    """A scheduler with every job that applies to these settings (not started)."""
    scheduler = BackgroundScheduler(timezone=services.settings.timezone)
    for job in all_jobs(services.settings).values():
        trigger = job.trigger(services.settings)
        if trigger is None:
            continue
        # Passing next_run_time=None would pause a job in APScheduler 3: only set it when wanted.
        # APScheduler times runs by the wall clock, whatever clock the jobs are given.
        first_run = {"next_run_time": utc_now()} if job.run_at_start else {}
        scheduler.add_job(
            _logged(job, services),
            trigger,
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.misfire_grace_seconds,
            **first_run,
        )
    scheduler.add_listener(_log_error, EVENT_JOB_ERROR)
    return scheduler


def _logged(job: Job, services: Services) -> Callable[[], None]:
    def run() -> None:
        log.info("job %s: %s", job.name, job.run(services))

    return run


def _log_error(event: JobExecutionEvent) -> None:
    log.error("job %s failed: %s", event.job_id, event.exception)
