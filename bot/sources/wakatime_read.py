"""WakaTime-compatible read endpoints: the IDE status bar and daily summaries.

Every stock IDE plugin runs wakatime-cli, which derives a base URL from `api_url` by cutting
a trailing "/", ".bulk", "/users/current/heartbeats", "/heartbeats" and "/heartbeat", in that
order (`normalizeURL` in its cmd/params/params.go), and then calls
`GET {base}/users/current/statusbar/today` for the status bar and `--today` (older releases
called `GET {base}/users/current/summaries?start=<local date>&end=<local date>` instead).
Both are answered here under the base of every heartbeat path the server accepts.

The figures are the person's Focus Time rollups (`focus_days`) for their local days (their
Slack timezone, else the organisation's): the grand total is the active time (every coding
session), and the two categories are `focus` (the focus blocks in it) and `active`, so the
CLI renders today as "2 hrs 10 mins focus, 4 hrs 32 mins active" (it prints
"{text} {name}" per category, joined with ", ", when there are two or more categories and
categories are shown; else the grand total's text).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.clock import Clock, day_bounds, local_date, utc_now
from bot.config import Settings
from bot.models import FocusDay
from bot.sources.heartbeats import BULK_PATHS, SINGLE_PATHS, request_user
from bot.store import Store
from bot.web.errors import RequestError

UTC = timezone.utc
STATUSBAR = "/users/current/statusbar/today"
SUMMARIES = "/users/current/summaries"
MAX_SUMMARY_DAYS = 366  # a leap year; WakaTime's own limit is a plan's history
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BREAKDOWNS = ("dependencies", "editors", "languages", "machines", "operating_systems", "projects")


def wakatime_base(api_url: str) -> str:
    """The base URL wakatime-cli makes of an `api_url` (its `normalizeURL`): each suffix is
    cut once, in this order, when it is there."""
    for suffix in ("/", ".bulk", "/users/current/heartbeats", "/heartbeats", "/heartbeat"):
        api_url = api_url.removesuffix(suffix)
    return api_url


# Where a CLI configured with any accepted heartbeat path looks for the read endpoints.
BASES = tuple(sorted({wakatime_base(p) for p in SINGLE_PATHS + BULK_PATHS}, key=lambda b: (b != "/api/v1", b)))
MAIN_BASE = BASES[0]


# -- formatting (pure) ----------------------------------------------------------------------


def seconds_of(value: Any) -> float:
    """A figure as seconds that are never negative (a rollup moved by additions may drift a
    hair below zero) nor NaN."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) and x > 0 else 0.0


def split_duration(seconds: float) -> tuple[int, int, int]:
    """Whole hours, minutes and seconds of a duration (truncated, as WakaTime counts them)."""
    whole = int(seconds_of(seconds))
    return whole // 3600, whole % 3600 // 60, whole % 60


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def duration_text(seconds: float) -> str:
    """WakaTime's text for a duration: "2 hrs 10 mins", "1 hr 1 min", "2 hrs", "49 mins",
    "7 secs", "0 secs" (seconds only under a minute; truncated, never rounded up)."""
    h, m, s = split_duration(seconds)
    if h:
        return _plural(h, "hr") + (" " + _plural(m, "min") if m else "")
    if m:
        return _plural(m, "min")
    return _plural(s, "sec")


def duration_digital(seconds: float, with_seconds: bool = False) -> str:
    """"2:10" (a grand total), or "2:10:07" with seconds (a category), as WakaTime prints them."""
    h, m, s = split_duration(seconds)
    return f"{h}:{m:02d}:{s:02d}" if with_seconds else f"{h}:{m:02d}"


def duration_decimal(seconds: float) -> str:
    """Hours with two decimals of the whole minutes, as WakaTime computes it: 2:10 is "2.17"."""
    h, m, _ = split_duration(seconds)
    return f"{h + m / 60:.2f}"


def grand_total(seconds: float) -> dict[str, Any]:
    """WakaTime's `grand_total` object (wakatime-cli's summary.GrandTotal)."""
    seconds = seconds_of(seconds)
    h, m, _ = split_duration(seconds)
    return {"decimal": duration_decimal(seconds), "digital": duration_digital(seconds), "hours": h,
            "minutes": m, "text": duration_text(seconds), "total_seconds": round(seconds, 3)}


def category(name: str, seconds: float, of_seconds: float) -> dict[str, Any]:
    """WakaTime's category object (summary.Category); `percent` is of `of_seconds`, 0-100."""
    seconds, of_seconds = seconds_of(seconds), seconds_of(of_seconds)
    h, m, s = split_duration(seconds)
    percent = min(100.0, round(100.0 * seconds / of_seconds, 2)) if of_seconds else 0.0
    return {"decimal": duration_decimal(seconds), "digital": duration_digital(seconds, with_seconds=True),
            "hours": h, "minutes": m, "name": name, "percent": percent, "seconds": s,
            "text": duration_text(seconds), "total_seconds": round(seconds, 3)}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _utc_iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_name(tz: ZoneInfo) -> str:
    return getattr(tz, "key", None) or str(tz)


def day_range(day: date, tz: ZoneInfo) -> dict[str, str]:
    """WakaTime's `range` of one local day: its first and last second in UTC, the date, a
    text like "Wed Mar 4th 2026" and the timezone."""
    lo, hi = day_bounds(day, tz)
    return {"date": day.isoformat(), "end": _utc_iso(hi - 1), "start": _utc_iso(lo),
            "text": f"{day:%a %b} {_ordinal(day.day)} {day.year}", "timezone": zone_name(tz)}


def day_summary(day: date, row: FocusDay | None, tz: ZoneInfo) -> dict[str, Any]:
    """One day in WakaTime's summary shape: the grand total is the active time; categories
    `focus` then `active`; the other breakdowns are empty (only per-day rollups are kept)."""
    focus = seconds_of(row.focus_seconds) if row else 0.0
    active = seconds_of(row.active_seconds) if row else 0.0
    return {
        "categories": [category("focus", focus, active), category("active", active, active)],
        **{name: [] for name in _BREAKDOWNS},
        "grand_total": grand_total(active),
        "range": day_range(day, tz),
    }


def statusbar_today(day: date, row: FocusDay | None, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The answer to `GET …/users/current/statusbar/today` (wakatime-cli's summary.Summary)."""
    return {"cached_at": _utc_iso(now.timestamp()), "data": day_summary(day, row, tz), "has_team_features": False}


def summaries(start: date, end: date, rows: list[FocusDay], tz: ZoneInfo) -> dict[str, Any]:
    """The answer to `GET …/users/current/summaries`: one summary per day from `start` to
    `end` (days without data included, with zero figures), their cumulative total and
    daily average (over the days with activity, as WakaTime's `days_minus_holidays`)."""
    by_day = {r.day: r for r in rows}
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    data = [day_summary(d, by_day.get(d), tz) for d in days]
    total = sum(d["grand_total"]["total_seconds"] for d in data)
    active_days = sum(1 for d in data if d["grand_total"]["total_seconds"] > 0)
    average = total / active_days if active_days else 0.0
    return {
        "cumulative_total": {"decimal": duration_decimal(total), "digital": duration_digital(total),
                             "seconds": round(total, 3), "text": duration_text(total)},
        "daily_average": {"days_including_holidays": len(days), "days_minus_holidays": active_days,
                          "holidays": len(days) - active_days, "seconds": round(average, 3),
                          "text": duration_text(average)},
        "data": data,
        "end": data[-1]["range"]["end"],
        "start": data[0]["range"]["start"],
    }


# -- query parameters -----------------------------------------------------------------------


class BadParameter(RequestError, ValueError):
    """A query parameter is unusable; the message starts with its name."""


def parse_day(name: str, value: str | None) -> date:
    if value is None or value == "":
        raise BadParameter(f"{name}: required, a date (YYYY-MM-DD)")
    if not _DATE.match(value):
        raise BadParameter(f"{name}: expected a date as YYYY-MM-DD (got {value[:40]!r})")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"{name}: {value} is not a date") from None
    if day < EARLIEST_DAY:
        raise BadParameter(f"{name}: {value} is before {EARLIEST_DAY}")
    if day > LATEST_DAY:
        raise BadParameter(f"{name}: {value} is after {LATEST_DAY}")
    return day


def parse_range(start: str | None, end: str | None) -> tuple[date, date]:
    """The days `start` to `end` (inclusive) asked for; BadParameter names the one at fault."""
    first, last = parse_day("start", start), parse_day("end", end)
    if last < first:
        raise BadParameter(f"end: {last} is before start {first}")
    if (last - first).days >= MAX_SUMMARY_DAYS:
        raise BadParameter(f"end: {last} is after start + {MAX_SUMMARY_DAYS - 1} days "
                           f"({first + timedelta(days=MAX_SUMMARY_DAYS - 1)}); ask for at most "
                           f"{MAX_SUMMARY_DAYS} days at a time")
    return first, last


# -- OpenAPI --------------------------------------------------------------------------------


_COUNT = {"type": "integer", "minimum": 0}
_DURATION_PROPS: dict[str, Any] = {
    "decimal": {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$", "description": "Hours and whole minutes, e.g. 2.17"},
    "digital": {"type": "string", "pattern": r"^[0-9]+:[0-5][0-9]$", "description": "H:MM, e.g. 2:10"},
    "hours": _COUNT,
    "minutes": {"type": "integer", "minimum": 0, "maximum": 59},
    "text": {"type": "string", "description": 'e.g. "2 hrs 10 mins", "1 hr 1 min", "7 secs", "0 secs"'},
    "total_seconds": {"type": "number", "minimum": 0},
}
_GRAND_TOTAL = {"type": "object", "required": list(_DURATION_PROPS), "properties": _DURATION_PROPS,
                "description": "The day's active time"}
_CATEGORY = {
    "type": "object",
    "required": [*_DURATION_PROPS, "name", "percent", "seconds"],
    "properties": {
        **_DURATION_PROPS,
        "digital": {"type": "string", "pattern": r"^[0-9]+:[0-5][0-9]:[0-5][0-9]$", "description": "H:MM:SS"},
        "name": {"type": "string", "enum": ["focus", "active"]},
        "percent": {"type": "number", "minimum": 0, "maximum": 100, "description": "Of the active time"},
        "seconds": {"type": "integer", "minimum": 0, "maximum": 59},
    },
}
_RANGE = {
    "type": "object",
    "required": ["date", "end", "start", "text", "timezone"],
    "properties": {
        "date": {"type": "string", "format": "date", "description": "The local date"},
        "start": {"type": "string", "format": "date-time", "description": "Its local midnight, in UTC"},
        "end": {"type": "string", "format": "date-time", "description": "Its last second, in UTC"},
        "text": {"type": "string", "description": 'e.g. "Wed Mar 4th 2026"'},
        "timezone": {"type": "string", "description": "The person's timezone (Slack profile, else the organisation's)"},
    },
}
_DAY = {
    "type": "object",
    "required": ["categories", "grand_total", "range", *_BREAKDOWNS],
    "properties": {
        "categories": {"type": "array", "items": _CATEGORY, "minItems": 2, "maxItems": 2,
                       "description": "`focus` (time in focus blocks), then `active` (all sessions)"},
        "grand_total": _GRAND_TOTAL,
        "range": _RANGE,
        **{name: {"type": "array", "maxItems": 0, "description": "Always empty: only per-day rollups are kept"}
           for name in _BREAKDOWNS},
    },
}
_STATUSBAR_SCHEMA = {
    "type": "object",
    "required": ["cached_at", "data", "has_team_features"],
    "properties": {"cached_at": {"type": "string", "format": "date-time"}, "data": _DAY,
                   "has_team_features": {"type": "boolean"}},
}
_SUMMARIES_SCHEMA = {
    "type": "object",
    "required": ["cumulative_total", "daily_average", "data", "end", "start"],
    "properties": {
        "cumulative_total": {"type": "object", "required": ["decimal", "digital", "seconds", "text"], "properties": {
            "decimal": _DURATION_PROPS["decimal"], "digital": _DURATION_PROPS["digital"],
            "seconds": {"type": "number", "minimum": 0}, "text": {"type": "string"}}},
        "daily_average": {"type": "object", "required": ["days_including_holidays", "days_minus_holidays",
                                                         "holidays", "seconds", "text"], "properties": {
            "days_including_holidays": {"type": "integer", "minimum": 1},
            "days_minus_holidays": {**_COUNT, "description": "Days with activity"},
            "holidays": {**_COUNT, "description": "Days without activity"},
            "seconds": {"type": "number", "minimum": 0, "description": "Over the days with activity"},
            "text": {"type": "string"}}},
        "data": {"type": "array", "items": _DAY, "minItems": 1, "maxItems": MAX_SUMMARY_DAYS},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
    },
}
_ERROR = {"application/json": {"schema": {"type": "object", "required": ["error"],
                                          "properties": {"error": {"type": "string"}}}}}
_API_KEY = {"name": "api_key", "in": "query", "required": False, "schema": {"type": "string"},
            "description": "The key, for clients that cannot send an Authorization header"}
_DAY_PARAM = {"type": "string", "format": "date", "pattern": r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"}
_AUTH = """Auth as for the heartbeat endpoints: `Authorization: Basic base64(key)` (as wakatime-cli
sends it), `Bearer base64(key)`, `Bearer key`, or `?api_key=key`. A missing, unknown or revoked
key gets 401. Only the key owner's figures are answered."""
_STATUSBAR_DESCRIPTION = f"""Today's Focus Time for the IDE status bar and `wakatime-cli --today`.

"Today" is the person's local date (their Slack timezone, else the organisation's). The
figures are that day's rollup (zero when there is none): `grand_total` is the active time,
and `categories` are `focus` then `active`, which wakatime-cli renders as
"2 hrs 10 mins focus, 4 hrs 32 mins active" (or just the grand total when categories are
hidden, as wakatime-cli 2.6.1 and later do unless `status_bar_show_categories = true`).

{_AUTH}"""
_SUMMARIES_DESCRIPTION = f"""One WakaTime summary per local day from `start` to `end` (inclusive,
at most {MAX_SUMMARY_DAYS} days, dates from {EARLIEST_DAY} to {LATEST_DAY}), days without
activity included with zero figures, plus `cumulative_total` and `daily_average`. Each day is
shaped as the status bar's `data`. A missing or malformed date, an `end` before `start` or a
longer range gets 400 naming the parameter.

{_AUTH}"""
_RESPONSES_401: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key", "content": _ERROR}}


def _statusbar_openapi() -> dict[str, Any]:
    return {"parameters": [_API_KEY]}


def _summaries_openapi() -> dict[str, Any]:
    return {"parameters": [
        {"name": "start", "in": "query", "required": True, "schema": _DAY_PARAM, "description": "First local day"},
        {"name": "end", "in": "query", "required": True, "schema": _DAY_PARAM, "description": "Last local day"},
        _API_KEY,
    ]}


# -- HTTP -----------------------------------------------------------------------------------


def make_router(store: Store, settings: Settings, clock: Clock = utc_now,
                timezone_of: Callable[[str], ZoneInfo] | None = None) -> APIRouter:
    """The status bar and summaries endpoints, under every base a CLI may derive; a person's
    timezone comes from `timezone_of` (the composition root binds the one resolver,
    `bot.queries.people`; the organisation's zone without it)."""
    zone_of = timezone_of or (lambda user: settings.tz)
    router = APIRouter(tags=["heartbeats"])

    def today_answer(user: str) -> dict[str, Any]:
        now = clock()
        tz = zone_of(user)
        day = local_date(now.timestamp(), tz)
        rows = store.focus_days(day, day, [user])
        return statusbar_today(day, rows[0] if rows else None, tz, now)

    def summaries_answer(user: str, start: date, end: date) -> dict[str, Any]:
        tz = zone_of(user)
        return summaries(start, end, store.focus_days(start, end, [user]), tz)

    async def get_statusbar_today(request: Request) -> JSONResponse:
        user = await request_user(store, request)
        return JSONResponse(await run_in_threadpool(today_answer, user))

    async def get_summaries(request: Request) -> JSONResponse:
        user = await request_user(store, request)  # a bad key is told so before a bad date
        start, end = parse_range(request.query_params.get("start"), request.query_params.get("end"))
        return JSONResponse(await run_in_threadpool(summaries_answer, user, start, end))

    for base in BASES:
        alias = "" if base == MAIN_BASE else " (alias)"
        router.add_api_route(
            base + STATUSBAR, get_statusbar_today, methods=["GET"],
            summary="Today's focus and active time for the IDE status bar" + alias,
            description=_STATUSBAR_DESCRIPTION if not alias else f"Same as `GET {MAIN_BASE}{STATUSBAR}`.",
            responses={200: {"description": "Today's summary (WakaTime's statusbar/today shape)",
                             "content": {"application/json": {"schema": _STATUSBAR_SCHEMA}}}, **_RESPONSES_401},
            openapi_extra=_statusbar_openapi(), response_class=JSONResponse)
        router.add_api_route(
            base + SUMMARIES, get_summaries, methods=["GET"],
            summary="Daily focus and active time over a range of days" + alias,
            description=_SUMMARIES_DESCRIPTION if not alias else f"Same as `GET {MAIN_BASE}{SUMMARIES}`.",
            responses={200: {"description": "One summary per day (WakaTime's summaries shape)",
                             "content": {"application/json": {"schema": _SUMMARIES_SCHEMA}}},
                       400: {"description": "A missing or malformed `start` or `end`, `end` before `start`, "
                                            f"or more than {MAX_SUMMARY_DAYS} days", "content": _ERROR},
                       **_RESPONSES_401},
            openapi_extra=_summaries_openapi(), response_class=JSONResponse)
    return router
