"""Schemathesis against the app's own OpenAPI document, in process: for every documented
operation, generated requests (authenticated, so they reach the parsers) never get a 5xx,
and every answer conforms to the document (status codes, content types, schemas); data
that breaks the schema is refused with a 4xx.

Data the schema allows is accepted, except where a documented rule a JSON Schema cannot
state refuses it: times within a plausible range (from 2000, or the heartbeat retention,
to a day or an hour ahead) and a start before its end. Such a refusal must name that rule.

The number of examples is bounded so the suite stays fast; raise FUZZ_EXAMPLES locally for
a deeper run, and FUZZ_RANDOM=1 for new examples on each run (CI replays the same ones).
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import tempfile
from datetime import UTC, datetime

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from bot.app import create_web_app  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.ingest.keys import issue_key  # noqa: E402
from bot.store import Store  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
API_TOKEN = "fuzz-api-token-0123456789"
ENV = {"JIRA_WEBHOOK_SECRET": "fuzz-jira", "GITHUB_WEBHOOK_SECRET": "fuzz-github", "GITLAB_WEBHOOK_TOKEN": "fuzz-gitlab",
       "BRIDGE_API_TOKEN": API_TOKEN}


def _app_and_key(path: str) -> tuple[object, str]:
    store = Store(path)
    key = issue_key(store, "U0FUZZ", datetime.now(UTC))
    return create_web_app(settings_from_mapping({}, ENV), store), key


_WORKDIR = tempfile.mkdtemp(prefix="research-bridge-fuzz-")
atexit.register(shutil.rmtree, _WORKDIR, True)
APP, KEY = _app_and_key(os.path.join(_WORKDIR, "bridge.db"))
# Invalid data must be refused with a 4xx; 413 is the documented answer for too many items.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


def _auth(path: str) -> dict[str, str]:
    if "heartbeat" in path or "/users/current/" in path:  # the WakaTime paths take the heartbeat key
        return {"Authorization": "Basic " + base64.b64encode(KEY.encode()).decode()}
    if path.startswith("/api/v1/"):
        return {"Authorization": f"Bearer {API_TOKEN}"}
    return {}


# The rules the document states in prose; a schema-valid request refused for another reason fails.
DOCUMENTED_RULES = ("older than", "in the future", "before 2000-01-01", "is after", "is before")


@schemathesis.check
def schema_valid_data_is_refused_only_by_documented_rules(ctx, response, case) -> bool | None:
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    text = response.text
    if not any(rule in text for rule in DOCUMENTED_RULES):
        raise AssertionError(f"a schema-valid request was refused: {response.status_code} {text[:300]}")
    return True


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
          derandomize=os.environ.get("FUZZ_RANDOM") != "1")  # the same examples on every CI run
def test_no_5xx_and_answers_conform_to_the_document(case):
    case.call_and_validate(headers=_auth(case.path),
                           excluded_checks=[schemathesis.checks.positive_data_acceptance],
                           additional_checks=[schema_valid_data_is_refused_only_by_documented_rules])
