"""Benchmark: `/focus team NAME` for a 1,000-person org with 90 days of rollups, end to end.

1,000 people, 90 days of `focus_days` rows (every workday, a few weekend days, vacations as
missing days) written directly through the store. The real server (FastAPI + Bolt in uvicorn,
as `serve` builds it) answers signed slash commands; the time measured runs from sending the
request to the answer arriving at the fake Slack's response_url (ack, the lead's cached
timezone, the rollup query, the aggregates and Block Kit rendering). Prints p50/p99 over 200
requests each. Not part of the test run. Target: p99 < 100 ms.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from bot.config import settings_from_mapping  # noqa: E402
from bot.models import FocusDay  # noqa: E402
from bot.server import build_server  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.live import serve  # noqa: E402

TOKEN, SECRET = "xoxb-bench", "bench-signing-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
PEOPLE, DAYS = 1000, 90
NOW = datetime(2025, 11, 21, 15, 0, tzinfo=timezone.utc)  # a Friday
LEAD = "U0BENCH"
MEMBERS = [f"U{n:07d}" for n in range(PEOPLE)]
TEAMS = [{"name": "org", "members": MEMBERS}] + [
    {"name": f"team-{t}", "members": MEMBERS[t * 100:(t + 1) * 100]} for t in range(10)
]


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (h - lo)


def build(store: Store, seed: int = 5) -> int:
    """Write 90 days of rollups for 1,000 people; return the number of rows."""
    rng = random.Random(seed)
    today = NOW.date()
    days = [today - timedelta(days=i) for i in range(DAYS, 0, -1)]
    rows = 0
    for user in MEMBERS:
        level = rng.uniform(1.5, 5.5) * 3600  # this person's typical focus time
        vacation = rng.randrange(DAYS)
        mine: list[FocusDay] = []
        for i, day in enumerate(days):
            if vacation <= i < vacation + rng.choice((0, 5, 10)) or (day.weekday() >= 5 and rng.random() > 0.1):
                continue
            focus = max(0.0, rng.gauss(level, 3600))
            research = focus * rng.uniform(0.3, 0.9)
            mine.append(FocusDay(user, day, focus, focus + rng.uniform(600, 7200), research,
                                 focus - research, rng.randint(0, 6)))
        store.save_focus_days(user, days, mine, NOW)
        rows += len(mine)
    return rows


def measure(url: str, fake: FakeSlack, text: str, n: int) -> tuple[list[float], list[float]]:
    """(ack latencies, end-to-end latencies) in ms for n sequential signed requests."""
    verifier = SignatureVerifier(SECRET)
    acks, totals = [], []
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            response_url = fake.response_url()
            body = urlencode({"command": "/focus", "text": text, "user_id": LEAD, "team_id": "T0TEAM",
                              "channel_id": "C0BENCH", "response_url": response_url, "trigger_id": "1.2.3"})
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                       "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body)}
            started = time.monotonic()
            response = client.post(url + "/slack/events", content=body, headers=headers)
            acked = time.monotonic()
            assert response.status_code == 200, response.text
            post = fake.response_to(response_url, timeout=30)
            assert "People" in str(post.body.get("blocks")), post.body
            acks.append((acked - started) * 1000)
            totals.append((post.at - started) * 1000)
    return acks, totals


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench-focus.db")
        started = time.monotonic()
        rows = build(store)
        print(f"database: {PEOPLE:,} people, {rows:,} focus_days rows over {DAYS} days"
              f" (built in {time.monotonic() - started:.1f} s); {os.cpu_count()} cores")
        with FakeSlack(tokens=(TOKEN,)) as fake:
            fake.add_user(LEAD, "lead", tz="Europe/Berlin")
            settings = settings_from_mapping(
                {"team": TEAMS, "focus": {"leads": [LEAD]}},
                {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url},
            )
            clock = lambda: NOW  # noqa: E731  (the data set ends at NOW)
            server = build_server(settings, store, clock, scheduler=False)  # as `serve` runs it, minus jobs
            with serve(server.web) as url:
                for text in ("team org", "team team-3"):
                    measure(url, fake, text, 5)  # warm-up (and the lead's timezone is cached)
                    acks, totals = measure(url, fake, text, REQUESTS)
                    label = f"/focus {text}"
                    print(f"{label:<20} end to end p50 {statistics.median(totals):6.1f} ms  "
                          f"p99 {percentile(totals, 0.99):6.1f} ms   (HTTP ack p50 {statistics.median(acks):.1f} ms,"
                          f" p99 {percentile(acks, 0.99):.1f} ms; {REQUESTS} requests)")
        store.close()


if __name__ == "__main__":
    main()
