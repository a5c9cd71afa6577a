"""What a weekly digest says: `bot.digest.compute.build_digest` on a seeded org, checked
against the metrics computed independently for the week (and counted by hand in the seed),
and its rendering by `bot.slack.blocks.digest` (Block Kit limits, quiet weeks, names).

The org works in Europe/Berlin (CET, UTC+1 in November), so Monday 00:00 local is Sunday
23:00 UTC: events on either side of that line land in different weeks. The digest's week is
2026-W46 (Mon 9 Nov - Mon 16 Nov, local midnights); the week before is 2026-W45.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.digest.compute import build_digest
from bot.digest.model import Digest
from bot.digest.period import week_named
from bot.ingest.pipelines import record_pipeline_runs
from bot.metrics.delivery import delivery_metrics
from bot.metrics.focus import team_focus
from bot.metrics.handoffs import summarize
from bot.metrics.reliability import summarize_windows
from bot.metrics.workcal import WorkCalendar
from bot.slack.blocks.charts import chart_series
from bot.slack.blocks.digest import digest_text
from bot.slack.blocks.kit import to_dicts
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support.digests import (
    CHANNEL,
    DEPLOYMENTS,
    EDGE,
    INCIDENTS,
    PREVIOUS,
    TZ,
    WEEK,
    H,
    handoff,
    local,
    mentions,
    org,
    parts,
    render,
    run,
    seed_org,
    texts,
    workdays,
)

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
    """The chart's series (what `bot.slack.blocks.charts` draws) are, week by week, the figures the
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
    record_pipeline_runs(store, runs)


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
