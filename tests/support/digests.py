"""The seeded org the digest tests share: a Europe/Berlin org with handoffs, Focus Time,
pipeline runs, deployments and incidents on both sides of the week's local midnights, and
helpers that render a digest and read its text back."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.config import DigestSettings, Settings, settings_from_mapping
from bot.digest.model import Digest
from bot.digest.period import week_named
from bot.ingest.jira import record_jira_issue
from bot.ingest.pipelines import record_pipeline_runs
from bot.metrics.handoffs import HandoffRules
from bot.metrics.workcal import WorkCalendar
from bot.models import (
    ChangeItem,
    Deployment,
    FocusDay,
    Incident,
    JiraIssue,
    PipelineRun,
)
from bot.slack.blocks.digest import digest_blocks
from bot.store import Store

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
    record_pipeline_runs(store, [
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


