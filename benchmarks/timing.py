"""Shared timing for the benchmarks: percentiles and signed slash commands, end to end."""

from __future__ import annotations

import json
import statistics
import time

import httpx

from tests.support.slack_requests import signed_headers, slash_form


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in 0..1 (numpy's default method)."""
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (h - lo)


def measure_slash(url: str, fake, secret: str, command: str, text: str, user: str, n: int,
                  expect: str | None = None) -> tuple[list[float], list[float]]:
    """(HTTP ack, end-to-end) latencies in ms of n sequential signed slash commands: end to end
    runs from sending the request to the answer reaching the fake Slack's response_url (whose
    blocks must contain `expect`, when given)."""
    acks, totals = [], []
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            response_url = fake.response_url()
            body = slash_form(command, text, user, response_url)
            headers = signed_headers(secret, body)
            started = time.monotonic()
            response = client.post(url + "/slack/events", content=body, headers=headers)
            acked = time.monotonic()
            assert response.status_code == 200, response.text
            post = fake.response_to(response_url, timeout=30)
            if expect is not None:
                assert expect in json.dumps(post.body.get("blocks"), ensure_ascii=False), post.body
            acks.append((acked - started) * 1000)
            totals.append((post.at - started) * 1000)
    return acks, totals


def latency_line(label: str, acks: list[float], totals: list[float]) -> str:
    """One printed line: end-to-end p50/p99 and HTTP ack p50/p99."""
    return (f"{label:<44} end to end p50 {statistics.median(totals):6.1f} ms  p99 {percentile(totals, 0.99):6.1f} ms"
            f"   (HTTP ack p50 {statistics.median(acks):.1f} ms, p99 {percentile(acks, 0.99):.1f} ms;"
            f" {len(totals)} requests)")
