"""The digest's `research` section: the week's experiment velocity against the four before and
the quarter's funnel, on the org of `tests.support.research`, rendered as a channel sees it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.config import settings_from_mapping
from bot.digest.compute import build_digest
from bot.digest.model import ResearchSection
from bot.digest.period import week_named
from bot.metrics.funnel import Funnel, funnel, quarter_named
from bot.metrics.research import Velocity
from bot.metrics.workcal import WorkCalendar
from bot.slack.blocks.digest import digest_blocks, digest_text, research_blocks
from bot.slack.blocks.kit import to_dicts
from bot.store import Store
from tests.support.bridge import joined
from tests.support.research import CONFIG, seed

LONDON = ZoneInfo("Europe/London")


def settings_with(**digest):
    return settings_from_mapping({**CONFIG, "digest": [{"channel": "C0DIGEST1", "chart": False,
                                                        "sections": ["research"], **digest}]}, {})


def rendered(store: Store, settings, week: str = "2026-W48") -> tuple[str, str]:
    content = build_digest(store, settings, settings.digests[0], week_named(week, LONDON))
    calendar = WorkCalendar.from_settings(settings)
    return joined(to_dicts(digest_blocks(content, calendar, 3))), digest_text(content, calendar)


def test_the_research_section_shows_the_weeks_velocity_and_the_funnel(store: Store) -> None:
    seed(store)
    text, notification = rendered(store, settings_with())
    assert (":test_tube: *Research*: 16 runs (4-week average 4) · 4 experiments (avg 1), 4 runs each\n"
            "finished 80% · failed 13% · killed 7% · median run 15m\n"
            "4 commits (avg 0) · 1 branch (avg 0) on research repositories\n"
            "• *language*: 3 runs (4-week average 0) · 1 experiment (avg 0), 3 runs each\n"
            "• *vision*: 12 runs (4-week average 4) · 2 experiments (avg 1), 6 runs each\n"
            "• *unassigned*: 1 run (4-week average 0) · 1 experiment (avg 0), 1 run each\n"
            "Initiatives, 2026-Q4: 3 active → 2 handed off → 1 in production (33%)"
            " · median 10d 0h from first handoff to production\n"
            "1 waiting for engineering (`/research` lists them)") in text
    assert "16 training runs" in notification
    assert "alice" not in text and "U0VIS1" not in text  # teams, never people


def test_a_digest_for_some_teams_shows_only_theirs(store: Store) -> None:
    seed(store)
    text, _ = rendered(store, settings_with(teams=["vision"]))
    assert ":test_tube: *Research*: by team\n• *vision*: 12 runs" in text
    assert "language" not in text and "unassigned" not in text
    assert "Initiatives, 2026-Q4: 1 active → 1 handed off → 0 in production (0%)" in text


def test_a_week_without_research_is_one_line(store: Store) -> None:
    text, notification = rendered(store, settings_with())
    assert text.endswith(":zzz: A quiet week: no training runs or research pushes.")
    assert notification == "Weekly digest 2026-W48: a quiet week."


def test_a_quiet_research_section_among_others_is_one_line() -> None:
    quarter = quarter_named("2026-Q4", LONDON)
    part = ResearchSection(overall=(Velocity("2026-W48"), Velocity("4-week average")), teams=(),
                           funnel=funnel([], quarter))
    assert part.quiet
    assert [b["text"]["text"] for b in to_dicts(research_blocks(part))] == [
        ":test_tube: *Research*: a quiet week — no training runs or research pushes."]


def test_initiatives_without_runs_or_pushes_still_show_the_funnel() -> None:
    quarter = quarter_named("2026-Q4", LONDON)
    jira_only = Funnel(quarter="2026-Q4", active=3, handed_off=1, delivered=0,
                       median_time_to_production_seconds=None, waiting=[])
    part = ResearchSection(overall=(Velocity("2026-W48"), Velocity("4-week average")), teams=(), funnel=jira_only)
    assert not part.quiet and quarter.label == jira_only.quarter
    assert [b["text"]["text"] for b in to_dicts(research_blocks(part))] == [
        ":test_tube: *Research*: no training runs\n"
        "Initiatives, 2026-Q4: 3 active → 1 handed off → 0 in production (0%)"]


def test_several_quiet_sections_are_named_in_the_one_line(store: Store) -> None:
    text, _ = rendered(store, settings_with(sections=["handoffs", "research"]))
    assert text.endswith(":zzz: A quiet week: no research handoffs, training runs or research pushes.")


def test_research_is_opt_in_for_digests(store: Store) -> None:
    settings = settings_from_mapping({**CONFIG, "digest": [{"channel": "C0DIGEST1"}]}, {})
    assert "research" not in settings.digests[0].sections
    assert build_digest(store, settings, settings.digests[0], week_named("2026-W48", LONDON)).research is None
