"""`/research` end to end: the real server on loopback, signed Slack requests, the fake Slack
Web API, and the org of `tests.support.research`."""

from __future__ import annotations

from typing import Iterator

import pytest

from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support.bridge import MAX_TEXT, Bridge, joined, running_bridge, slack_settings, texts
from tests.support.research import CONFIG, NOW, seed

SECRET = "research-signing-secret-0123456789"
TOKEN = "xoxb-research-token"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        yield fake


@pytest.fixture(scope="module")
def bridge(fake: FakeSlack, tmp_path_factory) -> Iterator[Bridge]:
    store = Store(tmp_path_factory.mktemp("research") / "bridge.db")
    seed(store)
    with running_bridge(slack_settings(fake, TOKEN, SECRET, CONFIG), store, fake, NOW) as b:
        yield b


def research(b: Bridge, text: str, user: str = "U0VIS1") -> list[dict]:
    posted = b.ask("/research", text, user)
    assert all(len(t) <= MAX_TEXT for t in texts(posted["blocks"]))
    assert b.fake.calls("chat.postMessage") == []  # always a private answer
    return posted["blocks"]


def test_overview_shows_each_teams_week_against_the_four_before(bridge: Bridge) -> None:
    text = joined(research(bridge, ""))
    assert "Research, week 2026-W48" in text
    assert ("*vision* — 12 runs (4-week average 4) · 2 experiments (avg 1), 6 runs each\n"
            "finished 83% · failed 17% · killed 0% · median run 14m\n"
            "3 commits (avg 0) · 0 branches (avg 0) on research repositories") in text
    assert ("*language* — 3 runs (4-week average 0) · 1 experiment (avg 0), 3 runs each\n"
            "finished 67% · failed 0% · killed 33% · median run 1h 30m\n"
            "0 commits (avg 0) · 1 branch (avg 0) on research repositories") in text
    assert ("*unassigned* — 1 run (4-week average 0) · 1 experiment (avg 0), 1 run each\n1 run still running\n"
            "1 commit (avg 0) · 0 branches (avg 0)") in text
    assert text.index("*language*") < text.index("*vision*") < text.index("*unassigned*")


def test_overview_shows_the_quarters_funnel_and_who_waits(bridge: Bridge) -> None:
    text = joined(research(bridge, ""))
    assert "Initiatives, 2026-Q4" in text
    # VIS-1 (child handed off), NLP-1 (delivered), NLP-5 (changed, no handoff); VIS-9 untouched
    assert ("*All initiatives* — 3 active → 2 handed off → 1 in production (33%)"
            " · median 10d 0h from first handoff to production") in text
    assert "*vision* — 1 active → 1 handed off → 0 in production (0%)" in text
    assert "*language* — 2 active → 1 handed off → 1 in production (50%)" in text
    assert "*Waiting for engineering now*\n*<https://jira.example.com/browse/VIS-1|VIS-1>* Distil the detector" \
           " — waiting 2d 3h (VIS-2)" in text


def test_no_person_is_named_in_the_team_view(bridge: Bridge) -> None:
    text = joined(research(bridge, ""))
    for who in ("alice", "bob", "U0VIS1", "U0NLP1", "ci-bot", "stranger"):
        assert who not in text


def test_team_shows_one_team(bridge: Bridge) -> None:
    text = joined(research(bridge, "team Language"))
    assert "Research: language, week 2026-W48" in text
    assert "*language* — 3 runs" in text and "*vision*" not in text and "unassigned" not in text
    assert "*language* — 2 active → 1 handed off → 1 in production (50%)" in text
    assert "Waiting for engineering" not in text


def test_unknown_team_lists_the_teams(bridge: Bridge) -> None:
    assert joined(research(bridge, "team robotics")) == "No team named *robotics*. Teams: vision, language."


def test_mine_shows_only_your_runs_and_experiments(bridge: Bridge) -> None:
    text = joined(research(bridge, "mine", user="U0VIS1"))
    assert "Only you can see this" in text
    assert "12 runs (4-week average 4) · 2 experiments (avg 1), 6 runs each" in text
    assert "3 commits (avg 0)" in text
    assert "• ranker-sweep (mlflow): 10 runs, latest 2026-11-23" in text
    assert "• ranker (mlflow): 16 runs" in text  # the four weeks before, not the run six weeks ago
    assert "ner" not in text and "nightly" not in text


def test_mine_without_activity_says_how_runs_are_matched(bridge: Bridge) -> None:
    text = joined(research(bridge, "mine", user="U0VIS2"))
    assert "No runs, commits or branches of yours in the last five weeks" in text
    assert "[identities]" in text


def test_help_and_unknown_words(bridge: Bridge) -> None:
    assert "`/research team NAME`" in joined(research(bridge, "help"))
    text = joined(research(bridge, "everything please"))
    assert text.startswith("I don't know `/research everything please`.") and "`/research mine`" in text


def test_an_org_with_nothing_connected_is_told_how_to_connect(fake: FakeSlack, tmp_path) -> None:
    with running_bridge(slack_settings(fake, TOKEN, SECRET, {}), Store(tmp_path / "empty.db"), fake, NOW) as b:
        text = joined(research(b, ""))
    assert text.startswith("No research activity yet.") and "/api/v1/experiment-runs" in text
