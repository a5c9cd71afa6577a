"""WakaTime-compatible heartbeat ingest over HTTP, as the IDE plugins send it, and
`research-bridge keys create|revoke`. The rollups it maintains are in test_focus_rollups.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.cli.keys import keys
from bot.ingest.keys import issue_key, revoke_keys
from bot.sources.heartbeats import BULK_PATHS, SINGLE_PATHS
from bot.store import Store
from tests.support.heartbeats import (  # noqa: F401 (client and key are fixtures)
    ADA,
    BOB,
    BULK,
    NOW,
    SINGLE,
    UA,
    T,
    basic,
    beat,
    client,
    day_row,
    key,
    make_settings,
    post,
    stored,
)
from tests.support.live import serve

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# -- the happy paths, exactly as clients send them ---------------------------------------------


def test_bulk_post_as_the_legacy_client_sends_it(client, store, key):
    body = [beat(T - 300), beat(T - 120, is_write=True), beat(T - 60, entity="/home/ada/research-x/train.py")]
    r = post(client, body, key)
    assert r.status_code == 201
    responses = r.json()["responses"]
    assert [status for _, status in responses] == [201, 201, 201]
    first = responses[0][0]["data"]
    assert set(responses[0][0]) == {"data"}
    assert first["entity"] == "/home/ada/research-x/model.py" and first["time"] == T - 300
    assert first["type"] == "file" and first["project"] == "research-x" and first["user_agent"] == UA
    assert re.fullmatch(r"[0-9a-f]{32}", first["id"])
    assert len({resp[0]["data"]["id"] for resp in responses}) == 3
    rows = stored(store)
    assert [(h.time, h.entity.rsplit("/", 1)[1], h.is_write) for h in rows] == [
        (T - 300, "model.py", False), (T - 120, "model.py", True), (T - 60, "train.py", False)]
    assert {(h.slack_user_id, h.editor, h.machine, h.language, h.branch, h.category) for h in rows} == {
        (ADA, UA, "ada-laptop", "Python", "main", "coding")}


def test_single_object_on_the_plain_path_is_answered_with_data(client, store, key):
    r = post(client, beat(T - 30), key, SINGLE)
    assert r.status_code == 201
    assert set(r.json()) == {"data"}
    assert r.json()["data"]["entity"] == "/home/ada/research-x/model.py"
    assert len(stored(store)) == 1


def test_single_object_on_the_bulk_path_is_answered_with_responses(client, store, key):
    r = post(client, beat(T - 30), key, BULK)
    assert r.status_code == 201
    assert [status for _, status in r.json()["responses"]] == [201]


def test_header_fallbacks_and_lenient_defaults(client, store, key):
    minimal = {"entity": "Slack", "time": T - 10}  # no type, no user_agent: a minimal plugin
    r = post(client, [minimal, {"entity": "x.py", "time": int(T) - 5, "is_write": 1, "machine": "gpu-box"}], key)
    assert r.status_code == 201
    a, b = stored(store)
    assert (a.type, a.editor, a.machine, a.is_write) == ("file", UA, "ada-laptop", False)
    assert (b.time, b.is_write, b.machine) == (float(int(T) - 5), True, "gpu-box")


@pytest.mark.parametrize("auth", ["basic", "basic-colon", "bearer-b64", "bearer", "query", "basic-upper"])
def test_every_way_wakatime_clients_send_the_key(client, store, key, auth):
    headers = {
        "basic": {"Authorization": basic(key)},
        "basic-colon": {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
        "bearer-b64": {"Authorization": "Bearer " + base64.b64encode(key.encode()).decode()},
        "bearer": {"Authorization": f"Bearer {key}"},
        "query": {},
        "basic-upper": {"Authorization": basic(key.upper())},
    }[auth]
    r = post(client, [beat(T - 30)], key if auth == "query" else None, auth="query", headers=headers)
    assert r.status_code == 201, r.text
    assert [h.slack_user_id for h in stored(store)] == [ADA]


@pytest.mark.parametrize("path", SINGLE_PATHS + BULK_PATHS)
def test_every_path_variant_accepts_heartbeats(client, store, key, path):
    r = post(client, [beat(T - 30), beat(T - 20)], key, path)
    assert r.status_code == 201
    assert [s for _, s in r.json()["responses"]] == [201, 201]
    assert len(stored(store)) == 2


def test_the_openapi_schema_documents_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in SINGLE_PATHS + BULK_PATHS:
        assert "post" in paths[path]
    doc = paths[BULK]["post"]
    assert doc["summary"] == "Send heartbeats in bulk"
    assert "Basic base64(key)" in doc["description"] and {"201", "400", "401", "413"} <= set(doc["responses"])
    assert "oneOf" in doc["requestBody"]["content"]["application/json"]["schema"]


# -- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [
    None, "Basic " + base64.b64encode(str(uuid.uuid4()).encode()).decode(), f"Bearer {uuid.uuid4()}",
    "Basic not-base64!!", "Token abc", "Basic ", "Basic " + base64.b64encode(b"\xff\xfe").decode(),
])
def test_missing_or_wrong_key_is_401_and_nothing_is_stored(client, store, key, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    r = post(client, [beat(T - 30)], None, headers=headers)
    assert r.status_code == 401
    assert "error" in r.json()
    assert stored(store) == []
    assert store.count("focus_days") == 0


def test_wrong_query_key_is_401(client, store, key):
    assert post(client, [beat(T - 30)], str(uuid.uuid4()), auth="query").status_code == 401
    assert stored(store) == []


def test_revoked_key_is_401_and_nothing_is_stored(client, store, key):
    assert post(client, [beat(T - 60)], key).status_code == 201
    revoke_keys(store, ADA, NOW)
    r = post(client, [beat(T - 30)], key)
    assert r.status_code == 401 and r.json() == {"ok": False, "error": "invalid or revoked API key"}
    assert [h.time for h in stored(store)] == [T - 60]


def test_each_key_stores_for_its_own_person(client, store, key):
    bob_key = issue_key(store, BOB, NOW)
    assert post(client, [beat(T - 30)], bob_key).status_code == 201
    assert stored(store, ADA) == [] and [h.slack_user_id for h in stored(store, BOB)] == [BOB]


# -- bad input: a clear 4xx, never a 500, nothing half-stored ---------------------------------------


@pytest.mark.parametrize("body, fragment", [
    (b"{not json", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'[{"entity": "a.py", "time": NaN}]', "not valid JSON"),
    (b"\xff\xfe\x00", "body is not UTF-8"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b'"a string"', "heartbeat object or an array"),
    (b"42", "heartbeat object or an array"),
    (b"[]", "no heartbeats"),
])
def test_malformed_bodies_get_400(client, store, key, body, fragment):
    r = post(client, body, key)
    assert r.status_code == 400
    assert fragment in r.json()["error"]
    assert stored(store) == []


@pytest.mark.parametrize("item, field", [
    ({"time": T - 30}, "entity"),
    ({"entity": "  ", "time": T - 30}, "entity"),
    ({"entity": 5, "time": T - 30}, "entity"),
    ({"entity": "a.py"}, "time"),
    ({"entity": "a.py", "time": "1767225600"}, "time"),
    ({"entity": "a.py", "time": True}, "time"),
    ({"entity": "a.py", "time": 1e308}, "time"),
    (b'{"entity": "a.py", "time": 1%s}' % (b"0" * 400), "time"),
    ({"entity": "a.py", "time": T - 30, "type": "bogus"}, "type"),
    ({"entity": "a.py", "time": T - 30, "is_write": "yes"}, "is_write"),
    ({"entity": "a.py", "time": T - 30, "project": {"name": "x"}}, "project"),
    ({"entity": "a.py", "time": T - 30, "branch": ["main"]}, "branch"),
    ({"entity": "a.py", "time": T - 30, "language": 3}, "language"),
    ({"entity": "a.py", "time": T - 30, "category": 1}, "category"),
    ({"entity": "x" * 5000, "time": T - 30}, "entity"),
    ({"entity": "a\ud800.py", "time": T - 30}, "entity"),
    ({"entity": "a.py", "time": T - 30, "project": "research-\udfff"}, "project"),
    ({"entity": "a.py", "time": T - 30, "user_agent": 7}, "user_agent"),
    (None, "heartbeat"),
    ([beat(T)], "heartbeat"),
])
def test_all_invalid_is_a_plain_400_naming_the_field(client, store, key, item, field):
    r = post(client, b"[" + item + b"]" if isinstance(item, bytes) else [item], key)
    assert r.status_code == 400
    body = r.json()
    assert "responses" not in body
    assert f"#0: {field}:" in body["error"] and body["reasons"][0].startswith(f"#0: {field}:")
    assert stored(store) == []


def test_single_invalid_object_gets_its_reason(client, store, key):
    r = post(client, {"entity": "a.py", "time": T + 7200}, key, SINGLE)
    assert r.status_code == 400
    assert r.json()["error"].startswith("time: more than 1 hour in the future")


def test_mixed_batch_answers_per_item_and_stores_only_the_valid(client, store, key):
    body = [beat(T - 50), {"entity": "a.py"}, beat(T - 40), beat(T - 30, type="spaceship")]
    r = post(client, body, key)
    assert r.status_code == 201
    responses = r.json()["responses"]
    assert [s for _, s in responses] == [201, 400, 201, 400]
    assert responses[1][0]["error"].startswith("time:") and responses[3][0]["error"].startswith("type:")
    assert responses[0][0]["data"]["time"] == T - 50 and responses[2][0]["data"]["time"] == T - 40
    assert [h.time for h in stored(store)] == [T - 50, T - 40]


def test_too_old_and_too_far_ahead_are_refused_per_item(client, store, key):
    day = 86400
    body = [beat(T - 30 * day - 60), beat(T - 30 * day + 60), beat(T + 3540), beat(T + 3660)]
    r = post(client, body, key)
    assert r.status_code == 201
    responses = r.json()["responses"]
    assert [s for _, s in responses] == [400, 201, 201, 400]
    assert responses[0][0]["error"] == "time: older than 30 days (the heartbeat retention); not stored"
    assert responses[3][0]["error"].startswith("time: more than 1 hour in the future")
    assert [h.time for h in stored(store)] == [T - 30 * day + 60, T + 3540]


def test_oversized_body_with_content_length_is_413(client, store, key):
    body = json.dumps([beat(T - 30, entity="/x/" + "a" * 4000) for _ in range(300)]).encode()
    assert len(body) > 1024 * 1024
    r = post(client, body, key)
    assert r.status_code == 413 and "error" in r.json()
    assert stored(store) == []


def test_oversized_chunked_body_without_content_length_is_413(store, key):
    """Over real HTTP (uvicorn): a chunked body has no Content-Length; its size is counted."""
    chunk = json.dumps(beat(T - 30, entity="/x/" + "a" * 4000)).encode()
    pieces = [b"["] + [chunk + b","] * 300 + [chunk + b"]"]
    app = create_web_app(make_settings(), store, clock=lambda: NOW)
    with serve(app) as url:
        r = httpx.post(url + BULK, content=iter(pieces), headers={"Authorization": basic(key)})
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert r.status_code == 413
        small = httpx.post(url + BULK, content=iter([json.dumps([beat(T - 30)]).encode()]),
                           headers={"Authorization": basic(key)})
        assert small.status_code == 201
    assert len(stored(store)) == 1


def test_duplicates_are_stored_once_and_still_answered_201(client, store, key):
    first = post(client, [beat(T - 30), beat(T - 30), beat(T - 20)], key)
    again = post(client, [beat(T - 30), beat(T - 20)], key)
    assert [s for _, s in first.json()["responses"]] == [201, 201, 201]
    assert [s for _, s in again.json()["responses"]] == [201, 201]
    assert first.json()["responses"][0][0]["data"]["id"] == again.json()["responses"][0][0]["data"]["id"]
    assert [h.time for h in stored(store)] == [T - 30, T - 20]


# -- research-bridge keys create / revoke -----------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    for name in ("BRIDGE_CONFIG", "BRIDGE_PUBLIC_URL", "SLACK_BOT_TOKEN", "JIRA_URL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "bridge.toml"
    config.write_text('timezone = "UTC"\n')
    db = tmp_path / "cli.db"
    monkeypatch.setenv("BRIDGE_DB", str(db))
    return {"config": str(config), "db": db}


def run_keys(cli_env, *args, env=None):
    return CliRunner().invoke(keys, list(args), obj={"config": cli_env["config"]}, env=env, catch_exceptions=False)


def test_keys_create_prints_the_key_once_and_stores_only_its_hash(cli_env):
    result = run_keys(cli_env, "create", "--slack-user", ADA, "--host", "bridge.example.com")
    assert result.exit_code == 0, result.output
    found = re.findall(r"^api_key = (\S+)$", result.output, re.MULTILINE)
    assert len(found) == 1
    key = found[0]
    assert UUID4.match(key)
    assert result.output.count(key) == 1
    assert "api_url = https://bridge.example.com/api/v1/users/current/heartbeats.bulk\n" in result.output
    store = Store(cli_env["db"])
    rows = list(store.db.query("SELECT * FROM api_keys"))
    assert [(r["key_hash"], r["slack_user_id"], r["revoked_at"]) for r in rows] == [
        (hashlib.sha256(key.encode()).hexdigest(), ADA, None)]
    store.close()
    for path in Path(cli_env["db"]).parent.glob("cli.db*"):
        assert key.encode() not in path.read_bytes()


def test_keys_create_host_from_environment_or_a_placeholder(cli_env):
    from_env = run_keys(cli_env, "create", "--slack-user", ADA, env={"BRIDGE_PUBLIC_URL": "https://rb.corp.io/"})
    assert "api_url = https://rb.corp.io/api/v1/users/current/heartbeats.bulk" in from_env.output
    placeholder = run_keys(cli_env, "create", "--slack-user", ADA)
    assert "api_url = https://YOUR-BRIDGE-HOST/api/v1/users/current/heartbeats.bulk" in placeholder.output


@pytest.mark.parametrize("bad", ["u0ada0001", "C0123ABCD", "U0", "ada", "U0ADA 001"])
def test_keys_commands_validate_the_slack_user_id(cli_env, bad):
    for command in ("create", "revoke"):
        result = run_keys(cli_env, command, "--slack-user", bad)
        assert result.exit_code == 2
        assert "not a Slack user ID" in result.output


def test_keys_revoke_turns_the_plugin_away_and_create_replaces_old_keys(cli_env):
    def key_of(result):
        return re.search(r"^api_key = (\S+)$", result.output, re.MULTILINE)[1]

    first = key_of(run_keys(cli_env, "create", "--slack-user", ADA))
    kept = key_of(run_keys(cli_env, "create", "--slack-user", ADA, "--keep-old"))
    store = Store(cli_env["db"])
    client = TestClient(create_web_app(make_settings(), store, clock=lambda: NOW))
    assert post(client, [beat(T - 50)], first).status_code == 201
    assert post(client, [beat(T - 40)], kept).status_code == 201

    replaced = key_of(run_keys(cli_env, "create", "--slack-user", ADA))
    assert post(client, [beat(T - 35)], first).status_code == 401
    assert post(client, [beat(T - 35)], kept).status_code == 401
    assert post(client, [beat(T - 30)], replaced).status_code == 201

    result = run_keys(cli_env, "revoke", "--slack-user", ADA)
    assert result.exit_code == 0 and "Revoked 1 key of U0ADA0001" in result.output
    assert post(client, [beat(T - 20)], replaced).status_code == 401
    assert [h.time for h in stored(store)] == [T - 50, T - 40, T - 30]
    again = run_keys(cli_env, "revoke", "--slack-user", ADA)
    assert again.exit_code == 0 and "no active key" in again.output
