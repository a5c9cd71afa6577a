"""Generic ingest: `POST /api/v1/pipeline-runs`, `/api/v1/deployments`, `/api/v1/incidents`,
`/api/v1/experiment-runs`.

For any CI step, deploy script, incident tool or training platform:
`Authorization: Bearer $BRIDGE_API_TOKEN` (compared in constant time; missing or wrong -> 401;
token not configured -> 503), checked before the body is read. The body is one object or a
list of up to 1000; each is validated by a pydantic model (times ISO 8601 *with* a timezone,
statuses from the normalised sets, unknown fields refused) and any error refuses the whole
batch with 422 naming the field (`body[2].status`); malformed JSON gets 400. Records are keyed
by their ids, so posting the same record again replaces it. The answer is 201 with the stored
records, times in UTC.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import lru_cache
from typing import Annotated, Any, Callable, Literal, NamedTuple, Sequence, Union

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonDict
from starlette.concurrency import run_in_threadpool

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.ingest.pipelines import record_json, record_pipeline_runs
from bot.models import Deployment, ExperimentRun, Incident, PipelineRun
from bot.sources.webhooks import (
    MAX_ATTEMPT,
    PayloadError,
    check_time,
    decode_json,
    is_production_name,
    secret_matches,
)
from bot.store import Store
from bot.web.errors import RequestError

log = logging.getLogger(__name__)

UTC = timezone.utc
SOURCE = "api"
MAX_RECORDS = 1000

# A string field must hold a non-space character: the schema says so (pattern) and the
# validator agrees, so a value the document accepts is never refused afterwards.
_TEXT = r"\S"
def _whole_number(value: Any) -> int:
    """An integer as JSON Schema means one: 3 or 3.0, never "3" or true."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def _one_id_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One error at the id field itself, not one per member of the union (`run_id.constrained-str`)."""
    try:
        return handler(value)
    except ValidationError as exc:
        text = [e["msg"] for e in exc.errors() if isinstance(value, str) and e["type"].startswith("string_")]
        raise ValueError(text[0] if text else "must be a string or a whole number") from None


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Id = Annotated[Union[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                                      pattern=_TEXT)], WholeNumber], WrapValidator(_one_id_error)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=_TEXT)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Sha = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=_TEXT)]
# Anchored patterns are checked after stripping: a schema's `$` also admits one trailing newline.
Platform = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")]
JiraKey = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[A-Z][A-Z0-9_]*-[0-9]+$")]
Link = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S")]


def _time_text(value: Any) -> Any:
    """Times are ISO 8601 strings; a number would be read as seconds since 1970."""
    if isinstance(value, (int, float)):
        raise ValueError("must be an ISO 8601 time string with a timezone, not a number")
    return value


def _plausible(value: datetime, info: ValidationInfo) -> datetime:
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None
    now = (info.context or {}).get("now") or datetime.now(UTC)
    try:
        return check_time(value, "time", now)
    except PayloadError as exc:
        raise ValueError(str(exc).removeprefix("time ")) from None


# ISO 8601 with a timezone, from 2000 to a day ahead, kept in UTC (the webhooks' rule too).
TIME_HELP = "ISO 8601 with a timezone, from 2000-01-01 to a day ahead"
Time = Annotated[AwareDatetime, BeforeValidator(_time_text), AfterValidator(_plausible)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PipelineRunIn(_In):
    """One finished attempt of a pipeline run."""

    pipeline: Name = Field(description="Pipeline name, as shown in /pipelines", examples=["ml/ranker: train"])
    run_id: Id = Field(description="The run's id in your CI (a number or a string)", examples=["4711"])
    attempt: WholeNumber = Field(1, ge=1, le=MAX_ATTEMPT,
                         description="Attempt number; a re-run of the same run_id is attempt 2, ...")
    status: Literal["success", "failed", "cancelled", "skipped"] = Field(
        description="Reliability = success / (success + failed); cancelled and skipped are counted apart")
    finished_at: Time = Field(description=TIME_HELP, examples=["2026-03-04T15:02:11Z"])
    started_at: Time | None = Field(None, description=TIME_HELP)
    url: Url | None = Field(None, description="Link to the run")
    commit_sha: Sha | None = None
    commit_at: Time | None = Field(None, description="When the commit was made (for lead time)")
    branch: Name | None = None

    @model_validator(mode="after")
    def _started_before_finished(self) -> "PipelineRunIn":
        if self.started_at is not None and self.started_at > self.finished_at:
            raise ValueError("started_at is after finished_at")
        return self

    def record(self) -> PipelineRun:
        return PipelineRun(SOURCE, self.pipeline, str(self.run_id), self.attempt, self.status, self.finished_at,
                           self.started_at, self.url, self.commit_sha, self.commit_at, self.branch)


class DeploymentIn(_In):
    """One finished deployment of a service or a model."""

    deployment_id: Id = Field(description="Unique per deployment; posting it again replaces it",
                              examples=["deploy-981"])
    target: Name = Field(description="The service or model deployed", examples=["ranker-model"])
    version: Name = Field(description="Version, tag or commit sha deployed", examples=["v2.3.1"])
    environment: Name = Field("production", description="Environment name")
    status: Literal["success", "failed"]
    finished_at: Time = Field(description=TIME_HELP, examples=["2026-03-04T15:20:00Z"])
    is_production: StrictBool | None = Field(
        None, description='Default: true when environment is "production" or "prod"')
    is_rollback: StrictBool = Field(False, description="This deployment rolls back to an earlier version "
                              "(redeploying a version the target ran before is also counted as one)")
    commit_sha: Sha | None = None
    commit_at: Time | None = Field(None, description="When the deployed commit was made (lead time)")
    url: Url | None = None

    def record(self) -> Deployment:
        production = self.is_production if self.is_production is not None else is_production_name(self.environment)
        return Deployment(SOURCE, str(self.deployment_id), self.target, self.version, self.environment, self.status,
                          self.finished_at, production, self.is_rollback, self.commit_sha, self.commit_at,
                          self.url)


class IncidentIn(_In):
    """A production incident (time to restore, change failure rate)."""

    incident_id: Id = Field(description="Unique per incident; post it again when it is resolved", examples=["INC-42"])
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    started_at: Time = Field(description=TIME_HELP, examples=["2026-03-04T16:00:00Z"])
    resolved_at: Time | None = Field(None, description="Null while the incident is open")
    target: Name | None = Field(None, description="The service or model affected")
    deployment_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        None, description="The deployment (a deployment_id posted to /api/v1/deployments) that caused it")
    url: Url | None = None

    @model_validator(mode="after")
    def _started_before_resolved(self) -> "IncidentIn":
        if self.resolved_at is not None and self.resolved_at < self.started_at:
            raise ValueError("resolved_at is before started_at")
        return self

    def record(self) -> Incident:
        return Incident(SOURCE, str(self.incident_id), self.title, self.started_at, self.resolved_at,
                        self.target, self.deployment_id, self.url)


# The finish rule as JSON Schema states it, so a body the document accepts is never refused for it.
_FINISH_RULE: JsonDict = {"if": {"properties": {"status": {"const": "running"}}, "required": ["status"]},
                          "then": {"properties": {"finished_at": {"type": "null"}}},
                          "else": {"required": ["finished_at"], "properties": {"finished_at": {"type": "string"}}}}


class ExperimentRunIn(_In):
    """One training or experiment run (W&B, Kubeflow, SageMaker, a training script), keyed by
    (source, run_id). The source "mlflow" belongs to the mlflow-sync job: its next sync may
    overwrite a run posted under it."""

    model_config = ConfigDict(json_schema_extra=_FINISH_RULE)

    source: Platform = Field(description="The platform, a lowercase word", examples=["wandb"])
    run_id: Id = Field(description="The run's id on the platform; posting the same (source, run_id) replaces it",
                       examples=["1mbku38n"])
    experiment: Name = Field(description="The experiment, project or sweep the run belongs to",
                             examples=["ranker-sweep"])
    status: Literal["running", "finished", "failed", "killed"]
    started_at: Time = Field(description=TIME_HELP, examples=["2026-03-04T14:31:07Z"])
    finished_at: Time | None = Field(None, validate_default=True, description=f"{TIME_HELP}; required unless status "
                                     "is running (then null or left out), not before started_at")
    user: Name | None = Field(None, description="The platform's user name or e-mail (mapped through [identities])")
    jira_key: JiraKey | None = Field(None, description="The Jira issue the run belongs to", examples=["RES-42"])
    url: Link | None = Field(None, description="Link to the run (http or https)")

    @field_validator("finished_at")
    @classmethod
    def _finish_fits_status(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        status, started = info.data.get("status"), info.data.get("started_at")
        if status == "running" and value is not None:
            raise ValueError("must be null while status is running")
        if status is not None and status != "running" and value is None:
            raise ValueError(f"required when status is {status}")
        if value is not None and started is not None and value < started:
            raise ValueError("finished_at is before started_at")
        return value

    def record(self) -> ExperimentRun:
        return ExperimentRun(self.source, str(self.run_id), self.experiment, self.status, self.started_at,
                             self.finished_at, self.user, self.jira_key, self.url)


Save = Callable[[Store, Sequence[Any], datetime], object]  # store, records, the time they were received


def _untimed(save: Callable[[Store, Sequence[Any]], None]) -> Save:
    """A save for records that keep no time of receipt."""
    return lambda store, records, at: save(store, records)


class Endpoint(NamedTuple):
    path: str
    key: str  # the answer's list of stored records
    model: type[_In]
    save: Save
    summary: str
    examples: tuple[dict[str, Any], dict[str, Any]]  # two records, for the OpenAPI examples


_RUN = {"pipeline": "ml/ranker: train", "run_id": "4711", "attempt": 1, "status": "success",
        "started_at": "2026-03-04T14:31:07Z", "finished_at": "2026-03-04T15:02:11Z",
        "url": "https://ci.example.com/runs/4711", "commit_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "branch": "main"}
_DEPLOY = {"deployment_id": "deploy-981", "target": "ranker-model", "version": "v2.3.1", "environment": "production",
           "status": "success", "finished_at": "2026-03-04T15:20:00Z", "is_rollback": False,
           "commit_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8"}
_INCIDENT = {"incident_id": "INC-42", "title": "Ranker returns stale results", "started_at": "2026-03-04T16:00:00Z",
             "resolved_at": "2026-03-04T17:10:00Z", "target": "ranker-model", "deployment_id": "deploy-981"}
_EXPERIMENT = {"source": "wandb", "run_id": "1mbku38n", "experiment": "ranker-sweep", "status": "finished",
               "started_at": "2026-03-04T14:31:07Z", "finished_at": "2026-03-04T15:02:11Z", "user": "alice",
               "jira_key": "RES-42", "url": "https://wandb.ai/acme/ranker/runs/1mbku38n"}

ENDPOINTS = (
    Endpoint("/api/v1/pipeline-runs", "pipeline_runs", PipelineRunIn, _untimed(record_pipeline_runs),
             "Record pipeline runs",
             (_RUN, {**_RUN, "run_id": "4712", "status": "failed", "finished_at": "2026-03-04T16:02:40Z"})),
    Endpoint("/api/v1/deployments", "deployments", DeploymentIn, _untimed(Store.save_deployments),
             "Record deployments",
             (_DEPLOY, {**_DEPLOY, "deployment_id": "deploy-982", "version": "v2.3.0", "is_rollback": True,
                        "finished_at": "2026-03-04T16:45:00Z"})),
    Endpoint("/api/v1/incidents", "incidents", IncidentIn, _untimed(Store.save_incidents), "Record incidents",
             (_INCIDENT, {**_INCIDENT, "incident_id": "INC-43", "resolved_at": None})),
    Endpoint("/api/v1/experiment-runs", "experiment_runs", ExperimentRunIn, Store.save_experiment_runs,
             "Record experiment runs",
             (_EXPERIMENT, {**_EXPERIMENT, "run_id": "2xq9zt7c", "status": "running", "finished_at": None})),
)

_AUTH_HELP = "send Authorization: Bearer <BRIDGE_API_TOKEN>"
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="Research Bridge"'}


@lru_cache(maxsize=None)
def _adapters(model: type[_In]) -> tuple[TypeAdapter, TypeAdapter]:
    return TypeAdapter(model), TypeAdapter(list[model])  # type: ignore[valid-type]


def _field(loc: Sequence[Any]) -> str:
    path = "body"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate(model: type[_In], payload: Any, now: datetime) -> list[Any]:
    """The records; a 422 `RequestError` whose `detail` names every invalid field."""
    one, many = _adapters(model)
    single = isinstance(payload, dict)
    if not single and not isinstance(payload, list):
        raise RequestError("body must be a JSON object or an array of objects", 422, detail=[])
    if not single and not payload:
        raise RequestError("body holds no records", 422, detail=[])
    if not single and len(payload) > MAX_RECORDS:
        raise RequestError(f"at most {MAX_RECORDS} records per request", 422, detail=[])
    try:
        context = {"now": now}
        items = ([one.validate_python(payload, context=context)] if single
                 else many.validate_python(payload, context=context))
    except ValidationError as exc:
        detail = [{"loc": ["body", *e["loc"]], "field": _field(e["loc"]), "msg": e["msg"], "type": e["type"]}
                  for e in exc.errors(include_url=False, include_context=False, include_input=False)]
        summary = "; ".join(f"{d['field']}: {d['msg']}" for d in detail[:10])
        raise RequestError(f"invalid body, nothing stored: {summary}", 422, detail=detail) from None
    return [item.record() for item in items]


def _openapi(endpoint: Endpoint) -> dict[str, Any]:
    schema = endpoint.model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"oneOf": [schema, {"type": "array", "items": schema, "minItems": 1, "maxItems": MAX_RECORDS}]},
        "examples": {"one": {"summary": "One record", "value": endpoint.examples[0]},
                     "batch": {"summary": "A batch (stored all or nothing)", "value": list(endpoint.examples)}}}}}}


def _responses(endpoint: Endpoint) -> dict[int | str, dict[str, Any]]:
    return {
        201: {"description": "Stored; the answer lists the records as stored (times in UTC)",
              "content": {"application/json": {"example": {"stored": 1, endpoint.key: [endpoint.examples[0]]}}}},
        400: {"description": "Body is not valid JSON; nothing stored"},
        401: {"description": "Missing or wrong bearer token; nothing stored"},
        413: {"description": "Body larger than 1 MiB"},
        422: {"description": "A field is invalid (named in `error` and `detail`); the whole batch is refused"},
        503: {"description": "BRIDGE_API_TOKEN is not set, or the database is busy"},
    }


def make_router(store: Store, settings: Settings, clock: Clock = utc_now) -> APIRouter:
    """The generic ingest endpoints."""
    router = APIRouter(tags=["ingest"])
    token = settings.bridge_api_token
    bearer = HTTPBearer(auto_error=False, description="The BRIDGE_API_TOKEN, sent as `Authorization: Bearer TOKEN` "
                        "(the scheme name is case-insensitive, as HTTP defines it)")

    def handler(endpoint: Endpoint):
        async def ingest(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> JSONResponse:
            if not token:
                raise RequestError("the ingest API is disabled: set BRIDGE_API_TOKEN", 503)
            if credentials is None:
                raise RequestError(f"missing bearer token: {_AUTH_HELP}", 401, headers=_UNAUTHORIZED)
            if not secret_matches(token, credentials.credentials):
                log.warning("ingest %s refused: wrong bearer token", endpoint.path)
                raise RequestError("wrong bearer token", 401, headers=_UNAUTHORIZED)
            payload = decode_json(await request.body(), check_unicode=False)  # 422 names the field
            now = clock()
            records = validate(endpoint.model, payload, now)
            await run_in_threadpool(endpoint.save, store, records, now)
            return JSONResponse({"stored": len(records), endpoint.key: [record_json(r) for r in records]},
                                status_code=201)

        return ingest

    for endpoint in ENDPOINTS:
        router.add_api_route(
            endpoint.path, handler(endpoint), methods=["POST"], status_code=201, summary=endpoint.summary,
            description=f"{endpoint.model.__doc__} One object or a list of up to {MAX_RECORDS}, stored all or "
                        "nothing; times are ISO 8601 with a timezone. Auth: `Authorization: Bearer BRIDGE_API_TOKEN`.",
            responses=_responses(endpoint), openapi_extra=_openapi(endpoint), response_class=JSONResponse)
    return router
