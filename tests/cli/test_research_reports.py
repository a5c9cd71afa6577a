"""`research-bridge report experiments` and `report initiatives` end to end (through click), on
runs, commits, branches and Jira initiatives with known figures, in an organisation on New
York time (so ISO weeks and quarters start at 04:00 or 05:00 UTC, not at midnight UTC)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli.report import report
from bot.cli.report_research import report_experiments, report_initiatives
from bot.ingest.jira import record_jira_issue
from bot.metrics.handoffs import HandoffRules
from bot.models import ChangeItem, ExperimentRun, JiraIssue, RepoBranch, RepoCommit
from bot.store import Store
from bot.terminal.research import EXPERIMENT_FIELDS, INITIATIVE_FIELDS, parse_weeks_window, window_weeks
from tests.support.cli import invoke

NY = ZoneInfo("America/New_York")
CONFIG = """
timezone = "America/New_York"

[[team]]
name = "vision"
members = ["U0VIS1"]
jira_projects = ["VIS"]

[[team]]
name = "language"
members = ["U0NLP1"]
jira_projects = ["NLP"]

[[team]]
name = "idle"
members = ["U0IDLE1"]

[identities]
"mlflow:alice" = "U0VIS1"
"mlflow:bob" = "U0NLP1"
"github:alice-gh" = "U0VIS1"
"""
EXPERIMENT_HEADER = ["team", "week", "week_start", "runs", "experiments", "runs_per_experiment", "finished",
                     "failed", "killed", "running", "median_run_seconds", "commits", "branches"]
INITIATIVE_HEADER = ["quarter", "key", "summary", "team", "stage", "children", "first_handoff_at",
                     "first_delivered_at", "time_to_production_seconds", "waiting_since", "waiting_key", "url"]
MIN, H, DAY = 60, 3600, 86400


def test_report_group_offers_experiments_and_initiatives():
    assert report.commands["experiments"] is report_experiments
    assert report.commands["initiatives"] is report_initiatives
    assert list(EXPERIMENT_FIELDS) == EXPERIMENT_HEADER and list(INITIATIVE_FIELDS) == INITIATIVE_HEADER


# -- the org -------------------------------------------------------------------------------------


def local_monday(weeks_ago: int) -> date:
    today = datetime.now(UTC).astimezone(NY).date()
    return today - timedelta(days=today.weekday(), weeks=weeks_ago)


def monday(weeks_ago: int) -> datetime:
    """Monday 00:00 in New York, `weeks_ago` weeks before this week's, in UTC."""
    d = local_monday(weeks_ago)
    return datetime(d.year, d.month, d.day, tzinfo=NY).astimezone(UTC)


def label(weeks_ago: int) -> str:
    year, week, _ = local_monday(weeks_ago).isocalendar()
    return f"{year}-W{week:02d}"


def run(run_id: str, user: str, experiment: str, status: str, start: datetime, minutes: float | None) -> ExperimentRun:
    end = None if minutes is None else start + timedelta(minutes=minutes)
    return ExperimentRun("mlflow", run_id, experiment, status, start, end, user)


def seed_experiments(store: Store) -> None:
    """This week: alice (vision) a sweep of 3 finished in 10, 20, 30 min and a failed probe;
    ci-bot (unassigned) a finished nightly of 5 min; 2 commits by alice-gh. Last week: alice a
    15-minute run started on Sunday 23:00 New York time (this week's Monday in UTC); a commit by
    an unknown e-mail. Two weeks ago: bob (language) a killed run and a running one of one
    experiment; a branch by alice-gh. Four weeks ago: alice 2 runs of an hour. Ten weeks ago:
    one more (outside the default window)."""
    w0 = monday(0)
    store.save_experiment_runs([
        run("s1", "alice", "sweep", "finished", w0 + timedelta(hours=9), 10),
        run("s2", "alice", "sweep", "finished", w0 + timedelta(hours=9, minutes=30), 20),
        run("s3", "alice", "sweep", "finished", w0 + timedelta(hours=10), 30),
        run("p1", "alice", "probe", "failed", w0 + timedelta(hours=11), 3),
        run("c1", "ci-bot", "nightly", "finished", w0 + timedelta(hours=12), 5),
        run("edge", "alice", "sweep", "finished", w0 - timedelta(hours=1), 15),
        run("b1", "bob", "ner", "killed", monday(2) + timedelta(days=1), 5),
        run("b2", "bob", "ner", "running", monday(2) + timedelta(days=1, hours=1), None),
        run("o1", "alice", "sweep", "finished", monday(4) + timedelta(hours=2), 60),
        run("o2", "alice", "sweep", "finished", monday(4) + timedelta(hours=3), 60),
        run("ancient", "alice", "sweep", "finished", monday(10) + timedelta(hours=2), 60),
    ], datetime.now(UTC))
    repo = "acme/vision-research"
    store.save_repo_activity(
        [RepoCommit("github", repo, "a" * 40, w0 + timedelta(hours=12), "alice-gh", "alice@example.com"),
         RepoCommit("github", repo, "b" * 40, w0 + timedelta(hours=13), "alice-gh", "alice@example.com"),
         RepoCommit("github", repo, "c" * 40, monday(1) + timedelta(days=1), None, "stranger@example.com")],
        [RepoBranch("github", repo, "alice/distil", monday(2) + timedelta(hours=3), "alice-gh")])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def issue(key: str, issue_type: str, created: str, summary: str, parent: str | None = None) -> JiraIssue:
    return JiraIssue(key=key, id=key.split("-")[1], project=key.split("-")[0], summary=summary, issue_type=issue_type,
                     status="To Do", labels=(), created=at(created), updated=at(created),
                     url=f"https://jira.example.com/browse/{key}", parent_key=parent)


def label_change(key: str, n: int, when: str, added: bool = True) -> ChangeItem:
    before, after = ("", "research-handoff") if added else ("research-handoff", "")
    return ChangeItem(key, f"{key}-{n}", 0, at(when), "labels", before, after)


def status_change(key: str, n: int, when: str, before: str, after: str) -> ChangeItem:
    return ChangeItem(key, f"{key}-{n}", 0, at(when), "status", before, after)


def seed_initiatives(store: Store) -> None:
    """2026-Q4 in New York is [2026-10-01T04:00Z, 2027-01-01T05:00Z).

    VIS-1 (Q3 epic): child VIS-2 handed off 10 Oct, delivered 20 Oct; child VIS-3 handed off
    2 Nov, still waiting. NLP-9 (Q3 epic): child NLP-11 created in Q4, its handoff withdrawn.
    NLP-10: created 2026-10-01T02:00Z, i.e. 30 Sep in New York, untouched since. OPS-1 (no
    team): handed off itself on 1 Dec 03:00 UTC (30 Nov in New York) and picked up. VIS-50: a
    story of no epic (not an initiative)."""
    rules = HandoffRules(labels=frozenset({"research-handoff"}))
    for i, items in [
        (issue("VIS-1", "Epic", "2026-08-01T12:00", "Distil the detector"), []),
        (issue("VIS-2", "Story", "2026-10-05T12:00", "Student model", "VIS-1"),
         [label_change("VIS-2", 1, "2026-10-10T12:00"),
          status_change("VIS-2", 2, "2026-10-12T12:00", "To Do", "In Progress"),
          status_change("VIS-2", 3, "2026-10-20T12:00", "In Progress", "Done")]),
        (issue("VIS-3", "Story", "2026-11-01T12:00", "Quantise", "VIS-1"), [label_change("VIS-3", 1, "2026-11-02T09:00")]),
        (issue("NLP-9", "Epic", "2026-09-01T12:00", "Multilingual NER"), []),
        (issue("NLP-11", "Story", "2026-10-15T12:00", "Tokeniser", "NLP-9"),
         [label_change("NLP-11", 1, "2026-11-05T12:00"), label_change("NLP-11", 2, "2026-11-06T12:00", added=False)]),
        (issue("NLP-10", "Epic", "2026-10-01T02:00", "Speech"), []),
        (issue("OPS-1", "Epic", "2026-11-01T12:00", "Feature store"),
         [label_change("OPS-1", 1, "2026-12-01T03:00"),
          status_change("OPS-1", 2, "2026-12-02T15:00", "To Do", "In Progress")]),
        (issue("VIS-50", "Story", "2026-10-20T12:00", "A lone story"), [label_change("VIS-50", 1, "2026-10-21T12:00")]),
    ]:
        record_jira_issue(store, i, items, rules)


@pytest.fixture
def env(here: Path, monkeypatch) -> Path:
    """The CLI's empty environment, the New York config and a seeded database."""
    (here / "bridge.toml").write_text(CONFIG)
    db = here / "bridge.db"
    monkeypatch.setenv("BRIDGE_DB", str(db))
    store = Store(db)
    seed_experiments(store)
    seed_initiatives(store)
    store.close()
    return here


def output(*args: str) -> str:
    result = invoke("report", *args)
    assert result.exit_code == 0, result.output
    return result.output


def as_json(*args: str) -> list[dict]:
    return json.loads(output(*args, "--format", "json"))


def as_csv(*args: str) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(output(*args, "--format", "csv")))
    return list(reader.fieldnames or []), list(reader)


def failure(*args: str) -> str:
    """The one error line of a command that must be refused as a usage error (exit 2)."""
    result = invoke("report", *args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    return errors[0]


# -- experiments ---------------------------------------------------------------------------------


def week_row(team: str, weeks_ago: int, **figures) -> dict:
    row = {"team": team, "week": label(weeks_ago), "week_start": local_monday(weeks_ago).isoformat(), "runs": 0,
           "experiments": 0, "runs_per_experiment": None, "finished": 0, "failed": 0, "killed": 0, "running": 0,
           "median_run_seconds": None, "commits": 0, "branches": 0}
    return {**row, **figures}


VISION = {
    4: dict(runs=2, experiments=1, runs_per_experiment=2.0, finished=2, median_run_seconds=H),
    2: dict(branches=1),
    1: dict(runs=1, experiments=1, runs_per_experiment=1.0, finished=1, median_run_seconds=15 * MIN),
    0: dict(runs=4, experiments=2, runs_per_experiment=2.0, finished=3, failed=1, median_run_seconds=20 * MIN,
            commits=2),
}
LANGUAGE = {2: dict(runs=2, experiments=1, runs_per_experiment=2.0, killed=1, running=1)}
UNASSIGNED = {1: dict(commits=1), 0: dict(runs=1, experiments=1, runs_per_experiment=1.0, finished=1,
                                          median_run_seconds=5 * MIN)}


def expected(weeks: int) -> list[dict]:
    """Every team active in the last `weeks` weeks (by name, "unassigned" last), oldest week first."""
    rows = []
    for team, figures in (("language", LANGUAGE), ("vision", VISION), ("unassigned", UNASSIGNED)):
        if any(k < weeks for k in figures):
            rows += [week_row(team, k, **figures.get(k, {})) for k in range(weeks - 1, -1, -1)]
    return rows


def test_experiments_default_window_is_the_five_weeks_of_research(env) -> None:
    """Weeks in New York time (the Sunday-night run is last week's), the idle team left out,
    unassigned activity in its own rows, the run of ten weeks ago outside."""
    assert as_json("experiments") == expected(5)
    assert as_json("experiments", "--window", "5w") == expected(5)


def test_experiments_windows(env) -> None:
    rows = as_json("experiments", "--window", "7d")  # last week and this one: language was idle in both
    assert rows == expected(2)
    assert {r["team"] for r in rows} == {"vision", "unassigned"}
    assert as_json("experiments", "--window", "2W") == expected(2)
    assert as_json("experiments", "--window", "1w") == [week_row("vision", 0, **VISION[0]),
                                                       week_row("unassigned", 0, **UNASSIGNED[0])]

    now = datetime.now(UTC).astimezone(NY).date()
    for window, start in (("90d", now - timedelta(days=90)), ("quarter", date(now.year, 3 * ((now.month - 1) // 3) + 1, 1))):
        weeks = ((now - timedelta(days=now.weekday())) - (start - timedelta(days=start.weekday()))).days // 7 + 1
        rows = as_json("experiments", "--window", window)
        vision = [r for r in rows if r["team"] == "vision"]
        assert [r["week"] for r in vision] == [label(k) for k in range(weeks - 1, -1, -1)], window
        if window == "90d":  # 90 days reach the run of ten weeks ago
            assert vision[-11]["runs"] == 1 and vision[-11]["median_run_seconds"] == H


def test_experiments_csv_has_the_documented_header_and_plain_values(env) -> None:
    header, rows = as_csv("experiments", "--window", "2w")
    assert header == EXPERIMENT_HEADER
    assert rows[1] == {"team": "vision", "week": label(0), "week_start": local_monday(0).isoformat(), "runs": "4",
                       "experiments": "2", "runs_per_experiment": "2.0", "finished": "3", "failed": "1",
                       "killed": "0", "running": "0", "median_run_seconds": "1200", "commits": "2", "branches": "0"}
    assert rows[2]["team"] == "unassigned" and rows[2]["runs_per_experiment"] == "" \
        and rows[2]["median_run_seconds"] == ""


def test_experiments_table_is_readable(env) -> None:
    lines = output("experiments", "--window", "1w").splitlines()
    assert lines[0].split() == ["TEAM", "WEEK", "RUNS", "EXPERIMENTS", "RUNS/EXP", "FINISHED", "FAILED", "KILLED",
                                "RUNNING", "MEDIAN", "RUN", "COMMITS", "BRANCHES"]
    assert lines[1].split() == ["vision", label(0), "4", "2", "2.0", "3", "1", "0", "0", "20m", "2", "0"]
    assert lines[2].split() == ["unassigned", label(0), "1", "1", "1.0", "1", "0", "0", "0", "5m", "0", "0"]


@pytest.mark.parametrize("window", ["3m", "0w", "105w", "w", "1y", "4 weeks"])
def test_experiments_refuse_a_bad_window(env, window: str) -> None:
    error = failure("experiments", "--window", window)
    assert "--window" in error and "4w" in error and "7d, 30d, 90d, quarter" in error


def test_window_weeks_are_whole_iso_weeks_in_the_organisations_timezone() -> None:
    now = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)  # Wednesday 18:30 in New York, 2026-W49
    assert window_weeks("7d", now, NY) == 2  # from Wednesday of W48
    assert window_weeks("30d", now, NY) == 5  # from Monday 2 November, W45
    assert window_weeks("quarter", now, NY) == 10  # from Thursday 1 October, W40
    assert window_weeks("3w", now, NY) == 3
    last_q3_evening = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 30 September (W40) in New York: still Q3
    assert window_weeks("quarter", last_q3_evening, NY) == 14  # from Wednesday 1 July, W27
    assert window_weeks("quarter", last_q3_evening, ZoneInfo("UTC")) == 1
    assert [parse_weeks_window(t) for t in (" Quarter ", "2W", "007w", "104w")] == ["quarter", "2w", "7w", "104w"]


# -- initiatives ---------------------------------------------------------------------------------


def initiative(key: str, summary: str, team: str | None, stage: str, quarter: str = "2026-Q4", **dates) -> dict:
    row = {"quarter": quarter, "key": key, "summary": summary, "team": team, "stage": stage, "children": 0,
           "first_handoff_at": None, "first_delivered_at": None, "time_to_production_seconds": None,
           "waiting_since": None, "waiting_key": None, "url": f"https://jira.example.com/browse/{key}"}
    return {**row, **dates}


Q4 = [
    initiative("NLP-9", "Multilingual NER", "language", "active", children=1),  # its only handoff was withdrawn
    initiative("NLP-10", "Speech", "language", "inactive"),  # created in Q3, New York time
    initiative("OPS-1", "Feature store", None, "handed off", first_handoff_at="2026-12-01T03:00:00Z"),
    initiative("VIS-1", "Distil the detector", "vision", "delivered", children=2,
               first_handoff_at="2026-10-10T12:00:00Z", first_delivered_at="2026-10-20T12:00:00Z",
               time_to_production_seconds=10 * DAY, waiting_since="2026-11-02T09:00:00Z", waiting_key="VIS-3"),
]


def test_initiatives_of_a_quarter_in_json(env) -> None:
    assert as_json("initiatives", "--quarter", "2026-Q4") == Q4
    assert as_json("initiatives", "--quarter", "2026q3") == [
        initiative("NLP-9", "Multilingual NER", "language", "active", "2026-Q3", children=1),
        initiative("NLP-10", "Speech", "language", "active", "2026-Q3"),
        initiative("OPS-1", "Feature store", None, "inactive", "2026-Q3"),  # created in Q4
        initiative("VIS-1", "Distil the detector", "vision", "active", "2026-Q3", children=2,  # handed off in Q4
                   waiting_since="2026-11-02T09:00:00Z", waiting_key="VIS-3"),  # waiting is about now
    ]


def test_initiatives_csv_has_the_documented_header(env) -> None:
    header, rows = as_csv("initiatives", "--quarter", "2026-Q4")
    assert header == INITIATIVE_HEADER
    assert [r["key"] for r in rows] == ["NLP-9", "NLP-10", "OPS-1", "VIS-1"]
    assert rows[2]["team"] == "" and rows[2]["first_delivered_at"] == "" and rows[2]["stage"] == "handed off"
    assert rows[3]["time_to_production_seconds"] == "864000" and rows[3]["children"] == "2"
    assert rows[3]["first_handoff_at"] == "2026-10-10T12:00:00Z"


def test_initiatives_table_shows_local_dates_and_durations(env) -> None:
    lines = output("initiatives", "--quarter", "2026-Q4").splitlines()
    assert lines[0].split() == ["KEY", "TEAM", "STAGE", "CHILDREN", "FIRST", "HANDOFF", "DELIVERED", "TO",
                                "PRODUCTION", "WAITING", "SINCE", "SUMMARY"]
    assert lines[3].split() == ["OPS-1", "(no", "team)", "handed", "off", "0", "2026-11-30", "—", "—", "—",
                                "Feature", "store"]  # 03:00 UTC on 1 December is 30 November in New York
    assert lines[4].split() == ["VIS-1", "vision", "delivered", "2", "2026-10-10", "2026-10-20", "10d", "0h",
                                "2026-11-02", "Distil", "the", "detector"]


def test_initiatives_default_to_the_current_quarter(env) -> None:
    now = datetime.now(UTC)
    local = now.astimezone(NY)
    current = f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    start = datetime(local.year, 3 * ((local.month - 1) // 3) + 1, 1, tzinfo=NY).astimezone(UTC)
    created = (start + (now - start) / 2).replace(microsecond=0, tzinfo=None).isoformat()
    store = Store(env / "bridge.db")
    record_jira_issue(store, issue("VIS-77", "Epic", created, "New this quarter"), [], HandoffRules(frozenset()))
    store.close()
    rows = as_json("initiatives")
    assert {r["quarter"] for r in rows} == {current}
    assert [r["stage"] for r in rows if r["key"] == "VIS-77"] == ["active"]
    assert rows == as_json("initiatives", "--quarter", current)


@pytest.mark.parametrize("quarter", ["2026-Q5", "Q4", "26-Q4", "2026-Q", "last"])
def test_initiatives_refuse_a_bad_quarter(env, quarter: str) -> None:
    error = failure("initiatives", "--quarter", quarter)
    assert "--quarter" in error and "2026-Q4" in error


def test_reports_need_an_existing_database(here) -> None:
    for command in ("experiments", "initiatives"):
        assert "no database at" in failure(command, "--db", str(here / "missing.db"))


def test_empty_database_gives_headers_only(here) -> None:
    db = str(here / "empty.db")
    Store(db).close()
    assert as_json("experiments", "--db", db) == [] and as_json("initiatives", "--db", db) == []
    assert as_csv("experiments", "--db", db) == (EXPERIMENT_HEADER, [])
    assert as_csv("initiatives", "--db", db) == (INITIATIVE_HEADER, [])


@pytest.mark.parametrize("command, header", [("experiments", EXPERIMENT_HEADER), ("initiatives", INITIATIVE_HEADER)])
def test_help_documents_every_column_in_order(here, command: str, header: list[str]) -> None:
    text = output(command, "--help")
    found = [re.search(rf"^  {name}  +\S", text, re.MULTILINE) for name in header]  # name, then its meaning
    positions = [m.start() if m else -1 for m in found]
    assert -1 not in positions and positions == sorted(positions), text
    assert ("[default: 5w]" in text and "unassigned" in text and "left out" in text) if command == "experiments" \
        else ("2026-Q4" in text and "inactive" in text and "ISO 8601 UTC" in text)
