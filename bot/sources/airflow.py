"""Airflow pull: finished DAG runs, incrementally by end date, stored as pipeline runs.

- Airflow 2 (`airflow.api_version = 1`, the stable REST API) and Airflow 3 (`= 2`) share one
  call: `POST {url}/api/v{1|2}/dags/~/dagRuns/list` (every DAG) with the body
  `{"order_by": "end_date", "page_offset", "page_limit": 100, "states": ["success", "failed"],
  "end_date_gte": <ISO 8601 with offset>}`, answered `{"dag_runs": [...], "total_entries"}`.
  Airflow 3 rejects unknown body fields (422) and naive datetimes, so nothing else is sent.
- A DAG run becomes `PipelineRun(source="airflow", pipeline=dag_id, run_id=dag_run_id,
  attempt=1, status, started_at=start_date, finished_at=end_date, url)`: state success ->
  success, failed -> failed. Queued and running runs have no end date yet: they are not asked
  for and are stored once they finish (their end date is then past the cursor). A run that
  is cleared and runs again finishes with a new end date and replaces its earlier outcome
  (Airflow numbers task tries, not DAG-run attempts: attempt is always 1). The link is the
  grid view (`/dags/{dag_id}/grid?dag_run_id=`) on Airflow 2 and `/dags/{dag_id}/runs/{run_id}`
  on Airflow 3.
- Auth. v1: bearer `AIRFLOW_TOKEN` if set, else basic `AIRFLOW_USERNAME`/`AIRFLOW_PASSWORD`.
  v2: bearer `AIRFLOW_TOKEN` if set, else a JWT from `POST {url}/auth/token` with the user
  name and password; on a 401 (Airflow 3 answers an expired JWT so) a fresh JWT is fetched
  once, when a user name and password are set, and the call repeated.
- Cursor: the newest end date stored, in `sync_state` under "airflow". A run asks for end
  dates >= cursor - 10 minutes (runs committed late, scheduler clock skew); the first run
  reaches back `INITIAL_WINDOW`. Pages are read oldest end date first, so runs finishing
  meanwhile land at the end; consecutive pages overlap by a few runs (duplicates dropped) in
  case a run leaves the set (cleared) while we page. Each page is stored as it arrives
  (idempotent upserts); the cursor moves only when the whole run succeeded.
- HTTP goes through the retrying adapter of the Jira client (Retry-After honoured exactly on
  429/503, bounded back-off on 5xx for the list and login calls, a timeout on every request).
  A failure is logged, recorded without secrets and raised as `AirflowSyncError`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import quote

import requests

from bot.clock import Clock, utc_now
from bot.config import AirflowSettings, Settings
from bot.ingest.pipelines import record_pipeline_runs
from bot.models import PipelineRun
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
SOURCE = "airflow"
PAGE_SIZE = 100
LOOKBACK = timedelta(minutes=10)
INITIAL_WINDOW = timedelta(days=92)  # a quarter: the longest window reports show
PAGE_OVERLAP = 5
STATES = {"success": "success", "failed": "failed"}
LIST_PATH = "dags/~/dagRuns/list"
TOKEN_PATH = "/auth/token"


class AirflowSyncError(SyncError):
    """Syncing Airflow failed; the message is safe to show and log."""


@dataclass(frozen=True)
class AirflowResult:
    runs: int  # finished DAG runs read and upserted (those re-read inside the lookback included)
    pages: int  # list pages read
    api_calls: int  # HTTP requests sent, retries and logins included
    cursor: datetime | None = None


REPLAYABLE_POSTS = ("/dagRuns/list", TOKEN_PATH)  # the list and login POSTs are safe to repeat


def parse_airflow_time(value: Any, what: str) -> datetime | None:
    """Airflow's ISO 8601 (`+00:00` on Airflow 2, `Z` on Airflow 3) as aware UTC; None if absent."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a date-time")
    try:
        parsed = datetime.fromisoformat(value.strip())
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"{what} is not an ISO 8601 date-time in range ({value[:40]!r})") from None


def run_url(base_url: str, api_version: int, dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow UI (grid view on Airflow 2, the run page on Airflow 3)."""
    dag, run = quote(dag_id, safe=""), quote(run_id, safe="")
    if api_version == 1:
        return f"{base_url}/dags/{dag}/grid?dag_run_id={run}"
    return f"{base_url}/dags/{dag}/runs/{run}"


def run_from_raw(raw: Any, base_url: str, api_version: int) -> PipelineRun | None:
    """Normalise one DAG run; None when it has not finished (or ended in another state)."""
    if not isinstance(raw, dict):
        raise ValueError("a DAG run is not an object")
    status = STATES.get(str(raw.get("state") or "").lower())
    dag_id, run_id = raw.get("dag_id"), raw.get("dag_run_id")
    if not isinstance(dag_id, str) or not dag_id or not isinstance(run_id, str) or not run_id:
        raise ValueError("a DAG run has no dag_id or dag_run_id")
    finished = parse_airflow_time(raw.get("end_date"), f"end_date of {dag_id} {run_id}")
    if status is None or finished is None:
        return None
    return PipelineRun(
        source=SOURCE, pipeline=dag_id, run_id=run_id, attempt=1, status=status, finished_at=finished,
        started_at=parse_airflow_time(raw.get("start_date"), f"start_date of {dag_id} {run_id}"),
        url=run_url(base_url, api_version, dag_id, run_id),
    )


class AirflowSync:
    """Incremental pull of finished DAG runs into the store (see the module docstring)."""

    def __init__(self, settings: Settings | AirflowSettings, store: Store, *, clock: Clock = utc_now,
                 session: requests.Session | None = None, sleep: Sleep = time.sleep,
                 lookback: timedelta = LOOKBACK, page_size: int = PAGE_SIZE,
                 initial_window: timedelta = INITIAL_WINDOW) -> None:
        self.cfg = settings.airflow if isinstance(settings, Settings) else settings
        self.store, self.clock = store, clock
        self.lookback, self.page_size, self.initial_window = lookback, page_size, initial_window
        self.base_url = self.cfg.url.rstrip("/")
        if session is None:
            session = requests.Session()
            RetryingAdapter("Airflow", replayable_posts=REPLAYABLE_POSTS, sleep=sleep).mount_on(session)
        self.session = session
        self._jwt: str | None = None  # fetched from /auth/token (API v2)
        self._calls = 0

    # -- running ---------------------------------------------------------------------------

    def run(self) -> AirflowResult:
        """Fetch and store the DAG runs finished since the cursor; record the outcome."""
        if not self.base_url:
            raise AirflowSyncError("airflow.url is not set")
        return recorded_run(self.store, SOURCE, self.clock, self._run, self.describe, AirflowSyncError)

    def close(self) -> None:
        self.session.close()

    def _run(self) -> AirflowResult:
        sent_before = requests_sent(self.session, self.base_url + "/")
        self._calls = 0
        cursor = from_db_time(self.store.sync_state(SOURCE).get("cursor"))
        since = cursor - self.lookback if cursor else self.clock() - self.initial_window
        log.info("Airflow sync: DAG runs that ended at or after %s", since.isoformat())
        stored = pages = 0
        newest = cursor
        for raw_runs in self._pages(since):
            pages += 1
            runs = self._normalise(raw_runs)
            if runs:
                record_pipeline_runs(self.store, runs)
            stored += len(runs)
            for run in runs:
                newest = run.finished_at if newest is None else max(newest, run.finished_at)
        self.store.record_sync_success(SOURCE, self.clock(), to_db_time(newest), stored)
        sent_after = requests_sent(self.session, self.base_url + "/")
        calls = sent_after - sent_before if sent_after is not None and sent_before is not None else self._calls
        log.info("Airflow sync: %d DAG runs, %d pages, %d API calls", stored, pages, calls)
        return AirflowResult(stored, pages, calls, newest)

    def _normalise(self, raw_runs: list[dict]) -> list[PipelineRun]:
        """Finished runs of a page; a run Airflow sent malformed, or with times outside the
        range every source keeps to (a run "ending" in 9999 would also become the cursor), is
        logged and skipped."""
        runs = []
        now = self.clock()
        for raw in raw_runs:
            try:
                run = run_from_raw(raw, self.base_url, self.cfg.api_version)
                if run is not None:
                    check_time(run.finished_at, f"end_date of {run.pipeline} {run.run_id}", now)
                    if run.started_at is not None:
                        check_time(run.started_at, f"start_date of {run.pipeline} {run.run_id}", now)
                    check_order(run.started_at, run.finished_at, "start_date", "end_date")
            except ValueError as exc:
                log.warning("Airflow sync: skipping a DAG run: %s", exc)
                continue
            if run is not None:
                runs.append(run)
        return runs

    def _pages(self, since: datetime) -> Iterator[list[dict]]:
        """Pages of raw finished runs, oldest end date first, overlapping (duplicates dropped)."""
        offset = 0
        seen: set[tuple[str, ...]] = set()
        while True:
            page = self._post_json(f"/api/v{self.cfg.api_version}/{LIST_PATH}", {
                "order_by": "end_date", "page_offset": offset, "page_limit": self.page_size,
                "states": list(STATES), "end_date_gte": since.astimezone(UTC).isoformat()})
            raw = page.get("dag_runs") if isinstance(page, dict) else None
            if not isinstance(raw, list):
                raise AirflowSyncError(f"Airflow's answer to {LIST_PATH} has no dag_runs list")
            total = page.get("total_entries")
            keys = [tuple(str(r.get(f)) for f in ("dag_id", "dag_run_id", "end_date")) if isinstance(r, dict)
                    else None for r in raw]
            yield [r for r, k in zip(raw, keys) if k is None or k not in seen]
            seen.update(k for k in keys if k is not None)
            end = offset + len(raw)
            if not raw or (isinstance(total, int) and end >= total) or (
                    not isinstance(total, int) and len(raw) < self.page_size):
                return
            offset = end - min(PAGE_OVERLAP, len(raw) - 1)

    # -- HTTP and auth ---------------------------------------------------------------------

    def _post_json(self, path: str, body: dict) -> Any:
        """POST with auth; on a 401 a fresh JWT is fetched once (when credentials allow)."""
        relogged = False
        while True:
            self._calls += 1
            response = self.session.post(self.base_url + path, json=body, **self._auth())
            if response.status_code == 401 and self._can_login() and not relogged:
                response.close()
                log.info("Airflow answered 401 on %s: fetching a new token", path)
                self._jwt, relogged = self._login(), True
                continue
            return _json(response, path)

    def _auth(self) -> dict[str, Any]:
        cfg = self.cfg
        if cfg.api_version == 1:
            if cfg.token:
                return {"headers": {"Authorization": f"Bearer {cfg.token}"}}
            return {"auth": (cfg.username, cfg.password)} if cfg.username and cfg.password else {}
        token = self._jwt or cfg.token
        if token is None and self._can_login():
            token = self._jwt = self._login()
        return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}

    def _can_login(self) -> bool:
        return self.cfg.api_version == 2 and bool(self.cfg.username and self.cfg.password)

    def _login(self) -> str:
        """A JWT for the user name and password (Airflow 3 `POST /auth/token`, answered 201)."""
        self._calls += 1
        response = self.session.post(self.base_url + TOKEN_PATH,
                                     json={"username": self.cfg.username, "password": self.cfg.password})
        if response.status_code in (400, 401, 403, 422):
            raise AirflowSyncError(f"Airflow refused AIRFLOW_USERNAME/AIRFLOW_PASSWORD (HTTP {response.status_code}"
                                   f" on {TOKEN_PATH})")
        body = _json(response, TOKEN_PATH)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AirflowSyncError(f"Airflow's answer to {TOKEN_PATH} has no access_token")
        return token

    def describe(self, exc: BaseException) -> str:
        """A short description of a failure, with every secret masked."""
        if isinstance(exc, AirflowSyncError):
            text = str(exc)
        else:
            text = describe_transport_error(exc, "Airflow", self.base_url) or f"{type(exc).__name__}: {exc}"[:500]
        return mask(text, (self.cfg.token, self.cfg.password, self._jwt))


def _json(response: requests.Response, path: str) -> Any:
    """The JSON body of a 2xx answer; AirflowSyncError naming the status and detail otherwise."""
    status = response.status_code
    if status in (401, 403):
        raise AirflowSyncError(f"Airflow refused the credentials (HTTP {status} on {path}); check AIRFLOW_TOKEN"
                               " or AIRFLOW_USERNAME/AIRFLOW_PASSWORD")
    if status >= 400:
        detail = _detail(response)
        raise AirflowSyncError(f"Airflow answered HTTP {status} on {path}" + (f": {detail}" if detail else ""))
    try:
        return response.json()
    except ValueError:
        raise AirflowSyncError(f"Airflow's answer to {path} is not JSON (HTTP {status})") from None


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip().replace("\n", " ")[:300]
    detail = body.get("detail") or body.get("title") if isinstance(body, dict) else body
    return str(detail or "").replace("\n", " ")[:300]


def sync_airflow(settings: Settings, store: Store, *, clock: Clock = utc_now,
                 sleep: Sleep = time.sleep) -> AirflowResult:
    """One incremental Airflow sync with a fresh HTTP session (what the job runs)."""
    sync = AirflowSync(settings, store, clock=clock, sleep=sleep)
    try:
        return sync.run()
    finally:
        sync.close()
