"""The WakaTime read endpoints the IDE plugins call through wakatime-cli: the status bar
(`GET {base}/users/current/statusbar/today`) and daily summaries, read as the CLI reads them.

The answers are decoded here as Go's encoding/json decodes them into wakatime-cli's structs
(pkg/summary/summary.go: a string field takes only a JSON string, an int field only an
integer literal, a float64 any number; null and missing fields keep the zero value; other
fields are ignored), and rendered as its `RenderToday` renders today: "{text} {name}" per
category joined with ", " when there are two or more categories and categories are shown,
else the grand total's text.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.ingest.keys import issue_key, revoke_keys
from bot.models import FocusDay
from bot.sources.heartbeats import BULK_PATHS, SINGLE_PATHS
from bot.sources.wakatime_read import (
    BASES,
    MAX_SUMMARY_DAYS,
    STATUSBAR,
    SUMMARIES,
    duration_decimal,
    duration_digital,
    duration_text,
    wakatime_base,
)
from bot.store import Store
from tests.support.heartbeats import (  # noqa: F401 (client and key are fixtures)
    ADA,
    BOB,
    NOW,
    T,
    basic,
    beat,
    client,
    day_row,
    key,
    make_settings,
    post,
)

TODAY = NOW.date()
MAIN = "/api/v1" + STATUSBAR


# -- wakatime-cli, as far as these answers go -----------------------------------------------

# The JSON fields and Go types of summary.Summary and the structs in it (pkg/summary/summary.go).
_COUNTER = {"decimal": str, "digital": str, "hours": int, "minutes": int, "name": str, "percent": float,
            "seconds": int, "text": str, "total_seconds": float}
GO_SUMMARY = {
    "cached_at": str,
    "data": {
        "categories": [_COUNTER],
        "dependencies": [_COUNTER],
        "editors": [_COUNTER],
        "grand_total": {"decimal": str, "digital": str, "hours": int, "minutes": int, "text": str,
                        "total_seconds": float},
        "languages": [_COUNTER],
        "machines": [{**_COUNTER, "machine_name_id": str}],
        "operating_systems": [_COUNTER],
        "projects": [_COUNTER],
        "range": {"date": str, "end": str, "start": str, "text": str, "timezone": str},
    },
    "has_team_features": bool,
}
# What older releases read from `GET /users/current/summaries` (pkg/api/summary.go, 2021).
GO_SUMMARIES_V1 = {"data": [{"categories": [{"name": str, "text": str}], "grand_total": {"text": str},
                             "range": {"date": str}}]}


class GoUnmarshalError(ValueError):
    pass


def _zero(spec: Any) -> Any:
    if isinstance(spec, dict):
        return {k: _zero(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return None  # a nil slice
    return spec()


def go_unmarshal(spec: Any, value: Any, path: str = "") -> Any:
    """`value` (from json.loads) decoded into the Go type `spec` as encoding/json does."""
    if value is None:
        return _zero(spec)
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise GoUnmarshalError(f"{path}: cannot unmarshal {type(value).__name__} into a struct")
        out = _zero(spec)
        for name, field in spec.items():
            match = name if name in value else next((k for k in value if k.lower() == name.lower()), None)
            if match is not None:
                out[name] = go_unmarshal(field, value[match], f"{path}.{name}")
        return out
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise GoUnmarshalError(f"{path}: cannot unmarshal {type(value).__name__} into a slice")
        return [go_unmarshal(spec[0], item, f"{path}[{i}]") for i, item in enumerate(value)]
    if spec is str and isinstance(value, str):
        return value
    if spec is bool and isinstance(value, bool):
        return value
    if spec is int and isinstance(value, int) and not isinstance(value, bool):
        return value  # an integer literal: "2.0" or "2e3" does not fit an int
    if spec is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise GoUnmarshalError(f"{path}: cannot unmarshal {value!r} into Go value of type {spec.__name__}")


def parse_statusbar(body: str) -> dict:
    """api.ParseStatusBarResponse: the body decoded into summary.Summary."""
    return go_unmarshal(GO_SUMMARY, json.loads(body))


def render_today(summary: dict, hide_categories: bool = False, output: str = "text") -> str:
    """summary.RenderToday."""
    if output == "json":
        return json.dumps({"text": summary["data"]["grand_total"]["text"],
                           "has_team_features": summary["has_team_features"]}, separators=(",", ":"))
    categories = summary["data"]["categories"] or []
    if len(categories) < 2 or hide_categories:
        return summary["data"]["grand_total"]["text"]
    return ", ".join(f"{c['text']} {c['name']}" for c in categories)


def render_today_v1(body: str, today: date) -> str:
    """The 2021 CLI: summaries parsed (a `range.date` that is not YYYY-MM-DD is an error),
    exactly one for the machine's local today, rendered from its categories (two or more)
    or its grand total."""
    parsed = go_unmarshal(GO_SUMMARIES_V1, json.loads(body))
    found = []
    for s in parsed["data"] or []:
        if date.fromisoformat(s["range"]["date"]) == today:  # time.Parse("2006-01-02", ...)
            found.append(s)
    assert len(found) == 1, f"{len(found)} summaries for {today}"
    categories = found[0]["categories"] or []
    if len(categories) < 2:
        return found[0]["grand_total"]["text"]
    return ", ".join(f"{c['text']} {c['name']}" for c in categories)


def get(client: TestClient, path: str, key: str | None, *, params=None, auth: str = "basic"):
    headers = {"Accept": "application/json", "Content-Type": "application/json",
               "User-Agent": "wakatime/v1.90.0 (linux-amd64) go1.22 vscode/1.85.0 vscode-wakatime/24.0.0"}
    params = dict(params or {})
    if key is not None:
        if auth == "basic":
            headers["Authorization"] = basic(key)
        else:
            params["api_key"] = key
    return client.get(path, headers=headers, params=params)


def rollup(store: Store, user: str, day: date, focus: float, active: float, blocks: int = 1) -> None:
    store.save_focus_days(user, [day], [FocusDay(user, day, focus, active, focus, 0.0, blocks)], NOW)


def test_the_go_decoder_is_as_strict_as_encoding_json():
    ok = go_unmarshal(GO_SUMMARY, {"data": {"grand_total": {"hours": 2, "total_seconds": 7800, "text": None},
                                            "categories": None, "Range": {"date": "2026-03-04"}, "extra": [1]}})
    assert ok["data"]["grand_total"] == {"decimal": "", "digital": "", "hours": 2, "minutes": 0, "text": "",
                                         "total_seconds": 7800.0}
    assert ok["data"]["categories"] is None and ok["data"]["range"]["date"] == "2026-03-04"  # keys match any case
    for bad in ({"hours": 2.0}, {"hours": "2"}, {"total_seconds": "7800"}, {"text": 7}, {"hours": True}):
        with pytest.raises(GoUnmarshalError):
            go_unmarshal(GO_SUMMARY, {"data": {"grand_total": bad}})
    with pytest.raises(GoUnmarshalError):
        go_unmarshal(GO_SUMMARY, {"has_team_features": "false"})


# -- the status bar, as the CLI renders it --------------------------------------------------


def test_status_bar_renders_focus_then_active_as_the_cli_prints_it(client, store, key):
    rollup(store, ADA, TODAY, 7800.0, 16320.0)
    r = get(client, MAIN, key)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    summary = parse_statusbar(r.text)
    assert render_today(summary) == "2 hrs 10 mins focus, 4 hrs 32 mins active"
    assert render_today(summary, hide_categories=True) == "4 hrs 32 mins"  # wakatime-cli >= 2.6.1 by default
    assert render_today(summary, output="json") == '{"text":"4 hrs 32 mins","has_team_features":false}'
    data = summary["data"]
    assert data["grand_total"] == {"decimal": "4.53", "digital": "4:32", "hours": 4, "minutes": 32,
                                   "text": "4 hrs 32 mins", "total_seconds": 16320.0}
    focus, active = data["categories"]
    assert focus == {"decimal": "2.17", "digital": "2:10:00", "hours": 2, "minutes": 10, "name": "focus",
                     "percent": 47.79, "seconds": 0, "text": "2 hrs 10 mins", "total_seconds": 7800.0}
    assert (active["name"], active["text"], active["percent"]) == ("active", "4 hrs 32 mins", 100.0)
    assert data["range"] == {"date": "2026-03-04", "start": "2026-03-04T00:00:00Z", "end": "2026-03-04T23:59:59Z",
                             "text": "Wed Mar 4th 2026", "timezone": "UTC"}
    assert summary["cached_at"] == "2026-03-04T15:00:00Z"
    assert data["projects"] == data["languages"] == []


def test_no_rollup_today_is_zero_figures(client, store, key):
    rollup(store, ADA, TODAY - timedelta(days=1), 3600.0, 7200.0)  # yesterday does not count
    summary = parse_statusbar(get(client, MAIN, key).text)
    assert render_today(summary) == "0 secs focus, 0 secs active"
    assert summary["data"]["grand_total"] == {"decimal": "0.00", "digital": "0:00", "hours": 0, "minutes": 0,
                                              "text": "0 secs", "total_seconds": 0.0}
    assert [c["percent"] for c in summary["data"]["categories"]] == [0.0, 0.0]


def test_figures_are_never_negative(client, store, key):
    rollup(store, ADA, TODAY, -1e-9, -0.5, blocks=0)  # a rollup moved by additions may drift below zero
    data = parse_statusbar(get(client, MAIN, key).text)["data"]
    assert data["grand_total"]["total_seconds"] == 0.0
    assert all(c["total_seconds"] == 0.0 and c["text"] == "0 secs" for c in data["categories"])


def test_the_status_bar_follows_real_heartbeats(client, store, key):
    beats = [beat(T - 3 * 3600 + i * 60) for i in range(100)]  # 99 minutes of one session
    assert post(client, beats, key).status_code == 201
    row = day_row(store, TODAY)
    summary = parse_statusbar(get(client, MAIN, key).text)
    assert summary["data"]["grand_total"]["total_seconds"] == round(row.active_seconds, 3) > 0
    assert render_today(summary) == (f"{duration_text(row.focus_seconds)} focus, "
                                     f"{duration_text(row.active_seconds)} active")


@pytest.mark.parametrize("base", BASES)
def test_every_base_a_cli_derives_answers(client, store, key, base):
    rollup(store, ADA, TODAY, 60.0, 3660.0)
    r = get(client, base + STATUSBAR, key)
    assert r.status_code == 200
    assert render_today(parse_statusbar(r.text)) == "1 min focus, 1 hr 1 min active"
    r = get(client, base + SUMMARIES, key, params={"start": TODAY.isoformat(), "end": TODAY.isoformat()})
    assert r.status_code == 200 and render_today_v1(r.text, TODAY) == "1 min focus, 1 hr 1 min active"


def test_the_bases_are_what_wakatime_cli_makes_of_every_heartbeat_path():
    # normalizeURL (cmd/params/params.go): "/", ".bulk", "/users/current/heartbeats",
    # "/heartbeats", "/heartbeat" are each cut once, in that order.
    host = "https://bridge.example.com"
    derived = {path: wakatime_base(host + path) for path in SINGLE_PATHS + BULK_PATHS}
    assert derived == {
        "/api/v1/users/current/heartbeats": host + "/api/v1",
        "/api/heartbeat": host + "/api",
        "/api/heartbeats": host + "/api",
        "/api/v1/heartbeats": host + "/api/v1",
        "/api/compat/wakatime/v1/users/current/heartbeats": host + "/api/compat/wakatime/v1",
        "/api/v1/users/current/heartbeats.bulk": host + "/api/v1",
        "/api/v1/heartbeats.bulk": host + "/api/v1",
        "/api/compat/wakatime/v1/users/current/heartbeats.bulk": host + "/api/compat/wakatime/v1",
        "/api/users/current/heartbeats": host + "/api",
        "/api/users/current/heartbeats.bulk": host + "/api",
    }
    assert set(BASES) == {b.removeprefix(host) for b in derived.values()}
    assert wakatime_base(host + "/api/v1/users/current/heartbeats.bulk/") == host + "/api/v1"
    # Every base the CLI can make also takes the heartbeats it then posts there.
    for base in BASES:
        assert base + "/users/current/heartbeats.bulk" in BULK_PATHS
    assert wakatime_base(host + "/api/v1") == host + "/api/v1"


def test_today_is_the_persons_local_date(store, key):
    late = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # already 12:30 on Thursday in Auckland (NZDT, +13)
    store.save_profile(ADA, "Ada", "Pacific/Auckland", NOW)
    rollup(store, ADA, date(2026, 3, 4), 600.0, 1200.0)
    rollup(store, ADA, date(2026, 3, 5), 7800.0, 16320.0)
    client = TestClient(create_web_app(make_settings(), store, clock=lambda: late))
    summary = parse_statusbar(get(client, MAIN, key).text)
    assert render_today(summary) == "2 hrs 10 mins focus, 4 hrs 32 mins active"
    assert summary["data"]["range"] == {"date": "2026-03-05", "start": "2026-03-04T11:00:00Z",
                                        "end": "2026-03-05T10:59:59Z", "text": "Thu Mar 5th 2026",
                                        "timezone": "Pacific/Auckland"}
    assert summary["cached_at"] == "2026-03-04T23:30:00Z"


def test_only_the_key_owners_figures(client, store, key):
    bob_key = issue_key(store, BOB, NOW)
    rollup(store, ADA, TODAY, 7800.0, 16320.0)
    rollup(store, BOB, TODAY, 60.0, 120.0)
    assert render_today(parse_statusbar(get(client, MAIN, key).text)) == "2 hrs 10 mins focus, 4 hrs 32 mins active"
    assert render_today(parse_statusbar(get(client, MAIN, bob_key).text)) == "1 min focus, 2 mins active"
    r = get(client, "/api/v1" + SUMMARIES, bob_key, params={"start": "2026-03-04", "end": "2026-03-04"})
    assert r.json()["cumulative_total"]["seconds"] == 120.0


# -- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [MAIN, "/api/v1" + SUMMARIES + "?start=2026-03-04&end=2026-03-04"])
@pytest.mark.parametrize("authorization", [None, "Basic " + base64.b64encode(b"0b6c6a4e-2c3f-4f6e-9a55-0d7f3b1e2a44").decode(),
                                           "Basic bm90LWEta2V5", "Bearer nonsense", "Token x"])
def test_missing_or_unknown_key_is_401(client, store, key, path, authorization):
    rollup(store, ADA, TODAY, 7800.0, 16320.0)
    r = client.get(path, headers={"Authorization": authorization} if authorization else {})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="Research Bridge"'
    assert "7800" not in r.text and "error" in r.json()


def test_revoked_key_is_401(client, store, key):
    rollup(store, ADA, TODAY, 7800.0, 16320.0)
    revoke_keys(store, ADA, NOW)
    for path, params in ((MAIN, None), ("/api/v1" + SUMMARIES, {"start": "2026-03-04", "end": "2026-03-04"})):
        r = get(client, path, key, params=params)
        assert r.status_code == 401 and r.json() == {"ok": False, "error": "invalid or revoked API key"}
        assert r.headers["www-authenticate"] == 'Basic realm="Research Bridge"'


def test_a_bad_key_is_401_before_bad_dates_are_400(client, key):
    r = client.get("/api/v1" + SUMMARIES, params={"start": "soon"})
    assert r.status_code == 401


@pytest.mark.parametrize("auth", ["query", "bearer", "bearer-b64", "basic-colon"])
def test_every_way_clients_send_the_key(client, store, key, auth):
    rollup(store, ADA, TODAY, 7800.0, 16320.0)
    if auth == "query":
        r = get(client, MAIN, key, auth="query")
    else:
        header = {"bearer": f"Bearer {key}",
                  "bearer-b64": "Bearer " + base64.b64encode(key.encode()).decode(),
                  "basic-colon": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}[auth]
        r = client.get(MAIN, headers={"Authorization": header})
    assert r.status_code == 200
    assert render_today(parse_statusbar(r.text)) == "2 hrs 10 mins focus, 4 hrs 32 mins active"


# -- summaries ------------------------------------------------------------------------------


def test_summaries_over_days_with_and_without_data(client, store, key):
    rollup(store, ADA, date(2026, 3, 2), 3600.0, 5400.0)
    rollup(store, ADA, date(2026, 3, 4), 7800.0, 16320.0)
    rollup(store, ADA, date(2026, 3, 6), 99999.0, 99999.0)  # outside the range
    r = get(client, "/api/v1" + SUMMARIES, key, params={"start": "2026-03-01", "end": "2026-03-05"})
    assert r.status_code == 200
    body = r.json()
    days = body["data"]
    assert [d["range"]["date"] for d in days] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert [d["grand_total"]["text"] for d in days] == ["0 secs", "1 hr 30 mins", "0 secs", "4 hrs 32 mins", "0 secs"]
    assert [[c["text"] for c in d["categories"]] for d in days][1] == ["1 hr", "1 hr 30 mins"]
    for d in days:  # each day is what the status bar's `data` is, for the CLI too
        go_unmarshal(GO_SUMMARY["data"], d)
    assert body["cumulative_total"] == {"decimal": "6.03", "digital": "6:02", "seconds": 21720.0,
                                        "text": "6 hrs 2 mins"}
    assert body["daily_average"] == {"days_including_holidays": 5, "days_minus_holidays": 2, "holidays": 3,
                                     "seconds": 10860.0, "text": "3 hrs 1 min"}
    assert (body["start"], body["end"]) == ("2026-03-01T00:00:00Z", "2026-03-05T23:59:59Z")
    assert render_today_v1(r.text, date(2026, 3, 4)) == "2 hrs 10 mins focus, 4 hrs 32 mins active"
    assert render_today_v1(r.text, date(2026, 3, 3)) == "0 secs focus, 0 secs active"


def test_summaries_days_are_the_persons_local_days(client, store, key):
    store.save_profile(ADA, "Ada", "America/Los_Angeles", NOW)
    rollup(store, ADA, date(2026, 3, 8), 60.0, 60.0)  # the day clocks go forward there: 23 hours
    day = get(client, "/api/v1" + SUMMARIES, key, params={"start": "2026-03-08", "end": "2026-03-08"}).json()["data"][0]
    assert day["range"] == {"date": "2026-03-08", "start": "2026-03-08T08:00:00Z", "end": "2026-03-09T06:59:59Z",
                            "text": "Sun Mar 8th 2026", "timezone": "America/Los_Angeles"}


def test_a_range_of_the_longest_length_is_answered(client, store, key):
    start = date(2025, 3, 5)
    end = start + timedelta(days=MAX_SUMMARY_DAYS - 1)
    r = get(client, "/api/v1" + SUMMARIES, key, params={"start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 200 and len(r.json()["data"]) == MAX_SUMMARY_DAYS == 366


@pytest.mark.parametrize("params, name, fragment", [
    ({"end": "2026-03-04"}, "start", "required"),
    ({"start": "2026-03-04"}, "end", "required"),
    ({"start": "", "end": "2026-03-04"}, "start", "required"),
    ({"start": "2026-3-4", "end": "2026-03-04"}, "start", "YYYY-MM-DD"),
    ({"start": "20260304", "end": "2026-03-04"}, "start", "YYYY-MM-DD"),  # ISO, but not what WakaTime takes
    ({"start": "2026-03-04", "end": "2026-W10-3"}, "end", "YYYY-MM-DD"),
    ({"start": "2026-02-30", "end": "2026-03-04"}, "start", "not a date"),
    ({"start": "today", "end": "today"}, "start", "YYYY-MM-DD"),
    ({"start": "1999-12-31", "end": "2026-03-04"}, "start", "before 2000-01-01"),
    ({"start": "2026-03-04", "end": "2100-01-01"}, "end", "after 2099-12-31"),
    ({"start": "2026-03-04", "end": "2026-03-03"}, "end", "is before start 2026-03-04"),
    ({"start": "2025-03-05", "end": "2026-03-06"}, "end", "at most 366 days"),
])
def test_bad_dates_are_400_naming_the_parameter(client, key, params, name, fragment):
    r = get(client, "/api/v1" + SUMMARIES, key, params=params)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith(f"{name}: ") and fragment in error, error


# -- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize("seconds, text, digital, decimal", [
    (0, "0 secs", "0:00", "0.00"),
    (0.4, "0 secs", "0:00", "0.00"),
    (1, "1 sec", "0:00", "0.00"),
    (7.1, "7 secs", "0:00", "0.00"),
    (59.99, "59 secs", "0:00", "0.00"),
    (60, "1 min", "0:01", "0.02"),
    (83.3, "1 min", "0:01", "0.02"),
    (2946.0, "49 mins", "0:49", "0.82"),
    (3610.84, "1 hr", "1:00", "1.00"),  # WakaTime: 1:00:10 is "1 hr"
    (3660, "1 hr 1 min", "1:01", "1.02"),
    (7200, "2 hrs", "2:00", "2.00"),
    (7800, "2 hrs 10 mins", "2:10", "2.17"),
    (8256.598234, "2 hrs 17 mins", "2:17", "2.28"),  # wakatime-cli's testdata: truncated, not rounded
    (16320, "4 hrs 32 mins", "4:32", "4.53"),
    (90061, "25 hrs 1 min", "25:01", "25.02"),
    (-5, "0 secs", "0:00", "0.00"),
    (float("nan"), "0 secs", "0:00", "0.00"),
])
def test_durations_are_formatted_as_wakatime_formats_them(seconds, text, digital, decimal):
    assert (duration_text(seconds), duration_digital(seconds), duration_decimal(seconds)) == (text, digital, decimal)


def test_a_category_digital_has_seconds():
    assert duration_digital(8256.598234, with_seconds=True) == "2:17:36"
    assert duration_digital(7.1, with_seconds=True) == "0:00:07"


# -- the OpenAPI document -------------------------------------------------------------------


def test_the_openapi_document_lists_the_get_operations(client):
    paths = client.get("/openapi.json").json()["paths"]
    for base in BASES:
        for path in (base + STATUSBAR, base + SUMMARIES):
            assert set(paths[path]) == {"get"}
            assert {"200", "401"} <= set(paths[path]["get"]["responses"])
    doc = paths["/api/v1" + STATUSBAR]["get"]
    assert doc["summary"] == "Today's focus and active time for the IDE status bar"
    assert "focus" in doc["description"] and "api_key" in [p["name"] for p in doc["parameters"]]
    schema = doc["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["cached_at", "data", "has_team_features"]
    summaries = paths["/api/v1" + SUMMARIES]["get"]
    params = {p["name"]: p for p in summaries["parameters"]}
    assert params["start"]["required"] and params["end"]["required"] and not params["api_key"]["required"]
    assert "400" in summaries["responses"]
    assert paths["/api" + STATUSBAR]["get"]["summary"].endswith("(alias)")


# -- fuzzing the documented operations with a valid key --------------------------------------
# tests/test_openapi_fuzz.py covers every operation, but sends a heartbeat key only to paths
# with "heartbeat" in them; this runs the same checks on these operations with Ada's key.

try:
    import schemathesis
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
except ImportError:  # pragma: no cover - schemathesis is a dev dependency
    schemathesis = None

if schemathesis is not None:
    _FUZZ_DIR = tempfile.mkdtemp(prefix="research-bridge-wakatime-read-")
    import atexit

    atexit.register(shutil.rmtree, _FUZZ_DIR, True)
    _FUZZ_STORE = Store(os.path.join(_FUZZ_DIR, "bridge.db"))
    _FUZZ_KEY = issue_key(_FUZZ_STORE, ADA, NOW)
    for _offset in range(-3, 2):
        _day = date.today() + timedelta(days=_offset)
        _FUZZ_STORE.save_focus_days(ADA, [_day], [FocusDay(ADA, _day, 7800.0, 16320.0, 7800.0, 0.0, 2)], NOW)
    _FUZZ_SCHEMA = schemathesis.openapi.from_asgi(
        "/openapi.json", create_web_app(make_settings(), _FUZZ_STORE),
        config=schemathesis.config.SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
            "expected-statuses": [400, 401, 404, 405, 406, 422]}}}),
    ).include(path_regex=r"/users/current/(statusbar/today|summaries)$")

    @_FUZZ_SCHEMA.parametrize()
    @hypothesis_settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")), deadline=None,
                         suppress_health_check=list(HealthCheck), database=None,
                         derandomize=os.environ.get("FUZZ_RANDOM") != "1")
    def test_the_read_operations_conform_to_the_document_with_a_valid_key(case):
        response = case.call_and_validate(headers={"Authorization": basic(_FUZZ_KEY)},
                                          excluded_checks=[schemathesis.checks.positive_data_acceptance])
        if response.status_code == 400:
            assert response.json()["error"].split(":")[0] in ("start", "end"), response.text
