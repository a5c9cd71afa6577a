"""Synthetic IDE heartbeats for the demo organisation, and the terminal twins of `/focus`.

`build_demo_focus` writes a few weeks of realistic WakaTime heartbeats (one every 1–3
minutes while someone works, sessions of 20–120 minutes, meetings as gaps) for the demo
teams' members through `record_heartbeats`, the path the ingest endpoint uses. One person
works in long stretches, one lives in meetings, one is on call, one sits near the line and
one is on vacation (no data). The same seed gives the same heartbeats.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.ingest.focus import record_heartbeats
from bot.models import Heartbeat
from bot.store import Store

EDITOR = "vscode/1.95.3 vscode-wakatime/24.9.1"


@dataclass(frozen=True)
class Persona:
    """How one demo person's days go (minutes)."""

    name: str
    tz: str
    session: tuple[int, int]  # length of a stretch of IDE work
    gap: tuple[int, int]  # a meeting, review or interruption between stretches
    research_share: float  # chance a stretch is on a research project
    vacation_days: int = 0  # the most recent N calendar days: no data at all


PERSONAS: dict[str, Persona] = {
    "U0VIS0001": Persona("Ada Okafor", "Europe/London", (45, 110), (25, 60), 0.8),
    "U0VIS0002": Persona("Ben Ito", "Europe/London", (20, 45), (30, 90), 0.6),  # meetings all day
    "U0NLP0001": Persona("Chen Wu", "America/New_York", (20, 60), (30, 75), 0.7),  # around the line
    "U0NLP0002": Persona("Dara Singh", "Europe/Berlin", (45, 110), (20, 50), 0.7, vacation_days=9),
    "U0RL00001": Persona("Eva Novak", "Europe/London", (20, 50), (25, 70), 0.3),  # on call
}
PROJECTS = {"research": ["vision-experiments", "llm-research", "rl-experiments"],
            "engineering": ["model-serving", "feature-pipeline"]}
def build_demo_focus(
    store: Store,
    settings: Settings,
    now: datetime,
    people: Sequence[str] | None = None,
    days: int = 21,
    *,
    seed: int = 11,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Synthesise `days` calendar days of heartbeats (before today) for `people` (default:
    every member of the configured teams); return how many heartbeats were recorded."""
    rng = random.Random(seed)
    members = people if people is not None else list(dict.fromkeys(m for t in settings.teams for m in t.members))
    total = 0
    for n, user in enumerate(members):
        persona = PERSONAS.get(user) or Persona(user, settings.timezone, (30, 100), (20, 60), 0.6)
        store.save_profile(user, persona.name, persona.tz, now)
        tz = ZoneInfo(persona.tz)
        today = now.astimezone(tz).date()
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            if day.weekday() >= 5 or back <= persona.vacation_days:
                continue
            beats = _workday(rng, user, persona, day, tz)
            total += sum(record_heartbeats(store, user, beats, settings, now))
        if progress:
            progress(n + 1)
    return total


def _workday(rng: random.Random, user: str, p: Persona, day: date, tz: ZoneInfo) -> list[Heartbeat]:
    """One workday: stretches of heartbeats every 1–3 minutes, separated by meetings."""
    t = datetime.combine(day, time(9), tzinfo=tz).timestamp() + rng.uniform(0, 3600)
    end = datetime.combine(day, time(18), tzinfo=tz).timestamp() + rng.uniform(-1800, 1800)
    machine = f"{p.name.split()[0].lower()}-laptop"
    beats: list[Heartbeat] = []
    while t < end:
        stream = "research" if rng.random() < p.research_share else "engineering"
        project = rng.choice(PROJECTS[stream])
        stop = min(end, t + rng.uniform(*p.session) * 60)
        while t < stop:
            beats.append(Heartbeat(
                user, round(t, 3), f"/home/{machine}/{project}/{rng.choice(('train.py', 'model.py', 'eval.ipynb'))}",
                "file", "coding", project, "main", "Python", rng.random() < 0.3, EDITOR, machine,
            ))
            t += rng.uniform(60, 180)
        t += rng.uniform(*p.gap) * 60  # a meeting, a review, lunch: longer than the timeout
    return beats


# -- terminal renderers --------------------------------------------------------------------------


