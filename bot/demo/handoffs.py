"""A synthetic AI/ML organisation, stored and measured by the real code paths.

`build_demo_org` writes ~12 weeks of Jira issues with realistic handoff histories through
`bot.ingest.jira` (the same path sync and webhooks use); the CLI then prints the views.
No network, no credentials; the same seed gives the same organisation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from bot.demo import demo_settings
from bot.ingest.jira import record_jira_issue
from bot.metrics.handoffs import HandoffRules
from bot.models import ChangeItem, JiraIssue
from bot.store import Store

LABEL = "research-handoff"
WAITING = 3  # the last issues are handoffs still waiting for engineering, whenever the demo runs
PROJECTS = {
    "VIS": ["Distil ViT-L detector", "Segment-anything fine-tune", "Depth model for robots", "OCR on receipts"],
    "NLP": ["Retrieval re-ranker", "Summariser eval harness", "Tokenizer for code", "Toxicity classifier v3"],
    "RL": ["Reward model refresh", "Offline RL for pricing", "Policy distillation", "Sim-to-real grasping"],
}
RESEARCHERS = [("Ada Okafor", "ada@demo.example"), ("Ben Ito", "ben@demo.example"), ("Chen Wu", "chen@demo.example"),
               ("Dara Singh", "dara@demo.example"), ("Eva Novak", "eva@demo.example")]
EPIC_BASE = 50001  # epic keys (VIS-50001, ...) stay clear of the stories' numbers even at --issues 100000
EPIC_AGE_WEEKS = (2, 5, 9, 13)  # each theme's epic was opened this long ago; older stories have no epic


def epic_key(project: str, theme: int) -> str:
    """The key of the research initiative (epic) of a project's theme."""
    return f"{project}-{EPIC_BASE + theme}"


ENGINEERS = [("Femi Adeyemi", "femi@demo.example"), ("Gus Lind", "gus@demo.example"), ("Hana Sato", "hana@demo.example")]


@dataclass
class _History:
    at: datetime
    who: tuple[str, str]
    items: list[tuple[str, str | None, str | None]]


def build_demo_org(
    store: Store,
    now: datetime,
    *,
    issues: int = 320,
    weeks: int = 12,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a synthetic organisation into `store`; return the number of issues written."""
    rng = random.Random(seed)
    rules = HandoffRules.from_settings(demo_settings().jira)
    start = now - timedelta(weeks=weeks)
    counters = {p: 0 for p in PROJECTS}
    for n in range(issues):
        project = rng.choice(list(PROJECTS))
        counters[project] += 1
        key = f"{project}-{counters[project]}"
        created = _work_time(rng, start + (now - start) * rng.random() * 0.97)
        created = min(created, now - timedelta(hours=1))
        waiting = n >= issues - WAITING
        if waiting:  # handed over in the last day or so, whatever the time of day the demo runs
            created = now - timedelta(hours=rng.uniform(3, 30))
        issue, items = _issue(rng, n + 1, key, project, created, now, waiting=waiting)
        record_jira_issue(store, issue, items, rules)
        if progress:
            progress(n + 1)
    return issues


def _issue(rng: random.Random, number: int, key: str, project: str, created: datetime, now: datetime,
           *, waiting: bool = False):
    """One synthetic issue and its changelog; `waiting`: a handoff nobody has picked up yet."""
    researcher, engineer = rng.choice(RESEARCHERS), rng.choice(ENGINEERS)
    labels: list[str] = ["ml"]
    status, histories = "To Do", []
    is_handoff = rng.random() < 0.55 or waiting
    created_with_label = is_handoff and (rng.random() < 0.25 or waiting)
    if created_with_label:
        labels.append(LABEL)
    t = created
    if is_handoff:
        if not created_with_label:
            t = _work_time(rng, t + timedelta(hours=rng.uniform(4, 120)))
            histories.append(_History(t, researcher, [("labels", "ml", f"ml {LABEL}")]))
            labels.append(LABEL)
        if rng.random() < 0.1 and not waiting:  # withdrawn, sometimes handed over again later
            t = _work_time(rng, t + timedelta(hours=rng.uniform(2, 60)))
            histories.append(_History(t, researcher, [("labels", f"ml {LABEL}", "ml")]))
            labels.remove(LABEL)
            if rng.random() < 0.5:
                t = _work_time(rng, t + timedelta(hours=rng.uniform(24, 200)))
                histories.append(_History(t, researcher, [("labels", "ml", f"ml {LABEL}")]))
                labels.append(LABEL)
        if LABEL in labels and not waiting:
            t = _work_time(rng, t + timedelta(hours=rng.lognormvariate(3.4, 0.9)))  # median ~30 h
            if t < now:
                histories.append(_History(t, engineer, [("status", "To Do", "In Progress"), ("assignee", None, engineer[0])]))
                status = "In Progress"
                t = _work_time(rng, t + timedelta(hours=rng.lognormvariate(4.6, 0.6)))  # median ~4 days
                if t < now and rng.random() < 0.8:
                    histories.append(_History(t, engineer, [("status", "In Progress", "Done")]))
                    status = "Done"
    else:
        t = _work_time(rng, t + timedelta(hours=rng.uniform(2, 300)))
        if t < now:
            histories.append(_History(t, researcher, [("status", "To Do", "In Progress")]))
            status = "In Progress"
    histories = [h for h in histories if h.at < now]
    updated = histories[-1].at if histories else created
    theme = rng.choice(PROJECTS[project])
    issue = JiraIssue(
        key=key,
        id=str(10000 + number),
        project=project,
        summary=f"{theme} ({key.split('-')[1]})",
        issue_type="Story",
        status=status,
        labels=tuple(labels),
        created=created,
        updated=updated,
        url=f"https://demo.atlassian.net/browse/{key}",
        reporter_name=researcher[0],
        reporter_email=researcher[1],
        reporter_account_id=f"acct-{researcher[1].split('@')[0]}",
        assignee_name=engineer[0] if status != "To Do" else None,
        assignee_email=engineer[1] if status != "To Do" else None,
        parent_key=_epic_of(project, PROJECTS[project].index(theme), created, now),
    )
    items = [
        ChangeItem(
            issue_key=key,
            history_id=str(number * 100 + h_no),
            item_index=i,
            created=h.at,
            field=f,
            from_string=a,
            to_string=b,
            author_name=h.who[0],
            author_email=h.who[1],
            author_account_id=f"acct-{h.who[1].split('@')[0]}",
        )
        for h_no, h in enumerate(histories)
        for i, (f, a, b) in enumerate(h.items)
    ]
    return issue, items


def _epic_of(project: str, theme: int, created: datetime, now: datetime) -> str | None:
    """The epic a story of `theme` belongs to: the theme's, if the story came after it was opened."""
    return epic_key(project, theme) if created >= now - timedelta(weeks=EPIC_AGE_WEEKS[theme]) else None


def _work_time(rng: random.Random, at: datetime) -> datetime:
    """Nudge a time into working hours (09-18 UTC, Mon-Fri), as people mostly act then."""
    at = at.astimezone(timezone.utc)
    while at.weekday() >= 5:
        at += timedelta(days=1)
    if not 9 <= at.hour < 18:
        at = at.replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59))
    return at
