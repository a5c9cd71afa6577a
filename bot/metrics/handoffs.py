"""Research handoffs: cycles derived from a Jira issue's changelog, waits and statistics.

Definitions (all times UTC, `now` always a parameter):

- requested: the issue is created with a handoff label (at `issue.created`, by the
  reporter); or a handoff label is added - the issue goes from having no handoff label to
  having one - while no cycle is active; or it enters a ready status while labelled and no
  cycle is active. Active = open or picked up.
- picked up: the first later transition into a pickup status while the cycle is open.
- delivered: the first later transition into a done status after pick-up. A direct
  transition into a done status while open counts as picked up and delivered at that time.
- withdrawn: every handoff label removed while the cycle is open (before pick-up).
  Removing the label after pick-up does not end the cycle. A later re-add (or ready-status
  entry while labelled) with no active cycle starts a new cycle (cycle_no 1, 2, ...).
- wait = picked_up - requested (open: now - requested; withdrawn: withdrawn - requested),
  as calendar seconds and as business seconds (see `bot.metrics.workcal`).
- productionization = delivered - picked_up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, Sequence
from zoneinfo import ZoneInfo

from bot.models import ChangeItem, HandoffCycle, HandoffState, HandoffView, JiraIssue

if TYPE_CHECKING:
    from bot.config import JiraSettings, Team
    from bot.metrics.workcal import WorkCalendar

WINDOWS: tuple[str, ...] = ("7d", "30d", "90d", "quarter")
NO_TEAM = "(no team)"
_ACTIVE = (HandoffState.OPEN, HandoffState.PICKED_UP)


@dataclass(frozen=True)
class HandoffRules:
    """Which labels and statuses make a handoff. Statuses compare case-insensitively
    (they are stored casefolded); labels exactly (Jira labels are case-sensitive)."""

    labels: frozenset[str]
    ready_statuses: frozenset[str] = frozenset()
    pickup_statuses: frozenset[str] = frozenset({"in progress"})
    done_statuses: frozenset[str] = frozenset({"done"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", frozenset(self.labels))
        for name in ("ready_statuses", "pickup_statuses", "done_statuses"):
            object.__setattr__(self, name, frozenset(s.casefold() for s in getattr(self, name)))

    @classmethod
    def from_settings(cls, jira: JiraSettings) -> HandoffRules:
        return cls(
            labels=frozenset(jira.handoff_labels),
            ready_statuses=frozenset(jira.ready_statuses),
            pickup_statuses=frozenset(jira.pickup_statuses),
            done_statuses=frozenset(jira.done_statuses),
        )


@dataclass(frozen=True)
class TimelineEvent:
    """One handoff-relevant moment in an issue's history, for the `/handoffs KEY` view.

    kind: created, requested, picked_up, delivered, withdrawn, status, label_added, label_removed.
    """

    at: datetime
    kind: str
    text: str
    who: str | None = None


def _label_set(text: str | None) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def _sort_key(item: ChangeItem) -> tuple:
    hid = item.history_id.strip()
    order = (0, int(hid), "") if hid.isdigit() else (1, 0, hid)
    return (item.created, order, item.item_index)


def _entries(items: Sequence[ChangeItem]) -> list[list[ChangeItem]]:
    """Items in changelog order, grouped into history entries."""
    groups: list[list[ChangeItem]] = []
    for item in sorted(items, key=_sort_key):
        last = groups[-1][-1] if groups else None
        if last and last.history_id == item.history_id and last.created == item.created:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _replay(
    issue: JiraIssue, items: Sequence[ChangeItem], rules: HandoffRules
) -> tuple[list[HandoffCycle], list[TimelineEvent]]:
    """Replay the changelog; return the handoff cycles and the timeline, both in order.

    Items are applied in item order. Withdrawal is judged at the end of a history entry
    (one user action), so a remove+add of the label in one entry, or a label removal in the
    same entry as the pick-up transition, does not withdraw the cycle.
    """
    entries = _entries(items)
    flat = [i for e in entries for i in e]
    first_labels = next((i for i in flat if i.field.casefold() == "labels"), None)
    first_status = next((i for i in flat if i.field.casefold() == "status"), None)
    labels = set(_label_set(first_labels.from_string) if first_labels else issue.labels)
    status = (first_status.from_string if first_status else issue.status) or ""

    cycles: list[HandoffCycle] = []
    events = [TimelineEvent(issue.created, "created", f"Created in {status or 'no status'}", issue.reporter_name)]

    def note(at: datetime, kind: str, text: str, who: str | None) -> None:
        events.append(TimelineEvent(at, kind, text, who))

    def labelled() -> bool:
        return bool(labels & rules.labels)

    def active() -> HandoffCycle | None:
        return cycles[-1] if cycles and cycles[-1].state in _ACTIVE else None

    def request(at: datetime, name: str | None, email: str | None, account: str | None) -> None:
        no = len(cycles) + 1
        cycles.append(HandoffCycle(issue.key, no, at, HandoffState.OPEN, name, email, account))
        note(at, "requested", f"Handoff requested (cycle {no})", name)

    if labelled():
        request(issue.created, issue.reporter_name, issue.reporter_email, issue.reporter_account_id)

    for entry in entries:
        for item in entry:
            at, who = item.created, item.author_name
            field = item.field.casefold()
            if field == "labels":
                before, after = _label_set(item.from_string), _label_set(item.to_string)
                was = labelled()
                labels.difference_update(before - after)
                labels.update(after - before)
                for label in sorted((after - before) & rules.labels):
                    note(at, "label_added", f"Label added: {label}", who)
                for label in sorted((before - after) & rules.labels):
                    note(at, "label_removed", f"Label removed: {label}", who)
                if not was and labelled() and active() is None:
                    request(at, who, item.author_email, item.author_account_id)
            elif field == "status":
                new = item.to_string or ""
                note(at, "status", f"Status: {item.from_string or status or '?'} → {new or '?'}", who)
                status, key = new, new.casefold()
                done = key in rules.done_statuses
                cycle = active()
                if cycle is None:
                    if key in rules.ready_statuses and labelled():
                        request(at, who, item.author_email, item.author_account_id)
                elif cycle.state is HandoffState.OPEN and (key in rules.pickup_statuses or done):
                    cycles[-1] = cycles[-1]._replace(state=HandoffState.PICKED_UP, picked_up_at=at,
                                                     picked_up_by_name=who)
                    note(at, "picked_up", f"Picked up (cycle {cycle.cycle_no})", who)
                    cycle = cycles[-1]
                if cycle is not None and cycle.state is HandoffState.PICKED_UP and done:
                    cycles[-1] = cycles[-1]._replace(state=HandoffState.DELIVERED, delivered_at=at)
                    note(at, "delivered", f"Delivered (cycle {cycle.cycle_no})", who)
        cycle = active()
        if cycle is not None and cycle.state is HandoffState.OPEN and not labelled():
            at = entry[0].created
            cycles[-1] = cycles[-1]._replace(state=HandoffState.WITHDRAWN, withdrawn_at=at)
            note(at, "withdrawn", f"Withdrawn (cycle {cycle.cycle_no})", entry[-1].author_name)
    return cycles, events


def derive_cycles(issue: JiraIssue, items: Sequence[ChangeItem], rules: HandoffRules) -> list[HandoffCycle]:
    """The issue's handoff cycles, oldest first (see the module docstring for the rules).

    A direct transition into a done status while a cycle is open counts as both picked up
    (by that author) and delivered, at that time.
    """
    return _replay(issue, items, rules)[0]


def issue_timeline(issue: JiraIssue, items: Sequence[ChangeItem], rules: HandoffRules) -> list[TimelineEvent]:
    """Handoff-relevant events in order: creation, every status change, handoff-label
    changes, and each cycle's requested / picked up / delivered / withdrawn."""
    return _replay(issue, items, rules)[1]


# -- waits ---------------------------------------------------------------------------------


def _wait_end(cycle: HandoffCycle, now: datetime) -> datetime:
    if cycle.picked_up_at is not None:
        return cycle.picked_up_at
    if cycle.withdrawn_at is not None:
        return cycle.withdrawn_at
    return now


def wait_seconds(cycle: HandoffCycle, now: datetime) -> float:
    """picked_up - requested; withdrawn - requested; open: now - requested (never negative)."""
    return max(0.0, (_wait_end(cycle, now) - cycle.requested_at).total_seconds())


def business_wait_seconds(cycle: HandoffCycle, now: datetime, cal: WorkCalendar) -> float:
    """The same span as `wait_seconds`, counted in business seconds of `cal`."""
    return cal.business_seconds(cycle.requested_at, _wait_end(cycle, now))


def productionization_seconds(cycle: HandoffCycle) -> float | None:
    """delivered - picked_up, or None while not delivered."""
    if cycle.delivered_at is None or cycle.picked_up_at is None:
        return None
    return (cycle.delivered_at - cycle.picked_up_at).total_seconds()


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation, as numpy.percentile's default:
    with x sorted and h = (n - 1) * q / 100, x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)]).
    None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be between 0 and 100 (got {q})")
    xs = sorted(values)
    if not xs:
        return None
    h = (len(xs) - 1) * (q / 100)
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    t = h - lo
    a, b = xs[lo], xs[hi]
    diff = b - a
    # numpy's _lerp: a + diff*t, computed from the upper end when t >= 0.5
    return float(b - diff * (1 - t) if t >= 0.5 else a + diff * t)


# -- windows -------------------------------------------------------------------------------


def parse_window(text: str) -> str:
    """Normalise a window name (7d, 30d, 90d, quarter); ValueError naming the choices otherwise."""
    window = text.strip().lower()
    if window not in WINDOWS:
        raise ValueError(f"unknown window {text.strip()!r}: use one of {', '.join(WINDOWS)}")
    return window


def window_start(window: str, now: datetime, tz: ZoneInfo) -> datetime:
    """Start of a window ending at `now`, in UTC: Nd = now - N days; quarter = 00:00 on the
    first day of the current calendar quarter in `tz`."""
    window = parse_window(window)
    if window == "quarter":
        local = now.astimezone(tz)
        first = datetime(local.year, 3 * ((local.month - 1) // 3) + 1, 1, tzinfo=tz)
        return first.astimezone(timezone.utc)
    return now - timedelta(days=int(window[:-1]))


# -- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffStats:
    """Handoff statistics over the window [start, now] (each count by its own event time)."""

    requested: int
    picked_up: int
    delivered: int
    withdrawn: int
    open_now: int
    median_wait_seconds: float | None
    p90_wait_seconds: float | None
    median_business_wait_seconds: float | None
    p90_business_wait_seconds: float | None
    median_productionization_seconds: float | None
    p90_productionization_seconds: float | None
    conversion: float | None
    oldest_open_wait_seconds: float | None
    sla_breaches: int


def _within(at: datetime | None, start: datetime, now: datetime) -> bool:
    return at is not None and start <= at <= now


def open_at(cycle: HandoffCycle, now: datetime) -> bool:
    """Requested by `now` and neither picked up nor withdrawn by then."""
    ended = [t for t in (cycle.picked_up_at, cycle.withdrawn_at) if t is not None]
    return cycle.requested_at <= now and not any(t <= now for t in ended)


def summarize(
    cycles: Iterable[HandoffCycle], now: datetime, start: datetime, cal: WorkCalendar, sla_workdays: float = 3
) -> HandoffStats:
    """Statistics of `cycles` over [start, now].

    requested / picked_up / delivered / withdrawn: cycles whose event falls in the window.
    open_now: cycles open at `now`, whatever their age. Waits (median, p90; calendar and
    business) over the cycles picked up in the window; productionization over those
    delivered in it. conversion = delivered by `now` / requested in the window.
    oldest_open_wait_seconds = now - requested of the oldest open cycle. sla_breaches = open
    cycles whose business wait exceeds `sla_workdays` nominal workdays.
    """
    cycles = list(cycles)
    requested = [c for c in cycles if _within(c.requested_at, start, now)]
    picked = [c for c in cycles if _within(c.picked_up_at, start, now)]
    delivered = [c for c in cycles if _within(c.delivered_at, start, now)]
    withdrawn = [c for c in cycles if _within(c.withdrawn_at, start, now)]
    open_now = [c for c in cycles if open_at(c, now)]

    waits = [wait_seconds(c, now) for c in picked]
    business = [business_wait_seconds(c, now, cal) for c in picked]
    production = [p for c in delivered if (p := productionization_seconds(c)) is not None]
    converted = sum(1 for c in requested if c.delivered_at is not None and c.delivered_at <= now)
    open_waits = [(now - c.requested_at).total_seconds() for c in open_now]
    limit = sla_workdays * cal.seconds_per_workday
    breaches = sum(1 for c in open_now if cal.business_seconds(c.requested_at, now) > limit)
    return HandoffStats(
        requested=len(requested),
        picked_up=len(picked),
        delivered=len(delivered),
        withdrawn=len(withdrawn),
        open_now=len(open_now),
        median_wait_seconds=percentile(waits, 50),
        p90_wait_seconds=percentile(waits, 90),
        median_business_wait_seconds=percentile(business, 50),
        p90_business_wait_seconds=percentile(business, 90),
        median_productionization_seconds=percentile(production, 50),
        p90_productionization_seconds=percentile(production, 90),
        conversion=converted / len(requested) if requested else None,
        oldest_open_wait_seconds=max(open_waits) if open_waits else None,
        sla_breaches=breaches,
    )


def team_for(project: str, requester_slack_id: str | None, teams: Sequence[Team]) -> str | None:
    """The team owning `project` (jira_projects, case-insensitive), else the team the
    requester is a member of, else None. The first matching team in config order wins."""
    wanted = project.casefold()
    for team in teams:
        if any(p.casefold() == wanted for p in team.jira_projects):
            return team.name
    if requester_slack_id:
        for team in teams:
            if requester_slack_id in team.members:
                return team.name
    return None


def summarize_by_team(
    views: Iterable[HandoffView], now: datetime, start: datetime, cal: WorkCalendar, sla_workdays: float = 3
) -> dict[str, HandoffStats]:
    """`summarize` per `view.team` ("(no team)" for None), keyed and ordered by team name."""
    groups: dict[str, list[HandoffCycle]] = defaultdict(list)
    for view in views:
        groups[view.team or NO_TEAM].append(view.cycle)
    return {team: summarize(groups[team], now, start, cal, sla_workdays) for team in sorted(groups)}
