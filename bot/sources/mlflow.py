"""MLflow pull: the runs of the tracking server's experiments, incrementally by start time.

- `POST {url}/api/2.0/mlflow/experiments/search` (`max_results`, `page_token`; active
  experiments only), kept when the name matches `[mlflow] experiments` (all when empty).
- `POST {url}/api/2.0/mlflow/runs/search` for at most `IDS_PER_SEARCH` experiments at a time:
  `filter: "attributes.start_time >= <ms>"`, `run_view_type: ACTIVE_ONLY` (deleted runs are
  left out), `order_by: ["attributes.start_time ASC"]`, `max_results`, `page_token`.
- A run becomes `ExperimentRun(source="mlflow", run_id, experiment=<its name>, status,
  started_at, finished_at, user, jira_key, url)`: RUNNING and SCHEDULED -> running, FINISHED
  -> finished, FAILED -> failed, KILLED -> killed; the user is the `mlflow.user` tag (else the
  run's `user_id`, unless it is MLflow's "unknown"); a `jira` (or `jira_key`) tag holding an
  issue key links the run to Jira; the link is the run's page in the MLflow UI.
- Cursor: the newest start time seen, in `sync_state` under "mlflow". Each sync re-reads the
  runs started within `LOOKBACK` of it, so a run that finished (or failed) since its last read
  has its status updated; the first sync reaches back `INITIAL_WINDOW`.
- Nothing half-done: every page is read and checked first, then all runs and the cursor are
  stored together. An answer that is not JSON (an HTML login page of a proxy, say) or not of
  MLflow's shape fails the sync with a message naming the path, and stores nothing.
- Auth as MLflow's own clients: bearer `MLFLOW_TRACKING_TOKEN`, else basic
  `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD`, else none. HTTP goes through the
  shared retrying adapter (429/503 with Retry-After, bounded back-off on 5xx).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import quote

import requests

from bot.clock import Clock, utc_now
from bot.config import MlflowSettings, Settings
from bot.models import ExperimentRun
from bot.sources.http import (
    RetryingAdapter,
    Sleep,
    SyncError,
    describe_transport_error,
    mask,
    recorded_run,
    requests_sent,
)
from bot.sources.webhooks import check_order, check_time
from bot.store import Store
from bot.store.times import from_db_time, to_db_time

log = logging.getLogger(__name__)

UTC = timezone.utc
SOURCE = "mlflow"
API = "/api/2.0/mlflow"
PAGE_SIZE = 10_000  # runs (and experiments) a page; MLflow's servers take up to 50,000
IDS_PER_SEARCH = 100  # open-source MLflow takes any number; hosted ones (Databricks) refuse more
LOOKBACK = timedelta(days=7)  # runs started this long before the cursor are read again (status changes)
INITIAL_WINDOW = timedelta(days=365)
STATUSES = {"RUNNING": "running", "SCHEDULED": "running", "FINISHED": "finished", "FAILED": "failed",
            "KILLED": "killed"}
JIRA_TAGS = ("jira", "jira_key", "jira.issue")
_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$")
REPLAYABLE_POSTS = ("/experiments/search", "/runs/search")  # reads: safe to repeat


class MlflowSyncError(SyncError):
    """Syncing MLflow failed; the message is safe to show and log."""


@dataclass(frozen=True)
class MlflowResult:
    experiments: int  # experiments whose runs were read
    runs: int  # runs stored (those re-read inside the lookback included)
    skipped: int  # malformed runs left out (logged)
    api_calls: int
    cursor: datetime | None = None


def _ms(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"{what} is not a time in milliseconds ({str(value)[:40]!r})") from None


def run_from_raw(raw: Any, experiments: dict[str, str], base_url: str) -> ExperimentRun:
    """Normalise one run of runs/search; ValueError names what is wrong with it."""
    info = raw.get("info") if isinstance(raw, dict) else None
    if not isinstance(info, dict):
        raise ValueError("a run has no info")
    run_id, experiment_id = info.get("run_id") or info.get("run_uuid"), str(info.get("experiment_id") or "")
    if not isinstance(run_id, str) or not run_id:
        raise ValueError("a run has no run_id")
    status = STATUSES.get(str(info.get("status") or "").upper())
    if status is None:
        raise ValueError(f"run {run_id} has an unknown status {str(info.get('status'))[:20]!r}")
    started = _ms(info.get("start_time"), f"start_time of run {run_id}")
    if started is None:
        raise ValueError(f"run {run_id} has no start_time")
    tags = {t.get("key"): t.get("value") for t in ((raw.get("data") or {}).get("tags") or []) if isinstance(t, dict)}
    user_id = info.get("user_id")  # "unknown" when the client set no user
    user = tags.get("mlflow.user") or (user_id if user_id != "unknown" else None)
    jira = next((str(tags[k]).strip().upper() for k in JIRA_TAGS if tags.get(k)), None)
    return ExperimentRun(
        source=SOURCE, run_id=run_id, experiment=experiments.get(experiment_id, experiment_id), status=status,
        started_at=started, finished_at=_ms(info.get("end_time"), f"end_time of run {run_id}") if status != "running"
        else None, user=str(user) if user else None, jira_key=jira if jira and _ISSUE_KEY.match(jira) else None,
        url=f"{base_url}/#/experiments/{quote(experiment_id, safe='')}/runs/{quote(run_id, safe='')}")


class MlflowSync:
    """Incremental pull of experiment runs into the store (see the module docstring)."""

    def __init__(self, settings: Settings | MlflowSettings, store: Store, *, clock: Clock = utc_now,
                 session: requests.Session | None = None, sleep: Sleep = time.sleep, page_size: int = PAGE_SIZE,
                 lookback: timedelta = LOOKBACK, initial_window: timedelta = INITIAL_WINDOW) -> None:
        self.cfg = settings.mlflow if isinstance(settings, Settings) else settings
        self.store, self.clock = store, clock
        self.page_size, self.lookback, self.initial_window = page_size, lookback, initial_window
        self.base_url = self.cfg.url.rstrip("/")
        if session is None:
            session = requests.Session()
            RetryingAdapter("MLflow", replayable_posts=REPLAYABLE_POSTS, sleep=sleep).mount_on(session)
        self.session = session
        self._calls = 0

    def run(self) -> MlflowResult:
        """Fetch and store the runs started since the cursor (less the lookback); record the outcome."""
        if not self.base_url:
            raise MlflowSyncError("mlflow.url is not set")
        return recorded_run(self.store, SOURCE, self.clock, self._run, self.describe, MlflowSyncError)

    def close(self) -> None:
        self.session.close()

    def _run(self) -> MlflowResult:
        sent_before = requests_sent(self.session, self.base_url + "/")
        self._calls = 0
        now = self.clock()
        cursor = from_db_time(self.store.sync_state(SOURCE).get("cursor"))
        since = cursor - self.lookback if cursor else now - self.initial_window
        experiments = {e_id: name for e_id, name in self._experiments() if self.cfg.wants(name)}
        runs: list[ExperimentRun] = []
        skipped = 0
        ids = sorted(experiments)
        for start in range(0, len(ids), IDS_PER_SEARCH):
            for raw in self._runs(ids[start:start + IDS_PER_SEARCH], since):
                try:
                    run = run_from_raw(raw, experiments, self.base_url)
                    check_time(run.started_at, f"start_time of run {run.run_id}", now)
                    if run.finished_at is not None:
                        check_time(run.finished_at, f"end_time of run {run.run_id}", now)
                    check_order(run.started_at, run.finished_at, "start_time", "end_time")
                except ValueError as exc:
                    log.warning("MLflow sync: skipping a run: %s", exc)
                    skipped += 1
                    continue
                runs.append(run)
        newest = max([cursor, *(r.started_at for r in runs)], key=lambda t: t or datetime.min.replace(tzinfo=UTC))
        with self.store.transaction():  # the runs and the cursor together, or nothing
            self.store.save_experiment_runs(runs, now)
            self.store.record_sync_success(SOURCE, self.clock(), to_db_time(newest), len(runs))
        sent_after = requests_sent(self.session, self.base_url + "/")
        calls = sent_after - sent_before if sent_after is not None and sent_before is not None else self._calls
        log.info("MLflow sync: %d runs of %d experiments, %d API calls", len(runs), len(experiments), calls)
        return MlflowResult(len(experiments), len(runs), skipped, calls, newest)

    def _experiments(self) -> Iterator[tuple[str, str]]:
        """(id, name) of every active experiment."""
        for page in self._pages("/experiments/search", {"max_results": self.page_size}, "experiments"):
            for experiment in page:
                if isinstance(experiment, dict) and experiment.get("experiment_id") is not None:
                    yield str(experiment["experiment_id"]), str(experiment.get("name") or experiment["experiment_id"])

    def _runs(self, experiment_ids: list[str], since: datetime) -> Iterator[Any]:
        body = {"experiment_ids": experiment_ids, "filter": f"attributes.start_time >= {int(since.timestamp() * 1000)}",
                "run_view_type": "ACTIVE_ONLY", "max_results": self.page_size,
                "order_by": ["attributes.start_time ASC"]}
        for page in self._pages("/runs/search", body, "runs"):
            yield from page

    def _pages(self, path: str, body: dict, field: str) -> Iterator[list]:
        """Each page's `field` list, following `next_page_token`."""
        token: str | None = None
        while True:
            answer = self._post(path, {**body, **({"page_token": token} if token else {})})
            items = answer.get(field, []) if isinstance(answer, dict) else None
            if not isinstance(items, list):
                raise MlflowSyncError(f"MLflow's answer to {API}{path} has no {field} list: is mlflow.url the"
                                      " tracking server?")
            yield items
            previous, token = token, answer.get("next_page_token") or None
            if not token:
                return
            if token == previous:
                raise MlflowSyncError(f"MLflow returned the same next_page_token twice on {API}{path}")

    def _post(self, path: str, body: dict) -> Any:
        self._calls += 1
        response = self.session.post(self.base_url + API + path, json=body, **self._auth())
        status = response.status_code
        if status in (401, 403):
            raise MlflowSyncError(f"MLflow refused the credentials (HTTP {status} on {API}{path}); check"
                                  " MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD")
        if status >= 400:
            raise MlflowSyncError(f"MLflow answered HTTP {status} on {API}{path}" + _detail(response))
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        try:
            return response.json()
        except ValueError:
            raise MlflowSyncError(f"MLflow's answer to {API}{path} is not JSON (HTTP {status}, {kind}): is"
                                  " mlflow.url the tracking server, not a login page?") from None

    def _auth(self) -> dict[str, Any]:
        if self.cfg.token:
            return {"headers": {"Authorization": f"Bearer {self.cfg.token}"}}
        if self.cfg.username and self.cfg.password:
            return {"auth": (self.cfg.username, self.cfg.password)}
        return {}

    def describe(self, exc: BaseException) -> str:
        """A short description of a failure, with every secret masked."""
        if isinstance(exc, MlflowSyncError):
            text = str(exc)
        else:
            text = describe_transport_error(exc, "MLflow", self.base_url) or f"{type(exc).__name__}: {exc}"[:500]
        return mask(text, (self.cfg.token, self.cfg.password))


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") or body.get("error_code") if isinstance(body, dict) else None
    return f": {str(message).replace(chr(10), ' ')[:300]}" if message else ""


def sync_mlflow(settings: Settings, store: Store, *, clock: Clock = utc_now, sleep: Sleep = time.sleep) -> MlflowResult:
    """One incremental MLflow sync with a fresh HTTP session (what the job runs)."""
    sync = MlflowSync(settings, store, clock=clock, sleep=sleep)
    try:
        return sync.run()
    finally:
        sync.close()
