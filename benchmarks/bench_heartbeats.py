"""Benchmark: WakaTime heartbeat ingest over HTTP, bulk posts of 25, durable commits.

The real app (FastAPI in uvicorn, one server process, as `research-bridge serve` runs it)
on a SQLite file with the store's normal transactions (WAL, synchronous=FULL: each commit on disk before the reply): each post
authenticates the key, stores its heartbeats and recomputes that person's day rollup in one
transaction. CLIENTS concurrent clients (a separate process, so the load generator does not
share the server's GIL) each post PER_CLIENT bulk requests of 25 heartbeats for their
people, as plugins do (Basic auth, 2 minutes between a person's heartbeats, so rollups are
recomputed over a growing day). Prints heartbeats/second and p50/p99 request latency.
Not part of the test run. Env: BENCH_CLIENTS (8), BENCH_POSTS (200 per client),
BENCH_PEOPLE (100; by default ~400 heartbeats a person, 13 hours of work each),
BENCH_PROFILE=1 (cProfile the server process, top functions printed).
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from benchmarks.timing import percentile  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.ingest.keys import issue_key  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.support.live import free_port, wait_until_up  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
POSTS = int(os.environ.get("BENCH_POSTS", "200"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "100"))
BATCH = 25
STEP = 120.0  # seconds between one person's heartbeats
PATH = "/api/v1/users/current/heartbeats.bulk"
UA = "wakatime/13.1.0 (Linux-6.1-x86_64) Python3.9.18 vscode/1.85.0 vscode-wakatime/24.0.0"


def _settings():
    return settings_from_mapping({"timezone": "UTC", "streams": {"research": ["research-*"]}}, {})


def run_server(db: str, port: int, profile: bool, ready) -> None:
    """The server process: the real app in uvicorn (optionally under cProfile)."""
    import uvicorn

    from bot.app import create_web_app
    from bot.web.limits import server_config

    app = create_web_app(_settings(), Store(db))
    config = server_config(app, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    ready.set()
    if not profile:
        server.run()
        return
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        server.run()
    except KeyboardInterrupt:  # the SIGINT the benchmark stops a profiled server with
        pass
    finally:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        sys.stdout.flush()






def client(url: str, people: list[tuple[str, str]], start: float, posts: int, latencies: list[float],
           errors: list[str]) -> None:
    """Post `posts` bulk requests round-robin over `people` (slack id, key)."""
    clock = {user: start for user, _ in people}
    with httpx.Client(base_url=url, timeout=30) as http:
        for n in range(posts):
            user, key = people[n % len(people)]
            t0 = clock[user]
            body = [{"entity": f"/home/{user}/research-x/model_{i % 3}.py", "type": "file", "category": "coding",
                     "time": t0 + i * STEP, "project": "research-x", "branch": "main", "language": "Python",
                     "is_write": i % 5 == 0, "lines": 200, "lineno": i, "cursorpos": 4, "user_agent": UA}
                    for i in range(BATCH)]
            clock[user] = t0 + BATCH * STEP
            headers = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode(),
                       "Content-Type": "application/json", "User-Agent": UA, "X-Machine-Name": "bench"}
            started = time.perf_counter()
            response = http.post(PATH, content=json.dumps(body), headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 201 or any(s != 201 for _, s in response.json()["responses"]):
                errors.append(f"{response.status_code} {response.text[:200]}")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-heartbeats-"))
    db = str(workdir / "bridge.db")
    store = Store(db)
    now = datetime.now(UTC)
    people = [(f"U{n:08d}", issue_key(store, f"U{n:08d}", now)) for n in range(PEOPLE)]
    store.close()
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    profile = os.environ.get("BENCH_PROFILE") == "1"
    proc = ctx.Process(target=run_server, args=(db, port, profile, ready))
    proc.start()
    ready.wait(30)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url)
    # Each person's heartbeats start at 08:00 UTC three days ago and run through the day.
    start = (now - timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0).timestamp()
    shares = [people[c::CLIENTS] for c in range(CLIENTS)]
    warm: list[float] = []
    client(url, people[:4], start - 86400, 10, warm, [])  # warm-up on another day
    latencies: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=client, args=(url, share, start, POSTS, latencies, errors)) for share in shares]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if profile:
        os.kill(proc.pid, signal.SIGINT)  # a KeyboardInterrupt: the profile gets printed
    else:
        proc.terminate()
    proc.join(60)

    check = Store(db)
    total = CLIENTS * POSTS * BATCH
    stored = check.count("heartbeats") - 10 * BATCH
    rollups = check.count("focus_days")
    sent_per_person = CLIENTS * POSTS * BATCH / PEOPLE
    print(f"{os.cpu_count()} cores; {CLIENTS} clients x {POSTS} bulk posts x {BATCH} heartbeats, "
          f"{PEOPLE} people (~{sent_per_person:.0f} heartbeats each); SQLite WAL, synchronous=FULL")
    print(f"ingest: {total / elapsed:,.0f} heartbeats/s ({CLIENTS * POSTS / elapsed:,.0f} requests/s, "
          f"{total:,} heartbeats in {elapsed:.1f} s)")
    print(f"request latency: p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms")
    print(f"stored {stored:,} heartbeats, {rollups:,} person-day rollups; {len(errors)} failed requests")
    check.close()
    shutil.rmtree(workdir, ignore_errors=True)
    if errors or stored != total:
        print("errors:", errors[:5])
        raise SystemExit(1)


if __name__ == "__main__":
    main()
