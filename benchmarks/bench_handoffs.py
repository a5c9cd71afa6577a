"""Benchmark: `/handoffs` and `/handoffs stats 90d` as signed HTTP requests, end to end.

50,000 issues and 1,000,000 changelog items (built once by build_db.py). The real server
(FastAPI + Bolt in uvicorn) answers signed slash commands; the time measured runs from
sending the request to the answer arriving at the fake Slack's response_url, which
includes the ack, the users.info call for the caller's timezone, the query, the metrics and
Block Kit rendering. Prints p50/p99 over 200 requests each. Not part of the test run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from benchmarks.build_db import build  # noqa: E402
from benchmarks.synthetic import NOW  # noqa: E402
from benchmarks.timing import latency_line, measure_slash  # noqa: E402
from bot.app import build_server  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.support.live import serve  # noqa: E402

TOKEN, SECRET = "xoxb-bench", "bench-signing-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
TEAMS = [{"name": f"team-{n}", "jira_projects": [f"P{2 * n:02d}", f"P{2 * n + 1:02d}"]} for n in range(10)]


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
                measure_slash(url, fake, SECRET, "/handoffs", text, "U0BENCH", 5)  # warm-up
                acks, totals = measure_slash(url, fake, SECRET, "/handoffs", text, "U0BENCH", REQUESTS)
                print(latency_line(label, acks, totals))


if __name__ == "__main__":
    main()
