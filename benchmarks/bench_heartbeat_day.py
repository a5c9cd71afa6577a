"""Benchmark: one 25-heartbeat post into an empty person-day vs one already holding 10,000.

On a SQLite file Store (WAL, synchronous=FULL: every post commits to disk), the time of one
`record_heartbeats` call of 25 heartbeats (stored and rolled up in one transaction):
  - empty day: nothing stored for the person that day (a fresh person per post);
  - append: the day already holds 10,000 heartbeats (one every 4 s from 06:00, one long
    focus block) and the post continues it at the end, as a plugin does;
  - late into the middle: the post lands between stored heartbeats mid-day.
Posts go round robin to 10 such person-days (each holds 10,000 plus a few hundred), and the
three cases take turns. Then the same over HTTP (the real app in uvicorn in its own process,
as bench_heartbeats.py runs it; Basic auth; one sequential client). Prints median and p99.
Not part of the test run. Env: BENCH_POSTS (100 per case), BENCH_STORED (10000),
BENCH_HTTP (1; 0 skips HTTP).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import percentile  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.ingest.focus import record_heartbeats  # noqa: E402
from bot.models import Heartbeat  # noqa: E402
from bot.store import Store  # noqa: E402

POSTS = int(os.environ.get("BENCH_POSTS", "100"))
STORED = int(os.environ.get("BENCH_STORED", "10000"))
HTTP = os.environ.get("BENCH_HTTP", "1") != "0"
BATCH, STEP, DAYS = 25, 4.0, 10
PATH = "/api/v1/users/current/heartbeats.bulk"
UA = "wakatime/13.1.0 (Linux-6.1-x86_64) Python3.9.18 vscode/1.85.0 vscode-wakatime/24.0.0"
SETTINGS = settings_from_mapping({"timezone": "UTC", "streams": {"research": ["research-*"]}}, {})
NOW = datetime.now(UTC)
DAY = (NOW - timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0).timestamp()  # yesterday 06:00


def beat(user: str, t: float, i: int) -> Heartbeat:
    return Heartbeat(user, t, f"/home/{user}/research-x/model_{i % 3}.py", "file", "coding", "research-x", "main",
                     "Python", i % 5 == 0, UA, "bench")


def batches(user: str, case: str, n: int) -> list[list[Heartbeat]]:
    """n posts of 25 heartbeats of one case: empty, each for its own person; append and late,
    round robin over DAYS people whose day holds STORED heartbeats (so each day grows by
    only 25 * n / DAYS)."""
    out = []
    for k in range(n):
        person, rnd = f"{user}{k % DAYS}", k // DAYS
        if case == "empty":
            out.append([beat(f"{user}{k:05d}", DAY + 3 * 3600 + i * STEP, i) for i in range(BATCH)])
        elif case == "append":
            t0 = DAY + (STORED + rnd * BATCH) * STEP
            out.append([beat(person, t0 + i * STEP, i) for i in range(BATCH)])
        else:  # late: between stored heartbeats, somewhere in the middle half of the day
            t0 = DAY + (STORED // 4 + (rnd * 997) % (STORED // 2)) * STEP + 1.5
            out.append([beat(person, t0 + i * STEP, i) for i in range(BATCH)])
    return out


def prefill(store: Store, user: str) -> None:
    for n in range(DAYS):
        person = f"{user}{n}"
        record_heartbeats(store, person, [beat(person, DAY + i * STEP, i) for i in range(STORED)], SETTINGS, NOW)


Posts = dict[str, list[list[Heartbeat]]]


def measure(cases: Posts, post: Callable[[list[Heartbeat]], None]) -> dict[str, list[float]]:
    """Per case, the milliseconds of each post. The cases take turns, so whatever else runs on
    the machine slows them alike."""
    out: dict[str, list[float]] = {case: [] for case in cases}
    for k in range(max(len(posts) for posts in cases.values())):
        for case, posts in cases.items():
            if k < len(posts):
                started = time.perf_counter()
                post(posts[k])
                out[case].append((time.perf_counter() - started) * 1000)
    return out


def direct(db: str, warm_up: list[list[Heartbeat]], cases: Posts) -> dict[str, list[float]]:
    """`record_heartbeats` calls on a Store of the file."""
    store = Store(db)

    def post(hbs: list[Heartbeat]) -> None:
        record_heartbeats(store, hbs[0].slack_user_id, hbs, SETTINGS, NOW)

    for hbs in warm_up:
        post(hbs)
    out = measure(cases, post)
    store.close()
    return out


def over_http(db: str, warm_up: list[list[Heartbeat]], cases: Posts) -> dict[str, list[float]]:
    """Bulk POSTs to the real app in its own process (as bench_heartbeats.py runs it), one
    sequential client."""
    import multiprocessing

    import httpx

    from benchmarks.bench_heartbeats import run_server
    from bot.ingest.keys import issue_key
    from tests.support.live import free_port, wait_until_up

    store = Store(db)
    users = {hbs[0].slack_user_id for posts in [warm_up, *cases.values()] for hbs in posts}
    keys = {u: issue_key(store, u, NOW) for u in users}
    store.close()
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=run_server, args=(db, port, False, ready))
    proc.start()
    ready.wait(30)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        with httpx.Client(base_url=url, timeout=30) as http:
            def post(hbs: list[Heartbeat]) -> None:
                body = json.dumps([{"entity": h.entity, "type": h.type, "category": h.category, "time": h.time,
                                    "project": h.project, "branch": h.branch, "language": h.language,
                                    "is_write": h.is_write, "user_agent": UA} for h in hbs])
                auth = "Basic " + base64.b64encode(keys[hbs[0].slack_user_id].encode()).decode()
                headers = {"Authorization": auth, "Content-Type": "application/json", "User-Agent": UA,
                           "X-Machine-Name": "bench"}
                response = http.post(PATH, content=body, headers=headers)
                if response.status_code != 201:
                    raise SystemExit(f"{response.status_code} {response.text[:200]}")

            for hbs in warm_up:
                post(hbs)
            return measure(cases, post)
    finally:
        proc.terminate()
        proc.join(30)


def run(label: str, how: Callable[[str, list[list[Heartbeat]], Posts], dict[str, list[float]]],
        workdir: Path) -> None:
    db = str(workdir / f"{label}.db")
    store = Store(db)
    prefill(store, "UFULL")
    prefill(store, "ULATE")
    store.close()
    cases = {"empty day": batches(f"UEMPTY{label}", "empty", POSTS),
             f"append at {STORED:,} stored": batches("UFULL", "append", POSTS),
             f"late into the middle of {STORED:,}": batches("ULATE", "late", POSTS)}
    for name, times in how(db, batches(f"UWARM{label}", "empty", 10), cases).items():
        print(f"{label:<6} {name:<34} median {statistics.median(times):6.2f} ms"
              f"   p99 {percentile(times, 0.99):6.2f} ms   ({len(times)} posts)")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-heartbeat-day-"))
    print(f"{os.cpu_count()} cores; posts of {BATCH} heartbeats ({STEP:.0f} s apart); SQLite WAL, synchronous=FULL")
    try:
        run("direct", direct, workdir)
        if HTTP:
            run("http", over_http, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
