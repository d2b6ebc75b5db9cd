"""DORA's four metrics and the pipeline health check, computed from plain records (pure: the sources fetch them).

Definitions (DORA, "Four key metrics"), per service and environment over the window:
- deployment frequency: successful deployments per day (and their count);
- lead time for changes: median time from a change's commit to the successful deployment that shipped it
  (every commit since the previous successful deployment counts; the first deployment counts its own commit);
- change failure rate: failed deployments / all finished deployments;
- time to restore: median time from a failed deployment's end to the next successful deployment's end.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

SUCCEEDED, FAILED = "succeeded", "failed"


@dataclass(frozen=True)
class Deployment:
    service: str
    environment: str
    id: str
    status: str
    """SUCCEEDED or FAILED (a stopped or rolled-back deployment failed); others are still running and skipped."""
    created: datetime
    completed: datetime | None
    commit: str | None = None
    source: str = "codedeploy"


@dataclass(frozen=True)
class Metrics:
    service: str
    environment: str
    deployments: int
    successful: int
    failed: int
    per_day: float
    lead_time_hours: float | None
    change_failure_rate: float | None
    time_to_restore_hours: float | None
    lead_times: list[tuple[str, float]] = field(default_factory=list)
    """(deployment end as ISO, lead time hours) per successful deployment: what the page charts over time."""

    def as_dict(self) -> dict[str, object]:
        return {"service": self.service, "environment": self.environment, "deployments": self.deployments,
                "successful": self.successful, "failed": self.failed, "deploymentsPerDay": round(self.per_day, 3),
                "leadTimeHours": _round(self.lead_time_hours), "changeFailureRate": _round(self.change_failure_rate),
                "timeToRestoreHours": _round(self.time_to_restore_hours), "leadTimes": self.lead_times}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


CommitTimes = Callable[[str | None, str], list[datetime]]
"""(previous deployed commit or None, deployed commit) -> the commit times of the changes that deployment shipped."""


def compute(deployments: Iterable[Deployment], days: float, commit_times: CommitTimes) -> list[Metrics]:
    groups: dict[tuple[str, str], list[Deployment]] = {}
    for deployment in deployments:
        if deployment.status in (SUCCEEDED, FAILED) and deployment.completed is not None:
            groups.setdefault((deployment.service, deployment.environment), []).append(deployment)
    return [_metrics(service, environment, sorted(group, key=lambda d: d.completed), days, commit_times)
            for (service, environment), group in sorted(groups.items())]


def _metrics(service: str, environment: str, ordered: Sequence[Deployment], days: float,
             commit_times: CommitTimes) -> Metrics:
    ok = [d for d in ordered if d.status == SUCCEEDED]
    failed = [d for d in ordered if d.status == FAILED]
    lead: list[float] = []
    per_deployment: list[tuple[str, float]] = []
    previous: str | None = None
    for deployment in ok:
        if deployment.commit:
            hours = [_hours(t, deployment.completed) for t in commit_times(previous, deployment.commit)]
            lead += hours
            if hours:
                per_deployment.append((deployment.completed.isoformat(), round(statistics.median(hours), 3)))
            previous = deployment.commit
    restores = []
    for failure in failed:
        fixed = next((d for d in ok if d.completed > failure.completed), None)
        if fixed is not None:
            restores.append(_hours(failure.completed, fixed.completed))
    return Metrics(
        service=service, environment=environment, deployments=len(ordered), successful=len(ok), failed=len(failed),
        per_day=len(ok) / days if days > 0 else 0.0,
        lead_time_hours=statistics.median(lead) if lead else None,
        change_failure_rate=len(failed) / len(ordered) if ordered else None,
        time_to_restore_hours=statistics.median(restores) if restores else None,
        lead_times=per_deployment,
    )


@dataclass(frozen=True)
class Run:
    id: int
    conclusion: str | None
    """success, failure, cancelled, timed_out...; None while running (skipped)."""
    started: datetime
    updated: datetime


@dataclass(frozen=True)
class PipelineHealth:
    workflow: str
    runs: int
    failure_rate: float | None
    median_minutes: float | None
    p90_minutes: float | None
    trend_minutes: float | None
    """Median duration of the newer half minus the older half: positive means the pipeline is getting slower."""
    durations: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"workflow": self.workflow, "runs": self.runs, "failureRate": _round(self.failure_rate),
                "medianMinutes": _round(self.median_minutes), "p90Minutes": _round(self.p90_minutes),
                "trendMinutes": _round(self.trend_minutes), "durations": self.durations}


def pipeline_health(workflow: str, runs: Iterable[Run]) -> PipelineHealth:
    done = sorted((r for r in runs if r.conclusion and r.conclusion not in ("skipped", "cancelled")),
                  key=lambda r: r.started)
    minutes = [(r.updated - r.started).total_seconds() / 60 for r in done]
    failures = [r for r in done if r.conclusion != "success"]
    half = len(minutes) // 2
    trend = statistics.median(minutes[half:]) - statistics.median(minutes[:half]) if half else None
    return PipelineHealth(
        workflow=workflow, runs=len(done), failure_rate=len(failures) / len(done) if done else None,
        median_minutes=statistics.median(minutes) if minutes else None,
        p90_minutes=statistics.quantiles(minutes, n=10, method="inclusive")[-1] if len(minutes) >= 2 else None,
        trend_minutes=trend,
        durations=[(r.started.isoformat(), round(m, 3)) for r, m in zip(done, minutes, strict=True)],
    )
