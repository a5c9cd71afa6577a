"""Handoff cycles from Jira changelogs, waits, percentiles, windows and statistics."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import JiraSettings, Team
from bot.metrics.handoffs import (
    WINDOWS,
    HandoffRules,
    HandoffStats,
    business_wait_seconds,
    derive_cycles,
    issue_timeline,
    parse_window,
    percentile,
    productionization_seconds,
    summarize,
    summarize_by_team,
    team_for,
    wait_seconds,
    window_start,
)
from bot.metrics.workcal import WorkCalendar
from bot.models import ChangeItem, HandoffCycle, HandoffState, HandoffView, JiraIssue

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
H = 3600.0
LABEL = "research-handoff"
RULES = HandoffRules(
    labels=frozenset({LABEL}),
    ready_statuses=frozenset({"Ready for Engineering"}),
    pickup_statuses=frozenset({"In Progress"}),
    done_statuses=frozenset({"Done"}),
)
OPEN, PICKED, DONE, GONE = (
    HandoffState.OPEN,
    HandoffState.PICKED_UP,
    HandoffState.DELIVERED,
    HandoffState.WITHDRAWN,
)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def issue(labels: tuple[str, ...] = (), status: str = "To Do") -> JiraIssue:
    return JiraIssue(
        key="RES-1", id="10001", project="RES", summary="Model v2", issue_type="Task", status=status,
        labels=labels, created=T0, updated=T0, url="https://jira.example/browse/RES-1",
        reporter_name="Rita", reporter_email="rita@example.com", reporter_account_id="acc-rita",
    )  # fmt: skip


def item(hid: int | str, hours: float, field: str, frm: str | None, to: str | None, idx: int = 0, who: str = "Alice"):
    return ChangeItem(
        issue_key="RES-1", history_id=str(hid), item_index=idx, created=at(hours), field=field,
        from_string=frm, to_string=to, author_name=who, author_email=f"{who.lower()}@example.com",
        author_account_id=f"acc-{who.lower()}",
    )  # fmt: skip


def lab(hid: int | str, hours: float, frm: str | None, to: str | None, idx: int = 0, who: str = "Alice"):
    return item(hid, hours, "labels", frm, to, idx, who)


def st(hid: int | str, hours: float, frm: str, to: str, idx: int = 0, who: str = "Bob"):
    return item(hid, hours, "status", frm, to, idx, who)


def summary(cycles: list[HandoffCycle]) -> list[tuple]:
    """(cycle_no, state, requested, picked_up, delivered, withdrawn) with times as hours after T0."""

    def h(t: datetime | None) -> float | None:
        return None if t is None else (t - T0).total_seconds() / H

    return [
        (c.cycle_no, c.state, h(c.requested_at), h(c.picked_up_at), h(c.delivered_at), h(c.withdrawn_at))
        for c in cycles
    ]


# -- requested -----------------------------------------------------------------------------


def test_label_added_is_a_set_difference() -> None:
    cycles = derive_cycles(issue((LABEL, "a", "b")), [lab(1, 2, "a b", f"a b {LABEL}")], RULES)
    assert summary(cycles) == [(1, OPEN, 2.0, None, None, None)]
    c = cycles[0]
    assert (c.issue_key, c.requested_by_name, c.requested_by_email, c.requested_by_account_id) == (
        "RES-1", "Alice", "alice@example.com", "acc-alice",
    )  # fmt: skip


def test_reordered_labels_are_not_an_add_or_a_removal() -> None:
    assert derive_cycles(issue(("a", "b")), [lab(1, 2, "b a", "a b")], RULES) == []
    cycles = derive_cycles(issue((LABEL, "x")), [lab(1, 2, f"{LABEL} x", f"x {LABEL}")], RULES)
    assert summary(cycles) == [(1, OPEN, 0.0, None, None, None)]


def test_other_label_containing_the_handoff_label_text_is_not_an_add() -> None:
    assert derive_cycles(issue((f"{LABEL}-old",)), [lab(1, 2, None, f"{LABEL}-old")], RULES) == []
    assert derive_cycles(issue(("Research-Handoff",)), [lab(1, 2, "", "Research-Handoff")], RULES) == []


def test_created_with_label_is_requested_at_creation_by_reporter() -> None:
    cycles = derive_cycles(issue((LABEL,)), [], RULES)
    assert summary(cycles) == [(1, OPEN, 0.0, None, None, None)]
    assert (cycles[0].requested_by_name, cycles[0].requested_by_account_id) == ("Rita", "acc-rita")


def test_initial_labels_come_from_the_first_labels_item() -> None:
    # the label is gone now, but the first labels item shows the issue was created with it
    cycles = derive_cycles(issue(()), [lab(1, 5, LABEL, None)], RULES)
    assert summary(cycles) == [(1, GONE, 0.0, None, None, 5.0)]
    # current labels hold it, the first item shows it was added later: not created with it
    assert summary(derive_cycles(issue((LABEL,)), [lab(1, 5, "", LABEL)], RULES)) == [(1, OPEN, 5.0, None, None, None)]


def test_ready_status_with_label_after_delivery_starts_a_new_cycle() -> None:
    items = [st(1, 1, "To Do", "In Progress"), st(2, 2, "In Progress", "Done"),
             st(3, 5, "Done", "READY FOR ENGINEERING", who="Carol")]  # fmt: skip
    cycles = derive_cycles(issue((LABEL,)), items, RULES)
    assert summary(cycles) == [(1, DONE, 0.0, 1.0, 2.0, None), (2, OPEN, 5.0, None, None, None)]
    assert cycles[1].requested_by_name == "Carol"


def test_ready_status_without_label_or_with_active_cycle_does_nothing() -> None:
    assert derive_cycles(issue(), [st(1, 1, "To Do", "Ready for Engineering")], RULES) == []
    items = [st(1, 1, "To Do", "Ready for Engineering"), st(2, 2, "Ready for Engineering", "To Do"),
             st(3, 3, "To Do", "Ready for Engineering")]  # fmt: skip
    assert summary(derive_cycles(issue((LABEL,)), items, RULES)) == [(1, OPEN, 0.0, None, None, None)]


def test_label_added_while_already_in_ready_status() -> None:
    items = [st(1, 1, "To Do", "Ready for Engineering"), lab(2, 3, None, LABEL)]
    assert summary(derive_cycles(issue((LABEL,)), items, RULES)) == [(1, OPEN, 3.0, None, None, None)]


# -- picked up, delivered, withdrawn -------------------------------------------------------


def test_pick_up_and_delivery() -> None:
    items = [lab(1, 1, None, LABEL), st(2, 3, "To Do", "In Progress", who="Bob"),
             st(3, 4, "In Progress", "In Review"), st(4, 5, "In Review", "In Progress", who="Dan"),
             st(5, 10, "In Progress", "Done")]  # fmt: skip
    cycles = derive_cycles(issue((LABEL,)), items, RULES)
    assert summary(cycles) == [(1, DONE, 1.0, 3.0, 10.0, None)]
    assert cycles[0].picked_up_by_name == "Bob"
    assert summary(derive_cycles(issue((LABEL,)), items[:4], RULES)) == [(1, PICKED, 1.0, 3.0, None, None)]


def test_pick_up_before_request_does_not_count() -> None:
    items = [st(1, 1, "To Do", "In Progress"), lab(2, 2, None, LABEL)]
    assert summary(derive_cycles(issue((LABEL,)), items, RULES)) == [(1, OPEN, 2.0, None, None, None)]


def test_direct_to_done_is_picked_up_and_delivered_at_once() -> None:
    cycles = derive_cycles(issue((LABEL,)), [st(1, 7, "To Do", "Done", who="Eve")], RULES)
    assert summary(cycles) == [(1, DONE, 0.0, 7.0, 7.0, None)]
    assert cycles[0].picked_up_by_name == "Eve"
    assert productionization_seconds(cycles[0]) == 0.0


def test_case_insensitive_statuses_and_field_names() -> None:
    items = [item(1, 1, "Labels", "", LABEL), item(2, 2, "Status", "to do", "in progress"),
             item(3, 3, "STATUS", "in progress", "DONE")]  # fmt: skip
    assert summary(derive_cycles(issue((LABEL,)), items, RULES)) == [(1, DONE, 1.0, 2.0, 3.0, None)]


def test_withdrawal_before_pick_up() -> None:
    items = [lab(1, 1, "a", f"a {LABEL}"), lab(2, 2, f"a {LABEL}", "a"), st(3, 3, "To Do", "In Progress")]
    assert summary(derive_cycles(issue(("a",)), items, RULES)) == [(1, GONE, 1.0, None, None, 2.0)]


def test_readd_starts_new_cycles_numbered_in_order() -> None:
    items = [lab(1, 1, None, LABEL), lab(2, 2, LABEL, None), lab(3, 5, None, LABEL, who="Carol"),
             st(4, 6, "To Do", "In Progress"), st(5, 8, "In Progress", "Done"),
             lab(6, 9, LABEL, ""), lab(7, 12, "", LABEL)]  # fmt: skip
    cycles = derive_cycles(issue((LABEL,)), items, RULES)
    assert summary(cycles) == [
        (1, GONE, 1.0, None, None, 2.0),
        (2, DONE, 5.0, 6.0, 8.0, None),
        (3, OPEN, 12.0, None, None, None),
    ]
    assert [c.requested_by_name for c in cycles] == ["Alice", "Carol", "Alice"]


def test_label_edits_while_still_labelled_after_delivery_do_not_request() -> None:
    rules = HandoffRules(frozenset({LABEL, "ml-handoff"}), frozenset(), frozenset({"In Progress"}), frozenset({"Done"}))
    items = [st(1, 1, "To Do", "Done"), lab(2, 2, LABEL, f"{LABEL} x"), lab(3, 3, f"{LABEL} x", f"{LABEL} x ml-handoff")]
    assert summary(derive_cycles(issue((LABEL, "x", "ml-handoff")), items, rules)) == [(1, DONE, 0.0, 1.0, 1.0, None)]


def test_label_removed_after_pick_up_does_not_end_the_cycle() -> None:
    items = [st(1, 2, "To Do", "In Progress"), lab(2, 3, LABEL, None), lab(3, 4, None, LABEL),
             st(4, 6, "In Progress", "Done")]  # fmt: skip
    assert summary(derive_cycles(issue((LABEL,)), items, RULES)) == [(1, DONE, 0.0, 2.0, 6.0, None)]


# -- several items per history entry, ordering -------------------------------------------


def test_remove_and_readd_in_one_entry_keeps_the_cycle() -> None:
    items = [lab(7, 3, f"a {LABEL}", "a", idx=0), lab(7, 3, "a", f"a b {LABEL}", idx=1)]
    assert summary(derive_cycles(issue(("a", "b", LABEL)), items, RULES)) == [(1, OPEN, 0.0, None, None, None)]


def test_two_label_items_in_one_entry_applied_in_order() -> None:
    items = [lab(7, 3, "", "a", idx=0), lab(7, 3, "a", f"a {LABEL}", idx=1)]
    assert summary(derive_cycles(issue(("a", LABEL)), items, RULES)) == [(1, OPEN, 3.0, None, None, None)]
    removed = [lab(7, 3, f"a {LABEL}", LABEL, idx=0), lab(7, 3, LABEL, "", idx=1)]
    assert summary(derive_cycles(issue(()), removed, RULES)) == [(1, GONE, 0.0, None, None, 3.0)]


def test_label_removed_in_the_same_entry_as_pick_up_is_not_a_withdrawal() -> None:
    items = [lab(8, 4, LABEL, "", idx=0), st(8, 4, "To Do", "In Progress", idx=1)]
    assert summary(derive_cycles(issue(()), items, RULES)) == [(1, PICKED, 0.0, 4.0, None, None)]


def test_items_out_of_order_in_input() -> None:
    items = [lab(1, 1, None, LABEL), lab(2, 2, LABEL, None), lab(3, 5, None, LABEL),
             st(4, 6, "To Do", "In Progress"), st(5, 8, "In Progress", "Done")]  # fmt: skip
    expected = summary(derive_cycles(issue((LABEL,)), items, RULES))
    for seed in range(5):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        assert summary(derive_cycles(issue((LABEL,)), shuffled, RULES)) == expected


def test_same_time_orders_by_numeric_history_id_then_item_index() -> None:
    # "9" before "10" numerically (a string sort would put "10" first)
    items = [lab(10, 1, LABEL, ""), lab(9, 1, "", LABEL)]
    assert summary(derive_cycles(issue(()), items, RULES)) == [(1, GONE, 1.0, None, None, 1.0)]
    # item 1 listed first, applied second: requested, then picked up in the same entry
    items = [st(5, 1, "To Do", "In Progress", idx=1), lab(5, 1, "", LABEL, idx=0)]
    assert summary(derive_cycles(issue((LABEL,)), items, RULES)) == [(1, PICKED, 1.0, 1.0, None, None)]


def test_multiple_handoff_labels() -> None:
    rules = HandoffRules(frozenset({LABEL, "ml-handoff"}), frozenset(), frozenset({"In Progress"}), frozenset({"Done"}))
    items = [lab(1, 1, "", LABEL), lab(2, 2, LABEL, f"{LABEL} ml-handoff"), lab(3, 3, f"{LABEL} ml-handoff", "ml-handoff"),
             lab(4, 4, "ml-handoff", ""), lab(5, 6, "", "ml-handoff")]  # fmt: skip
    cycles = derive_cycles(issue(("ml-handoff",)), items, rules)
    assert summary(cycles) == [(1, GONE, 1.0, None, None, 4.0), (2, OPEN, 6.0, None, None, None)]
    # swapping one handoff label for another neither withdraws nor requests
    swap = [lab(1, 1, "", LABEL), lab(2, 2, LABEL, "ml-handoff")]
    assert summary(derive_cycles(issue(("ml-handoff",)), swap, rules)) == [(1, OPEN, 1.0, None, None, None)]


def test_rules_from_settings() -> None:
    rules = HandoffRules.from_settings(JiraSettings(handoff_labels=("A-Label",), ready_statuses=("Ready",)))
    assert rules == HandoffRules(frozenset({"A-Label"}), frozenset({"ready"}), frozenset({"in progress"}), frozenset({"done"}))


# -- timeline ------------------------------------------------------------------------------


def test_issue_timeline() -> None:
    items = [st(1, 1, "Backlog", "To Do"), lab(2, 2, "x", f"x {LABEL}", who="Alice"), lab(2, 2, "x", "x y", idx=1),
             lab(3, 3, f"x y {LABEL}", "x y"), lab(4, 4, "x y", f"x y {LABEL}", who="Carol"),
             st(5, 5, "To Do", "In Progress"), st(6, 6, "In Progress", "Done", who="Dan")]  # fmt: skip
    events = issue_timeline(issue(("x", "y", LABEL), status="Done"), items, RULES)
    assert [(round((e.at - T0).total_seconds() / H), e.kind, e.text, e.who) for e in events] == [
        (0, "created", "Created in Backlog", "Rita"),
        (1, "status", "Status: Backlog → To Do", "Bob"),
        (2, "label_added", f"Label added: {LABEL}", "Alice"),
        (2, "requested", "Handoff requested (cycle 1)", "Alice"),
        (3, "label_removed", f"Label removed: {LABEL}", "Alice"),
        (3, "withdrawn", "Withdrawn (cycle 1)", "Alice"),
        (4, "label_added", f"Label added: {LABEL}", "Carol"),
        (4, "requested", "Handoff requested (cycle 2)", "Carol"),
        (5, "status", "Status: To Do → In Progress", "Bob"),
        (5, "picked_up", "Picked up (cycle 2)", "Bob"),
        (6, "status", "Status: In Progress → Done", "Dan"),
        (6, "delivered", "Delivered (cycle 2)", "Dan"),
    ]


# -- waits ---------------------------------------------------------------------------------

CAL = WorkCalendar("UTC", range(5), time(9), time(18))


def cycle(req: datetime, picked: datetime | None = None, done: datetime | None = None,
          gone: datetime | None = None, no: int = 1) -> HandoffCycle:  # fmt: skip
    state = GONE if gone else DONE if done else PICKED if picked else OPEN
    return HandoffCycle("RES-1", no, req, state, picked_up_at=picked, delivered_at=done, withdrawn_at=gone)


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_waits_calendar_and_business() -> None:
    friday, monday, now = u(2024, 3, 8, 17), u(2024, 3, 11, 10), u(2024, 3, 12, 9)
    picked = cycle(friday, picked=monday)
    assert wait_seconds(picked, now) == 65 * H
    assert business_wait_seconds(picked, now, CAL) == 2 * H
    open_ = cycle(friday)
    assert wait_seconds(open_, now) == 88 * H
    assert business_wait_seconds(open_, now, CAL) == 10 * H
    gone = cycle(friday, gone=u(2024, 3, 9, 12))
    assert (wait_seconds(gone, now), business_wait_seconds(gone, now, CAL)) == (19 * H, 1 * H)
    delivered = cycle(friday, picked=monday, done=u(2024, 3, 11, 12))
    assert (wait_seconds(delivered, now), productionization_seconds(delivered)) == (65 * H, 2 * H)
    assert productionization_seconds(picked) is None
    assert wait_seconds(cycle(now + timedelta(hours=1)), now) == 0.0


# -- percentile ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([7.0], 0, 7.0), ([7.0], 50, 7.0), ([7.0], 90, 7.0),
        ([1.0, 3.0], 50, 2.0), ([3.0, 1.0], 90, 2.8), ([1.0, 3.0], 0, 1.0), ([1.0, 3.0], 100, 3.0),
        ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 0, 1.0), ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 25, 2.25),
        ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 33, 2.97), ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 50, 3.5),
        ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 75, 5.0), ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 90, 6.299999999999999),
        ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 100, 9.0), ([0.7, 0.1, 0.2], 90, 0.6), ([0.7, 0.1, 0.2], 35, 0.17),
    ],
)  # fmt: skip
def test_percentile_matches_numpy_linear(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected  # exact: the values numpy.percentile returns


def test_percentile_empty_and_bad_q() -> None:
    assert percentile([], 50) is None
    assert percentile(iter([2.0, 1.0]), 50) == 1.5
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


# -- windows -------------------------------------------------------------------------------


def test_parse_window() -> None:
    assert WINDOWS == ("7d", "30d", "90d", "quarter")
    assert [parse_window(w) for w in (" 7d", "30D", "90d", "Quarter ")] == ["7d", "30d", "90d", "quarter"]
    with pytest.raises(ValueError, match="'1y'.*7d, 30d, 90d, quarter"):
        parse_window("1y")
    with pytest.raises(ValueError):
        window_start("week", u(2024, 5, 15), ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("window", "now", "tz", "expected"),
    [
        ("7d", u(2024, 5, 15, 12), "UTC", u(2024, 5, 8, 12)),
        ("30d", u(2024, 5, 15, 12), "Europe/Berlin", u(2024, 4, 15, 12)),
        ("90d", u(2024, 5, 15, 12), "UTC", u(2024, 2, 15, 12)),
        ("quarter", u(2024, 5, 15, 12), "UTC", u(2024, 4, 1)),
        ("quarter", u(2024, 5, 15, 12), "Europe/Berlin", u(2024, 3, 31, 22)),
        ("quarter", u(2024, 5, 15, 12), "America/New_York", u(2024, 4, 1, 4)),
        ("quarter", u(2024, 3, 31, 23, 30), "Europe/Berlin", u(2024, 3, 31, 22)),  # already Q2 there
        ("quarter", u(2024, 3, 31, 23, 30), "America/New_York", u(2024, 1, 1, 5)),  # still Q1 there
        ("quarter", u(2024, 1, 15), "Europe/Berlin", u(2023, 12, 31, 23)),
        ("quarter", u(2024, 6, 30, 13), "Pacific/Auckland", u(2024, 6, 30, 12)),
        ("quarter", u(2024, 12, 31, 23), "UTC", u(2024, 10, 1)),
    ],
)
def test_window_start(window: str, now: datetime, tz: str, expected: datetime) -> None:
    start = window_start(window, now, ZoneInfo(tz))
    assert start == expected and start.utcoffset() == timedelta(0)


# -- statistics ----------------------------------------------------------------------------

NOW = u(2024, 3, 13, 12)  # Wednesday
START = NOW - timedelta(days=7)
CYCLES = [
    cycle(u(2024, 3, 4, 10), picked=u(2024, 3, 7, 10), done=u(2024, 3, 11, 10), no=1),  # picked+delivered in window
    cycle(u(2024, 3, 7, 9), picked=u(2024, 3, 7, 15), done=u(2024, 3, 12, 15), no=2),  # all in window
    cycle(u(2024, 3, 8, 17), no=3),  # open, 22 business hours
    cycle(u(2024, 3, 1, 9), no=4),  # open since before the window: oldest, over SLA
    cycle(u(2024, 3, 11, 9), gone=u(2024, 3, 11, 11), no=5),  # withdrawn
    cycle(u(2024, 2, 1, 9), picked=u(2024, 2, 2, 9), done=u(2024, 2, 5, 9), no=6),  # before the window
    cycle(u(2024, 3, 12, 9), picked=u(2024, 3, 13, 11), no=7),  # picked up in window
    cycle(u(2024, 3, 14, 9), no=8),  # after now: ignored
]


def test_summarize() -> None:
    assert summarize(CYCLES, NOW, START, CAL) == HandoffStats(
        requested=4, picked_up=3, delivered=2, withdrawn=1, open_now=2,
        median_wait_seconds=26 * H, p90_wait_seconds=226080.0,
        median_business_wait_seconds=11 * H, p90_business_wait_seconds=85680.0,
        median_productionization_seconds=108 * H, p90_productionization_seconds=423360.0,
        conversion=0.25, oldest_open_wait_seconds=291 * H, sla_breaches=1,
    )  # fmt: skip


def test_summarize_sla_threshold_and_past_now() -> None:
    assert summarize(CYCLES, NOW, START, CAL, sla_workdays=2).sla_breaches == 2
    assert summarize(CYCLES, NOW, START, CAL, sla_workdays=100).sla_breaches == 0
    # two hours earlier, cycle 7 was not yet picked up: open at that moment
    earlier = summarize(CYCLES, NOW - timedelta(hours=2), START, CAL)
    assert (earlier.open_now, earlier.picked_up) == (3, 2)


def test_summarize_empty() -> None:
    assert summarize([], NOW, START, CAL) == HandoffStats(0, 0, 0, 0, 0, None, None, None, None, None, None, None, None, 0)


def test_team_for_precedence() -> None:
    teams = [Team("vision", members=("U1",), jira_projects=("VIS",)), Team("nlp", members=("U2", "U1"), jira_projects=("NLP", "RES")),
             Team("infra", members=("U2",))]  # fmt: skip
    assert team_for("NLP", "U1", teams) == "nlp"  # project beats membership
    assert team_for("res", None, teams) == "nlp"  # project keys compare case-insensitively
    assert team_for("OPS", "U1", teams) == "vision"  # first team the requester belongs to
    assert team_for("OPS", "U2", teams) == "nlp"
    assert team_for("OPS", "U9", teams) is None
    assert team_for("OPS", None, teams) is None
    assert team_for("VIS", None, []) is None


def test_summarize_by_team() -> None:
    def view(c: HandoffCycle, team: str | None) -> HandoffView:
        return HandoffView(cycle=c, summary="s", project="RES", url="u", team=team)

    views = [view(CYCLES[0], "vision"), view(CYCLES[1], None), view(CYCLES[2], "nlp"), view(CYCLES[3], "vision")]
    stats = summarize_by_team(views, NOW, START, CAL)
    assert list(stats) == ["(no team)", "nlp", "vision"]
    assert stats["vision"] == summarize([CYCLES[0], CYCLES[3]], NOW, START, CAL)
    assert (stats["vision"].picked_up, stats["vision"].open_now, stats["vision"].sla_breaches) == (1, 1, 1)
    assert (stats["(no team)"].requested, stats["(no team)"].conversion) == (1, 1.0)
    assert (stats["nlp"].open_now, stats["nlp"].requested) == (1, 1)
    assert summarize_by_team([], NOW, START, CAL) == {}
