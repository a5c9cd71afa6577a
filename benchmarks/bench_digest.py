"""Benchmark: compute and render every weekly digest for a 1,000-person org with a year of data.

The org: 1,000 people in 10 teams of 100 (`members` and two Jira projects each), with a year
of data in every source, written by the other benchmarks' generators into one SQLite file,
built once and cached (BENCH_DIGEST_DB, default /tmp/research-bridge-bench-digest.db; `--rebuild`
or deleting it rebuilds; a build takes a few minutes):

- handoffs: `synthetic_issues` (benchmarks/synthetic.py) over one year through
  `record_jira_issue` (build_db.write_issues): 50,000 issues, 1,000,000 changelog items;
- focus: `bench_focus_team.build` (1,000 people, same shape) over 365 days instead of 90;
- pipelines: `bench_pipelines.build`, 500 pipelines with a year of runs (~4 a day each);
- delivery: 40 services and 20 models deployed every day or two for a year (some failed,
  some rolled back, some without a commit time), incidents after ~3% of production ones.

Five `[[digest]]` entries in Europe/Berlin, computed as the scheduler does at their time
(Monday 09:00, the data ending then) for the week due, 2025-W46: the whole org with every
section and the chart, three teams' handoffs and focus (chart, names below the line), one team
with every section (chart), pipelines and delivery without a chart, and the whole org without
a chart. For each digest, over `--repeat` runs after one warm-up: compute (`build_digest`, the
queries and metrics), render (`digest_blocks` to JSON-ready dicts and `digest_text`, as
`deliver` posts them) and chart (`render_chart`, the PNG uploaded into the thread), and their
total; median and max per digest and for all digests together. The first chart in a process
also pays for importing matplotlib: reported separately, outside the runs. `--profile` adds a
cProfile of one run of all digests; `--week` computes an earlier week instead (as
`research-bridge digest --week` does).

Not part of the test run. Target: under 1 s per digest.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_focus_team, bench_pipelines  # noqa: E402
from benchmarks.build_db import write_issues  # noqa: E402
from bot.config import DigestSettings, Settings, settings_from_mapping  # noqa: E402
from bot.digest.compute import build_digest  # noqa: E402
from bot.digest.model import Digest, Week  # noqa: E402
from bot.digest.period import due_week, week_named  # noqa: E402
from bot.metrics.workcal import WorkCalendar  # noqa: E402
from bot.models import Deployment, Incident  # noqa: E402
from bot.slack.blocks.charts import render_chart  # noqa: E402
from bot.slack.blocks.digest import digest_blocks, digest_text  # noqa: E402
from bot.slack.blocks.kit import to_dicts  # noqa: E402
from bot.store import Store  # noqa: E402

TIMEZONE = "Europe/Berlin"
# The digests' scheduled time (the default "mon 09:00"), the Monday after 2025-W46. Every source's
# data ends here, as it does when the scheduler computes the digests: the generators of
# bench_pipelines and bench_focus_team end at their NOW, moved from the Friday after to this.
NOW = datetime(2025, 11, 17, 9, 0, tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)
DB = Path(os.environ.get("BENCH_DIGEST_DB", "/tmp/research-bridge-bench-digest.db"))
ISSUES, ITEMS_PER_ISSUE, YEARS = 50_000, 20, 1.0
FOCUS_DAYS = 365
SERVICES, MODELS = 40, 20
MEMBERS = bench_focus_team.MEMBERS  # U0000000 ... U0000999
TEAMS = [{"name": f"team-{t}", "members": MEMBERS[t * 100:(t + 1) * 100],
          "jira_projects": [f"P{2 * t:02d}", f"P{2 * t + 1:02d}"]} for t in range(10)]  # P00-P19: synthetic_issues
DIGESTS = [
    {"channel": "C0BENCH01", "name": "org"},  # every section, every team, chart
    {"channel": "C0BENCH02", "name": "research", "teams": ["team-0", "team-1", "team-2"],
     "sections": ["handoffs", "focus"], "show_names": True},
    {"channel": "C0BENCH03", "name": "team-5", "teams": ["team-5"]},
    {"channel": "C0BENCH04", "name": "ops", "sections": ["pipelines", "delivery"], "chart": False},
    {"channel": "C0BENCH05", "name": "org-text", "chart": False},
]
PARAMS = {"issues": ISSUES, "items_per_issue": ITEMS_PER_ISSUE, "years": YEARS, "focus_days": FOCUS_DAYS,
          "pipelines": bench_pipelines.PIPELINES, "pipeline_days": bench_pipelines.DAYS,
          "services": SERVICES, "models": MODELS, "now": NOW.isoformat()}


# -- data ------------------------------------------------------------------------------------


def synthetic_deliveries(now: datetime, days: int, seed: int = 11) -> tuple[list[Deployment], list[Incident]]:
    """A year of deployments of SERVICES services and MODELS models (the shape of the demo's,
    `bot.demo.pipelines`, at an org's scale) and the incidents some production ones caused."""
    rng = random.Random(seed)
    start = now - timedelta(days=days)
    deployments: list[Deployment] = []
    incidents: list[Incident] = []
    for n in range(SERVICES + MODELS):
        is_model = n >= SERVICES
        target = f"model-{n - SERVICES:02d}" if is_model else f"service-{n:02d}"
        t, version, good = start + timedelta(hours=rng.uniform(0, 48)), 0, []
        while (t := t + timedelta(hours=rng.uniform(12, 96 if is_model else 60))) < now:
            rollback = bool(good) and rng.random() < (0.08 if is_model else 0.04)
            if rollback:
                label = good[-2] if len(good) > 1 else good[-1]
            else:
                version += 1
                label = f"v1.{version}.0"
            status = "failed" if rng.random() < 0.05 else "success"
            production = rng.random() < 0.8
            known_commit = is_model or rng.random() < 0.7  # the rest are looked up in pipeline runs
            deployment = Deployment(
                "api" if is_model else "github", f"{target}-{len(deployments) + 1}", target, label,
                "production" if production else "staging", status, t, is_production=production,
                is_rollback=rollback and rng.random() < 0.7,  # the rest are inferred (an old version again)
                commit_sha=f"{rng.getrandbits(160):040x}",
                commit_at=t - timedelta(hours=rng.lognormvariate(3.0, 0.8)) if known_commit else None,
                url=f"https://deploy.bench.example/{target}/{len(deployments) + 1}")
            deployments.append(deployment)
            if status == "success" and not rollback:
                good.append(label)
            if production and status == "success" and rng.random() < 0.03:
                began = t + timedelta(minutes=rng.uniform(10, 240))
                resolved = began + timedelta(hours=rng.lognormvariate(1.2, 0.8))
                if began < now:
                    number = f"INC-{len(incidents) + 1}"
                    incidents.append(Incident("api", number, f"{target} degraded after {label}", began,
                                              resolved if resolved < now else None, target,
                                              deployment.deployment_id, f"https://status.bench.example/{number}"))
    return deployments, incidents


def _unlink(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def build(path: Path = DB, rebuild: bool = False) -> tuple[Store, dict]:
    """The org's database, built once (all sources, then a sidecar JSON with the parameters and
    the build times marks it complete); reused while the sidecar matches PARAMS."""
    meta_path = Path(str(path) + ".json")
    if not rebuild and path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == PARAMS:
            return Store(path), meta
    meta_path.unlink(missing_ok=True)
    _unlink(path)
    steps: dict[str, float] = {}
    began = time.perf_counter()
    with ExitStack() as patched:  # the other benchmarks' generators, ending at NOW; focus over a year, not 90 days
        for module in (bench_pipelines, bench_focus_team):
            patched.enter_context(mock.patch.object(module, "NOW", NOW))
        patched.enter_context(mock.patch.object(bench_focus_team, "DAYS", FOCUS_DAYS))
        store = bench_pipelines.build(path)  # a fresh file: 500 pipelines, a year of runs
        steps["pipelines"] = time.perf_counter() - began
        t = time.perf_counter()
        write_issues(store, ISSUES, ITEMS_PER_ISSUE, NOW, YEARS)
        print(file=sys.stderr)
        steps["handoffs"] = time.perf_counter() - t
        t = time.perf_counter()
        bench_focus_team.build(store)
        steps["focus"] = time.perf_counter() - t
    t = time.perf_counter()
    deployments, incidents = synthetic_deliveries(NOW, bench_pipelines.DAYS)
    store.save_deployments(deployments)
    store.save_incidents(incidents)
    steps["delivery"] = time.perf_counter() - t
    steps["total"] = time.perf_counter() - began
    meta = {"params": PARAMS, "build_seconds": {k: round(v, 1) for k, v in steps.items()}}
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["fresh"] = True
    return store, meta


def data_sizes(store: Store) -> str:
    counts = {t: store.count(t) for t in ("jira_issues", "jira_changelog", "handoff_cycles", "focus_days",
                                         "pipeline_runs", "pipeline_days", "deployments", "incidents")}
    people = store.db.conn.execute("SELECT COUNT(DISTINCT slack_user_id) FROM focus_days").fetchone()[0]
    return (f"{counts['handoff_cycles']:,} handoff cycles ({counts['jira_issues']:,} issues,"
            f" {counts['jira_changelog']:,} changelog items); {counts['focus_days']:,} focus person-days"
            f" ({people:,} people); {counts['pipeline_runs']:,} pipeline runs ({bench_pipelines.PIPELINES}"
            f" pipelines, {counts['pipeline_days']:,} day rollups); {counts['deployments']:,} deployments,"
            f" {counts['incidents']:,} incidents")


# -- measuring -------------------------------------------------------------------------------


def run_once(store: Store, settings: Settings, digest: DigestSettings, week: Week
             ) -> tuple[dict[str, float], Digest, list[dict], str, bytes | None]:
    """One digest: (seconds per phase, content, blocks, text, PNG)."""
    t0 = time.perf_counter()
    content = build_digest(store, settings, digest, week)
    t1 = time.perf_counter()
    calendar = WorkCalendar.from_settings(settings)  # as `deliver` does
    blocks = to_dicts(digest_blocks(content, calendar, settings.jira.handoff_sla_workdays))
    text = digest_text(content, calendar)
    t2 = time.perf_counter()
    png = render_chart(content.history, f"Trends to {content.week.label}") if content.history else None
    t3 = time.perf_counter()
    seconds = {"compute": t1 - t0, "render": t2 - t1, "chart": t3 - t2, "total": t3 - t0}
    return seconds, content, blocks, text, png


def describe(content: Digest, blocks: list[dict], png: bytes | None) -> str:
    """What the digest holds, to check the figures are sensible."""
    parts = []
    if content.handoffs:
        c = content.handoffs.current
        parts.append(f"handoffs {c.requested} requested / {c.picked_up} picked up / {c.open_now} open")
    if content.focus:
        o = content.focus.overall.current
        avg = "—" if o.average_focus_seconds is None else f"{o.average_focus_seconds / 3600:.1f} h/day"
        parts.append(f"focus {o.people_with_data} people {avg}")
    if content.pipelines:
        o = content.pipelines.overall
        parts.append(f"pipelines {sum(1 for s in content.pipelines.pipelines if s.current.runs)} with"
                     f" {o.runs:,} runs, {'—' if o.reliability is None else f'{o.reliability:.1%}'}")
    if content.delivery:
        d = content.delivery.current
        parts.append(f"delivery {d.successful_production_deployments} prod deploys, {d.incidents} incidents")
    parts.append(f"{len(blocks)} blocks" + (f", chart {len(png) / 1000:.0f} kB" if png else ", no chart"))
    return "; ".join(parts)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import matplotlib

    return (f"{os.cpu_count()} cores, {memory:.0f} GiB, {platform.machine()}; Python {platform.python_version()},"
            f" SQLite {sqlite3.sqlite_version}, matplotlib {matplotlib.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Env: BENCH_DIGEST_DB (database file, built once and reused).")
    parser.add_argument("--db", type=Path, default=DB, help=f"database file (default {DB})")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per digest after a warm-up (default 5)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database even when it is complete")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one run of all digests (cProfile; top functions by cumulative"
                             " and own time)")
    parser.add_argument("--charts", type=Path, metavar="DIR", help="write each digest's chart PNG into DIR")
    parser.add_argument("--week", metavar="2025-W40",
                        help="an earlier ISO week, as `research-bridge digest --week` computes it (default: the"
                             " week due at the scheduled time, 2025-W46, with the data ending then)")
    args = parser.parse_args()

    store, meta = build(args.db, args.rebuild)
    took = meta["build_seconds"]
    how = "built now" if meta.get("fresh") else "reused; built"
    print(f"database: {args.db} ({how} in {took['total']:.0f} s: pipelines {took['pipelines']:.0f} s,"
          f" handoffs {took['handoffs']:.0f} s, focus {took['focus']:.0f} s, delivery {took['delivery']:.1f} s)")
    print(f"data: {data_sizes(store)}")
    settings = settings_from_mapping({"timezone": TIMEZONE, "team": TEAMS, "digest": DIGESTS,
                                      "focus": {"share_individuals_with_leads": True}}, {})
    digests = settings.digests
    weeks = {d.name: week_named(args.week, d.tz) if args.week else due_week(d, NOW)[1] for d in digests}
    print(f"machine: {machine()}")
    local = NOW.astimezone(ZoneInfo(TIMEZONE))
    print(f"{len(digests)} digests for {weeks[digests[0].name].label} ({TIMEZONE}; data up to {local:%a %d %b %H:%M}),"
          f" {len(MEMBERS):,} people in {len(TEAMS)} teams; {args.repeat} measured runs each after a warm-up")

    # The first chart in the process: matplotlib's import (and its font cache) on top of a render.
    assert "matplotlib.figure" not in sys.modules
    first = digests[0]
    content = build_digest(store, settings, first, weeks[first.name])
    t0 = time.perf_counter()
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401
    t1 = time.perf_counter()
    render_chart(content.history, f"Trends to {content.week.label}")
    t2 = time.perf_counter()
    render_chart(content.history, f"Trends to {content.week.label}")
    t3 = time.perf_counter()
    print(f"first chart in a process: {(t2 - t0) * 1000:.0f} ms (import matplotlib {(t1 - t0) * 1000:.0f} ms,"
          f" first render {(t2 - t1) * 1000:.0f} ms; the next render {(t3 - t2) * 1000:.0f} ms)\n")

    print("warm-up (first run of each digest):")
    for d in digests:
        seconds, content, blocks, _, png = run_once(store, settings, d, weeks[d.name])
        print(f"  {d.name:<9} {seconds['total'] * 1000:6.0f} ms  {describe(content, blocks, png)}")
        if args.charts and png:
            args.charts.mkdir(parents=True, exist_ok=True)
            (args.charts / f"{d.name}.png").write_bytes(png)

    samples: dict[str, list[dict[str, float]]] = {d.name: [] for d in digests}
    all_digests: list[float] = []
    for _ in range(args.repeat):  # round robin, so every digest sees the same conditions
        began = time.perf_counter()
        for d in digests:
            samples[d.name].append(run_once(store, settings, d, weeks[d.name])[0])
        all_digests.append(time.perf_counter() - began)

    phases = ("compute", "render", "chart", "total")
    print(f"\nper digest, ms: median / max over {args.repeat} runs")
    print(f"  {'digest':<9} {'sections':<34} {'chart':<5}" + "".join(f" {p:>17}" for p in phases))
    for d in digests:
        runs = samples[d.name]
        cells = "".join(f" {ms(statistics.median(r[p] for r in runs))} /{ms(max(r[p] for r in runs))}"
                        for p in phases)
        print(f"  {d.name:<9} {','.join(d.sections):<34} {'yes' if d.chart else 'no':<5}{cells}")
    every = [r for runs in samples.values() for r in runs]
    cells = "".join(f" {ms(statistics.median(r[p] for r in every))} /{ms(max(r[p] for r in every))}" for p in phases)
    print(f"  {'any':<9} {'(all runs of all digests)':<34} {'':<5}{cells}")
    worst = max(r["total"] for r in every)
    print(f"\nall {len(digests)} digests one after the other: median {statistics.median(all_digests) * 1000:.0f} ms,"
          f" max {max(all_digests) * 1000:.0f} ms; slowest single digest {worst * 1000:.0f} ms"
          f" ({'under' if worst < 1 else 'OVER'} the 1 s target)")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for d in digests:
            run_once(store, settings, d, weeks[d.name])
        profiler.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(25)
            print(f"\nprofile of one run of all digests, by {order}:")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))
    store.close()


if __name__ == "__main__":
    main()
