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
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from benchmarks.timing import latency_line, measure_slash  # noqa: E402
from bot.app import build_server  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.models import FocusDay  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.support.live import serve  # noqa: E402

TOKEN, SECRET = "xoxb-bench", "bench-signing-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
PEOPLE, DAYS = 1000, 90
NOW = datetime(2025, 11, 21, 15, 0, tzinfo=UTC)  # a Friday
LEAD = "U0BENCH"
MEMBERS = [f"U{n:07d}" for n in range(PEOPLE)]
TEAMS = [{"name": "org", "members": MEMBERS}] + [
    {"name": f"team-{t}", "members": MEMBERS[t * 100:(t + 1) * 100]} for t in range(10)
]


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
                    measure_slash(url, fake, SECRET, "/focus", text, LEAD, 5, expect="People")  # warm-up, caches the tz
                    acks, totals = measure_slash(url, fake, SECRET, "/focus", text, LEAD, REQUESTS, expect="People")
                    label = f"/focus {text}"
                    print(latency_line(label, acks, totals))
        store.close()


if __name__ == "__main__":
    main()
