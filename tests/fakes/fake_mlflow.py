"""A fake MLflow tracking server (open-source MLflow, REST API 2.0): a real HTTP server on loopback.

What it serves (also under `/ajax-api/2.0/mlflow/`, as `mlflow server` does):

- `POST|GET /api/2.0/mlflow/experiments/search`: `max_results` is required as on the OSS server
  (absent is 0: 400 "... must be a positive integer, but got 0", mlflow/mlflow#10819; set
  `experiments_max_results_default=1000` to default it), at most 50000; `filter` over `name`,
  `creation_time`, `last_update_time`, `tags.<key>`; `order_by` (default `creation_time DESC,
  experiment_id ASC`); `view_type`. A `next_page_token` only while more experiments remain.
- `POST /api/2.0/mlflow/runs/search`: `experiment_ids` (over `max_experiment_ids`, 100, a 400 as
  Databricks answers; OSS MLflow has no limit: None); `filter` over attributes (`start_time`,
  `end_time`, `status`, `run_name`, `run_id`, `user_id`, `artifact_uri`), `tags.`, `params.`,
  `metrics.`; `run_view_type` (deleted runs hidden by default); `max_results` (default 1000,
  over 50000 a 400); `order_by` (then `start_time DESC`, `run_id`). As the SQL store does, a
  FULL page always carries a `next_page_token`, so the last page may be empty (`{}`).
- `GET experiments/get?experiment_id=`, `runs/get?run_id=` (404 RESOURCE_DOES_NOT_EXIST).
- Filters are MLflow's syntax: comparisons joined by AND; anything else is a 400. Pages hold at
  most `page_max` items; tokens are MLflow's own (base64 of `{"offset": N}`), a bad one a 400.
- Shapes as `message_to_json` writes them: empty repeated fields left out (no match is `{}`, a
  run without metrics has no `data.metrics`), no `end_time` while a run is unfinished, epoch
  milliseconds. Errors `{"error_code", "message"}`: INVALID_PARAMETER_VALUE 400,
  RESOURCE_DOES_NOT_EXIST 404; a POST without `Content-Type: application/json` is a 400.
- Auth: `auth="basic"` answers like `mlflow server --app-name basic-auth` (401, a text body,
  `WWW-Authenticate: Basic realm="mlflow"`); `"bearer"` like a token proxy (401
  `{"error_code": "UNAUTHENTICATED", ...}`); None: open.
- Faults: `fail_next(path, status, times, retry_after, after)`; `serve_garbage("html" |
  "json-junk", times)` (or set `garbage`): 200s with a login page or a JSON list, as a proxy
  might. Every request is recorded (`requests`, `calls()`, `searches()`, `experiment_searches()`).
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import Fault, LoopbackServer, PathFaults

SEARCH_MAX_RESULTS_DEFAULT = 1000  # mlflow/store/tracking/__init__.py
SEARCH_MAX_RESULTS_THRESHOLD = 50000
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TERMINAL = ("FINISHED", "FAILED", "KILLED")
VIEW_TYPES = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}
VIEW_NUMBERS = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
API_PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/")
BASIC_AUTH_MESSAGE = ("You are not authenticated. Please see "
                      "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow "
                      "on how to authenticate.")  # mlflow/server/auth/__init__.py
LOGIN_PAGE = ('<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1>'
              '<form method="post" action="/oauth2/start"><button>Sign in with SSO</button></form></body></html>')
FAULT_CODES = {429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}
SEE_DOCS = " See the API docs for more information about request parameters."
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNSET: Any = object()

# (entity kind, attribute) -> numeric?; what each search may filter and order on
RUN_ATTRS = {"start_time": True, "end_time": True, "status": False, "run_name": False, "run_id": False,
             "user_id": False, "artifact_uri": False}
EXPERIMENT_ATTRS = {"name": False, "creation_time": True, "last_update_time": True, "experiment_id": True}
KINDS = {"attribute": "attribute", "attributes": "attribute", "attr": "attribute", "run": "attribute",
         "tag": "tag", "tags": "tag", "param": "param", "params": "param", "parameter": "param",
         "parameters": "param", "metric": "metric", "metrics": "metric"}
_IDENT = r"(?:[A-Za-z_]+\.)?(?:`[^`]+`|\"[^\"]+\"|[\w.]+)"
_CLAUSE = re.compile(rf"\s*(?P<ident>{_IDENT})\s*(?P<op>>=|<=|!=|<>|=|<|>|NOT\s+IN\b|IN\b|I?LIKE\b)\s*"
                     r"(?P<value>'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\((?:[^)']|'[^']*')*\))\s*", re.I)
_AND = re.compile(r"AND\s+", re.I)
_ORDER = re.compile(rf"^\s*(?P<ident>{_IDENT})(?:\s+(?P<dir>ASC|DESC))?\s*$", re.I)


def ms(at: datetime) -> int:
    """Epoch milliseconds, as MLflow stores times."""
    assert at.tzinfo is not None, "use timezone-aware datetimes"
    return (at - EPOCH) // timedelta(milliseconds=1)


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None,
                 content_type: str = "application/json"):
        self.status, self.body, self.headers, self.content_type = status, body, headers or {}, content_type


def _invalid(message: str) -> _Reply:
    return _Reply(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message})


def _missing(name: str) -> _Reply:
    return _Reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": name})


def _invalid_value(param: str, value: Any) -> _Reply:
    """`mlflow.utils.validation.invalid_value` as `_validate_param_against_schema` words it."""
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return _invalid(f"Invalid value {shown} for parameter '{param}' supplied:  Hint: Value was of type "
                    f"'{type(value).__name__}'.{SEE_DOCS}")


@dataclass
class FakeExperiment:
    experiment_id: str
    name: str
    creation_time: int
    last_update_time: int
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def artifact_location(self) -> str:
        return f"mlflow-artifacts:/{self.experiment_id}"

    def value(self, kind: str, key: str) -> Any:
        if kind == "tag":
            return self.tags.get(key)
        if key == "experiment_id":
            return int(self.experiment_id) if self.experiment_id.isdigit() else self.experiment_id
        return getattr(self, key)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"experiment_id": self.experiment_id, "name": self.name,
                               "artifact_location": self.artifact_location, "lifecycle_stage": self.lifecycle_stage,
                               "last_update_time": self.last_update_time, "creation_time": self.creation_time}
        if self.tags:
            out["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        return out


@dataclass
class FakeRun:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None = None
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def artifact_uri(self) -> str:
        return f"mlflow-artifacts:/{self.experiment_id}/{self.run_id}/artifacts"

    def all_tags(self) -> dict[str, str]:
        """The tags MLflow's client sets on every run, then the run's own. A run made without a
        user (a bare REST `runs/create`) has `user_id` "unknown" and no `mlflow.user` tag."""
        user = {} if self.user_id == "unknown" else {"mlflow.user": self.user_id}
        return {**user, "mlflow.runName": self.run_name, "mlflow.source.type": "LOCAL", **self.tags}

    def value(self, kind: str, key: str) -> Any:
        if kind == "attribute":
            return getattr(self, key)
        return {"tag": self.all_tags(), "param": self.params, "metric": self.metrics}[kind].get(key)

    def as_json(self) -> dict[str, Any]:
        info: dict[str, Any] = {"run_id": self.run_id, "run_uuid": self.run_id, "run_name": self.run_name,
                                "experiment_id": self.experiment_id, "user_id": self.user_id,
                                "status": self.status, "start_time": self.start_time}
        if self.end_time is not None:
            info["end_time"] = self.end_time
        info.update(artifact_uri=self.artifact_uri, lifecycle_stage=self.lifecycle_stage)
        data: dict[str, Any] = {}
        if self.metrics:
            at = self.end_time or self.start_time
            data["metrics"] = [{"key": k, "value": v, "timestamp": at, "step": 0} for k, v in self.metrics.items()]
        if self.params:
            data["params"] = [{"key": k, "value": v} for k, v in self.params.items()]
        data["tags"] = [{"key": k, "value": v} for k, v in self.all_tags().items()]
        return {"info": info, "data": data, "inputs": {}}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class _Clause:
    kind: str
    key: str
    op: str
    value: Any

    def test(self, entity: Any) -> bool:
        have = entity.value(self.kind, self.key)
        if have is None:  # an absent tag/metric or a NULL end_time matches nothing, as in SQL
            return False
        op, want = self.op, self.value
        if op in ("LIKE", "ILIKE"):
            pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in want)
            return re.fullmatch(pattern, str(have), re.S | (re.I if op == "ILIKE" else 0)) is not None
        if op in ("IN", "NOT IN"):
            return (have in want) == (op == "IN")
        return {"=": have == want, "!=": have != want, ">": have > want, ">=": have >= want,
                "<": have < want, "<=": have <= want}[op]


def _identifier(text: str, attrs: dict[str, bool], kinds: set[str]) -> tuple[str, str]:
    """(kind, key) of `attributes.start_time`, `tags.\"x-y\"`, `` tags.`k` ``, bare `status`..."""
    prefix, key = ("attribute", text) if text[0] in "`\"" or "." not in text else text.split(".", 1)
    if prefix != "attribute" and prefix.lower() not in KINDS:
        raise _invalid(f"Invalid entity type '{prefix}'. Valid values are {sorted(kinds)}")
    kind, key = KINDS.get(prefix.lower(), "attribute"), key.strip("`\"")
    if kind not in kinds:
        raise _invalid(f"Invalid entity type '{prefix}'. Valid values are {sorted(kinds)}")
    key = "start_time" if kind == "attribute" and key.lower() == "created" else key
    if kind == "attribute" and key not in attrs:
        raise _invalid(f"Invalid attribute key '{key}' specified. Valid keys are '{sorted(attrs)}'")
    return kind, key


def _clause(m: re.Match, attrs: dict[str, bool], kinds: set[str]) -> _Clause:
    kind, key = _identifier(m["ident"], attrs, kinds)
    op = " ".join(m["op"].upper().split()).replace("<>", "!=")
    raw = m["value"]
    numeric = kind == "metric" or (kind == "attribute" and attrs[key])
    allowed = ["=", "!=", ">", ">=", "<", "<="] if numeric else ["=", "!=", "LIKE", "ILIKE"]
    if kind == "attribute" and key == "run_id":
        allowed += ["IN", "NOT IN"]
    if op not in allowed:
        raise _invalid(f"Invalid comparator '{op}' not one of '{allowed}'")
    if op in ("IN", "NOT IN"):
        return _Clause(kind, key, op, [v.replace("\\'", "'") for v in re.findall(r"'((?:[^'\\]|\\.)*)'", raw)])
    if numeric:
        if raw.startswith("'"):
            raise _invalid(f"Expected numeric value type for numeric attribute: {key}. Found {raw}")
        return _Clause(kind, key, op, float(raw))
    if not raw.startswith("'"):
        raise _invalid(f"Expected a quoted string value for {kind} '{key}'. Got value {raw}")
    return _Clause(kind, key, op, raw[1:-1].replace("\\'", "'"))


def parse_filter(text: str | None, attrs: dict[str, bool], kinds: set[str]) -> list[_Clause]:
    """MLflow's search syntax: comparisons joined by AND (no OR, no parentheses)."""
    text = text or ""
    if not text.strip():
        return []
    clauses, pos = [], 0
    while True:
        m = _CLAUSE.match(text, pos)
        if not m:
            raise _invalid(f"Error on parsing filter '{text}'")
        clauses.append(_clause(m, attrs, kinds))
        pos = m.end()
        if pos == len(text):
            return clauses
        joined = _AND.match(text, pos)
        if not joined:
            raise _invalid(f"Invalid clause(s) in filter string: '{text[pos:].split()[0]}'")
        pos = joined.end()


def parse_order_by(order_by: Any, attrs: dict[str, bool], kinds: set[str]) -> list[tuple[str, str, bool]]:
    if not isinstance(order_by, list) or not all(isinstance(o, str) for o in order_by):
        raise _invalid_value("order_by", order_by)
    keys = []
    for clause in order_by:
        m = _ORDER.match(clause)
        if not m:
            raise _invalid(f"Invalid order_by clause '{clause}'. Could not be parsed.")
        kind, key = _identifier(m["ident"], attrs, kinds)
        if any((kind, key) == (k, n) for k, n, _ in keys):
            raise _invalid(f"`order_by` contains duplicate fields: {order_by}")
        keys.append((kind, key, (m["dir"] or "ASC").upper() == "ASC"))
    return keys


def _sorted(items: list, keys: list[tuple[str, str, bool]]) -> list:
    """Sort on `keys` in turn, NULLs last whichever the direction (as MLflow's SQL does)."""
    def compare(a: Any, b: Any) -> int:
        for kind, key, ascending in keys:
            x, y = a.value(kind, key), b.value(kind, key)
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1
            return (-1 if x < y else 1) * (1 if ascending else -1)
        return 0
    return sorted(items, key=functools.cmp_to_key(compare))


def page_token(offset: int) -> str:
    """`SearchUtils.create_page_token`."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def parse_page_token(token: Any) -> int:
    """`SearchUtils.parse_start_offset_from_page_token`, with its messages."""
    if not token:
        return 0
    try:
        decoded = base64.b64decode(token)
    except (TypeError, ValueError):
        raise _invalid("Invalid page token, could not base64-decode") from None
    try:
        parsed = json.loads(decoded)
    except ValueError:
        raise _invalid(f"Invalid page token, decoded value={decoded!r}") from None
    offset = parsed.get("offset") if isinstance(parsed, dict) else None
    if not offset:
        raise _invalid(f"Invalid page token, parsed value={parsed}")
    try:
        return int(offset)
    except (TypeError, ValueError):
        raise _invalid(f"Invalid page token, not stringable {offset}") from None


def _int(body: dict, name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise _invalid_value(name, value)
    return int(value)


def _stages(value: Any, name: str) -> tuple[str, ...]:
    view = VIEW_NUMBERS.get(value, value) if isinstance(value, int) else (value or "ACTIVE_ONLY")
    if view not in VIEW_TYPES:
        raise _invalid_value(name, value)
    return VIEW_TYPES[view]


_ADJECTIVES = ("bold", "calm", "eager", "gentle", "quiet", "rare", "sly", "vivid")
_ANIMALS = ("fox", "heron", "lynx", "owl", "seal", "toad", "wren", "yak")


@dataclass
class FakeMlflow(PathFaults, LoopbackServer):
    """`with FakeMlflow(auth="basic") as fake:`; `add_experiment`, then `add_run` to it."""

    auth: str | None = None
    username: str = "bridge"
    password: str = "mlflow-pa55word-s3cret"
    token: str = "mlflow-api-token-s3cret"
    page_max: int = 1000
    max_experiment_ids: int | None = 100
    experiments_max_results_default: int | None = None
    experiments: dict[str, FakeExperiment] = field(default_factory=dict)
    runs: dict[str, FakeRun] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    garbage: str | None = None  # "html" | "json-junk"
    garbage_remaining: int | None = None  # None: until clear_garbage()
    clock: Callable[[], datetime] = field(default_factory=lambda: lambda: datetime.now(UTC))
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        assert self.auth in (None, "basic", "bearer"), self.auth

    def _handler_class(self) -> type:
        return _Handler

    # -- data --------------------------------------------------------------------------------

    def add_experiment(self, name: str, *, experiment_id: str | None = None, deleted: bool = False,
                       tags: dict[str, str] | None = None, created: datetime | None = None) -> FakeExperiment:
        with self._lock:
            eid = experiment_id or next(i for i in map(str, self._ids) if i not in self.experiments)
            assert eid not in self.experiments, f"experiment {eid} exists"
            at = ms(created or self.clock())
            experiment = FakeExperiment(eid, name, at, at, "deleted" if deleted else "active", dict(tags or {}))
            self.experiments[eid] = experiment
            return experiment

    def add_run(self, experiment: FakeExperiment | str, *, user: str = "alice", status: str = "FINISHED",
                start: datetime, end: datetime | None = None, run_name: str | None = None,
                tags: dict[str, str] | None = None, deleted: bool = False, run_id: str | None = None,
                params: dict[str, str] | None = None, metrics: dict[str, float] | None = None) -> FakeRun:
        """A run; a FINISHED/FAILED/KILLED one without `end` ends an hour after `start`."""
        assert status in RUN_STATUSES, status
        with self._lock:
            eid = experiment.experiment_id if isinstance(experiment, FakeExperiment) else str(experiment)
            assert eid in self.experiments, f"no experiment {eid}"
            if end is None and status in TERMINAL:
                end = start + timedelta(hours=1)
            n = len(self.runs)
            name = run_name or f"{_ADJECTIVES[n % 8]}-{_ANIMALS[n // 8 % 8]}-{n + 1}"
            run = FakeRun(run_id or uuid.uuid4().hex, eid, name, user, status, ms(start),
                          None if end is None else ms(end), "deleted" if deleted else "active",
                          dict(tags or {}), dict(params or {}), dict(metrics or {}))
            assert run.run_id not in self.runs, f"run {run.run_id} exists"
            self.runs[run.run_id] = run
            return run

    def update_run(self, run_id: str, *, status: str | None = None, end: datetime | None = _UNSET,
                   tags: dict[str, str] | None = None) -> FakeRun:
        """Change a run; moving it to a terminal status without `end` ends it at `clock()`."""
        with self._lock:
            run = self.runs[run_id]
            if status is not None:
                assert status in RUN_STATUSES, status
                run.status = status
                if end is _UNSET and status in TERMINAL and run.end_time is None:
                    end = self.clock()
            if end is not _UNSET:
                run.end_time = None if end is None else ms(end)
            run.tags.update(tags or {})
            return run

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            self.runs[run_id].lifecycle_stage = "deleted"

    def reset(self) -> None:
        """Forget experiments, runs, requests, faults and garbage (for a shared fake)."""
        with self._lock:
            self.experiments.clear()
            self.runs.clear()
            self.requests.clear()
            self._faults.clear()
            self.clear_garbage()
            self._ids = itertools.count(1)

    # -- faults and records ------------------------------------------------------------------

    def serve_garbage(self, kind: str = "html", times: int | None = None) -> None:
        """Answer the next `times` requests (None: until `clear_garbage()`) with a 200 of the wrong kind."""
        assert kind in ("html", "json-junk"), kind
        with self._lock:
            self.garbage, self.garbage_remaining = kind, times

    def clear_garbage(self) -> None:
        with self._lock:
            self.garbage, self.garbage_remaining = None, None

    def _take_garbage(self) -> str | None:
        with self._lock:
            kind = self.garbage
            if kind is not None and self.garbage_remaining is not None:
                self.garbage_remaining -= 1
                if self.garbage_remaining <= 0:
                    self.clear_garbage()
            return kind

    def searches(self) -> list[Any]:
        """The JSON bodies of every `runs/search` request, in order."""
        return [r.json() for r in self.calls("/mlflow/runs/search")]

    def experiment_searches(self) -> list[Any]:
        return [r.json() for r in self.calls("/mlflow/experiments/search")]

    # -- behaviour ---------------------------------------------------------------------------

    def _check_auth(self, headers: dict[str, str]) -> None:
        sent = headers.get("authorization", "")
        if self.auth == "basic":
            scheme, _, encoded = sent.partition(" ")
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except ValueError:
                user = password = ""
            if scheme.lower() != "basic" or (user, password) != (self.username, self.password):
                raise _Reply(401, BASIC_AUTH_MESSAGE, {"WWW-Authenticate": 'Basic realm="mlflow"'},
                             "text/html; charset=utf-8")
        elif self.auth == "bearer" and sent != f"Bearer {self.token}":
            message = ("Credential was not sent or was of an unsupported type for this API." if not sent
                       else "Invalid access token.")
            raise _Reply(401, {"error_code": "UNAUTHENTICATED", "message": message})

    def search_experiments(self, body: dict[str, Any]) -> dict[str, Any]:
        max_results = _int(body, "max_results", self.experiments_max_results_default or 0)
        if max_results < 1:
            raise _invalid(f"Invalid value for max_results. It must be a positive integer, but got {max_results}")
        if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
            raise _invalid(f"Invalid value for max_results. It must be at most {SEARCH_MAX_RESULTS_THRESHOLD}, "
                           f"but got {max_results}")
        kinds = {"attribute", "tag"}
        clauses = parse_filter(body.get("filter"), EXPERIMENT_ATTRS, kinds)
        order = parse_order_by(body.get("order_by") or ["creation_time DESC", "experiment_id ASC"],
                               EXPERIMENT_ATTRS, kinds)
        if not any(key == "experiment_id" for _, key, _ in order):
            order.append(("attribute", "experiment_id", False))
        stages, offset = _stages(body.get("view_type"), "view_type"), parse_page_token(body.get("page_token"))
        with self._lock:
            found = _sorted([e for e in self.experiments.values()
                             if e.lifecycle_stage in stages and all(c.test(e) for c in clauses)], order)
            size = min(max_results, self.page_max)
            out: dict[str, Any] = {}
            if page := found[offset:offset + size]:
                out["experiments"] = [e.as_json() for e in page]
            if len(found) > offset + size:
                out["next_page_token"] = page_token(offset + size)
            return out

    def search_runs(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("experiment_ids") or []
        if not isinstance(ids, list):
            raise _invalid_value("experiment_ids", ids)
        if self.max_experiment_ids is not None and len(ids) > self.max_experiment_ids:
            raise _invalid(f"Too many experiment_ids specified in SearchRuns request: got {len(ids)}, "
                           f"at most {self.max_experiment_ids} are allowed.")
        max_results = _int(body, "max_results", SEARCH_MAX_RESULTS_DEFAULT)
        if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
            raise _invalid_value("max_results", body["max_results"])
        if max_results < 1:  # the SQL store would answer an endless chain of empty pages
            raise _invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                           "a positive integer")
        kinds = {"attribute", "tag", "param", "metric"}
        clauses = parse_filter(body.get("filter"), RUN_ATTRS, kinds)
        order = parse_order_by(body.get("order_by") or [], RUN_ATTRS, kinds)
        if not any((kind, key) == ("attribute", "start_time") for kind, key, _ in order):
            order.append(("attribute", "start_time", False))
        order.append(("attribute", "run_id", True))
        stages, offset = _stages(body.get("run_view_type"), "run_view_type"), parse_page_token(body.get("page_token"))
        wanted = {str(i) for i in ids}
        with self._lock:
            found = _sorted([r for r in self.runs.values() if r.experiment_id in wanted
                             and r.lifecycle_stage in stages and all(c.test(r) for c in clauses)], order)
            size = min(max_results, self.page_max)
            page = found[offset:offset + size]
            out: dict[str, Any] = {}
            if page:
                out["runs"] = [r.as_json() for r in page]
            if len(page) == size:  # as the SQL store: a full page always gets a token
                out["next_page_token"] = page_token(offset + size)
            return out

    def get(self, endpoint: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if endpoint == "experiments/get":
                eid = args.get("experiment_id") or ""
                if not eid:
                    raise _invalid(f"Missing value for required parameter 'experiment_id'.{SEE_DOCS}")
                if eid not in self.experiments:
                    raise _missing(f"No Experiment with id={eid} exists")
                return {"experiment": self.experiments[eid].as_json()}
            rid = args.get("run_id") or args.get("run_uuid") or ""
            if not rid:
                raise _invalid(f"Missing value for required parameter 'run_id'.{SEE_DOCS}")
            if rid not in self.runs:
                raise _missing(f"Run with id={rid} not found")
            return {"run": self.runs[rid].as_json()}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeMlflow
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle(self.command)

    do_POST = do_GET

    def _handle(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = Request(method, parts.path, parse_qs(parts.query), headers, body)
        with self.fake._lock:
            self.fake.requests.append(record)
        try:
            status, payload, extra, content_type = 200, self._route(method, record), {}, "application/json"
        except _Reply as reply:
            status, payload, extra, content_type = reply.status, reply.body, reply.headers, reply.content_type
        record.status = status
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, req: Request) -> Any:
        fake = self.fake
        fault = fake._fault_for(req.path)
        if fault:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            raise _Reply(fault.status, {"error_code": FAULT_CODES.get(fault.status, "INTERNAL_ERROR"),
                                        "message": f"fake fault {fault.status}"}, headers)
        garbage = fake._take_garbage()
        if garbage == "html":
            raise _Reply(200, LOGIN_PAGE, content_type="text/html; charset=utf-8")
        if garbage == "json-junk":
            raise _Reply(200, [{"status": "ok"}, "unexpected"])
        fake._check_auth(req.headers)
        prefix = next((p for p in API_PREFIXES if req.path.startswith(p)), None)
        endpoint = req.path[len(prefix):] if prefix else ""
        allowed = {"experiments/search": ("GET", "POST"), "runs/search": ("POST",), "experiments/get": ("GET",),
                   "runs/get": ("GET",)}.get(endpoint)
        if allowed is None:
            raise _Reply(404, "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>",
                         content_type="text/html; charset=utf-8")
        if method not in allowed:
            raise _Reply(405, "<!doctype html><title>405 Method Not Allowed</title><h1>Method Not Allowed</h1>",
                         {"Allow": ", ".join(allowed)}, "text/html; charset=utf-8")
        if method == "GET":
            args: Any = {k: (v if k == "order_by" else v[0]) for k, v in req.query.items()}
            return fake.get(endpoint, args) if endpoint != "experiments/search" else fake.search_experiments(args)
        content_type = req.headers.get("content-type")
        if content_type is None:
            raise _invalid("Bad Request. Content-Type header is missing.")
        if content_type.split(";")[0].strip() != "application/json":
            raise _invalid("Bad Request. Content-Type must be one of ['application/json'].")
        args = req.json()  # Flask's get_json(silent=True): a body that is not JSON reads as {}
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise _invalid("Request body must be a JSON object")
        return fake.search_runs(args) if endpoint == "runs/search" else fake.search_experiments(args)
