"""Focus Time queries for Slack, the alert job, the CLI and the demo: store -> metrics
(a person's timezone: `bot.queries.people`).

Everything here reads the per person-day rollups (`focus_days`), never raw heartbeats.
Presentation layers call these and render; none of them touches SQL or the rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Sequence

from bot.config import Settings
from bot.metrics.focus import TeamFocus, average_focus, recent_workdays, team_focus
from bot.models import FocusDay
from bot.store import Store

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class PersonFocus:
    """One person's figures over the window: one entry per workday, None = no data."""

    slack_user_id: str
    window: tuple[date, ...]
    days: tuple[FocusDay | None, ...]
    average_seconds: float | None  # over the days with data; None without any
    days_with_data: int
    threshold_seconds: float
    # Today so far (the person's local date): shown, marked partial, and never in the average.
    today: date | None = None
    today_row: FocusDay | None = None
    today_is_workday: bool = True

    @property
    def below(self) -> bool:
        """True when there is data and the average is under the line."""
        return self.average_seconds is not None and self.average_seconds < self.threshold_seconds

    @property
    def has_data(self) -> bool:
        return self.days_with_data > 0


@dataclass(frozen=True)
class KeyStatus:
    """A person's heartbeat set-up: their newest active key and the latest heartbeat arrival."""

    created_at: datetime  # of the newest active key
    last_heartbeat_at: datetime | None  # arrival of the latest stored heartbeat (any key), None without any
    retention_days: int = 30  # raw heartbeats (so their arrival times) are kept this long

    @property
    def heard_since_created(self) -> bool:
        """True when a heartbeat arrived after the key was created (so the IDE has this key)."""
        return self.last_heartbeat_at is not None and self.last_heartbeat_at >= self.created_at

    def never_heard(self, now: datetime) -> bool:
        """No heartbeat stored, and the key is young enough that none was pruned: none ever came."""
        return self.last_heartbeat_at is None and now - self.created_at <= timedelta(days=self.retention_days)


@dataclass(frozen=True)
class TeamReport:
    """A team's aggregates over a window; `below_people` is filled only when the org shares
    individual figures with leads (`focus.share_individuals_with_leads`)."""

    team: str
    window: tuple[date, ...]
    focus: TeamFocus
    threshold_seconds: float
    below_people: tuple[str, ...] = ()


class FocusQueries:
    """Read-side of Focus Time, bound to a store and the settings."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self.threshold_seconds = settings.focus.threshold_hours * 3600.0

    # -- windows -----------------------------------------------------------------------------

    def window(self, today: date, count: int | None = None) -> tuple[date, ...]:
        """The last `count` (default `focus.window_workdays`) workdays before `today`."""
        n = self.settings.focus.window_workdays if count is None else count
        return tuple(recent_workdays(today, self.settings.workday_numbers, n))

    def org_today(self, now: datetime) -> date:
        return now.astimezone(self.settings.tz).date()

    # -- one person ----------------------------------------------------------------------------

    def person(self, slack_user_id: str, today: date) -> PersonFocus:
        """The person's figures for the window ending before their local `today`, plus today
        so far (`today_row`, which is not in the average: the day is not over)."""
        window = self.window(today)
        is_workday = today.weekday() in set(self.settings.workday_numbers)
        first = window[0] if window else today
        rows = {r.day: r for r in self.store.focus_days(first, today, [slack_user_id])}
        so_far = rows.pop(today, None)
        in_window = {d: rows[d] for d in window if d in rows}
        average, n = average_focus({d: r.focus_seconds for d, r in in_window.items()}, window)
        return PersonFocus(
            slack_user_id=slack_user_id,
            window=window,
            days=tuple(in_window.get(d) for d in window),
            average_seconds=average,
            days_with_data=n,
            threshold_seconds=self.threshold_seconds,
            today=today,
            today_row=so_far,
            today_is_workday=is_workday,
        )

    def key_status(self, slack_user_id: str) -> KeyStatus | None:
        """The person's active key and latest heartbeat arrival; None without an active key."""
        created = self.store.active_api_key_created_at(slack_user_id)
        if created is None:
            return None
        received = self.store.last_heartbeat_received(slack_user_id)
        last = datetime.fromtimestamp(received, timezone.utc) if received is not None else None
        return KeyStatus(created, last, self.settings.focus.heartbeat_retention_days)

    # -- teams ---------------------------------------------------------------------------------

    def team(self, name: str, today: date) -> TeamFocus | None:
        """Aggregates of the `[[team]]` called `name` over the window; None for an unknown team."""
        report = self.team_report(name, today)
        return report.focus if report else None

    def team_report(self, name: str, today: date) -> TeamReport | None:
        """`team` plus the window, and who is below the line only when the org opted in."""
        team = self.settings.team_named(name)
        if team is None:
            return None
        window = self.window(today)
        members = list(dict.fromkeys(team.members))
        rows = self.store.focus_days(window[0], window[-1], members) if window and members else []
        aggregate = team_focus(rows, members, window, self.threshold_seconds)
        below: tuple[str, ...] = ()
        if self.settings.focus.share_individuals_with_leads:
            below = tuple(self.below(rows, members, window))
        return TeamReport(team.name, window, aggregate, self.threshold_seconds, below)

    def below(self, rows: Sequence[FocusDay], members: Sequence[str], window: Sequence[date]) -> list[str]:
        """Members whose own average over the window's days with data is under the line."""
        per_person: dict[str, dict[date, float]] = {m: {} for m in members}
        for r in rows:
            if r.slack_user_id in per_person:
                per_person[r.slack_user_id][r.day] = r.focus_seconds
        out = []
        for member, days in per_person.items():
            average, _ = average_focus(days, window)
            if average is not None and average < self.threshold_seconds:
                out.append(member)
        return out

    # -- exports -------------------------------------------------------------------------------

    def rows(self, start: date, end: date) -> list[FocusDay]:
        """Every person-day with data, start <= day <= end (for exports)."""
        return self.store.focus_days(start, end)
