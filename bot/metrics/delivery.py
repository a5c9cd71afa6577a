"""Delivery metrics (DORA) for ML services and models: pure functions over deployments and incidents.

Window [start, end) by `finished_at` (deployments) or `started_at` (incidents). P = the
production deployments in the window (any status), S = those with status "success".

- **Deployment frequency** = |S| / (window length in weeks); plus **deployment days** = the
  number of distinct dates (in `tz`) with a deployment in S. DORA: "how often does your
  organization deploy code to production" (dora.dev/research); DevLake rates frequency by
  deployment days rather than deployments (devlake.apache.org/docs/Metrics/DeploymentFrequency).
- **Lead time for changes** = finished_at - commit time, for each deployment in S that is not a
  rollback (a rollback ships an old commit); commit time = `deployment.commit_at`, else
  `commit_times[deployment.commit_sha]` (what CI runs reported); negative spans (clock skew)
  are left out. Median and p90, linear interpolation (`percentile`). DORA: "from code committed
  to code successfully running in production"; DevLake takes the median over PRs of deploy
  finished - first commit authored (devlake.apache.org/docs/Metrics/LeadTimeForChanges). We
  know the deployed commit, not the PR's first one, so ours is the shorter end of that span.
- **Rollback**: `is_rollback` as reported, or inferred: a successful deployment of a target to
  an environment with a version that target ran there before which is not the version running
  now (that of its last successful deployment there). Same version again is a redeploy, not a
  rollback; environments are independent. Failed deployments do not change what runs.
- **Change failure rate** = |F| / |P|, F = the deployments in P that failed: status "failed",
  or rolled back (the version running when a successful rollback of that target and
  environment landed), or linked to an incident. DORA: the share of changes to production that
  "result in degraded service ... and subsequently require remediation (e.g. hotfix, rollback)"
  (dora.dev/research); DevLake: deployments affected by incidents / deployments
  (devlake.apache.org/docs/Metrics/CFR).
- **Incident link**: `incident.deployment_id` when given (matched on deployment_id); else the
  latest successful production deployment of `incident.target` that finished at or before
  `incident.started_at`, at most 24 hours (`LINK_WINDOW`) before it. This is DevLake's rule
  (its dora plugin's ConnectIncidentToDeployment links an incident to the latest successful
  production deployment before it), narrowed to the incident's target and to 24 h so that an
  incident weeks after the last deploy is not blamed on it. An incident with neither a
  deployment id nor a target is linked to nothing.
- **Time to restore** = resolved_at - started_at of the incidents started in the window and
  resolved; median and p90. Open ones (no resolved_at) are left out and counted
  (`open_incidents`). This is DORA's "time to restore service" and DevLake's median time to
  restore (devlake.apache.org/docs/Metrics/MTTR, incident age). DORA 2023 renamed it "failed
  deployment recovery time" and DevLake now measures that from the deployment's finish
  (docs/Metrics/FailedDeploymentRecoveryTime); we measure from the incident's start, as the
  product spec asks, so incidents not caused by a deployment count too.
- **Rollback rate** = |{d in P: d is a rollback}| / |P|. **Model rollback rate** = the same over
  the production deployments whose target is a model (`is_model`); without `is_model` every
  target counts, as in the product spec ("rollbacks ÷ production deployments").

Every ratio is None when its denominator is 0; every median / p90 None without samples.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Callable, Iterable, Mapping, Sequence

from bot.metrics.handoffs import percentile
from bot.models import Deployment, Incident

LINK_WINDOW = timedelta(hours=24)
WEEK_SECONDS = 7 * 86400.0
_NO_COMMITS: Mapping[str, datetime] = MappingProxyType({})

_Key = tuple[str, str]  # (source, deployment_id)


def _key(d: Deployment) -> _Key:
    return (d.source, d.deployment_id)


def _by_time(deployments: Iterable[Deployment]) -> list[Deployment]:
    return sorted(deployments, key=lambda d: (d.finished_at, d.source, d.deployment_id))


def infer_rollbacks(deployments: Sequence[Deployment]) -> tuple[list[Deployment], set[_Key]]:
    """The deployments (same order) with `is_rollback` also set where inferred, and the keys
    of the deployments that were rolled back. A rollback is a successful redeploy of a target
    in an environment to a version it ran there before, other than the one running (each
    (target, environment) walked in time order); reported flags are kept. Give the history,
    not just a window."""
    flagged: dict[_Key, Deployment] = {}
    rolled_back: set[_Key] = set()
    running: dict[tuple[str, str], Deployment] = {}  # (target, environment) -> last success
    ran: dict[tuple[str, str], set[str]] = defaultdict(set)  # versions that ran there
    for d in _by_time(deployments):
        place = (d.target, d.environment)
        now = running.get(place)
        rollback = d.is_rollback or (
            d.status == "success" and now is not None and d.version != now.version and d.version in ran[place]
        )
        flagged[_key(d)] = d._replace(is_rollback=True) if rollback and not d.is_rollback else d
        if d.status == "success":
            if rollback and now is not None:
                rolled_back.add(_key(now))
            running[place] = d
            ran[place].add(d.version)
    return [flagged[_key(d)] for d in deployments], rolled_back


def link_incidents(
    deployments: Sequence[Deployment], incidents: Iterable[Incident]
) -> dict[tuple[str, str], Deployment]:
    """(incident source, incident id) -> the deployment it is blamed on (module docstring:
    explicit deployment_id, else the target's latest successful production deployment at most
    24 h before the incident started). Unlinked incidents are absent."""
    by_id: dict[str, Deployment] = {}
    shipped: dict[str, list[Deployment]] = defaultdict(list)
    for d in _by_time(deployments):
        by_id.setdefault(d.deployment_id, d)
        if d.is_production and d.status == "success":
            shipped[d.target].append(d)
    times = {target: [d.finished_at for d in ds] for target, ds in shipped.items()}
    links: dict[tuple[str, str], Deployment] = {}
    for incident in incidents:
        key = (incident.source, incident.incident_id)
        if incident.deployment_id:
            if incident.deployment_id in by_id:
                links[key] = by_id[incident.deployment_id]
            continue
        if not incident.target or incident.target not in shipped:
            continue
        i = bisect_right(times[incident.target], incident.started_at) - 1
        if i >= 0 and incident.started_at - times[incident.target][i] <= LINK_WINDOW:
            links[key] = shipped[incident.target][i]
    return links


@dataclass(frozen=True)
class DeliveryMetrics:
    """DORA figures over [start, end) (formulas in the module docstring)."""

    start: datetime
    end: datetime
    deployments: int  # all environments, any status
    production_deployments: int  # any status
    successful_production_deployments: int
    deployment_frequency_per_week: float | None  # successful production deployments per week
    deployment_days: int  # distinct days with a successful production deployment
    lead_time_median_seconds: float | None  # commit -> successful production deployment
    lead_time_p90_seconds: float | None
    change_failure_rate: float | None  # failed_deployments / production_deployments
    failed_deployments: int  # failed status, rolled back, or linked to an incident
    time_to_restore_median_seconds: float | None  # incident resolved - started
    open_incidents: int  # started in the window, not resolved (left out of time to restore)
    rollbacks: int  # production deployments that are rollbacks (reported or inferred)
    rollback_rate: float | None  # rollbacks / production_deployments
    model_rollback_rate: float | None  # the same over model targets (all targets without is_model)
    lead_time_samples: int = 0  # deployments with a known commit time
    incidents: int = 0  # started in the window
    time_to_restore_p90_seconds: float | None = None
    model_production_deployments: int = 0
    model_rollbacks: int = 0


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _metrics(
    deployments: Iterable[Deployment],  # already flagged
    incidents: Iterable[Incident],
    failed_keys: set[_Key],
    start: datetime,
    end: datetime,
    commit_times: Mapping[str, datetime],
    tz: tzinfo,
    is_model: Callable[[str], bool] | None,
) -> DeliveryMetrics:
    window = [d for d in deployments if start <= d.finished_at < end]
    production = [d for d in window if d.is_production]
    shipped = [d for d in production if d.status == "success"]
    leads = []
    for d in shipped:
        if d.is_rollback:
            continue
        committed = d.commit_at or (commit_times.get(d.commit_sha) if d.commit_sha else None)
        if committed is not None and committed <= d.finished_at:
            leads.append((d.finished_at - committed).total_seconds())
    failed = sum(1 for d in production if d.status == "failed" or _key(d) in failed_keys)
    rollbacks = sum(1 for d in production if d.is_rollback)
    models = [d for d in production if is_model is None or is_model(d.target)]
    model_rollbacks = sum(1 for d in models if d.is_rollback)
    started = [i for i in incidents if start <= i.started_at < end]
    restores = [max(0.0, (i.resolved_at - i.started_at).total_seconds()) for i in started if i.resolved_at]
    weeks = (end - start).total_seconds() / WEEK_SECONDS
    return DeliveryMetrics(
        start=start,
        end=end,
        deployments=len(window),
        production_deployments=len(production),
        successful_production_deployments=len(shipped),
        deployment_frequency_per_week=len(shipped) / weeks if weeks > 0 else None,
        deployment_days=len({d.finished_at.astimezone(tz).date() for d in shipped}),
        lead_time_median_seconds=percentile(leads, 50),
        lead_time_p90_seconds=percentile(leads, 90),
        change_failure_rate=_ratio(failed, len(production)),
        failed_deployments=failed,
        time_to_restore_median_seconds=percentile(restores, 50),
        open_incidents=sum(1 for i in started if i.resolved_at is None),
        rollbacks=rollbacks,
        rollback_rate=_ratio(rollbacks, len(production)),
        model_rollback_rate=_ratio(model_rollbacks, len(models)),
        lead_time_samples=len(leads),
        incidents=len(started),
        time_to_restore_p90_seconds=percentile(restores, 90),
        model_production_deployments=len(models),
        model_rollbacks=model_rollbacks,
    )


def _prepare(deployments: Sequence[Deployment], incidents: Sequence[Incident]
             ) -> tuple[list[Deployment], dict[tuple[str, str], Deployment], set[_Key]]:
    """Flag rollbacks, link incidents, and collect the keys of failed deployments."""
    ordered, rolled_back = infer_rollbacks(deployments)
    links = link_incidents(ordered, incidents)
    return ordered, links, rolled_back | {_key(d) for d in links.values()}


def delivery_metrics(
    deployments: Sequence[Deployment],
    incidents: Sequence[Incident],
    start: datetime,
    end: datetime,
    commit_times: Mapping[str, datetime] = _NO_COMMITS,
    *,
    tz: tzinfo = timezone.utc,
    is_model: Callable[[str], bool] | None = None,
) -> DeliveryMetrics:
    """DORA metrics over [start, end). Give deployments from before `start` too: rollbacks are
    inferred from history and incidents link to deployments up to 24 h before them."""
    ordered, _, failed_keys = _prepare(deployments, incidents)
    return _metrics(ordered, incidents, failed_keys, start, end, commit_times, tz, is_model)


def delivery_by_target(
    deployments: Sequence[Deployment],
    incidents: Sequence[Incident],
    start: datetime,
    end: datetime,
    commit_times: Mapping[str, datetime] = _NO_COMMITS,
    *,
    tz: tzinfo = timezone.utc,
    is_model: Callable[[str], bool] | None = None,
) -> dict[str, DeliveryMetrics]:
    """`delivery_metrics` per service or model (keyed and ordered by target), for each target
    with a deployment or an incident in the window. An incident belongs to the target of its
    linked deployment, else to its own `target`."""
    ordered, links, failed_keys = _prepare(deployments, incidents)
    deps: dict[str, list[Deployment]] = defaultdict(list)
    for d in ordered:
        deps[d.target].append(d)
    owned: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        linked = links.get((incident.source, incident.incident_id))
        target = linked.target if linked is not None else incident.target
        if target:
            owned[target].append(incident)
    targets = {d.target for d in ordered if start <= d.finished_at < end}
    targets |= {t for t, inc in owned.items() if any(start <= i.started_at < end for i in inc)}
    return {
        t: _metrics(deps.get(t, []), owned.get(t, []), failed_keys, start, end, commit_times, tz, is_model)
        for t in sorted(targets)
    }
