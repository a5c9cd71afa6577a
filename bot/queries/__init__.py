"""Store -> metrics for every reader (Slack, the CLI, the digest, the demo): read only, no
Slack SDK. `Queries` bundles them for one store and one set of settings."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.queries.focus import FocusQueries
from bot.queries.handoffs import HandoffQueries
from bot.queries.people import People
from bot.queries.pipelines import PipelineQueries
from bot.queries.research import ResearchQueries
from bot.store import Store


@dataclass(frozen=True)
class Queries:
    handoffs: HandoffQueries
    focus: FocusQueries
    pipelines: PipelineQueries
    people: People
    research: ResearchQueries

    @classmethod
    def of(cls, store: Store, settings: Settings) -> Queries:
        return cls(HandoffQueries(store, settings), FocusQueries(store, settings),
                   PipelineQueries(store, settings), People(store, settings), ResearchQueries(store, settings))
