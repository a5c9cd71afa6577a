"""A synthetic AI/ML organisation, stored through the real write paths (`bot.ingest`): Jira
handoffs, IDE heartbeats, pipeline runs and deployments. Generators only; what the demo
prints is `bot.terminal`'s. No network, no credentials; the same seed gives the same org."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings, load_settings

DEMO_CHANNEL = "C0DEMO0001"  # the demo's #research-leads channel
DEMO_CONFIG = Path(__file__).with_name("demo.toml")  # the demo's own bridge.toml


def demo_settings(environ: dict | None = None) -> Settings:
    """The demo organisation's settings, from `demo.toml` (no credentials)."""
    return load_settings(environ or {}, DEMO_CONFIG)
