"""Benchmark: `/handoffs` and `/handoffs stats 90d` as signed HTTP requests, end to end.

50,000 issues and 1,000,000 changelog items (built once by build_db.py). The real server
(FastAPI + Bolt in uvicorn) answers signed slash commands; the time measured runs from
sending the request to the answer arriving at the fake Slack's response_url, which
includes the ack, the users.info call for the caller's timezone, the query, the metrics and
Block Kit rendering. Prints p50/p99 over 200 requests each. Not part of the test run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from benchmarks.build_db import build  # noqa: E402
from benchmarks.synthetic import NOW  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.server import build_server  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.live import serve  # noqa: E402

TOKEN, SECRET = "xoxb-bench", "bench-signing-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
TEAMS = [{"name": f"team-{n}", "jira_projects": [f"P{2 * n:02d}", f"P{2 * n + 1:02d}"]} for n in range(10)]


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (h - lo)


def measure(url: str, fake: FakeSlack, text: str, n: int) -> tuple[list[float], list[float]]:
    """(ack latencies, end-to-end latencies) in ms for n sequential signed requests."""
    verifier = SignatureVerifier(SECRET)
    acks, totals = [], []
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            response_url = fake.response_url()
            body = urlencode({"command": "/handoffs", "text": text, "user_id": "U0BENCH", "team_id": "T0TEAM",
                              "channel_id": "C0BENCH", "response_url": response_url, "trigger_id": "1.2.3"})
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                       "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body)}
            started = time.monotonic()
            response = client.post(url + "/slack/events", content=body, headers=headers)
            acked = time.monotonic()
            assert response.status_code == 200, response.text
            post = fake.response_to(response_url, timeout=30)
            acks.append((acked - started) * 1000)
            totals.append((post.at - started) * 1000)
    return acks, totals


def main() -> None:
    store = build()
    print(f"database: {store.count('jira_issues'):,} issues, {store.count('jira_changelog'):,} changelog items, "
          f"{store.count('handoff_cycles'):,} handoff cycles; {os.cpu_count()} cores")
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0BENCH", "bench", email="bench@bench.example", tz="Europe/Berlin")
        settings = settings_from_mapping(
            {"team": TEAMS},
            {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url},
        )
        clock = lambda: NOW  # noqa: E731  (the data set ends at NOW)
        server = build_server(settings, store, clock, scheduler=False)  # as `serve` runs it, minus the jobs
        with serve(server.web) as url:
            for text, label in (("", "/handoffs"), ("stats 90d", "/handoffs stats 90d")):
                measure(url, fake, text, 5)  # warm-up
                acks, totals = measure(url, fake, text, REQUESTS)
                print(f"{label:<22} end to end p50 {statistics.median(totals):6.1f} ms  "
                      f"p99 {percentile(totals, 0.99):6.1f} ms   (HTTP ack p50 {statistics.median(acks):.1f} ms, "
                      f"p99 {percentile(acks, 0.99):.1f} ms; {REQUESTS} requests)")


if __name__ == "__main__":
    main()
