"""Benchmark: `/pipelines` with 500 pipelines and a year of runs, and GitHub webhook ingest.

1. Slash commands. 500 pipelines across github/gitlab/airflow/api, a year of runs (~4 a day
   each, ~730,000 rows, some re-runs) written directly with `store.save_pipeline_runs` in
   batches (no webhooks), cached in /tmp (BENCH_PIPELINES_DB; delete it to rebuild). The real
   server (FastAPI + Bolt in uvicorn, as `serve` builds it) answers signed `/pipelines` and
   `/pipelines NAME` requests; the time runs from sending the request to the answer arriving
   at the fake Slack's response_url. p50/p99 over 200 requests each. Target: p99 < 100 ms.
2. Webhook ingest. The server in its own process on a fresh database, GITHUB_WEBHOOK_SECRET
   set; CLIENTS concurrent clients (another process's threads) POST signed `workflow_run`
   completed payloads (the real GitHub shape from tests/fixtures/github, ~22 kB each, every
   one a new run) to `/webhooks/github`. Prints runs/s and request p50/p99.

Not part of the test run. Env: BENCH_REQUESTS (200), BENCH_CLIENTS (8), BENCH_POSTS (250 per client).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from benchmarks.timing import latency_line, measure_slash, percentile  # noqa: E402
from bot.app import build_server  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.ingest.pipelines import record_pipeline_runs
from bot.models import PipelineRun  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.support.live import free_port, serve  # noqa: E402

TOKEN, SECRET, HOOK_SECRET = "xoxb-bench", "bench-signing-secret", "bench-github-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
POSTS = int(os.environ.get("BENCH_POSTS", "250"))
PIPELINES, DAYS, PER_DAY = 500, 365, 4
NOW = datetime(2025, 11, 21, 15, 0, tzinfo=UTC)  # a Friday
DB = Path(os.environ.get("BENCH_PIPELINES_DB", "/tmp/research-bridge-bench-pipelines.db"))
SOURCES = ("github", "gitlab", "airflow", "api")
FIXTURE = Path(__file__).resolve().parents[1] / "tests/fixtures/github/workflow_run.completed.success.json"


def pipeline_name(n: int) -> str:
    return f"team-{n % 25:02d}/repo-{n:03d}: train.yml" if n % 4 != 2 else f"dag_{n:03d}_refresh"


def build(path: Path = DB, seed: int = 3) -> Store:
    """Write (once) a year of runs for 500 pipelines; reuse the file when it is complete."""
    if path.exists():
        store = Store(path)
        if store.count("pipeline_runs") > 0 and len(store.pipeline_names()) == PIPELINES:
            return store
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    store = Store(path)
    rng = random.Random(seed)
    started, batch, total = time.perf_counter(), [], 0
    start = NOW - timedelta(days=DAYS)
    for n in range(PIPELINES):
        source, name = SOURCES[n % 4], pipeline_name(n)
        success = rng.choice((0.99, 0.97, 0.95, 0.9, 0.8, 0.6))
        for k in range(DAYS * PER_DAY):
            begun = start + timedelta(hours=6 * k + rng.uniform(0, 5))
            finished = begun + timedelta(minutes=rng.uniform(2, 50))
            if finished >= NOW:
                continue
            roll = rng.random()
            status = "success" if roll < success else "cancelled" if roll > 0.99 else "failed"
            run_id = f"{n}-{k}"
            batch.append(PipelineRun(source, name, run_id, 1, status, finished, begun,
                                     f"https://ci.bench.example/{n}/runs/{run_id}", f"{rng.getrandbits(160):040x}",
                                     begun - timedelta(hours=2), "main"))
            if status == "failed" and rng.random() < 0.1:  # a re-run
                again = finished + timedelta(minutes=5)
                batch.append(batch[-1]._replace(attempt=2, status="success", started_at=again,
                                                finished_at=again + timedelta(minutes=10)))
        if len(batch) >= 50_000 or n == PIPELINES - 1:
            record_pipeline_runs(store, batch)
            total += len(batch)
            batch = []
            print(f"\r  built {n + 1} pipelines, {total:,} runs", end="", file=sys.stderr)
    print(f"\n  {store.count('pipeline_runs'):,} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return store


def bench_slash_commands() -> None:
    store = build()
    print(f"database: {PIPELINES} pipelines, {store.count('pipeline_runs'):,} runs over {DAYS} days"
          f" ({DB}); {os.cpu_count()} cores")
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0BENCH", "bench", tz="Europe/Berlin")
        settings = settings_from_mapping(
            {}, {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url})
        server = build_server(settings, store, lambda: NOW, scheduler=False)  # as `serve` runs it, minus jobs
        with serve(server.web) as url:
            for text, expect in (("", "…and"), (pipeline_name(7), "recent runs")):
                measure_slash(url, fake, SECRET, "/pipelines", text, "U0BENCH", 5, expect=expect)  # warm-up
                acks, totals = measure_slash(url, fake, SECRET, "/pipelines", text, "U0BENCH", REQUESTS, expect=expect)
                label = f"/pipelines {text}".strip()
                print(latency_line(label, acks, totals))
    store.close()


# -- webhook ingest ------------------------------------------------------------------------------


def run_server(db: str, port: int, ready) -> None:
    """The server process: the real web app in uvicorn, GitHub secret set, no Slack."""
    import uvicorn

    from bot.app import create_web_app
    from bot.web.limits import server_config

    settings = settings_from_mapping({}, {"GITHUB_WEBHOOK_SECRET": HOOK_SECRET})
    app = create_web_app(settings, Store(db))
    ready.set()
    uvicorn.Server(server_config(app, port=port, log_level="warning", access_log=False)).run()




def workflow_run(template: dict, n: int, rng: random.Random) -> bytes:
    """A completed `workflow_run` delivery for a new run of one of 50 repositories."""
    payload = json.loads(json.dumps(template))
    run, repo = payload["workflow_run"], payload["repository"]
    repo["full_name"] = f"bench-org/repo-{n % 50:02d}"
    run_id = 900_000_000 + n
    finished = NOW - timedelta(minutes=n)
    run.update(id=run_id, run_number=n, run_attempt=1, conclusion="success" if rng.random() < 0.9 else "failure",
               head_sha=f"{rng.getrandbits(160):040x}",
               run_started_at=(finished - timedelta(minutes=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
               updated_at=finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
               html_url=f"https://github.com/{repo['full_name']}/actions/runs/{run_id}")
    return json.dumps(payload).encode()


def _signature(body: bytes) -> str:
    return "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def hook_client(url: str, bodies: list[bytes], latencies: list[float], errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        for body in bodies:
            headers = {"Content-Type": "application/json", "X-GitHub-Event": "workflow_run",
                       "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": _signature(body),
                       "User-Agent": "GitHub-Hookshot/bench"}
            started = time.perf_counter()
            response = http.post("/webhooks/github", content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 300:
                errors.append(f"{response.status_code} {response.text[:200]}")


def bench_webhook_ingest() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-github-") as tmp:
        db = str(Path(tmp) / "bridge.db")
        Store(db).close()
        port, ctx = free_port(), multiprocessing.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=run_server, args=(db, port, ready))
        proc.start()
        try:
            ready.wait(30)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
            while True:
                try:
                    probe = httpx.post(url + "/webhooks/github", content=ping, timeout=1, headers={
                        "X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()),
                        "Content-Type": "application/json", "X-Hub-Signature-256": _signature(ping)})
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("server did not start") from None
                    time.sleep(0.05)
            if probe.status_code in (404, 405):
                print("webhook ingest: POST /webhooks/github is not served yet (bot/sources/github.py);"
                      " skipped")
                return
            template = json.loads(FIXTURE.read_text())
            rng = random.Random(9)
            bodies = [workflow_run(template, n, rng) for n in range(CLIENTS * POSTS + 20)]
            hook_client(url, bodies[-20:], [], [])  # warm-up
            latencies: list[float] = []
            errors: list[str] = []
            shares = [bodies[c:CLIENTS * POSTS:CLIENTS] for c in range(CLIENTS)]
            threads = [threading.Thread(target=hook_client, args=(url, s, latencies, errors)) for s in shares]
            began = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - began
        finally:
            proc.terminate()
            proc.join(30)
        stored = Store(db).count("pipeline_runs") - 20
        sent = CLIENTS * POSTS
        print(f"webhook ingest: {sent / elapsed:,.0f} workflow_run deliveries/s ({sent:,} signed posts of"
              f" ~{len(bodies[0]) / 1000:.0f} kB from {CLIENTS} clients in {elapsed:.1f} s); request p50"
              f" {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms;"
              f" stored {stored:,} runs; {len(errors)} failed")
        if errors:
            print("errors:", errors[:5])


def main() -> None:
    bench_slash_commands()
    bench_webhook_ingest()


if __name__ == "__main__":
    main()
