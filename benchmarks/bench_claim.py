"""Benchmark: handoff cards from Jira webhooks, and Claim clicks on them, end to end.

The real server (FastAPI + Bolt in uvicorn, as `tests/support/bridge.running_bridge` builds
it) on loopback, a fresh SQLite file, the fake Jira (Cloud, through the real `jira` library)
and the fake Slack:

1. Webhook -> card. N handoffs (RES-1..RES-N, each labelled within the last hours), one
   signed `jira:issue_updated` webhook at a time, each sent as soon as the previous card
   arrived (back to back, as after a bulk edit in Jira); the time runs from sending the
   webhook to the fake Slack receiving the card's `chat.postMessage` (found by its
   metadata). Each webhook syncs the cards of its own issue only, so the 100th card costs
   what the first did; PACED more handoffs, PAUSE apart, show the latency on an idle server.
   Each delivery has its own connection, as a webhook sender's do.
2. Claim. A signed Claim click on each card (Bob, whose Slack e-mail is his Jira e-mail):
   the HTTP ack, the card's `chat.update` and the private answer at the response_url, all
   from sending the click; the Jira requests each claim made (the minimum is 3: read the
   transitions, assign, transition; the claim also reads the issue back, and the first one
   connects and looks the clicker's account up by e-mail); and when each of the claim's
   requests reached the fakes (p50 ms from the click), to show where its time goes.

Prints p50/p99 of each. Not part of the test run. Env: BENCH_HANDOFFS (100).
"""
from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from benchmarks.timing import percentile  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.fake_jira import BOB, FakeJira  # noqa: E402
from tests.fakes.fake_slack import Call, FakeSlack  # noqa: E402
from tests.support.bridge import running_bridge, slack_settings  # noqa: E402
from tests.support.slack_requests import block_actions, signed_headers  # noqa: E402
from tests.support.webhooks import hub_signature  # noqa: E402

N = int(os.environ.get("BENCH_HANDOFFS", "100"))
PACED, PAUSE = 20, 0.2  # handoffs sent to an idle server (its card sync of the previous one done)
NOW = datetime.now(UTC).replace(microsecond=0)  # the app's clock, fixed
JIRA_NOW = NOW - timedelta(minutes=1)  # when the fake Jira records the claims' writes
TOKEN, SECRET, WEBHOOK_SECRET = "xoxb-bench", "bench-signing-secret", "bench-jira-webhook-secret"
HANDOFF, VISION = "research-handoff", "C0VISION"
CONFIG = {"timezone": "UTC", "jira": {"jql": "project = RES"},
          "team": [{"name": "vision", "jira_projects": ["RES"], "channel": VISION}]}
TIMEOUT = 10.0  # seconds to wait for any one thing to reach the fake Slack
_API = re.compile(r"^/rest/api/(?:2|3|latest)/")
_KEY = re.compile(r"\bRES-\d+\b")


def stats(label: str, values: list[float], what: str) -> str:
    return (f"{label:<28} p50 {statistics.median(values):6.1f} ms  p99 {percentile(values, 0.99):6.1f} ms"
            f"  (max {max(values):.1f} ms; {what})")


def wait_until(find, what: str):
    """Poll `find()` until it returns something; that thing (SystemExit after TIMEOUT)."""
    deadline = time.monotonic() + TIMEOUT
    while (found := find()) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.0005)
    return found


def first_call(fake: FakeSlack, method: str, match) -> Call | None:
    return next((c for c in fake.calls(method) if match(c.body)), None)


def jira_call(method: str, path: str) -> str:
    """A request to the fake Jira as `GET issue/{key}/transitions`."""
    return f"{method} {_KEY.sub('{key}', _API.sub('', path))}"


def is_write(call: str) -> bool:
    return not call.startswith("GET ") and not call.endswith(("/search", "/search/jql", "/approximate-count"))


def card_of(fake: FakeSlack, key: str) -> Call | None:
    """The `chat.postMessage` of the card of `key` (its metadata names the issue), if it came."""
    return first_call(fake, "chat.postMessage",
                      lambda b: (b.get("metadata") or {}).get("event_payload", {}).get("issue") == key)


def wait_card(fake: FakeSlack, key: str) -> Call:
    """Wait (on the fake's condition, not polling) for the card of `key`."""
    count = len(fake.calls("chat.postMessage"))
    while (call := card_of(fake, key)) is None:
        count += 1
        fake.wait_for("chat.postMessage", count, timeout=TIMEOUT)
    return call


def stored_ts(fake: FakeSlack, key: str) -> str | None:
    return next((m["ts"] for m in fake.messages(VISION)
                 if m.get("metadata", {}).get("event_payload", {}).get("issue") == key), None)


def hand_over(client: httpx.Client, url: str, jira: FakeJira, fake: FakeSlack, numbers: range,
              pause: float = 0.0) -> tuple[list[float], list[float], dict[str, str]]:
    """Hand RES-n over in Jira for each n, one signed webhook at a time, each sent once the
    previous card arrived (after `pause` seconds more): (HTTP acks, webhook -> card) in ms,
    and key -> the card's ts."""
    acks, totals, cards = [], [], {}
    for n in numbers:
        key = f"RES-{n}"
        requested = NOW - timedelta(hours=4) + timedelta(seconds=30 * n)  # all within the last hours
        issue = jira.add_issue(key, requested - timedelta(hours=1), summary=f"Distilled ranker v{n}")
        history = issue.add_label(requested, HANDOFF)
        body = json.dumps(jira.webhook_payload("jira:issue_updated", key, history, user=history.author)).encode()
        # a connection per delivery, as a webhook sender opens (see the module docstring)
        headers = {"Content-Type": "application/json", "Connection": "close",
                   "X-Hub-Signature": hub_signature(body, WEBHOOK_SECRET),
                   "X-Atlassian-Webhook-Identifier": str(uuid.uuid4())}
        time.sleep(pause)
        started = time.monotonic()
        response = client.post(url + "/webhooks/jira", content=body, headers=headers)
        acked = time.monotonic()
        assert response.status_code == 200, response.text
        call = wait_card(fake, key)
        acks.append((acked - started) * 1000)
        totals.append((call.at - started) * 1000)
        cards[key] = wait_until(lambda key=key: stored_ts(fake, key), f"the stored card of {key}")
    return acks, totals, cards


def bench_cards(url: str, jira: FakeJira, fake: FakeSlack) -> dict[str, str]:
    """RES-1..RES-N back to back, then PACED more on an idle server; print the latencies;
    key -> card ts of the first N."""
    before = len(jira.requests)
    with httpx.Client(timeout=30) as client:
        acks, totals, cards = hand_over(client, url, jira, fake, range(1, N + 1))
        paced_acks, paced, _ = hand_over(client, url, jira, fake, range(N + 1, N + PACED + 1), pause=PAUSE)
    print(stats("webhook -> card", totals, f"{N} handoffs back to back"))
    print(stats("  webhook HTTP ack", acks, f"{len(jira.requests) - before} Jira requests in all"))
    tenth = max(1, N // 10)
    print(f"  {'cards 1-' + str(tenth):<26} p50 {statistics.median(totals[:tenth]):6.1f} ms;"
          f"  cards {N - tenth + 1}-{N}: p50 {statistics.median(totals[-tenth:]):6.1f} ms")
    print(stats("webhook -> card, idle", paced, f"{PACED} more, {PAUSE * 1000:.0f} ms apart; HTTP ack p50"
                f" {statistics.median(paced_acks):.1f} ms"))
    return cards


def bench_claims(url: str, jira: FakeJira, fake: FakeSlack, cards: dict[str, str]) -> None:
    """Claim every card as Bob; print the latencies, the Jira requests per claim and where a
    claim's time goes (when each request reached the fakes, from sending the click)."""
    acks, updates, answers, per_claim, timelines = [], [], [], [], []
    with httpx.Client(timeout=30) as client:
        for key, ts in cards.items():
            response_url = fake.response_url()
            body = block_actions("handoff_claim", "U0BOB", f"{key}#1", response_url, channel=VISION,
                                 message_ts=ts, ephemeral=False, label="Claim")
            headers = signed_headers(SECRET, body)
            before, slack_before = len(jira.requests), len(fake.calls())
            started = time.monotonic()
            response = client.post(url + "/slack/events", content=body.encode(), headers=headers)
            acked = time.monotonic()
            assert response.status_code == 200, response.text
            answer = fake.response_to(response_url, timeout=TIMEOUT)  # sent after the Jira calls and the update
            text = answer.body.get("text", "")
            assert text.startswith(f"You claimed {key}"), text
            update = wait_until(lambda ts=ts: first_call(fake, "chat.update", lambda b: b.get("ts") == ts),
                                f"the update of the card of {key}")
            acks.append((acked - started) * 1000)
            updates.append((update.at - started) * 1000)
            answers.append((answer.at - started) * 1000)
            to_jira = [(jira_call(r.method, r.path), r.at) for r in jira.requests[before:]]
            per_claim.append([name for name, _ in to_jira])
            to_slack = [(c.method, c.at) for c in fake.calls()[slack_before:] if c.method != "chat.update"]
            steps = sorted([*to_jira, *to_slack, ("chat.update", update.at)], key=lambda step: step[1])
            timelines.append([(name, (at - started) * 1000) for name, at in steps])
    assert all(jira.issues[k].assignee == BOB and jira.issues[k].status == "In Progress" for k in cards)
    print(stats("claim HTTP ack", acks, f"{len(acks)} clicks"))
    print(stats("claim -> card updated", updates, "chat.update"))
    print(stats("claim -> private answer", answers, f"response_url; the first claim {answers[0]:.1f} ms"))
    counts = [len(calls) for calls in per_claim]
    writes = [sum(map(is_write, calls)) for calls in per_claim]
    print(f"Jira calls per claim: {statistics.mean(counts):.2f} on average (minimum 3: transitions, assign,"
          f" transition); writes {statistics.mean(writes):.2f}, reads {statistics.mean(counts) - statistics.mean(writes):.2f}")
    print(f"  first claim  {counts[0]}: {', '.join(per_claim[0])}")
    rest = Counter(tuple(calls) for calls in per_claim[1:])
    for seen, times in rest.most_common():
        print(f"  {times} others {len(seen)}: {', '.join(seen)}")
    usual = Counter(tuple(name for name, _ in t) for t in timelines[1:]).most_common(1)[0][0]
    alike = [t for t in timelines[1:] if tuple(name for name, _ in t) == usual]
    offsets = [statistics.median(t[i][1] for t in alike) for i in range(len(usual))]
    print(f"claim timeline, p50 ms from the click ({len(alike)} claims): "
          + ", ".join(f"{name} {at:.1f}" for name, at in zip(usual, offsets)))


def main() -> None:
    print(f"handoff cards and claims: {N} handoffs, real server on loopback, fake Jira (Cloud) and fake Slack;"
          f" {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-claim-") as tmp, \
            FakeSlack(tokens=(TOKEN,)) as fake, FakeJira("Cloud") as jira:
        fake.add_user("U0BOB", "bob", real_name="Bob Engineer", email=BOB.email)
        jira.add_user(BOB)
        jira.clock = lambda: JIRA_NOW
        store = Store(Path(tmp) / "bridge.db")
        try:
            settings = slack_settings(fake, TOKEN, SECRET, CONFIG, **jira.env(), JIRA_WEBHOOK_SECRET=WEBHOOK_SECRET)
            with running_bridge(settings, store, fake, NOW) as bridge:
                cards = bench_cards(bridge.url, jira, fake)
                bench_claims(bridge.url, jira, fake, cards)
        finally:
            store.close()


if __name__ == "__main__":
    main()
