"""`/pipelines` end to end: the real server (FastAPI + Bolt in uvicorn) on loopback, signed
Slack requests, a fake Slack Web API recording what reached Slack, and pipeline runs seeded
through the store's upserts (the path every source ends in)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from bot.config import settings_from_mapping
from bot.ingest.pipelines import record_pipeline_runs
from bot.metrics.reliability import summarize_windows
from bot.models import PipelineRun
from bot.queries.pipelines import PipelineDetail, PipelineQueries
from bot.slack.blocks import pipelines as pb
from bot.store import Store
from tests.fakes.fake_slack import FakeSlack
from tests.support import slack_requests
from tests.support.bridge import MAX_TEXT, Bridge, joined, running_bridge, slack_settings, texts

NOW = datetime(2025, 6, 13, 15, 0, tzinfo=UTC)  # a Friday
SECRET = "pipelines-signing-secret-0123456789"
TOKEN = "xoxb-pipelines-token"
A, B, C, D, E = ("vision/detector: ci.yml", "feature_refresh", "nlp/reranker: pipeline",
                 "eval-harness: nightly", "old_backfill")


def run(pipeline: str, source: str, run_id: str, status: str, days_ago: float, *, attempt: int = 1,
        seconds: int = 252, url: bool = True) -> PipelineRun:
    finished = NOW - timedelta(days=days_ago)
    link = f"https://ci.example.com/{source}/{run_id}/{attempt}" if url else None
    return PipelineRun(source, pipeline, run_id, attempt, status, finished, finished - timedelta(seconds=seconds),
                       link, "3484a3fb816e0859fd6e1cea078d76385ff50625", None, "main")


def seed(store: Store) -> None:
    """Known figures (worst first by 7-day reliability, then pipelines quiet for 7 days):

    A  7d 6 ok / 3 failed / 1 cancelled = 67%, the 7 days before 9/1 = 90% (↓ 23 pts);
       30d 25/4/1 = 86%, the 30 before 20/0 = 100% (↓ 14 pts); the last two runs failed.
    C  7d a re-run (attempt 1 failed, 2 succeeded: one success) + 3 ok + 1 failed + 1 skipped
       = 4/1 = 80%, before 4/1 = 80% (→); 30d 8/2 = 80%, nothing before (no arrow).
    B  7d 4/0 = 100%, before 2/2 = 50% (↑ 50 pts); 30d 6/2 = 75%.
    D  7d only cancelled (2): no reliability; 30d also 1 failed = 0%; streak 1 (the
       cancelled runs after the failure neither break nor extend it).
    E  only 20 days ago, 1 ok then 1 failed (a streak of 1): listed after every pipeline
       with runs in the last 14 days.
    F  only 100 days ago: not listed.
    """
    runs: list[PipelineRun] = []
    a = "github"
    for i, d in enumerate((6.5, 6, 5.5, 5, 4.5, 3.5)):
        runs.append(run(A, a, f"a{i}", "success", d))
    runs += [run(A, a, "a6", "failed", 4), run(A, a, "a7", "cancelled", 3), run(A, a, "a8", "failed", 2),
             run(A, a, "a9", "failed", 1)]
    runs += [run(A, a, f"ap{i}", "success", 8 + i * 0.5) for i in range(9)] + [run(A, a, "ap9", "failed", 13)]
    runs += [run(A, a, f"am{i}", "success", 15 + i) for i in range(10)]
    runs += [run(A, a, f"aq{i}", "success", 31 + i) for i in range(20)]
    runs += [run(B, "airflow", f"b{d}", "success", d) for d in (4, 3, 2, 1)]
    runs += [run(B, "airflow", "b8", "success", 8), run(B, "airflow", "b9", "success", 9),
             run(B, "airflow", "b10", "failed", 10), run(B, "airflow", "b11", "failed", 11)]
    g = "gitlab"
    runs += [run(C, g, "c1", "failed", 2.2, seconds=61), run(C, g, "c1", "success", 2.1, attempt=2, seconds=3725)]
    runs += [run(C, g, "c2", "success", 6), run(C, g, "c3", "success", 5.5), run(C, g, "c4", "failed", 5),
             run(C, g, "c5", "success", 4), run(C, g, "c6", "skipped", 0.3, seconds=5, url=False)]
    runs += [run(C, g, f"cp{i}", "success", 8 + i) for i in range(4)] + [run(C, g, "cp4", "failed", 12.5)]
    runs += [run(D, "api", "d0", "failed", 20), run(D, "api", "d1", "cancelled", 3),
             run(D, "api", "d2", "cancelled", 2)]
    runs += [run(E, "airflow", "e0", "success", 20.5), run(E, "airflow", "e1", "failed", 20)]
    runs += [run("ancient_dag", "airflow", "f0", "failed", 100)]
    record_pipeline_runs(store, runs)


# -- the running server ------------------------------------------------------------------------


@contextmanager
def bridge_with(fake: FakeSlack, path, seeder: Callable[[Store], None]) -> Iterator[Bridge]:
    store = Store(path)
    seeder(store)
    with running_bridge(slack_settings(fake, TOKEN, SECRET, {"timezone": "Europe/London"}), store, fake, NOW) as b:
        yield b


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as fake:
        fake.add_user("U0ANA", "ana", real_name="Ana Engineer", tz="Europe/Berlin", tz_offset=7200)
        yield fake


@pytest.fixture(scope="module")
def bridge(fake: FakeSlack, tmp_path_factory) -> Iterator[Bridge]:
    with bridge_with(fake, tmp_path_factory.mktemp("pipelines") / "bridge.db", seed) as b:
        yield b


def pipelines(b: Bridge, text: str, user: str = "U0ANA") -> list[dict]:
    """Send `/pipelines TEXT`; return the blocks of the private answer (checked against the limits)."""
    posted = b.ask("/pipelines", text, user)
    assert all(len(t) <= MAX_TEXT for t in texts(posted["blocks"]))
    assert b.fake.calls("chat.postMessage") == []
    return posted["blocks"]


def rows(blocks: list[dict]) -> list[str]:
    """The per-pipeline sections, in order (they start with the bold pipeline name)."""
    found = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    return [t for t in found if t.startswith("*") and not t.startswith("*All ")]


# -- /pipelines --------------------------------------------------------------------------------


def test_overview_figures_streaks_and_trends_worst_first(bridge: Bridge) -> None:
    blocks = pipelines(bridge, "")
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Pipeline reliability", "emoji": True}}
    overall = texts(blocks)[1]
    # 7 days: A 6/3 (+1 cancelled), B 4/0, C 4/1 (+1 skipped, the re-run counts once), D 2 cancelled
    assert overall.startswith("*All 5 pipelines*: 7 days *78%* · 22 runs, 4 failed, 3 cancelled, 1 skipped"
                              "  |  30 days *80%* · 54 runs, 10 failed, 3 cancelled, 1 skipped")
    assert ":rotating_light: 3 on a failure streak" in overall  # A, D and E
    got = rows(blocks)
    assert [r.split("*")[1] for r in got] == [A, C, B, D, E]
    a, c, b, d, e = got
    assert a == (f"*{A}* `github` · <https://ci.example.com/github/a9/1|last run> · :rotating_light: 2 failed runs"
                 " in a row\n7 days *67%* ↓ 23 pts · 10 runs, 3 failed, 1 cancelled"
                 "\n30 days *86%* ↓ 14 pts · 30 runs, 4 failed, 1 cancelled")
    assert c.endswith("\n7 days *80%* → · 6 runs, 1 failed, 1 skipped\n30 days *80%* · 11 runs, 2 failed, 1 skipped")
    assert "last run" not in c  # its latest run (skipped) has no link
    assert b.endswith("\n7 days *100%* ↑ 50 pts · 4 runs, 0 failed\n30 days *75%* · 8 runs, 2 failed")
    assert "rotating_light" not in b and "rotating_light" not in c
    assert d.endswith(":rotating_light: 1 failed run in a row\n7 days *—* · 2 runs, 0 failed, 2 cancelled"
                      "\n30 days *0%* · 3 runs, 1 failed, 2 cancelled")
    assert e.endswith(":rotating_light: 1 failed run in a row\n7 days: no runs\n30 days *50%* · 2 runs, 1 failed")
    assert "ancient_dag" not in joined(blocks)
    assert "Reliability = success ÷ (success + failed)" in texts(blocks)[-1]


def test_detail_lists_recent_runs_with_links_in_the_callers_timezone(bridge: Bridge) -> None:
    blocks = pipelines(bridge, f"  {C} ")
    text = joined(blocks)
    assert blocks[0]["text"]["text"] == f"{C} — recent runs"
    assert "`gitlab`\n7 days *80%* → · 6 runs, 1 failed, 1 skipped\n30 days *80%* · 11 runs, 2 failed" in text
    lines = [line for line in text.split("\n") if line.startswith(":")]
    # newest first, each run by its final attempt (the re-run's failed attempt 1 is replaced),
    # linked; Ana is in Berlin (UTC+2)
    assert lines[:4] == [
        ":fast_forward: run c6 · skipped · Fri 13 Jun 09:48 · 5s · `main` `3484a3f`",
        ":white_check_mark: <https://ci.example.com/gitlab/c1/2|run c1> (attempt 2) · success · Wed 11 Jun 14:36"
        " · 1h 2m · `main` `3484a3f`",
        ":white_check_mark: <https://ci.example.com/gitlab/c5/1|run c5> · success · Mon 09 Jun 17:00 · 4m 12s"
        " · `main` `3484a3f`",
        ":x: <https://ci.example.com/gitlab/c4/1|run c4> · failed · Sun 08 Jun 17:00 · 4m 12s · `main` `3484a3f`",
    ]
    assert len(lines) == 11  # every final run it has (fewer than the 20 shown at most)
    assert "c1/1" not in text
    assert "Times in Europe/Berlin" in text
    assert bridge.fake.calls("users.info")  # the caller's timezone comes from Slack


def test_detail_of_a_failing_pipeline_shows_the_streak(bridge: Bridge) -> None:
    text = joined(pipelines(bridge, A))
    assert ":rotating_light: 2 failed runs in a row" in text
    assert text.index("run a9") < text.index("run a8") < text.index("run a7")


def test_a_unique_part_of_a_name_is_enough(bridge: Bridge) -> None:
    assert texts(pipelines(bridge, "RERANKER"))[0] == f"{C} — recent runs"


def test_unknown_name_suggests_matching_pipelines(bridge: Bridge) -> None:
    text = joined(pipelines(bridge, "re"))  # ambiguous: two names contain it
    assert f"There is no pipeline `re`. Did you mean `{B}`, `{C}`?" in text
    text = joined(pipelines(bridge, "feature_refesh"))  # a typo
    assert f"There is no pipeline `feature_refesh`. Did you mean `{B}`?" in text
    text = joined(pipelines(bridge, "<nope> & co"))
    assert "No pipeline matches `&lt;nope&gt; &amp; co`. `/pipelines` lists them all." in text


def test_help(bridge: Bridge) -> None:
    text = joined(pipelines(bridge, "HELP"))
    for usage in ("`/pipelines`", "`/pipelines NAME`", "`/pipelines help`"):
        assert usage in text
    assert "worst first" in text


def test_forged_and_stale_requests_get_401_and_reach_nothing(bridge: Bridge) -> None:
    body, _ = slack_requests.slash_body(bridge.fake, "/pipelines", "", "U0ANA")
    assert bridge.post(body, secret="not-the-secret").status_code == 401
    assert bridge.post(body, age=6 * 60).status_code == 401
    time.sleep(0.5)
    assert bridge.fake.calls() == []


def test_no_runs_yet_says_how_to_connect_a_source(fake: FakeSlack, tmp_path) -> None:
    with bridge_with(fake, tmp_path / "empty.db", lambda store: None) as b:
        for text in ("", "some pipeline"):
            blocks = pipelines(b, text)
            assert len(blocks) == 1
            line = texts(blocks)[0]
            assert line == pb.CONNECT and "\n" not in line
            for where in ("/webhooks/github", "/webhooks/gitlab", "[airflow] url", "/api/v1/pipeline-runs"):
                assert where in line


def test_500_pipelines_stay_within_block_kit_limits(fake: FakeSlack, tmp_path) -> None:
    def many(store: Store) -> None:
        record_pipeline_runs(store, [
            run(f"team/repo-{n:03d} <&> " + "x" * 300, "github", f"r{n}-{k}", "failed" if k < n % 5 else "success",
                k + 0.5)
            for n in range(500) for k in range(4)
        ])

    with bridge_with(fake, tmp_path / "many.db", many) as b:
        blocks = pipelines(b, "")
        text = joined(blocks)
        assert len(blocks) == 50
        shown = rows(blocks)
        assert len(shown) == 45  # header, overall, divider + 45 rows + "…and N more" + legend
        assert "…and 455 more (use `research-bridge report pipelines` for all)" in text
        assert "*All 500 pipelines*: 7 days *50%* · 2,000 runs, 1,000 failed" in text
        assert "&lt;&amp;&gt;" in shown[0] and "<&>" not in text
        assert all(r.startswith("*team/repo-") and "7 days *0%*" in r for r in shown[:10])  # 4 failures of 4 first


def test_detail_with_many_runs_stays_within_limits() -> None:
    many = [run("big", "api", f"r{i}-" + "9" * 80, "failed", i / 10, url=True) for i in range(500)]
    summary = summarize_windows(many, NOW, (7,))[7][0]
    blocks = pb.detail_blocks(PipelineDetail("big", "api", summary, summary, many), ZoneInfo("UTC"))
    dicts = [b.to_dict() for b in blocks]
    assert len(dicts) == 50 and all(len(t) <= 3000 for t in texts(dicts))
    assert "…and 455 more (older runs are in the CI system's own history)" in joined(dicts)  # 45 runs shown


def test_trend_arrows() -> None:
    assert pb.trend_arrow(None) == ""
    assert pb.trend_arrow(0.004) == "→" and pb.trend_arrow(-0.004) == "→"
    assert pb.trend_arrow(0.05) == "↑ 5 pts"
    assert pb.trend_arrow(-0.2333) == "↓ 23 pts"


def test_a_pipeline_quiet_this_week_shows_the_week_before(tmp_path) -> None:
    store = Store(tmp_path / "quiet.db")
    record_pipeline_runs(store, [run("quiet", "api", "q1", "success", 10), run("quiet", "api", "q2", "failed", 9)])
    overview = PipelineQueries(store, settings_from_mapping({}, {})).overview(NOW)
    text = joined([b.to_dict() for b in pb.overview_blocks(overview)])
    assert "*1 pipeline*: 7 days *—* · no runs  |  30 days *50%* · 2 runs, 1 failed" in text
    assert "\n7 days: no runs (the 7 days before: 50%, 2 runs, 1 failed)\n30 days *50%* · 2 runs, 1 failed" in text


def test_names_are_escaped_in_the_notification_text_too(fake: FakeSlack, tmp_path) -> None:
    """The header shows a name as plain text, but a message's `text` is read for mentions:
    a pipeline called `<!channel>` must not ping the channel from the fallback."""
    hostile = "<!channel> <@U0BOSS> & co"

    def seed_hostile(store: Store) -> None:
        record_pipeline_runs(store, [run(hostile, "api", "r1", "failed", 0.5)])

    with bridge_with(fake, tmp_path / "hostile.db", seed_hostile) as b:
        for text in (hostile, "<!channel>", "<!here> nothing"):
            body, response_url = slack_requests.slash_body(b.fake, "/pipelines", text, "U0ANA")
            assert b.post(body).status_code == 200
            posted = b.fake.response_to(response_url).body
            assert "<!" not in posted["text"] and "<@" not in posted["text"], posted["text"]
            assert "&lt;!channel&gt;" in posted["text"] or "&lt;!here&gt;" in posted["text"]


def test_a_change_of_one_point_is_one_pt() -> None:
    assert pb.trend_arrow(0.01) == "↑ 1 pt" and pb.trend_arrow(-0.01) == "↓ 1 pt"
    assert pb.trend_arrow(0.02) == "↑ 2 pts" and pb.trend_arrow(-0.02) == "↓ 2 pts"
    assert pb.trend_arrow(0.0) == "→"
    assert pb.trend_arrow(0.005) == "↑ 1 pt" and pb.trend_arrow(-0.005) == "↓ 1 pt"  # half a point, never "0 pts"
    assert pb.trend_arrow(0.0149) == "↑ 1 pt" and pb.trend_arrow(0.015) == "↑ 2 pts"


def test_pipelines_reads_a_one_point_change_as_1_pt(tmp_path) -> None:
    """7 days: 49 of 50 succeeded (98%); the 7 days before: 97 of 100 (97%)."""
    store = Store(tmp_path / "pt.db")
    record_pipeline_runs(store, 
        [run("steady", "api", f"n{i}", "failed" if i == 0 else "success", 0.1 + i * 0.13) for i in range(50)]
        + [run("steady", "api", f"b{i}", "failed" if i < 3 else "success", 7.05 + i * 0.065) for i in range(100)])
    queries = PipelineQueries(store, settings_from_mapping({}, {}))
    overview = queries.overview(NOW)
    text = joined([b.to_dict() for b in pb.overview_blocks(overview)])
    assert "\n7 days *98%* ↑ 1 pt · 50 runs, 1 failed\n" in text
    assert "pts" not in text
    detail = queries.detail("steady", NOW)
    text = joined([b.to_dict() for b in pb.detail_blocks(detail, ZoneInfo("UTC"))])
    assert "\n7 days *98%* ↑ 1 pt · 50 runs, 1 failed\n" in text
