"""Synthetic pipeline runs, deployments and incidents for the demo organisation, and the
terminal twins of `/pipelines` and the delivery summary.

`build_demo_pipelines` writes ~12 weeks of history through the store's idempotent upserts
(the path every source ends in): a dozen pipelines across GitHub, GitLab, Airflow and the
generic API — mostly healthy, a few flaky, one that got fixed, one that got worse and one
failing right now — with re-runs (attempt 2) after some failures; deployments of services
and models (some failed, some rollbacks, one inferred from a redeploy of an old version);
and a few incidents, one still open. The same seed gives the same history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from bot.ingest.pipelines import record_pipeline_runs
from bot.models import Deployment, Incident, PipelineRun
from bot.store import Store


@dataclass(frozen=True)
class DemoPipeline:
    """How one demo pipeline behaves: runs a day, success rate then and now, minutes a run."""

    source: str
    name: str
    per_day: float
    success_before: float  # success chance 12 weeks ago ...
    success_now: float  # ... and now (it drifts linearly in between)
    minutes: tuple[int, int]
    failing_now: int = 0  # the last N runs or so failed (a current failure streak)


PIPELINES = (
    DemoPipeline("github", "ml-platform/trainer: train.yml", 3, 0.95, 0.95, (20, 55)),
    DemoPipeline("github", "ml-platform/trainer: eval.yml", 3, 0.92, 0.92, (8, 20)),
    DemoPipeline("github", "ml-platform/serving: deploy.yml", 2, 0.97, 0.98, (4, 9)),
    DemoPipeline("github", "vision/detector: ci.yml", 6, 0.75, 0.72, (6, 14)),  # flaky tests
    DemoPipeline("gitlab", "nlp/reranker: pipeline", 4, 0.93, 0.93, (10, 30)),
    DemoPipeline("gitlab", "nlp/tokenizer: pipeline", 2, 0.98, 0.99, (2, 6)),
    DemoPipeline("gitlab", "data/feature-store: nightly", 1, 0.70, 0.97, (40, 90)),  # got fixed
    DemoPipeline("airflow", "feature_refresh", 4, 0.96, 0.80, (15, 45)),  # got worse
    DemoPipeline("airflow", "embeddings_backfill", 1, 0.90, 0.85, (60, 180), failing_now=3),
    DemoPipeline("airflow", "label_sync", 12, 0.99, 0.99, (1, 4)),
    DemoPipeline("api", "eval-harness: nightly-benchmarks", 1, 0.85, 0.85, (30, 70)),
    DemoPipeline("api", "rl/sim-regression", 2, 0.93, 0.94, (20, 40)),
)
SERVICES = ("reranker-service", "detector-api", "feature-store")
MODELS = ("reranker-model", "detector-model", "policy-model")
URLS = {
    "github": "https://github.com/{repo}/actions/runs/{run_id}/attempts/{attempt}",
    "gitlab": "https://gitlab.example.com/{repo}/-/pipelines/{run_id}",
    "airflow": "https://airflow.example.com/dags/{repo}/grid?dag_run_id={run_id}",
    "api": "https://ci.example.com/{repo}/builds/{run_id}",
}


def build_demo_pipelines(
    store: Store,
    now: datetime,
    *,
    weeks: int = 12,
    seed: int = 13,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int, int]:
    """Write the synthetic history into `store`; return (runs, deployments, incidents)."""
    rng = random.Random(seed)
    start = now - timedelta(weeks=weeks)
    runs: list[PipelineRun] = []
    for n, p in enumerate(PIPELINES):
        runs += _pipeline_runs(rng, p, start, now)
        if progress:
            progress(n + 1)
    deployments = _deployments(rng, start, now)
    incidents = _incidents(rng, deployments, now)
    record_pipeline_runs(store, runs)
    store.save_deployments(deployments)
    store.save_incidents(incidents)
    return len(runs), len(deployments), len(incidents)


def _pipeline_runs(rng: random.Random, p: DemoPipeline, start: datetime, now: datetime) -> list[PipelineRun]:
    """Runs on a jittered schedule (`per_day` a day); a failure is re-run now and then."""
    span = (now - start).total_seconds()
    repo = p.name.split(":")[0]
    step = 86400 / p.per_day
    times = [start + timedelta(seconds=k * step + rng.uniform(0, step * 0.4)) for k in range(int(span / step))]
    runs: list[PipelineRun] = []
    for i, begun in enumerate(times):
        progress = (begun - start).total_seconds() / span
        chance = p.success_before + (p.success_now - p.success_before) * progress
        # the last `failing_now` finished runs fail (the very last one may not have finished
        # yet), after a success: the streak is that long whatever the dice said before
        failing = p.failing_now > 0 and i >= len(times) - p.failing_now - 1
        fixed = p.failing_now > 0 and i == len(times) - p.failing_now - 2
        run_id = str(4_000_000 + rng.randrange(1_000_000) * 10 + i % 10) if p.source != "airflow" else (
            f"scheduled__{begun:%Y-%m-%dT%H:%M:%S}")
        sha = f"{rng.getrandbits(160):040x}"
        attempt, at = 1, begun
        while True:
            roll = rng.random()
            status = "failed" if failing else "success" if fixed else "cancelled" if roll < 0.015 else (
                "skipped" if roll < 0.02 else "success" if rng.random() < chance else "failed")
            finished = at + timedelta(minutes=rng.uniform(*p.minutes))
            if finished >= now:
                break
            runs.append(PipelineRun(
                p.source, p.name, run_id, attempt, status, finished, at,
                URLS[p.source].format(repo=repo, run_id=run_id, attempt=attempt), sha,
                begun - timedelta(hours=rng.lognormvariate(1.5, 1.0)), "main"))
            if status != "failed" or attempt >= 3 or failing or rng.random() > 0.25:
                break
            attempt, at = attempt + 1, finished + timedelta(minutes=rng.uniform(2, 30))
    return runs


def _deployments(rng: random.Random, start: datetime, now: datetime) -> list[Deployment]:
    """Services and models deployed a few times a week; some fail, some are rolled back."""
    out: list[Deployment] = []
    for target in SERVICES + MODELS:
        is_model = target in MODELS
        t, version = start + timedelta(hours=rng.uniform(0, 48)), 0
        history: list[str] = []
        while True:
            t += timedelta(hours=rng.uniform(24, 96 if is_model else 60))
            if t >= now:
                break
            rollback = bool(history) and rng.random() < (0.08 if is_model else 0.04)
            if rollback:
                label = history[-2] if len(history) > 1 else history[-1]
            else:
                version += 1
                label = f"v1.{version}.0"
            status = "failed" if rng.random() < 0.08 else "success"
            commit_at = t - timedelta(hours=rng.lognormvariate(3.0, 0.8))
            env = "production" if rng.random() < 0.85 else "staging"
            out.append(Deployment(
                "github" if not is_model else "api", f"{target}-{len(out) + 1}", target, label, env, status, t,
                is_production=env == "production",
                is_rollback=rollback and rng.random() < 0.7,  # the rest are inferred: an old version again
                commit_sha=f"{rng.getrandbits(160):040x}", commit_at=commit_at,
                url=f"https://deploy.example.com/{target}/{len(out) + 1}"))
            if status == "success" and not rollback:
                history.append(label)
    return out


def _incidents(rng: random.Random, deployments: list[Deployment], now: datetime) -> list[Incident]:
    """A few incidents caused by production deployments, restored within hours; the latest open."""
    prod = [d for d in deployments if d.is_production and d.status == "success" and not d.is_rollback]
    recent = [d for d in prod if d.finished_at > now - timedelta(days=40)]
    older = [d for d in prod if d not in recent]
    chosen = rng.sample(recent, min(5, len(recent))) + rng.sample(older, min(3, len(older)))
    out = []
    for n, d in enumerate(sorted(chosen, key=lambda d: d.finished_at)):
        began = d.finished_at + timedelta(minutes=rng.uniform(10, 240))
        resolved = None if n == len(chosen) - 1 else began + timedelta(hours=rng.lognormvariate(1.2, 0.8))
        if began >= now:
            continue
        out.append(Incident("api", f"INC-{100 + n}", f"{d.target} degraded after {d.version}", began,
                            resolved if resolved and resolved < now else None, d.target, d.deployment_id,
                            f"https://status.example.com/incidents/INC-{100 + n}"))
    return out


# -- terminal renderers --------------------------------------------------------------------------


