"""The research-to-production funnel: quarters in the organisation's timezone, each initiative's
stage (active, handed off, delivered), time to production, the waiting list and the team split."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

import pytest

from bot.config import ResearchSettings, Team, settings_from_mapping
from bot.ingest.jira import record_jira_issue
from bot.metrics.funnel import (
    ACTIVE,
    DELIVERED,
    HANDED_OFF,
    InitiativeStage,
    Quarter,
    funnel,
    funnel_by_team,
    initiative_stages,
    previous_quarter,
    quarter_named,
    quarter_of,
)
from bot.metrics.handoffs import NO_TEAM, HandoffRules, team_for
from bot.models import HandoffCycle, HandoffState, JiraIssue
from bot.queries.research import ResearchQueries
from tests.support.research import issue as stored_issue
from tests.support.research import labelled, moved

LONDON = ZoneInfo("Europe/London")
Q3 = quarter_named("2026-Q3", LONDON)  # [2026-06-30 23:00Z, 2026-09-30 23:00Z): BST at both ends
Q4 = quarter_named("2026-Q4", LONDON)  # [2026-09-30 23:00Z, 2027-01-01 00:00Z)
Q1 = quarter_named("2027-Q1", LONDON)
LONG_AGO = datetime(2025, 1, 15, tzinfo=UTC)
DAY = 86400.0
OPEN, PICKED, DONE, GONE = HandoffState.OPEN, HandoffState.PICKED_UP, HandoffState.DELIVERED, HandoffState.WITHDRAWN


def q4(days: float) -> datetime:
    """`days` after the start of 2026-Q4 (London midnight, 1 October)."""
    return Q4.start + timedelta(days=days)


def issue(key: str, issue_type: str = "Story", parent: str | None = None, created: datetime = LONG_AGO,
          ) -> JiraIssue:
    return JiraIssue(key=key, id=key.split("-")[1], project=key.split("-")[0], summary=f"{key} summary",
                     issue_type=issue_type, status="To Do", labels=(), created=created, updated=created,
                     url=f"https://jira.example.com/browse/{key}", parent_key=parent)


def epic(key: str, created: datetime = LONG_AGO) -> JiraIssue:
    return issue(key, "Epic", created=created)


def cycle(key: str, requested: datetime, state: HandoffState = OPEN, no: int = 1, picked: datetime | None = None,
          delivered: datetime | None = None, withdrawn: datetime | None = None) -> HandoffCycle:
    if state in (PICKED, DONE) and picked is None:
        picked = requested + timedelta(hours=1)
    return HandoffCycle(issue_key=key, cycle_no=no, requested_at=requested, state=state, picked_up_at=picked,
                        delivered_at=delivered, withdrawn_at=withdrawn)


def delivered(key: str, requested: datetime, done: datetime, no: int = 1) -> HandoffCycle:
    return cycle(key, requested, DONE, no, delivered=done)


def stages(initiatives: Sequence[JiraIssue], children: Sequence[JiraIssue] = (), cycles: Sequence[HandoffCycle] = (),
           changed: Mapping[str, Sequence[datetime]] | None = None, quarter: Quarter = Q4,
           team_of: Mapping[str, str | None] | None = None) -> list[InitiativeStage]:
    return initiative_stages(initiatives, children, cycles, changed or {}, quarter, team_of or {})


def only(*args, **kwargs) -> InitiativeStage:
    (stage,) = stages(*args, **kwargs)
    return stage


# -- quarters ----------------------------------------------------------------------------------


def test_quarter_bounds_are_local_midnights_in_utc() -> None:
    assert (Q4.label, Q4.start, Q4.end) == ("2026-Q4", datetime(2026, 9, 30, 23, tzinfo=UTC),
                                            datetime(2027, 1, 1, tzinfo=UTC))  # BST -> GMT
    q2 = quarter_named("2026-Q2", LONDON)
    assert (q2.start, q2.end) == (datetime(2026, 3, 31, 23, tzinfo=UTC), datetime(2026, 6, 30, 23, tzinfo=UTC))
    utc = quarter_named("2026-Q4", ZoneInfo("UTC"))
    assert (utc.start, utc.end) == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    tokyo = quarter_named("2027-Q1", ZoneInfo("Asia/Tokyo"))
    assert tokyo.start == datetime(2026, 12, 31, 15, tzinfo=UTC)


def test_quarter_of_an_instant_depends_on_the_timezone() -> None:
    just_after = datetime(2026, 9, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 October in London
    assert quarter_of(just_after, LONDON).label == "2026-Q4"
    assert quarter_of(just_after, ZoneInfo("UTC")).label == "2026-Q3"
    assert quarter_of(datetime(2026, 9, 30, 23, tzinfo=UTC), LONDON).label == "2026-Q4"  # start is inclusive
    assert quarter_of(datetime(2026, 9, 30, 22, 59, 59, tzinfo=UTC), LONDON).label == "2026-Q3"
    new_year_utc = datetime(2027, 1, 1, 3, tzinfo=UTC)  # still 31 December in California
    assert quarter_of(new_year_utc, ZoneInfo("America/Los_Angeles")).label == "2026-Q4"
    assert quarter_of(new_year_utc, LONDON) == Q1


@pytest.mark.parametrize("text", ["2026-Q4", "2026q4", " 2026 - q4 ", "2026Q4"])
def test_quarter_names_accept_the_usual_spellings(text: str) -> None:
    assert quarter_named(text, LONDON) == Q4


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "26-Q4", "2026", "Q4-2026", "", "2026-Q4x", "20a6-Q1"])
def test_quarter_names_otherwise_are_refused_naming_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="such as 2026-Q4"):
        quarter_named(text, LONDON)


def test_previous_quarter_crosses_the_year_and_the_quarters_tile() -> None:
    assert previous_quarter(Q1, LONDON) == Q4
    assert previous_quarter(Q4, LONDON) == Q3
    assert Q3.end == Q4.start and Q4.end == Q1.start


# -- active --------------------------------------------------------------------------------------


def test_an_initiative_without_children_or_changes_is_not_active() -> None:
    stage = only([epic("VIS-1")])
    assert (stage.stage, stage.children, stage.first_handoff_at, stage.waiting_since) == (None, 0, None, None)


def test_an_initiative_created_in_the_quarter_is_active() -> None:
    assert only([epic("VIS-1", created=q4(3))]).stage == ACTIVE
    assert only([epic("VIS-1", created=q4(3))], quarter=Q3).stage is None  # created after Q3 ended


def test_a_change_to_the_initiative_or_a_child_makes_it_active() -> None:
    assert only([epic("VIS-1")], changed={"VIS-1": [q4(1)]}).stage == ACTIVE
    children = [issue("VIS-2", parent="VIS-1")]
    assert only([epic("VIS-1")], children, changed={"VIS-2": [q4(80)]}).stage == ACTIVE
    assert only([epic("VIS-1")], [issue("VIS-2", parent="VIS-1", created=q4(2))]).stage == ACTIVE


def test_a_child_changed_in_another_quarter_does_not_make_it_active() -> None:
    children = [issue("VIS-2", parent="VIS-1")]
    before, after = Q4.start - timedelta(seconds=1), Q4.end
    stage = only([epic("VIS-1")], children, changed={"VIS-2": [Q3.start, before, after]})
    assert stage.stage is None
    assert only([epic("VIS-1")], children, changed={"VIS-2": [before]}, quarter=Q3).stage == ACTIVE


def test_the_quarter_starts_at_local_midnight() -> None:
    children = [issue("VIS-2", parent="VIS-1")]
    at_midnight = datetime(2026, 9, 30, 23, tzinfo=UTC)  # 00:00 BST on 1 October
    assert only([epic("VIS-1")], children, changed={"VIS-2": [at_midnight]}).stage == ACTIVE
    assert only([epic("VIS-1")], children, changed={"VIS-2": [at_midnight]}, quarter=Q3).stage is None
    late_evening = datetime(2026, 9, 30, 22, 30, tzinfo=UTC)  # 23:30 BST on 30 September: still Q3
    assert only([epic("VIS-1")], children, changed={"VIS-2": [late_evening]}).stage is None
    assert quarter_of(late_evening, ZoneInfo("UTC")).label == "2026-Q3"
    utc_q4 = quarter_named("2026-Q4", ZoneInfo("UTC"))
    assert only([epic("VIS-1")], children, changed={"VIS-2": [at_midnight]}, quarter=utc_q4).stage is None


def test_children_are_the_issues_whose_parent_is_the_initiative() -> None:
    children = [issue("VIS-2", parent="VIS-1"), issue("VIS-3", parent="VIS-1"), issue("VIS-4", parent="VIS-8"),
                issue("VIS-5")]
    a, b = stages([epic("VIS-1"), epic("VIS-8")], children, changed={"VIS-5": [q4(1)], "VIS-4": [q4(1)]})
    assert (a.initiative.key, a.children, a.stage) == ("VIS-1", 2, None)  # VIS-5 has no parent, VIS-4 another
    assert (b.initiative.key, b.children, b.stage) == ("VIS-8", 1, ACTIVE)


def test_grandchildren_are_not_part_of_the_initiative() -> None:
    """Only direct children (parent / Epic Link) count: a sub-task of a story of the epic, its
    changes and its handoffs, are not the epic's (the store reads only direct children too)."""
    family = [issue("VIS-2", parent="VIS-1"), issue("VIS-3", "Sub-task", parent="VIS-2")]
    stage = only([epic("VIS-1")], family, [delivered("VIS-3", q4(2), q4(5))], changed={"VIS-3": [q4(2), q4(5)]})
    assert (stage.stage, stage.children, stage.first_handoff_at) == (None, 1, None)
    stage = only([epic("VIS-1")], family, [cycle("VIS-3", q4(2))], changed={"VIS-2": [q4(1)]})
    assert (stage.stage, stage.waiting_since) == (ACTIVE, None)


# -- handed off and delivered --------------------------------------------------------------------


def test_an_initiative_without_children_can_itself_be_the_handoff() -> None:
    stage = only([epic("VIS-1")], cycles=[cycle("VIS-1", q4(4))], changed={"VIS-1": [q4(4)]})
    assert (stage.stage, stage.children, stage.first_handoff_at) == (HANDED_OFF, 0, q4(4))
    assert (stage.waiting_since, stage.waiting_key) == (q4(4), "VIS-1")
    done = only([epic("VIS-1")], cycles=[delivered("VIS-1", q4(4), q4(9))], changed={"VIS-1": [q4(4)]})
    assert (done.stage, done.time_to_production_seconds) == (DELIVERED, 5 * DAY)


def test_active_without_a_handoff_stays_active() -> None:
    stage = only([epic("VIS-1")], [issue("VIS-2", parent="VIS-1")], changed={"VIS-2": [q4(1)]})
    assert (stage.stage, stage.first_handoff_at, stage.first_delivered_at) == (ACTIVE, None, None)
    assert stage.time_to_production_seconds is None


def test_a_handoff_on_an_inactive_initiative_gives_it_no_stage() -> None:
    """Handed off in Q3, untouched in Q4: no stage in Q4 (though still waiting, see below)."""
    children = [issue("VIS-2", parent="VIS-1")]
    stage = only([epic("VIS-1")], children, [cycle("VIS-2", Q3.start + timedelta(days=5))],
                 changed={"VIS-2": [Q3.start + timedelta(days=5)]})
    assert stage.stage is None
    assert stage.first_handoff_at == Q3.start + timedelta(days=5)
    touched = only([epic("VIS-1")], children, [cycle("VIS-2", Q3.start + timedelta(days=5))],
                   changed={"VIS-1": [q4(40)]})
    assert (touched.stage, touched.first_handoff_at) == (HANDED_OFF, Q3.start + timedelta(days=5))  # counts again


def test_a_cycle_withdrawn_after_the_quarter_is_no_handoff_of_that_quarter_either() -> None:
    """Stages are computed from the cycles as they are now: a Q3 request withdrawn in Q4 handed
    nothing over, so Q3 no longer counts it (the past quarter's figure can go down)."""
    children = [issue("VIS-2", parent="VIS-1")]
    asked = Q3.start + timedelta(days=5)
    gone = cycle("VIS-2", asked, GONE, withdrawn=q4(1))
    stage = only([epic("VIS-1")], children, [gone], changed={"VIS-2": [asked, q4(1)]}, quarter=Q3)
    assert (stage.stage, stage.first_handoff_at) == (ACTIVE, None)


def test_a_withdrawn_cycle_is_no_handoff() -> None:
    children = [issue("VIS-2", parent="VIS-1")]
    gone = cycle("VIS-2", q4(2), GONE, withdrawn=q4(3))
    stage = only([epic("VIS-1")], children, [gone], changed={"VIS-2": [q4(2), q4(3)]})
    assert (stage.stage, stage.first_handoff_at, stage.waiting_since) == (ACTIVE, None, None)


def test_re_added_handoffs_the_first_request_counts() -> None:
    children = [issue("VIS-2", parent="VIS-1")]
    first, again = delivered("VIS-2", q4(2), q4(6), no=1), cycle("VIS-2", q4(20), OPEN, no=2)
    stage = only([epic("VIS-1")], children, [again, first], changed={"VIS-2": [q4(2)]})
    assert (stage.stage, stage.first_handoff_at, stage.first_delivered_at) == (DELIVERED, q4(2), q4(6))
    assert (stage.time_to_production_seconds, stage.waiting_since, stage.waiting_key) == (4 * DAY, q4(20), "VIS-2")


def test_a_withdrawn_first_cycle_leaves_the_re_added_one_as_the_first_handoff() -> None:
    children = [issue("VIS-2", parent="VIS-1")]
    cycles = [cycle("VIS-2", q4(2), GONE, no=1, withdrawn=q4(3)), delivered("VIS-2", q4(10), q4(13), no=2)]
    stage = only([epic("VIS-1")], children, cycles, changed={"VIS-2": [q4(2)]})
    assert (stage.first_handoff_at, stage.time_to_production_seconds) == (q4(10), 3 * DAY)


def test_the_first_handoff_and_first_delivery_may_be_on_different_children() -> None:
    """Time to production runs from the initiative's first request (VIS-2, never delivered) to
    its first delivery (VIS-3)."""
    children = [issue("VIS-2", parent="VIS-1"), issue("VIS-3", parent="VIS-1")]
    cycles = [cycle("VIS-2", q4(1), PICKED), delivered("VIS-3", q4(5), q4(7)), delivered("VIS-1", q4(6), q4(30))]
    stage = only([epic("VIS-1")], children, cycles, changed={"VIS-3": [q4(5)]})
    assert (stage.stage, stage.children, stage.first_handoff_at, stage.first_delivered_at) == (DELIVERED, 2, q4(1),
                                                                                                 q4(7))
    assert stage.time_to_production_seconds == 6 * DAY


def test_a_handoff_requested_after_the_quarter_does_not_count_in_it() -> None:
    children = [issue("VIS-2", parent="VIS-1")]
    later = cycle("VIS-2", Q4.end + timedelta(days=2))
    stage = only([epic("VIS-1")], children, [later], changed={"VIS-2": [q4(1)]})
    assert (stage.stage, stage.first_handoff_at) == (ACTIVE, None)
    assert stage.waiting_since == Q4.end + timedelta(days=2)  # waiting is about now, whatever the quarter


def test_delivered_late_handoff_in_one_quarter_delivery_in_the_next() -> None:
    """Requested in Q3, delivered in Q4: handed off (not delivered) in Q3, delivered in Q4 with the
    whole time from the Q3 request; later quarters count it delivered again only while active."""
    children = [issue("VIS-2", parent="VIS-1")]
    asked, done = Q3.end - timedelta(days=10), q4(20)
    cycles = [delivered("VIS-2", asked, done)]
    changed = {"VIS-2": [asked, asked + timedelta(hours=1), done]}  # label, In Progress, Done
    in_q3 = only([epic("VIS-1")], children, cycles, changed, quarter=Q3)
    assert (in_q3.stage, in_q3.first_handoff_at, in_q3.first_delivered_at) == (HANDED_OFF, asked, None)
    assert in_q3.time_to_production_seconds is None
    in_q4 = only([epic("VIS-1")], children, cycles, changed, quarter=Q4)
    assert (in_q4.stage, in_q4.first_handoff_at, in_q4.first_delivered_at) == (DELIVERED, asked, done)
    assert in_q4.time_to_production_seconds == 30 * DAY
    assert only([epic("VIS-1")], children, cycles, changed, quarter=Q1).stage is None
    touched = {"VIS-2": [*changed["VIS-2"], Q1.start + timedelta(days=3)]}
    assert only([epic("VIS-1")], children, cycles, touched, quarter=Q1).stage == DELIVERED
    assert funnel(stages([epic("VIS-1")], children, cycles, changed, quarter=Q3), Q3).delivered == 0
    assert funnel(stages([epic("VIS-1")], children, cycles, changed, quarter=Q4), Q4).delivered == 1


def test_a_delivery_after_the_quarter_does_not_count_in_it() -> None:
    children = [issue("VIS-2", parent="VIS-1")]
    stage = only([epic("VIS-1")], children, [delivered("VIS-2", q4(5), Q4.end)], changed={"VIS-2": [q4(5)]})
    assert (stage.stage, stage.first_delivered_at) == (HANDED_OFF, None)


# -- which issues are initiatives ----------------------------------------------------------------


def test_initiatives_are_issues_of_the_configured_types() -> None:
    default = ResearchSettings()
    assert default.is_initiative("Epic", "VIS") and default.is_initiative("epic", "ANY")
    assert not default.is_initiative("Story", "VIS")
    several = ResearchSettings(initiative_issue_types=("Initiative", "Research Spike"))
    assert several.is_initiative("research spike", "VIS") and not several.is_initiative("Epic", "VIS")


def test_initiative_projects_leave_out_an_epic_of_another_project() -> None:
    limited = ResearchSettings(initiative_projects=("VIS", "nlp"))
    assert limited.is_initiative("Epic", "vis") and limited.is_initiative("Epic", "NLP")
    assert not limited.is_initiative("Epic", "OPS")


def _settings(research: dict):
    return settings_from_mapping({"timezone": "Europe/London", "research": research,
                                  "team": [{"name": "vision", "members": ["U0VIS1"], "jira_projects": ["VIS"]}]}, {})


def test_the_read_path_applies_initiative_projects_and_direct_children(store) -> None:
    """The store's selection agrees with `is_initiative`: an Epic of OPS is left out under
    `initiative_projects = ["VIS"]`; the epic's story counts, the story's sub-task does not."""
    rules = HandoffRules(labels=frozenset({"research-handoff"}))
    record_jira_issue(store, stored_issue("VIS-1", "Epic", LONG_AGO), [], rules)
    record_jira_issue(store, stored_issue("VIS-2", "Story", LONG_AGO, parent="VIS-1"),
                      [labelled("VIS-2", q4(2), 1)], rules)
    record_jira_issue(store, stored_issue("VIS-3", "Sub-task", LONG_AGO, parent="VIS-2"),
                      [labelled("VIS-3", q4(1), 1), moved("VIS-3", q4(3), 2, "Done")], rules)
    record_jira_issue(store, stored_issue("OPS-1", "Epic", LONG_AGO), [moved("OPS-1", q4(1), 1, "In Progress")], rules)
    got = ResearchQueries(store, _settings({"initiative_projects": ["VIS"]})).stages(Q4)
    assert [(s.initiative.key, s.team, s.stage, s.children, s.first_handoff_at) for s in got] == [
        ("VIS-1", "vision", HANDED_OFF, 1, q4(2))]
    everywhere = ResearchQueries(store, _settings({})).stages(Q4)
    assert [(s.initiative.key, s.team, s.stage) for s in everywhere] == [("OPS-1", None, ACTIVE),
                                                                          ("VIS-1", "vision", HANDED_OFF)]


# -- the funnel ----------------------------------------------------------------------------------


def _org() -> list[InitiativeStage]:
    """Five initiatives in Q4: VIS-1 delivered in 4 days, NLP-1 delivered in 10 days, VIS-5 handed
    off and waiting, NLP-5 active only, VIS-9 untouched (a Q3 handoff still waiting)."""
    initiatives = [epic(k) for k in ("VIS-1", "NLP-1", "VIS-5", "NLP-5", "VIS-9")]
    children = [issue("VIS-2", parent="VIS-1"), issue("NLP-2", parent="NLP-1"), issue("VIS-6", parent="VIS-5"),
                issue("VIS-10", parent="VIS-9")]
    cycles = [delivered("VIS-2", q4(1), q4(5)), delivered("NLP-2", q4(2), q4(12)), cycle("VIS-6", q4(8)),
              cycle("VIS-10", Q3.start + timedelta(days=3))]
    changed = {"VIS-2": [q4(1)], "NLP-2": [q4(2)], "VIS-6": [q4(8)], "NLP-5": [q4(9)],
               "VIS-10": [Q3.start + timedelta(days=3)]}
    team_of = {"VIS-1": "vision", "VIS-5": "vision", "VIS-9": "vision", "NLP-1": "language", "NLP-5": None}
    return stages(initiatives, children, cycles, changed, Q4, team_of)


def test_the_funnel_nests_its_stages_and_converts_delivered_over_active() -> None:
    f = funnel(_org(), Q4)
    assert (f.quarter, f.active, f.handed_off, f.delivered) == ("2026-Q4", 4, 3, 2)
    assert f.conversion == 0.5
    assert f.median_time_to_production_seconds == 7 * DAY  # median of 4 and 10 days


def test_an_empty_funnel_has_no_conversion_and_no_median() -> None:
    f = funnel([], Q4)
    assert (f.active, f.handed_off, f.delivered, f.median_time_to_production_seconds, f.waiting) == (0, 0, 0, None, [])
    assert f.conversion is None
    quiet = funnel(stages([epic("VIS-1")]), Q4)
    assert (quiet.active, quiet.conversion) == (0, None)


@pytest.mark.parametrize("days, median", [([3], 3), ([1, 2, 10], 2), ([1, 2, 10, 20], 6), ([5, 1, 4, 2, 3, 9], 3.5)])
def test_the_median_time_to_production_with_odd_and_even_counts(days: list[float], median: float) -> None:
    initiatives = [epic(f"VIS-{i}") for i in range(len(days))]
    cycles = [delivered(f"VIS-{i}", q4(1), q4(1 + d)) for i, d in enumerate(days)]
    changed = {f"VIS-{i}": [q4(1)] for i in range(len(days))}
    assert funnel(stages(initiatives, cycles=cycles, changed=changed), Q4).median_time_to_production_seconds == (
        median * DAY)


def test_the_median_is_over_delivered_initiatives_of_the_quarter_only() -> None:
    """A handed-off initiative adds nothing to the median; nor does an inactive delivered one."""
    initiatives = [epic("VIS-1"), epic("VIS-2"), epic("VIS-3")]
    cycles = [delivered("VIS-1", q4(1), q4(3)), cycle("VIS-2", q4(1), PICKED),
              delivered("VIS-3", Q3.start, Q3.start + timedelta(days=50))]
    f = funnel(stages(initiatives, cycles=cycles, changed={"VIS-1": [q4(1)], "VIS-2": [q4(1)]}), Q4)
    assert (f.active, f.handed_off, f.delivered, f.median_time_to_production_seconds) == (2, 2, 1, 2 * DAY)


def test_waiting_lists_open_handoffs_now_oldest_first_active_or_not() -> None:
    f = funnel(_org(), Q4)
    assert [(s.initiative.key, s.waiting_key, s.waiting_since, s.stage) for s in f.waiting] == [
        ("VIS-9", "VIS-10", Q3.start + timedelta(days=3), None),  # the valley of death: untouched since Q3
        ("VIS-5", "VIS-6", q4(8), HANDED_OFF)]


def test_waiting_means_not_yet_picked_up_and_not_withdrawn() -> None:
    """As the docstring says: picked up (engineering has it) and delivered are not waiting;
    nor is a withdrawn cycle. Ties are broken by initiative key."""
    initiatives = [epic(k) for k in ("VIS-1", "VIS-2", "VIS-3", "VIS-4", "VIS-5", "VIS-6")]
    cycles = [cycle("VIS-1", q4(1), PICKED), delivered("VIS-2", q4(1), q4(2)),
              cycle("VIS-3", q4(1), GONE, withdrawn=q4(2)), cycle("VIS-6", q4(4)), cycle("VIS-5", q4(4)),
              cycle("VIS-4", q4(6)), cycle("VIS-4", q4(9), no=2)]
    f = funnel(stages(initiatives, cycles=cycles), Q4)
    assert [(s.initiative.key, s.waiting_since) for s in f.waiting] == [("VIS-5", q4(4)), ("VIS-6", q4(4)),
                                                                       ("VIS-4", q4(6))]


def test_an_initiative_waits_since_its_oldest_open_handoff() -> None:
    children = [issue("VIS-2", parent="VIS-1"), issue("VIS-3", parent="VIS-1")]
    cycles = [cycle("VIS-2", q4(10)), cycle("VIS-3", q4(4)), delivered("VIS-1", q4(1), q4(2))]
    stage = only([epic("VIS-1")], children, cycles, changed={"VIS-1": [q4(1)]})
    assert (stage.stage, stage.waiting_since, stage.waiting_key) == (DELIVERED, q4(4), "VIS-3")
    assert funnel([stage], Q4).waiting == [stage]


# -- per team ------------------------------------------------------------------------------------


def test_funnel_by_team_splits_by_the_initiatives_team_no_team_last() -> None:
    by_team = funnel_by_team(_org(), Q4, NO_TEAM)
    assert list(by_team) == ["language", "vision", NO_TEAM]
    counts = {t: (f.active, f.handed_off, f.delivered, f.median_time_to_production_seconds,
                  [s.initiative.key for s in f.waiting]) for t, f in by_team.items()}
    assert counts == {"language": (1, 1, 1, 10 * DAY, []), "vision": (2, 2, 1, 4 * DAY, ["VIS-9", "VIS-5"]),
                      NO_TEAM: (1, 0, 0, None, [])}
    assert sum(f.active for f in by_team.values()) == funnel(_org(), Q4).active


def test_funnel_by_team_orders_names_without_case_and_keeps_teams_with_nothing_active() -> None:
    initiatives = [epic(k) for k in ("A-1", "B-1", "C-1", "D-1")]
    team_of = {"A-1": "Zeta", "B-1": "alpha", "C-1": "Beta", "D-1": None}
    by_team = funnel_by_team(stages(initiatives, changed={"A-1": [q4(1)]}, team_of=team_of), Q4, "(none)")
    assert list(by_team) == ["alpha", "Beta", "Zeta", "(none)"]
    assert [f.active for f in by_team.values()] == [0, 0, 1, 0]
    assert all(f.quarter == "2026-Q4" for f in by_team.values())


def test_an_initiative_belongs_to_its_projects_team_else_its_reporters() -> None:
    """How the read path fills `team_of` (`team_for`): the team whose `jira_projects` holds the
    initiative's project, else the team its reporter is a member of; its children's projects
    play no part."""
    teams = (Team("vision", ("U0VIS1",), ("VIS",)), Team("language", ("U0NLP1", "U0VIS1"), ("NLP",)))
    assert team_for("VIS", "U0NLP1", teams) == "vision"
    assert team_for("RES", "U0NLP1", teams) == "language"
    assert team_for("RES", "U0VIS1", teams) == "vision"  # first team in config order
    assert team_for("RES", None, teams) is None
    team_of = {"VIS-1": team_for("VIS", None, teams)}
    children = [issue("NLP-7", parent="VIS-1")]
    by_team = funnel_by_team(stages([epic("VIS-1")], children, [cycle("NLP-7", q4(1))], {"NLP-7": [q4(1)]},
                                    team_of=team_of), Q4, NO_TEAM)
    assert {t: f.handed_off for t, f in by_team.items()} == {"vision": 1}
