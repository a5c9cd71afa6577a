"""Benchmark: heartbeat ingest and slash commands under a mixed flood, on one server.

The real server (FastAPI + Bolt in uvicorn, one process, as `research-bridge serve` runs it)
on the 50,000-issue database of build_db.py (copied, so the heartbeats written here do not
change it), a fake Slack in this process. Three phases of DURATION seconds each:
heartbeats alone, slash commands alone, then both at once: SLASH clients sending signed
`/handoffs` as fast as the server acknowledges them, and BEATS clients posting bulk
requests of 25 heartbeats as fast as they are stored. Each client is a thread of a load
process of its own (not the server's). Prints, per phase, requests/s and p50/p99 of the
heartbeat post, the slash command's HTTP answer (the ack Slack waits for, 3 s at most) and
its answer at the response_url. Targets: slash ack p99 < 50 ms, heartbeat p99 < 100 ms
under the flood. Env: BENCH_DURATION (15), BENCH_SLASH (4), BENCH_BEATS (4), BENCH_PHASES
(all three; "both" runs only the flood).
Not part of the test run.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from benchmarks.build_db import DEFAULT_PATH, build  # noqa: E402
from benchmarks.timing import percentile  # noqa: E402
from tests.support.live import free_port, wait_until_up  # noqa: E402
from tests.support.slack_requests import signed_headers, slash_form  # noqa: E402

DURATION = float(os.environ.get("BENCH_DURATION", "15"))
SLASH = int(os.environ.get("BENCH_SLASH", "4"))
BEATS = int(os.environ.get("BENCH_BEATS", "4"))
TOKEN, SECRET = "xoxb-flood", "flood-signing-secret"
PEOPLE = 100
PATH = "/api/v1/users/current/heartbeats.bulk"


def run_server(db: str, port: int, slack_api_url: str, keys_out, ready) -> None:
    """The server process: the real app in uvicorn (heartbeats on the wall clock, slash
    commands on the data set's clock)."""
    import uvicorn

    from benchmarks.synthetic import NOW
    from bot.app import create_slack_app, create_web_app
    from bot.clock import utc_now
    from bot.config import settings_from_mapping
    from bot.ingest.keys import issue_key
    from bot.store import Store
    from bot.web.limits import server_config
    from bot.web.priority import IngestActivity

    store = Store(db)
    keys_out.extend([issue_key(store, f"U{n:08d}", utc_now()) for n in range(PEOPLE)])
    settings = settings_from_mapping({}, {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                                          "SLACK_API_URL": slack_api_url})
    activity = IngestActivity()  # as build_server wires it
    app = create_web_app(settings, store, slack_app=create_slack_app(settings, store, clock=lambda: NOW, activity=activity),
                         activity=activity)
    ready.set()
    uvicorn.Server(server_config(app, port=port, log_level="warning", access_log=False)).run()


def slash_client(url: str, response_base: str, stop_at: float, acks: list, ends: list) -> None:
    """Signed `/handoffs` as fast as each is acknowledged."""
    with httpx.Client(timeout=30) as http:
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            response_url = f"{response_base}/response/F{threading.get_ident()}-{n}"
            body = slash_form("/handoffs", "", "U0BENCH", response_url)
            started = time.monotonic()  # the fake Slack stamps its calls on the same clock
            response = http.post(url + "/slack/events", content=body, headers=signed_headers(SECRET, body))
            acks.append(((time.monotonic() - started) * 1000, response.status_code))
            ends.append((response_url, started))


def beat_client(url: str, keys: list[str], start: float, stop_at: float, latencies: list) -> None:
    """Bulk posts of 25 heartbeats 10 s apart from `start`, round-robin over `keys`, as fast as
    each is stored."""
    clocks = {key: start for key in keys}
    with httpx.Client(base_url=url, timeout=30) as http:
        n = 0
        while time.perf_counter() < stop_at:
            key = keys[n % len(keys)]
            n += 1
            t0 = clocks[key]
            body = [{"entity": f"/src/model_{i % 3}.py", "type": "file", "category": "coding", "time": t0 + i * 10,
                     "project": "research-x", "language": "Python", "is_write": i % 5 == 0} for i in range(25)]
            clocks[key] = t0 + 250
            started = time.perf_counter()
            response = http.post(PATH, content=json.dumps(body), headers={
                "Authorization": "Basic " + base64.b64encode(key.encode()).decode(),
                "Content-Type": "application/json"})
            latencies.append(((time.perf_counter() - started) * 1000, response.status_code))


def load(url: str, response_base: str, keys: list[str], slash: int, beats: int, duration: float, start: float,
         out) -> None:
    """A load process: `slash` + `beats` client threads for `duration` seconds (heartbeats
    from `start`)."""
    stop_at = time.perf_counter() + duration
    acks: list = []
    ends: list = []
    posts: list = []
    threads = [threading.Thread(target=slash_client, args=(url, response_base, stop_at, acks, ends))
               for _ in range(slash)]
    threads += [threading.Thread(target=beat_client, args=(url, keys[i::max(beats, 1)], start, stop_at, posts))
                for i in range(beats)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put({"acks": acks, "ends": ends, "posts": posts})




def _line(label: str, values: list[tuple[float, int]], duration: float, ok: int) -> str:
    times = [v for v, _ in values]
    bad = sum(1 for _, status in values if status != ok)
    if not times:
        return f"  {label:<34} none"
    return (f"  {label:<34} {len(times) / duration:7.1f}/s  p50 {percentile(times, 0.5):6.1f} ms"
            f"  p99 {percentile(times, 0.99):7.1f} ms" + (f"  ({bad} not {ok})" if bad else ""))


def main() -> None:
    from tests.fakes.fake_slack import FakeSlack

    build()  # the 50,000-issue database (reused when it exists)
    workdir = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    db = str(workdir / "bridge.db")
    shutil.copyfile(DEFAULT_PATH, db)
    ctx = multiprocessing.get_context("spawn")
    with FakeSlack(tokens=(TOKEN,)) as fake, ctx.Manager() as manager:
        fake.add_user("U0BENCH", "bench", tz="Europe/Berlin")
        keys, ready = manager.list(), ctx.Event()
        port = free_port()
        server = ctx.Process(target=run_server, args=(db, port, fake.api_url, keys, ready))
        server.start()
        ready.wait(60)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, alive=server.is_alive)
        print(f"{os.cpu_count()} cores; {SLASH} slash + {BEATS} heartbeat clients, {DURATION:.0f} s a phase, "
              f"/handoffs on 50,000 issues, bulk posts of 25 heartbeats")
        phases = (("heartbeats alone", 0, BEATS), ("slash commands alone", SLASH, 0), ("both at once", SLASH, BEATS))
        if os.environ.get("BENCH_PHASES") == "both":
            phases = phases[2:]
        for n, (label, slash, beats) in enumerate(phases):
            out = ctx.Queue()
            start = time.time() - 26 * 3600 + n * 8 * 3600  # each phase on hours of its own
            proc = ctx.Process(target=load, args=(url, fake.base_url, list(keys), slash, beats, DURATION, start, out))
            proc.start()
            result = out.get(timeout=DURATION + 120)
            proc.join(30)
            time.sleep(3)  # let the answers still queued reach the fake Slack
            posts = {c.path: c.at for c in fake.calls("response_url")}
            answered = [((posts[path_of(u)] - sent) * 1000, 200) for u, sent in result["ends"]
                        if path_of(u) in posts]
            print(label)
            if beats:
                print(_line("heartbeat post", result["posts"], DURATION, 201))
            if slash:
                print(_line("slash command HTTP answer (ack)", result["acks"], DURATION, 200))
                print(_line("slash answer at response_url", answered, DURATION, 200)
                      + f"  ({len(result['ends']) - len(answered)} answered busy in the ack instead)")
            fake.reset()
        server.terminate()
        server.join(30)
    shutil.rmtree(workdir, ignore_errors=True)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


if __name__ == "__main__":
    main()
