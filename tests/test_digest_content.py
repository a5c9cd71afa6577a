"""What a weekly digest says: `bot.digest.compute.build_digest` on a seeded org, checked
against the metrics computed independently for the week (and counted by hand in the seed),
and its rendering by `bot.slack.digest_blocks` (Block Kit limits, quiet weeks, names).

The org works in Europe/Berlin (CET, UTC+1 in November), so Monday 00:00 local is Sunday
23:00 UTC: events on either side of that line land in different weeks. The digest's week is
2026-W46 (Mon 9 Nov - Mon 16 Nov, local midnights); the week before is 2026-W45.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock

from bot.config import DigestSettings, Settings, settings_from_mapping
from bot.digest.compute import build_digest
from bot.digest.model import Digest
from bot.digest.period import week_named
from bot.ingest import record_jira_issue
from bot.metrics.delivery import delivery_metrics
from bot.metrics.focus import team_focus
from bot.metrics.handoffs import HandoffRules, summarize
from bot.metrics.reliability import summarize_windows
from bot.metrics.workcal import WorkCalendar
from bot.models import ChangeItem, Deployment, FocusDay, Incident, JiraIssue, PipelineRun
from bot.formatting import hours_minutes, line_cells, percent_change, points_change
from bot.slack.blocks import to_dicts
from bot.slack.charts import chart_series
from bot.slack.digest_blocks import blocks_as_text, digest_blocks, digest_text
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack

UTC = timezone.utc
TZ = ZoneInfo("Europe/Berlin")
H = 3600.0
EDGE = timedelta(microseconds=1)
CHANNEL = "C0123ABCD"
LABEL = "research-handoff"
WEEK = week_named("2026-W46", TZ)
PREVIOUS = week_named("2026-W45", TZ)
TEAMS = [
    {"name": "vision", "members": ["U0ANA", "U0BEN", "U0CAT"], "jira_projects": ["VIS"]},
    {"name": "nlp", "members": ["U0DAN", "U0EVE", "U0FAY"], "jira_projects": ["NLP"]},
]
ANA, BEN, CAT = ("Ana Lind", "ana@example.com"), ("Ben Oru", "Ben@Example.com"), ("Cat Moss", "cat@example.com")


# -- seeding ---------------------------------------------------------------------------------


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Berlin wall-clock time in 2026, stored as UTC like everything the bot ingests."""
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def org(*, share: bool = False, **digest: object) -> tuple[Settings, DigestSettings]:
    """The org's settings and its one digest (`digest` overrides the `[[digest]]` keys)."""
    settings = settings_from_mapping({
        "timezone": "Europe/Berlin",
        "jira": {"user_map": {"ana@example.com": "U0ANA"}},  # Ben is linked in the store instead
        "focus": {"share_individuals_with_leads": share},
        "team": TEAMS,
        "digest": [{"channel": CHANNEL, **digest}],
    }, {})
    return settings, settings.digests[0]


def handoff(store: Store, key: str, created: datetime, *changes: tuple, labelled: bool = True,
            assignee: tuple[str, str] | None = None, summary: str | None = None) -> None:
    """An issue created at `created` (with the handoff label unless `labelled=False`) and its
    changelog `changes` of (at, field, from, to), through the real ingest path."""
    labels = (LABEL,) if labelled else ()
    for _, field, old, new in changes:
        if field == "labels":
            labels = tuple(new.split())
    status = next((new for _, field, _, new in reversed(changes) if field == "status"), "To Do")
    issue = JiraIssue(
        key=key, id=key, project=key.split("-")[0], summary=summary or f"Handoff {key}", issue_type="Task",
        status=status, labels=labels, created=created, updated=created, url=f"https://jira.example.com/browse/{key}",
        reporter_name="Rae Searcher", reporter_email="rae@example.com",
        assignee_name=assignee[0] if assignee else None, assignee_email=assignee[1] if assignee else None)
    items = [ChangeItem(key, str(n), 0, at, field, old, new, "Eng Ineer", "eng@example.com")
             for n, (at, field, old, new) in enumerate(changes, 1)]
    record_jira_issue(store, issue, items, HandoffRules.from_settings(org()[0].jira))


def seed_handoffs(store: Store) -> None:
    """W46 by hand: requested 4 (VIS-3 at Mon 00:30 local = Sun 23:30 UTC, VIS-4, NLP-1,
    NLP-2); picked up 2 (VIS-1, VIS-3); delivered 1 (VIS-3); withdrawn 1 (NLP-1); still
    waiting at the end 4 (NLP-0, VIS-2, VIS-4, NLP-2), 3 of them over the 3-workday SLA.
    W45: requested 3 (VIS-6, VIS-1, and VIS-2 at Sun 23:30 local, just before Monday), picked
    up 1 (VIS-6), waiting at its end 3 (NLP-0, VIS-1, VIS-2). VIS-5 at Mon 16 Nov 00:00 is W47's."""
    to_do, doing, done = "To Do", "In Progress", "Done"
    handoff(store, "NLP-0", local(10, 20, 10))  # 20 Oct, CEST: open ever since
    handoff(store, "VIS-6", local(11, 3, 10), (local(11, 5, 10), "status", to_do, doing))
    handoff(store, "VIS-1", local(11, 4, 10), (local(11, 10, 11), "status", to_do, doing))
    handoff(store, "VIS-2", local(11, 8, 23, 30), assignee=CAT)
    handoff(store, "VIS-3", local(11, 9, 0, 30), (local(11, 11, 10), "status", to_do, doing),
            (local(11, 13, 15), "status", doing, done))
    handoff(store, "VIS-4", local(11, 10, 9), assignee=ANA)
    handoff(store, "NLP-1", local(11, 11, 14), (local(11, 12, 10), "labels", LABEL, ""))
    handoff(store, "NLP-2", local(11, 12, 16), assignee=BEN)
    handoff(store, "VIS-5", local(11, 16, 0, 0))
    handoff(store, "VIS-9", local(11, 10, 9), labelled=False)  # never a handoff
    store.link_user("ben@example.com", "U0BEN", "email", local(11, 1))


def focus_days(store: Store, user: str, days: list[date], focus_h: float, research_h: float,
               engineering_h: float) -> None:
    rows = [FocusDay(user, d, focus_h * H, (focus_h + 1) * H, research_h * H, engineering_h * H, 2) for d in days]
    store.save_focus_days(user, days, rows, local(11, 16))


def workdays(monday: date, count: int = 5) -> list[date]:
    return [monday + timedelta(days=i) for i in range(count)]


def seed_focus(store: Store) -> None:
    """W46 (Mon 9 - Fri 13 Nov): Ana 2 h x 5 (below), Ben 5 h x 3 (+ 8 h on Saturday, not a
    workday), Dan 4 h x 5, Eve 2.5 h x 2 (below); Cat and Fay no data. All: 50 h over 15
    person-days = 3.33 h, 2 of 4 below, research 29.5 / 50 = 59 %. Vision 25 h / 8 = 3.125 h,
    nlp 25 h / 7 = 3.57 h. W45: Ana 4 h x 5, Cat 1 h x 5 (below), Dan exactly 3 h x 5 (on
    the line is not below): 40 h / 15 = 2.67 h, 1 of 3 below."""
    w46, w45 = date(2026, 11, 9), date(2026, 11, 2)
    focus_days(store, "U0ANA", workdays(w46), 2, 1.5, 0.5)
    focus_days(store, "U0ANA", workdays(w45), 4, 2, 2)
    focus_days(store, "U0BEN", workdays(w46, 3), 5, 4, 1)
    focus_days(store, "U0BEN", [date(2026, 11, 14)], 8, 8, 0)
    focus_days(store, "U0DAN", workdays(w46), 4, 1, 3)
    focus_days(store, "U0DAN", workdays(w45), 3, 1, 2)
    focus_days(store, "U0EVE", workdays(w46, 2), 2.5, 2.5, 0)
    focus_days(store, "U0CAT", workdays(w45), 1, 1, 0)
    focus_days(store, "U0ZED", workdays(w46), 0.5, 0, 0)  # not in any team


def run(pipeline: str, run_id: str, status: str, at: datetime, attempt: int = 1, source: str = "github") -> PipelineRun:
    return PipelineRun(source, pipeline, run_id, attempt, status, at, at - timedelta(minutes=20),
                       f"https://ci.example.com/{pipeline}/{run_id}/{attempt}")


def seed_pipelines(store: Store) -> None:
    """W46 final runs: train 4 (r0's re-run succeeded Mon 08:00 after its attempt 1 failed in
    W45; r1; r2 re-run succeeded; r3 failed) = 75 %; etl 1 (e1 at Mon 00:30 local; e0 at Sun
    23:30 local is W45's, e3's final attempt at Mon 16 Nov 01:00 is W47's) = 100 %; nightly 1
    cancelled. All: 6 runs, 4 ok, 1 failed, 1 cancelled = 80 %. W45: train t9 failed, etl e9 ok
    and e0 failed, old-dag ok: 4 runs = 50 %."""
    store.save_pipeline_runs([
        run("train", "t9", "failed", local(11, 4, 12)),
        run("train", "r0", "failed", local(11, 8, 20)),
        run("train", "r0", "success", local(11, 9, 8), attempt=2),
        run("train", "r1", "success", local(11, 10, 12)),
        run("train", "r2", "failed", local(11, 11, 10)),
        run("train", "r2", "success", local(11, 11, 12), attempt=2),
        run("train", "r3", "failed", local(11, 12, 9)),
        run("etl", "e9", "success", local(11, 3, 2), source="airflow"),
        run("etl", "e0", "failed", local(11, 8, 23, 30), source="airflow"),
        run("etl", "e1", "success", local(11, 9, 0, 30), source="airflow"),
        run("etl", "e3", "failed", local(11, 15, 23), source="airflow"),
        run("etl", "e3", "success", local(11, 16, 1), attempt=2, source="airflow"),
        run("nightly", "n1", "cancelled", local(11, 13, 3), source="airflow"),
        run("old-dag", "o1", "success", local(11, 5, 3), source="airflow"),
    ])


def deploy(did: str, target: str, version: str, at: datetime, status: str = "success", env: str = "production",
           lead_h: float | None = None) -> Deployment:
    return Deployment("api", did, target, version, env, status, at, is_production=env == "production",
                      commit_sha=f"sha-{did}", commit_at=at - timedelta(hours=lead_h) if lead_h else None)


DEPLOYMENTS = [
    deploy("d-1", "api-svc", "v1", local(11, 5, 12), lead_h=2),
    deploy("d0", "api-svc", "v0", local(11, 8, 23, 50)),  # Sunday 23:50 local: W45's
    deploy("d1", "api-svc", "v2", local(11, 10, 11), lead_h=4),
    deploy("d2", "api-svc", "v3", local(11, 11, 15), status="failed"),
    deploy("d3", "ranker", "r7", local(11, 12, 10), lead_h=6),
    deploy("d4", "ranker", "r7", local(11, 11, 9), env="staging"),
    deploy("d6", "api-svc", "v2", local(11, 13, 16)),  # v2 runs (v3 failed): a redeploy, not a rollback
    deploy("d5", "api-svc", "v4", local(11, 16, 0, 10)),  # W47's
]
INCIDENTS = [Incident("api", "INC-1", "ranker degraded", local(11, 12, 14), local(11, 12, 17), "ranker")]


def seed_org(store: Store, *, pipelines: bool = True) -> Store:
    """Everything: W46 delivery = 3 successful production deployments (Tue, Thu, Fri) of 4
    production (d2 failed) and 5 in all (d4 staging), lead times 4 h and 6 h, INC-1 (3 h to
    restore) linked to d3; W45 = 2 (d-1, d0)."""
    seed_handoffs(store)
    seed_focus(store)
    if pipelines:
        seed_pipelines(store)
    store.save_deployments(DEPLOYMENTS)
    store.save_incidents(INCIDENTS)
    return store


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Store:
    return seed_org(Store(tmp_path_factory.mktemp("org") / "bridge.db"))


# -- rendering helpers ---------------------------------------------------------------------------


def render(settings: Settings, digest: Digest) -> list[Block]:
    return digest_blocks(digest, WorkCalendar.from_settings(settings), settings.jira.handoff_sla_workdays)


def texts(blocks: list[Block]) -> list[str]:
    """The text of every block (context elements joined), in order."""
    out = []
    for block in blocks:
        if isinstance(block, (HeaderBlock, SectionBlock)) and block.text is not None:
            out.append(block.text.text)
        elif isinstance(block, ContextBlock):
            out.append(" ".join(e.text for e in block.elements))
        elif isinstance(block, DividerBlock):
            out.append("---")
    return out


def parts(blocks: list[Block]) -> list[list[str]]:
    """The texts between dividers: [header, context, first section..., ..., last section..., footer]."""
    groups: list[list[str]] = [[]]
    for text in texts(blocks):
        if text == "---":
            groups.append([])
        else:
            groups[-1].append(text)
    return groups


def mentions(blocks: list[Block]) -> set[str]:
    return set(re.findall(r"<@([A-Z0-9]+)>", "\n".join(texts(blocks))))


# -- the figures -----------------------------------------------------------------------------------


def test_handoff_figures_are_the_weeks_own_counted_by_local_week(seeded: Store):
    settings, digest = org()
    section = build_digest(seeded, settings, digest, WEEK).handoffs
    c, p = section.current, section.previous
    assert (c.requested, c.picked_up, c.delivered, c.withdrawn, c.open_now, c.sla_breaches) == (4, 2, 1, 1, 4, 3)
    assert (p.requested, p.picked_up, p.delivered, p.withdrawn, p.open_now) == (3, 1, 0, 0, 3)
    # waits of the two picked up in W46: VIS-1 6d 1h (37 business hours), VIS-3 2d 9h 30m (19)
    assert c.median_wait_seconds == ((6 * 24 + 1) * H + (2 * 24 + 9.5) * H) / 2
    assert c.median_business_wait_seconds == (37 + 19) / 2 * H
    assert c.p90_business_wait_seconds == pytest.approx((19 + 0.9 * (37 - 19)) * H)
    assert (p.median_wait_seconds, p.median_business_wait_seconds) == (2 * 24 * H, 18 * H)  # VIS-6, Tue-Thu
    # the same as the metrics over every stored cycle for [start, end)
    calendar = WorkCalendar.from_settings(settings)
    cycles = [v.cycle for v in seeded.handoffs()]
    assert c == summarize(cycles, WEEK.end - EDGE, WEEK.start, calendar, 3)
    assert p == summarize(cycles, PREVIOUS.end - EDGE, PREVIOUS.start, calendar, 3)
    teams = dict(section.teams)
    assert list(teams) == ["nlp", "vision"]
    assert (teams["vision"].requested, teams["vision"].picked_up, teams["vision"].open_now) == (2, 2, 2)
    assert (teams["nlp"].requested, teams["nlp"].withdrawn, teams["nlp"].open_now) == (2, 1, 2)


def test_the_oldest_still_waiting_at_the_weeks_end_with_their_owners(seeded: Store):
    settings, digest = org()
    section = build_digest(seeded, settings, digest, WEEK).handoffs
    assert [v.key for v in section.oldest_open] == ["NLP-0", "VIS-2", "VIS-4", "NLP-2"]
    # waits to Mon 16 Nov 00:00 local (less a microsecond), in elapsed time: NLP-0 was asked
    # in summer time, so its wait is an hour longer than the wall clock says
    expected = [local(11, 16) - local(10, 20, 10), local(11, 16) - local(11, 8, 23, 30),
                local(11, 16) - local(11, 10, 9), local(11, 16) - local(11, 12, 16)]
    assert section.oldest_waits == pytest.approx([(e - EDGE).total_seconds() for e in expected])
    assert round(section.oldest_waits[0]) == (26 * 24 + 15) * H
    # and in business time (09:00-18:00 on weekdays): NLP-0 8 h on Tue 20 Oct and 18 workdays
    # after, VIS-2 the whole week, VIS-4 from Tuesday 09:00, NLP-2 2 h on Thursday and Friday
    assert section.oldest_business_waits == pytest.approx([(8 + 18 * 9) * H, 5 * 9 * H, 4 * 9 * H, 11 * H])
    # Ana through [jira] user_map, Ben through a store link (e-mail case ignored), Cat unlinked
    assert section.owners == (None, None, "U0ANA", "U0BEN")
    [text] = [t for t in texts(render(settings, build_digest(seeded, settings, digest, WEEK))) if "Oldest" in t]
    # the waits in the section's unit (business days, as /handoffs shows them) with the calendar
    # time beside, and which three are the "3 over the 3-workday SLA" of the line above
    assert text.splitlines() == [
        "*Oldest still waiting*",
        ("• *<https://jira.example.com/browse/NLP-0|NLP-0>* Handoff NLP-0 — waiting 18.9 bd (26d 15h), over the SLA"
         " · owner unassigned · from Rae Searcher"),
        ("• *<https://jira.example.com/browse/VIS-2|VIS-2>* Handoff VIS-2 — waiting 5.0 bd (7d 0h), over the SLA"
         " · owner Cat Moss · from Rae Searcher"),
        ("• *<https://jira.example.com/browse/VIS-4|VIS-4>* Handoff VIS-4 — waiting 4.0 bd (5d 15h), over the SLA"
         " · owner <@U0ANA> · from Rae Searcher"),
        ("• *<https://jira.example.com/browse/NLP-2|NLP-2>* Handoff NLP-2 — waiting 1.2 bd (3d 8h)"
         " · owner <@U0BEN> · from Rae Searcher"),
    ]


def test_focus_is_the_teams_average_per_workday_with_data(seeded: Store):
    settings, digest = org()
    section = build_digest(seeded, settings, digest, WEEK).focus
    assert section.threshold_seconds == 3 * H
    overall = section.overall
    c, p = overall.current, overall.previous
    assert (c.people, c.people_with_data, c.below_threshold) == (6, 4, 2)  # Cat and Fay: no data, not zero
    assert c.average_focus_seconds == pytest.approx(50 / 15 * H)
    assert c.research_share == pytest.approx(29.5 / 50)
    assert (p.people_with_data, p.below_threshold) == (3, 1)
    assert p.average_focus_seconds == pytest.approx(40 / 15 * H)
    vision, nlp = section.teams
    assert (vision.team, nlp.team) == ("vision", "nlp")
    assert vision.current.average_focus_seconds == pytest.approx(25 / 8 * H)
    assert nlp.current.average_focus_seconds == pytest.approx(25 / 7 * H)
    assert (vision.current.below_threshold, nlp.current.below_threshold) == (1, 1)
    assert vision.previous.average_focus_seconds == pytest.approx(2.5 * H)
    assert nlp.previous.below_threshold == 0  # exactly on the line
    # the same as the metric over the stored rows of the week's workdays
    members = ["U0ANA", "U0BEN", "U0CAT", "U0DAN", "U0EVE", "U0FAY"]
    rows = seeded.focus_days(date(2026, 11, 2), date(2026, 11, 15))
    assert c == team_focus(rows, members, workdays(date(2026, 11, 9)), 3 * H)
    assert p == team_focus(rows, members, workdays(date(2026, 11, 2)), 3 * H)
    assert vision.below_people == () and nlp.below_people == ()  # nobody opted in


def test_pipelines_count_final_attempts_finished_in_the_local_week(seeded: Store):
    settings, digest = org()
    section = build_digest(seeded, settings, digest, WEEK).pipelines
    o, p = section.overall, section.overall_previous
    assert (o.runs, o.success, o.failed, o.cancelled, o.reliability) == (6, 4, 1, 1, 0.8)
    assert (p.runs, p.success, p.failed, p.reliability) == (4, 2, 2, 0.5)
    rows = {s.pipeline: s for s in section.pipelines}
    assert [s.pipeline for s in section.pipelines] == ["train", "etl", "nightly", "old-dag"]
    assert (rows["train"].current.runs, rows["train"].current.success, rows["train"].streak) == (4, 3, 1)
    assert (rows["etl"].current.runs, rows["etl"].previous.runs, rows["etl"].streak) == (1, 2, 0)
    assert (rows["old-dag"].current.runs, rows["old-dag"].previous.runs) == (0, 1)
    # the same as the metrics over the raw attempts (every attempt: a re-run counts by its last)
    raw = summarize_windows(seeded.pipeline_runs(datetime(2026, 1, 1, tzinfo=UTC)), WEEK.end, (7,))[7]

    def figures(s):
        return (s.pipeline, s.streak) + tuple((x.runs, x.success, x.failed, x.cancelled, x.reliability)
                                              for x in (s.current, s.previous))
    assert [figures(s) for s in section.pipelines] == [figures(s) for s in raw]
    assert rows["train"].current.last_url == "https://ci.example.com/train/r3/1"


def test_delivery_counts_production_deployments_of_the_week(seeded: Store):
    settings, digest = org()
    section = build_digest(seeded, settings, digest, WEEK).delivery
    c, p = section.current, section.previous
    assert (c.deployments, c.production_deployments, c.successful_production_deployments, c.deployment_days) \
        == (5, 4, 3, 3)
    assert (c.lead_time_median_seconds, c.change_failure_rate, c.incidents, c.rollbacks) == (5 * H, 0.5, 1, 0)
    assert c.time_to_restore_median_seconds == 3 * H
    assert (p.successful_production_deployments, p.deployment_days, p.change_failure_rate) == (2, 2, 0.0)
    assert c == delivery_metrics(DEPLOYMENTS, INCIDENTS, WEEK.start, WEEK.end, tz=TZ)
    assert p == delivery_metrics(DEPLOYMENTS, INCIDENTS, PREVIOUS.start, PREVIOUS.end, tz=TZ)


def test_the_chart_history_ends_with_the_weeks_figures(seeded: Store):
    settings, digest = org()
    built = build_digest(seeded, settings, digest, WEEK)
    points = built.history.points
    assert [pt.week for pt in points] == [f"2026-W{n}" for n in range(39, 47)]
    last, before = points[-1], points[-2]
    # business waits, as the text prints them: VIS-1 37 and VIS-3 19 business hours
    assert last.handoff_median_business_wait_seconds == built.handoffs.current.median_business_wait_seconds
    assert last.handoff_median_business_wait_seconds == (37 + 19) / 2 * H
    assert last.handoff_p90_business_wait_seconds == built.handoffs.current.p90_business_wait_seconds
    assert before.handoff_median_business_wait_seconds == built.handoffs.previous.median_business_wait_seconds
    assert built.history.seconds_per_workday == WorkCalendar.from_settings(settings).seconds_per_workday == 9 * H
    assert last.focus_seconds_per_day == pytest.approx(50 / 15 * H)
    assert (last.pipeline_reliability, before.pipeline_reliability) == (0.8, 0.5)
    assert points[0].focus_seconds_per_day is None and points[0].pipeline_reliability is None
    assert built.history.panels == ("handoffs", "focus", "pipelines")


def test_the_chart_draws_the_figures_each_weeks_digest_prints(seeded: Store):
    """The chart's series (what `bot.slack.charts` draws) are, week by week, the figures the
    digest of that week gives: business-day waits as its text prints them (never calendar
    days), focus per workday, reliability in percent; None (a gap) where a week had none."""
    settings, digest = org()
    per_day = WorkCalendar.from_settings(settings).seconds_per_workday
    built = build_digest(seeded, settings, digest, WEEK)
    panels = {p.name: p for p in chart_series(built.history)}
    assert [p.title for p in panels.values()] == ["Handoff wait, business days (median, p90)",
                                                  "Focus Time, hours per workday", "Pipeline reliability, %"]
    median, p90 = panels["handoffs"].series
    [focus], [share] = panels["focus"].series, panels["pipelines"].series
    weeks = [pt.week for pt in built.history.points]

    def days(seconds: float | None) -> float | None:
        return None if seconds is None else seconds / per_day

    for i, label in enumerate(weeks):
        own = build_digest(seeded, settings, replace(digest, chart=False), week_named(label, TZ))
        c = own.handoffs.current
        assert median.values[i] == days(c.median_business_wait_seconds), label
        assert p90.values[i] == days(c.p90_business_wait_seconds), label
        average = own.focus.overall.current.average_focus_seconds
        assert focus.values[i] == (None if average is None else average / 3600), label
        pooled = own.pipelines.overall.reliability
        assert share.values[i] == (None if pooled is None else pytest.approx(pooled * 100)), label
        if c.median_business_wait_seconds is not None:  # and the text of that week prints them
            text = "\n".join(texts(render(settings, own)))
            assert f"Wait for pick-up: median {median.values[i]:.1f} bd" in text, label
            assert f" · p90 {p90.values[i]:.1f} bd" in text, label
    # weeks without a pick-up, focus data or runs are gaps, not zeros
    assert median.values[:6] == (None,) * 6 and focus.values[:6] == (None,) * 6
    assert 0.0 not in median.values + p90.values + focus.values + share.values

    # this week's figures, as the digest's text prints them and the legend repeats them
    text = "\n".join(texts(render(settings, built)))
    assert (median.current, p90.current, focus.current, share.current) == ("3.1 bd", "3.9 bd", "3h 20m", "80%")
    assert (f"Wait for pick-up: median {median.current} (last week {median.values[-2]:.1f} bd)"
            f" · p90 {p90.current} (last week {p90.values[-2]:.1f} bd)") in text
    assert f"*All teams*: *{focus.current} a day*" in text and f"reliability *{share.current}*" in text
    assert median.values[-1] == pytest.approx(28 / 9)  # (37 + 19) / 2 business hours, 9-hour days
    # not the calendar days the chart used to draw (2.5 days VIS-3 and 6 days VIS-1 apart: 4.2)
    assert built.handoffs.current.median_wait_seconds / 86400 == pytest.approx(4.21, abs=0.01)


def test_the_rendered_digest_reads_the_figures(seeded: Store):
    settings, digest = org()
    blocks = render(settings, build_digest(seeded, settings, digest, WEEK))
    first, focus, pipelines, delivery = parts(blocks)
    head, handoffs = first[:2], first[2:]
    assert head == ["Weekly digest · 2026-W46", "9–15 Nov 2026 (Europe/Berlin) · all teams"]
    assert handoffs[0].splitlines() == [
        ":handshake: *Research handoffs*",
        "Requested 4 (+1) · picked up 2 (+1) · delivered 1 (+1) · withdrawn 1",
        "Wait for pick-up: median 3.1 bd (last week 2.0 bd) · p90 3.9 bd (last week 2.0 bd)",
        "Still waiting at the week's end: *4* · 3 over the 3-workday SLA",
    ]
    assert handoffs[2].splitlines() == [
        "*By team*",
        "• *nlp*: 2 requested · 0 picked up · median wait — · 2 waiting",
        "• *vision*: 2 requested · 2 picked up · median wait 3.1 bd · 2 waiting",
    ]
    assert focus[0].splitlines() == [
        ":brain: *Research Focus Time* (team averages per workday; the line is 3h)",
        ("*All teams*: *3h 20m a day* (last week 2h 40m) · 2 of 4 with IDE data below the line"
         " · research 59% / engineering 41%"),
        ("• vision: *3h 7m a day* (last week 2h 30m) · 1 of 2 with IDE data below the line"
         " · research 78% / engineering 22%"),
        ("• nlp: *3h 34m a day* (last week 3h 0m) · 1 of 2 with IDE data below the line"
         " · research 40% / engineering 60%"),
    ]
    assert pipelines[0].splitlines() == [
        (":gear: *Pipelines*: reliability *80%* ↑ 30 pts (last week 50%) · 6 runs, 1 failed, 1 cancelled"
         " across 3 pipelines"),
        "*Worst this week*",
        "• *<https://ci.example.com/train/r3/1|train>* 75% ↑ 75 pts · 4 runs, 1 failed · 1 failed run in a row",
    ]
    assert delivery[0].splitlines() == [
        ":rocket: *ML delivery*: 3 (+1) production deployments on 3 days",
        "Lead time (commit → production): median 5h 0m (last week 2h 0m) · p90 5h 48m",
        "Change failure rate 50% (last week 0%) · rollbacks 0 (model rollback rate 0%)",
        "Incidents 1 · time to restore median 3h 0m",
    ]
    assert delivery[-1] == "More: `/handoffs stats 7d` · `/focus team NAME` · `/pipelines` · trends chart in the thread"
    assert "Below the line" not in "\n".join(texts(blocks))
    assert mentions(blocks) == {"U0ANA", "U0BEN"}  # the two linked handoff owners, nobody's focus


# -- teams and names ---------------------------------------------------------------------------------


def test_a_team_digest_counts_only_that_teams_handoffs_and_members(seeded: Store):
    settings, digest = org(teams=["NLP"])
    built = build_digest(seeded, settings, digest, WEEK)
    c, p = built.handoffs.current, built.handoffs.previous
    assert (c.requested, c.picked_up, c.delivered, c.withdrawn, c.open_now, c.sla_breaches) == (2, 0, 0, 1, 2, 1)
    assert (p.requested, p.open_now) == (0, 1)  # NLP-0 only
    assert [v.key for v in built.handoffs.oldest_open] == ["NLP-0", "NLP-2"]
    assert [name for name, _ in built.handoffs.teams] == ["nlp"]
    focus = built.focus
    assert [t.team for t in focus.teams] == ["nlp"]
    assert (focus.overall.current.people, focus.overall.current.people_with_data) == (3, 2)
    assert focus.overall.current.average_focus_seconds == pytest.approx(25 / 7 * H)
    assert focus.overall.previous.average_focus_seconds == pytest.approx(3 * H)
    assert built.pipelines.overall.runs == 6  # pipelines and delivery are the org's
    text = "\n".join(texts(render(settings, built)))
    assert "9–15 Nov 2026 (Europe/Berlin) · NLP" in text
    assert "VIS-" not in text and "Requested 2 (+2)" in text


def focus_only(share: bool, show: bool, store: Store) -> tuple[Digest, list[Block]]:
    settings, digest = org(share=share, sections=["focus"], chart=False)
    if show:
        digest = replace(digest, show_names=True)  # config refuses this without share: compute checks both
    built = build_digest(store, settings, digest, WEEK)
    return built, render(settings, built)


def test_names_below_the_line_only_when_the_org_and_the_digest_opted_in(seeded: Store):
    built, blocks = focus_only(share=True, show=True, store=seeded)
    assert [(t.team, t.below_people) for t in built.focus.teams] == [("vision", ("U0ANA",)), ("nlp", ("U0EVE",))]
    assert texts(blocks)[-2] == "Below the line (shared by the org's choice): vision: <@U0ANA>; nlp: <@U0EVE>"
    for share, show in ((True, False), (False, True), (False, False)):
        built, blocks = focus_only(share=share, show=show, store=seeded)
        assert all(t.below_people == () for t in built.focus.teams), (share, show)
        assert mentions(blocks) == set() and "Below the line" not in "\n".join(texts(blocks)), (share, show)
        assert "2 of 4 with IDE data below the line" in "\n".join(texts(blocks))  # the count is always there


# -- quiet weeks ---------------------------------------------------------------------------------------


def test_an_empty_week_is_one_line(tmp_path):
    settings, digest = org()
    built = build_digest(Store(tmp_path / "bridge.db"), settings, digest, WEEK)
    assert built.handoffs.quiet and built.focus.quiet and built.pipelines.quiet and built.delivery.quiet
    assert built.quiet
    blocks = render(settings, built)
    assert texts(blocks) == [
        "Weekly digest · 2026-W46",
        "9–15 Nov 2026 (Europe/Berlin) · all teams",
        ":zzz: A quiet week: no research handoffs, Focus Time data, pipeline runs, deployments or incidents.",
    ]
    assert [type(b) for b in blocks] == [HeaderBlock, ContextBlock, SectionBlock]
    assert digest_text(built, WorkCalendar.from_settings(settings)) == "Weekly digest 2026-W46: a quiet week."


def test_the_seeded_org_is_quiet_in_a_week_before_anything_happened(seeded: Store):
    settings, digest = org(sections=["pipelines", "delivery"])
    built = build_digest(seeded, settings, digest, week_named("2026-W40", TZ))
    assert built.quiet and built.handoffs is None and built.focus is None
    assert texts(render(settings, built))[-1] == ":zzz: A quiet week: no pipeline runs, deployments or incidents."


def test_a_quiet_section_in_a_busy_digest_is_one_line(tmp_path):
    settings, digest = org()
    built = build_digest(seed_org(Store(tmp_path / "bridge.db"), pipelines=False), settings, digest, WEEK)
    assert built.pipelines.quiet and not built.quiet
    assert not (built.handoffs.quiet or built.focus.quiet or built.delivery.quiet)
    _, _, pipelines, _ = parts(render(settings, built))
    assert pipelines == [":gear: *Pipelines*: a quiet week — no finished pipeline runs."]
    text = digest_text(built, WorkCalendar.from_settings(settings))
    assert "pipelines" not in text and "4 handoffs requested" in text


# -- at scale --------------------------------------------------------------------------------------------


def seed_scale(store: Store) -> None:
    """100 open handoffs (long summaries) and 500 pipelines that each failed in W46."""
    for i in range(100):
        handoff(store, f"VIS-{i + 1}", local(11, 9, 10) - timedelta(hours=7 * i),
                summary=f"Handoff {i + 1} & <model> " + "with a very long description " * 12)
    runs = []
    for i in range(500):
        name = f"team-{i % 7}/repo-{i}: train & evaluate <{i}>.yml"
        runs += [run(name, f"a{i}", "failed", local(11, 10, 1) + timedelta(minutes=i)),
                 run(name, f"b{i}", "success" if i % 3 else "failed", local(11, 12, 1) + timedelta(minutes=i))]
    store.save_pipeline_runs(runs)


def test_a_huge_week_fits_slacks_limits_and_is_accepted(tmp_path):
    settings, digest = org()
    store = Store(tmp_path / "bridge.db")
    seed_scale(store)
    built = build_digest(store, settings, digest, WEEK)
    assert (built.handoffs.current.open_now, len(built.handoffs.oldest_open)) == (100, 100)
    assert (built.pipelines.overall.runs, built.pipelines.overall.failed, len(built.pipelines.pipelines)) \
        == (1000, 667, 500)
    blocks = render(settings, built)
    assert len(blocks) <= 50
    assert all(len(t) <= 3000 for t in texts(blocks))
    [oldest] = [t.splitlines() for t in texts(blocks) if t.startswith("*Oldest still waiting*")]
    assert len(oldest) == 1 + 5 + 1
    assert oldest[1].startswith("• *<https://jira.example.com/browse/VIS-100|VIS-100>* Handoff 100 &amp; &lt;model&gt;")
    assert oldest[-1] == "…and 95 more waiting (`/handoffs` lists them all)"
    [worst] = [t.splitlines() for t in texts(blocks) if "*Worst this week*" in t]
    assert len(worst) == 1 + 1 + 5 + 1
    assert worst[0].endswith("1,000 runs, 667 failed across 500 pipelines")
    assert worst[-1] == "…and 495 more with failures (`/pipelines` lists them all)"
    assert "&lt;0&gt;" in worst[2] and "<0>" not in worst[2]  # pipeline names escaped
    text = digest_text(built, WorkCalendar.from_settings(settings))
    assert len(text) <= 600 and "2026-W46" in text and "100 waiting" in text and "pipelines 33% reliable" in text
    with FakeSlack(tokens=("xoxb-t",)) as fake:
        answer = WebClient(token="xoxb-t", base_url=fake.api_url).chat_postMessage(
            channel=CHANNEL, text=text, blocks=to_dicts(blocks))
        assert answer["ok"]
        [posted] = fake.messages(CHANNEL)
        assert len(posted["blocks"]) == len(blocks) and posted["text"] == text


# -- terminal text -------------------------------------------------------------------------------------


def test_blocks_as_text_shows_links_as_label_and_url_without_bold(seeded: Store):
    settings, digest = org()
    text = blocks_as_text(render(settings, build_digest(seeded, settings, digest, WEEK)))
    lines = text.splitlines()
    assert lines[:3] == ["Weekly digest · 2026-W46", "=" * len("Weekly digest · 2026-W46"),
                         "  9–15 Nov 2026 (Europe/Berlin) · all teams"]
    assert "• VIS-4 (https://jira.example.com/browse/VIS-4) Handoff VIS-4 — waiting 4.0 bd (5d 15h), over the SLA" \
           " · owner @U0ANA · from Rae Searcher" in lines
    assert "• train (https://ci.example.com/train/r3/1) 75% ↑ 75 pts · 4 runs, 1 failed · 1 failed run in a row" \
           in lines
    assert ("All teams: 3h 20m a day (last week 2h 40m) · 2 of 4 with IDE data below the line"
            " · research 59% / engineering 41%") in lines
    assert "Research handoffs" in lines and "-" * 72 in lines
    assert "*" not in text and "<" not in text and ":handshake:" not in text and "`" not in text


# -- wording edge cases ---------------------------------------------------------------------------


def test_a_one_team_digest_labels_focus_with_the_team(seeded: Store):
    settings, digest = org(teams=["nlp"], sections=["focus"], chart=False)
    focus = "\n".join(texts(render(settings, build_digest(seeded, settings, digest, WEEK))))
    assert "*nlp*: *3h 34m a day*" in focus and "All teams" not in focus


def test_a_week_across_new_year_names_both_years(tmp_path):
    settings, digest = org()
    built = build_digest(Store(tmp_path / "b.db"), settings, digest, week_named("2026-W53", TZ))
    assert texts(render(settings, built))[1].startswith("28 Dec 2026 – 3 Jan 2027 (Europe/Berlin)")


def test_staging_only_deployments_make_a_quiet_delivery_week(tmp_path):
    store = Store(tmp_path / "b.db")
    store.save_deployments([deploy("s1", "ranker", "r1", local(11, 10, 10), env="staging")])
    settings, digest = org(sections=["delivery"], chart=False)
    built = build_digest(store, settings, digest, WEEK)
    assert built.delivery.current.deployments == 1 and built.delivery.quiet
    assert texts(render(settings, built))[-1].startswith(":zzz: A quiet week")


def test_a_pipeline_that_did_not_run_this_week_is_not_among_the_worst(tmp_path):
    store = Store(tmp_path / "b.db")
    store.save_pipeline_runs([
        run("stale", "s1", "failed", local(11, 4, 10)),  # W45 only: a failure streak, no run in W46
        run("busy", "b1", "failed", local(11, 10, 10)),
        run("busy", "b2", "success", local(11, 11, 10)),
    ])
    settings, digest = org(sections=["pipelines"], chart=False)
    lines = "\n".join(texts(render(settings, build_digest(store, settings, digest, WEEK))))
    assert re.search(r"across 1 pipeline$", lines, re.MULTILINE)
    assert "busy" in lines and "stale" not in lines and "  " not in lines


def test_a_digest_channel_must_be_a_channel_id():
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"digest\[0\].channel: expected a channel ID"):
        settings_from_mapping({"digest": [{"channel": "U0123ABCD"}]}, {})


# -- display rules (bot.formatting): figures that agree with the decisions ---------------------------


def test_hours_and_minutes_never_round_across_the_line():
    assert hours_minutes(2.96 * H) == "2h 57m"  # below the 3 h line: never "3.0 h"
    assert hours_minutes(3 * H - 0.1) == "2h 59m"
    assert hours_minutes(3 * H) == "3h 0m"  # on the line is not below it
    assert hours_minutes((2 * 60 + 53) * 60) == "2h 53m" and hours_minutes((3 * 60 + 6) * 60) == "3h 6m"
    assert hours_minutes(50 / 15 * H) == "3h 20m" and hours_minutes(45 * 60 + 59) == "45m"
    assert hours_minutes(None) == "—" and hours_minutes(0) == "0m" and hours_minutes(-5) == "0m"
    line = 3 * H
    for seconds in [line + d for d in (-3600, -61, -60, -59, -1, -0.001, 0, 0.001, 59, 60, 3600)]:
        h, m = re.fullmatch(r"(?:(\d+)h )?(\d+)m", hours_minutes(seconds)).groups()
        printed = int(h or 0) * 60 + int(m)
        assert (printed < 180) == (seconds < line), seconds  # printed under the line iff it is under


def test_bar_cells_never_fill_across_the_line():
    """At a 3 h line after 6 cells (half an hour a cell), rounding drew 2 h 53 m and 3 h 6 m as
    the same six cells; cut, 2 h 53 m stays under the line."""
    line = 3 * H
    assert line_cells((2 * 60 + 53) * 60, line, 6) == 5
    assert line_cells((3 * 60 + 6) * 60, line, 6) == 6
    assert line_cells(line, line, 6) == 6 and line_cells(line - 1, line, 6) == 5
    assert line_cells(10 * H, line, 6) == 12 and line_cells(0, line, 6) == 0 and line_cells(H, 0, 6) == 0
    for minutes in range(0, 400, 7):
        assert (line_cells(minutes * 60, line, 6) < 6) == (minutes * 60 < line), minutes


def test_a_team_just_under_the_line_reads_under_it(tmp_path):
    """2.96 h a day is below the 3 h line, so the digest says 2h 57m, not 3.0 h beside
    '1 of 1 below the line'; 2 h 53 m and 3 h 6 m read apart."""
    store = Store(tmp_path / "b.db")
    focus_days(store, "U0ANA", workdays(date(2026, 11, 9)), 2.96, 2, 0.96)
    focus_days(store, "U0ANA", workdays(date(2026, 11, 2)), 3.1, 2, 1.1)
    focus_days(store, "U0DAN", workdays(date(2026, 11, 9)), 2 + 53 / 60, 1, 1 + 53 / 60)
    settings, digest = org(sections=["focus"], chart=False)
    built = build_digest(store, settings, digest, WEEK)
    vision, nlp = built.focus.teams
    assert vision.current.below_threshold == 1 and vision.current.average_focus_seconds < 3 * H
    lines = texts(render(settings, built))[2].splitlines()
    assert "• vision: *2h 57m a day* (last week 3h 6m) · 1 of 1 with IDE data below the line" in lines[2]
    assert "• nlp: *2h 53m a day* · 1 of 1 with IDE data below the line" in lines[3]  # no "(last week —)"
    assert "3.0 h" not in "\n".join(lines)
    assert lines[1].startswith("*All teams*: *2h 55m a day* (last week 3h 6m) · 2 of 2 with IDE data below")
    assert digest_text(built, WorkCalendar.from_settings(settings)) == "Weekly digest 2026-W46: focus 2h 55m a day"


def test_trend_points_are_singular_for_one():
    assert points_change(0.01) == "↑ 1 pt" and points_change(-0.01) == "↓ 1 pt"
    assert points_change(0.02) == "↑ 2 pts" and points_change(-0.2333) == "↓ 23 pts"
    assert points_change(0.0) == "→" and points_change(0.004) == "→" and points_change(-0.004) == "→"
    assert points_change(0.005) == "↑ 1 pt"  # half a point: never "↑ 0 pts"
    assert points_change(None) == ""
    # beside last week's figure, the change is the one between the two figures as printed
    assert percent_change(0.906, 0.914) == "→"  # 91% and 91%, not "↓ 1 pt"
    assert percent_change(0.904, 0.916) == "↓ 2 pts"  # 90% and 92%, not "↓ 1 pt"
    assert percent_change(0.91, 0.9) == "↑ 1 pt" and percent_change(None, 0.9) == ""


def test_a_one_point_change_in_the_digest_reads_one_pt(tmp_path):
    """W45 10 of 11 runs succeeded (91%), W46 9 of 10 (90%): one point down, said once."""
    store = Store(tmp_path / "b.db")
    store.save_pipeline_runs(
        [run("train", f"p{i}", "failed" if i == 0 else "success", local(11, 3, 10) + timedelta(hours=i))
         for i in range(11)]
        + [run("train", f"c{i}", "failed" if i == 0 else "success", local(11, 10, 10) + timedelta(hours=i))
           for i in range(10)])
    settings, digest = org(sections=["pipelines"], chart=False)
    [head] = [t for t in texts(render(settings, build_digest(store, settings, digest, WEEK))) if "Pipelines" in t]
    assert head.splitlines()[0].startswith(":gear: *Pipelines*: reliability *90%* ↓ 1 pt (last week 91%)")
    assert "• *<https://ci.example.com/train/c9/1|train>* 90% ↓ 1 pt · 10 runs, 1 failed" in head
    assert "pts" not in head


def test_nothing_to_compare_is_left_unsaid(seeded: Store):
    """No '—' figures read out: no pick-up this week, no commit times, no incidents, one
    deployment (singular), no runs or focus data the week before."""
    settings, digest = org(teams=["NLP"])
    w46 = build_digest(seeded, settings, digest, WEEK)
    text = "\n".join(texts(render(settings, w46)))
    assert "Wait for pick-up: none picked up this week\n" in text and "median —" not in text
    assert digest_text(w46, WorkCalendar.from_settings(settings)).startswith(
        "Weekly digest 2026-W46: 2 handoffs requested, 2 waiting · ")
    w47 = build_digest(seeded, settings, digest, week_named("2026-W47", TZ))
    delivery = parts(render(settings, w47))[-1][0].splitlines()
    assert delivery == [  # d5 at Mon 16 Nov 00:10 has no commit time
        ":rocket: *ML delivery*: 1 (−2) production deployment on 1 day",
        "Lead time (commit → production): no commit times this week (last week median 5h 0m)",
        "Change failure rate 0% (last week 50%) · rollbacks 0 (model rollback rate 0%)",
        "No incidents",
    ]
    assert digest_text(w47, WorkCalendar.from_settings(settings)).endswith(" · 1 production deployment")


def test_a_first_week_reads_without_last_week(tmp_path):
    """Runs and focus data only this week: no '(last week —)'."""
    store = Store(tmp_path / "b.db")
    store.save_pipeline_runs([run("train", "r1", "success", local(11, 10, 10)),
                              run("train", "r2", "failed", local(11, 11, 10))])
    focus_days(store, "U0ANA", workdays(date(2026, 11, 9)), 3.5, 2, 1.5)
    settings, digest = org(sections=["focus", "pipelines"], chart=False)
    blocks = render(settings, build_digest(store, settings, digest, WEEK))
    text = "\n".join(texts(blocks))
    assert ":gear: *Pipelines*: reliability *50%* · 2 runs, 1 failed across 1 pipeline" in text
    assert "*All teams*: *3h 30m a day* · 0 of 1 with IDE data below the line" in text
    assert "last week" not in text and "—" not in text
