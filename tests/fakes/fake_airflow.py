"""A fake Airflow REST API: a real HTTP server on loopback with Airflow 2 (v1) and 3 (v2) shapes.

What it serves:

- `POST /api/v1/dags/~/dagRuns/list` (Airflow 2 stable API, `ListDagRunsForm`): unknown body
  fields are a 400 problem document, as the marshmallow form answers. Auth: basic
  (user:password) or a bearer token; else 401.
- `POST /api/v2/dags/~/dagRuns/list` (Airflow 3, `DAGRunsBatchBody`, a strict model): unknown
  fields and naive datetimes are a 422. Auth: bearer, either the static token or a JWT from
  `POST /auth/token` (`{"username", "password"}` -> 201 `{"access_token"}`, bad ones 401).
  No token: 401 "Not authenticated"; an expired JWT: 401 "Token Expired"; an unknown one:
  403 "Invalid JWT token" (as `airflow.api_fastapi.core_api.security.get_user`).
- Body filters `states`, `dag_ids`, `end_date_gte`/`end_date_lte`; `order_by` (a field,
  `-` for descending; ties by id); `page_offset`/`page_limit` (capped at `page_max`, like
  `maximum_page_limit`). Answer `{"dag_runs": [...], "total_entries": n}`, each run in its
  version's shape (v1: `execution_date`, `external_trigger`, `+00:00` times; v2: `run_after`,
  `dag_versions`, `triggered_by`, `Z` times).
- Faults: `fail_next(path, status, times, retry_after, after)`; every request is recorded.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import Fault, LoopbackServer, PathFaults

V1_FIELDS = {"order_by", "page_offset", "page_limit", "dag_ids", "states", "execution_date_gte",
             "execution_date_lte", "start_date_gte", "start_date_lte", "end_date_gte", "end_date_lte"}
V2_FIELDS = {"order_by", "page_offset", "page_limit", "dag_ids", "states"} | {
    f"{name}_{op}" for name in ("run_after", "logical_date", "start_date", "end_date", "duration")
    for op in ("gte", "gt", "lte", "lt")} | {"conf_contains"}
DAG_RUN_STATES = ("queued", "running", "success", "failed")
V1_UNAUTHENTICATED = ("https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html"
                      "#section/Errors/Unauthenticated")
SORTABLE = {"id", "state", "dag_id", "run_id", "dag_run_id", "logical_date", "execution_date", "run_after",
            "start_date", "end_date"}


@dataclass
class FakeRun:
    id: int
    dag_id: str
    run_id: str
    state: str
    logical_date: datetime
    start_date: datetime | None = None
    end_date: datetime | None = None

    def as_json(self, version: int) -> dict[str, Any]:
        def t(at: datetime | None) -> str | None:
            return _iso(at, z=version == 2)

        common = {"dag_run_id": self.run_id, "dag_id": self.dag_id, "logical_date": t(self.logical_date),
                  "start_date": t(self.start_date), "end_date": t(self.end_date),
                  "data_interval_start": t(self.logical_date), "data_interval_end": t(self.logical_date),
                  "last_scheduling_decision": t(self.end_date or self.start_date),
                  "run_type": "scheduled", "state": self.state, "conf": {}, "note": None}
        if version == 1:
            return {**common, "execution_date": t(self.logical_date), "external_trigger": False}
        duration = (self.end_date - self.start_date).total_seconds() if self.end_date and self.start_date else None
        return {**common, "queued_at": t(self.logical_date), "run_after": t(self.logical_date), "duration": duration,
                "triggered_by": "timetable", "triggering_user_name": None, "dag_versions": [],
                "bundle_version": None, "dag_display_name": self.dag_id}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def _iso(at: datetime | None, z: bool) -> str | None:
    if at is None:
        return None
    text = at.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z") if z else text


@dataclass
class FakeAirflow(PathFaults, LoopbackServer):
    """`with FakeAirflow(api_version=2) as fake:`; add runs with `add_run`, finish them with `finish`."""

    api_version: int = 2
    username: str = "bridge"
    password: str = "airflow-pa55word-s3cret"
    token: str = "static-airflow-token-s3cret"
    page_max: int = 100
    runs: list[FakeRun] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    jwts: dict[str, bool] = field(default_factory=dict)  # issued JWT -> still valid
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _handler_class(self) -> type:
        return _Handler

    # -- data --------------------------------------------------------------------------------

    def add_run(self, dag_id: str, logical_date: datetime, *, state: str = "success", start: datetime | None = None,
                end: datetime | None = None, run_id: str | None = None) -> FakeRun:
        """A run; finished states get an end date (default: an hour after the start)."""
        assert state in DAG_RUN_STATES
        with self._lock:
            start = start if start is not None or state == "queued" else logical_date
            if end is None and state in ("success", "failed") and start is not None:
                end = start + timedelta(hours=1)
            run = FakeRun(next(self._ids), dag_id, run_id or f"scheduled__{logical_date.isoformat()}", state,
                          logical_date, start, end)
            self.runs.append(run)
            return run

    def finish(self, run: FakeRun, state: str, end: datetime) -> None:
        with self._lock:
            run.state, run.end_date = state, end
            run.start_date = run.start_date or end

    def expire_tokens(self) -> None:
        """Every JWT issued so far now answers 401 "Token Expired"."""
        with self._lock:
            self.jwts = {t: False for t in self.jwts}

    # -- faults and records ------------------------------------------------------------------

    def list_calls(self) -> list[Request]:
        return self.calls("/dagRuns/list")

    # -- behaviour ---------------------------------------------------------------------------

    def _check_auth(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if self.api_version == 1:
            basic = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if auth not in (basic, f"Bearer {self.token}"):
                raise _Reply(401, {"detail": None, "status": 401, "title": "Unauthorized", "type": V1_UNAUTHENTICATED},
                             {"WWW-Authenticate": "Basic"})
            return
        if not auth.startswith("Bearer "):
            raise _Reply(401, {"detail": "Not authenticated"}, {"WWW-Authenticate": "Bearer"})
        token = auth[len("Bearer "):]
        if token == self.token or self.jwts.get(token) is True:
            return
        if token in self.jwts:
            raise _Reply(401, {"detail": "Token Expired"})
        raise _Reply(403, {"detail": "Invalid JWT token"})

    def login(self, body: Any) -> dict[str, str]:
        if not isinstance(body, dict) or not body.get("username") or not body.get("password"):
            raise _Reply(400, {"detail": "Username and password must be provided"})
        if (body["username"], body["password"]) != (self.username, self.password):
            raise _Reply(401, {"detail": "Invalid credentials"})
        with self._lock:
            claims = json.dumps({"sub": self.username, "n": len(self.jwts)}).encode()
            token = f"eyJhbGciOiJIUzUxMiJ9.{base64.urlsafe_b64encode(claims).decode().rstrip('=')}.sig"
            self.jwts[token] = True
            return {"access_token": token}

    def list_runs(self, body: Any) -> dict[str, Any]:
        version = self.api_version
        if not isinstance(body, dict):
            raise _Reply(400 if version == 1 else 422, {"detail": "body must be an object"})
        allowed = V1_FIELDS if version == 1 else V2_FIELDS
        unknown = sorted(set(body) - allowed)
        if unknown:
            if version == 1:
                raise _Reply(400, {"detail": str({k: ["Unknown field."] for k in unknown}), "status": 400,
                                   "title": "Bad Request", "type": "BadRequest"})
            raise _Reply(422, {"detail": [{"type": "extra_forbidden", "loc": ["body", k], "input": body[k],
                                           "msg": "Extra inputs are not permitted"} for k in unknown]})
        gte, lte = self._time(body, "end_date_gte"), self._time(body, "end_date_lte")
        states = body.get("states") or None
        if states and any(s not in DAG_RUN_STATES for s in states):
            raise _Reply(400 if version == 1 else 422, {"detail": f"invalid states {states!r}"})
        with self._lock:
            runs = [r for r in self.runs
                    if (not states or r.state in states)
                    and (not body.get("dag_ids") or r.dag_id in body["dag_ids"])
                    and (gte is None or (r.end_date is not None and r.end_date >= gte))
                    and (lte is None or (r.end_date is not None and r.end_date <= lte))]
            order = str(body.get("order_by") or "id")
            name = order.lstrip("-")
            if name not in SORTABLE:
                raise _Reply(400, {"detail": f"Ordering with '{name}' is disallowed or the attribute does not exist"})
            aliases = {"dag_run_id": "run_id", "execution_date": "logical_date", "run_after": "logical_date"}
            attr = aliases.get(name, name)
            present = [r for r in runs if getattr(r, attr) is not None]
            present.sort(key=lambda r: (getattr(r, attr), r.id), reverse=order.startswith("-"))
            runs = present + [r for r in runs if getattr(r, attr) is None]  # NULLs last, as on PostgreSQL
            offset = int(body.get("page_offset") or 0)
            limit = min(int(body.get("page_limit") or 100), self.page_max)
            page = runs[offset:offset + limit]
            return {"dag_runs": [r.as_json(version) for r in page], "total_entries": len(runs)}

    def _time(self, body: dict, key: str) -> datetime | None:
        value = body.get(key)
        if value is None:
            return None
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            raise _Reply(400 if self.api_version == 1 else 422, {"detail": f"{key}: not a datetime"}) from None
        if at.tzinfo is None:
            if self.api_version == 2:  # pydantic AwareDatetime
                raise _Reply(422, {"detail": [{"type": "timezone_aware", "loc": ["body", key],
                                               "msg": "Input should have timezone info"}]})
            at = at.replace(tzinfo=UTC)
        return at


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAirflow
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = Request(method, self.path.split("?")[0], headers, body)
        with self.fake._lock:
            self.fake.requests.append(record)
        try:
            status, payload, extra = self._route(method, record)
        except _Reply as reply:
            status, payload, extra = reply.status, reply.body, reply.headers
        record.status = status
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status < 400 or self.fake.api_version == 2
                         else "application/problem+json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, req: Request) -> tuple[int, Any, dict[str, str]]:
        fake = self.fake
        fault = fake._fault_for(req.path)
        if fault:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            raise _Reply(fault.status, {"detail": f"fake fault {fault.status}"}, headers)
        try:
            body = req.json()
        except ValueError:
            raise _Reply(400, {"detail": "body is not valid JSON"}) from None
        if req.path == "/auth/token" and method == "POST" and fake.api_version == 2:
            return 201, fake.login(body), {}
        if req.path == f"/api/v{fake.api_version}/dags/~/dagRuns/list" and method == "POST":
            fake._check_auth(req.headers)
            return 200, fake.list_runs(body), {}
        raise _Reply(404, {"detail": "Not Found"})
