"""The layout is the architecture: the import rules of the README's Layout section, checked.

Every `import` in `bot/` counts, including those inside functions and under TYPE_CHECKING:
a rule with exceptions is not a rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

BOT = ROOT / "bot"
GROUND = {"config", "clock", "models", "formatting", "logs"}  # import nothing of bot but each other
MAX_LOOSE_MODULES = 8  # at the top of bot/, __main__ included
MAX_LINES = 500

# layer -> layers of bot it must not import
FORBIDDEN = {
    "metrics": {"actions", "store", "slack", "sources", "queries", "ingest", "digest", "delivery", "web", "cli", "terminal",
                "demo", "app", "jobs"},
    "store": {"actions", "metrics", "slack", "sources", "ingest", "queries", "digest", "delivery", "web", "cli", "terminal",
              "demo", "app", "jobs"},
    "sources": {"actions", "metrics", "queries", "slack", "digest", "delivery", "cli", "terminal", "demo", "app", "jobs"},
    "ingest": {"actions", "slack", "sources", "digest", "delivery", "web", "cli", "terminal", "demo", "app", "jobs"},
    "queries": {"actions", "slack", "sources", "ingest", "delivery", "web", "cli", "terminal", "demo", "app", "jobs"},
    "digest": {"actions", "slack", "delivery", "sources", "ingest", "web", "cli", "terminal", "demo", "app", "jobs"},
    "slack": {"store", "sources", "ingest", "actions", "delivery", "cli", "terminal", "demo", "app", "jobs"},
    "web": {"actions", "store", "metrics", "slack", "sources", "ingest", "queries", "digest", "delivery", "cli", "terminal",
            "demo", "app", "jobs"},
    "terminal": {"actions", "store", "sources", "ingest", "delivery", "web", "cli", "app", "jobs"},
    "demo": {"actions", "slack", "delivery", "web", "cli", "app", "jobs"},
    "actions": {"slack", "delivery", "digest", "web", "cli", "terminal", "demo", "app", "jobs"},
}
# layer -> (layer it may import only part of, that part): the terminal prints the same plain-text
# lines Slack shows, from the renderers, never from the listeners or the app
ONLY_PART = {"terminal": ("slack", "bot.slack.blocks")}
FORBIDDEN_LIBRARIES = {
    "metrics": {"sqlite3", "sqlite_utils", "slack_sdk", "slack_bolt", "fastapi", "requests"},
    "store": {"slack_sdk", "slack_bolt", "fastapi", "requests"},
    "queries": {"slack_sdk", "slack_bolt", "fastapi"},
    "digest": {"slack_sdk", "slack_bolt"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def _imports(module: str) -> set[str]:
    """Every module named by an import in `module` (bot's own and outside libraries)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"{module}: bot imports absolutely"
            base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return names


GRAPH = {m: {i for i in _imports(m) if i in MODULES and i != m} for m in MODULES}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bot"


def test_no_import_circles() -> None:
    circles, state = [], dict.fromkeys(GRAPH, 0)  # 0 new, 1 on the path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(GRAPH[module]):
            if state[other] == 1:
                circles.append(path[path.index(other):] + [other])
            elif state[other] == 0:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(GRAPH):
        if state[module] == 0:
            visit(module, [module])
    assert circles == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_keeps_its_import_rules(layer: str) -> None:
    broken = sorted(f"{m} -> {i}" for m in MODULES if _layer(m) == layer for i in GRAPH[m]
                    if _layer(i) in FORBIDDEN[layer])
    libraries = sorted(f"{m} -> {lib}" for m in MODULES if _layer(m) == layer for i in _imports(m)
                       if (lib := i.split(".")[0]) in FORBIDDEN_LIBRARIES.get(layer, ()))
    part = ONLY_PART.get(layer)
    outside = sorted(f"{m} -> {i}" for m in MODULES if part and _layer(m) == layer for i in GRAPH[m]
                     if _layer(i) == part[0] and not (i == part[1] or i.startswith(part[1] + ".")))
    assert broken + libraries + outside == []


def test_the_ground_imports_nothing_above_it() -> None:
    broken = sorted(f"{m} -> {i}" for m in MODULES if _layer(m) in GROUND for i in GRAPH[m]
                    if _layer(i) not in GROUND | {"bot"})
    assert broken == []


def test_few_modules_are_loose_and_none_is_long() -> None:
    loose = sorted(m for m, p in MODULES.items() if m.count(".") == 1 and p.name != "__init__.py")
    assert len(loose) <= MAX_LOOSE_MODULES, loose
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checker_sees_imports() -> None:
    """The rules above would pass vacuously if the graph were empty."""
    assert "bot.store" in GRAPH["bot.queries.focus"] and "bot.metrics.focus" in GRAPH["bot.queries.focus"]
    assert "bot.web.errors" in GRAPH["bot.sources.webhooks"]
