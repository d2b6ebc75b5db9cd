"""Recovery objectives held against the resources (DESIGN "Recovery objectives as code").

A stack declares its targets as tags (its provider's `defaultTags`, or any resource's `tags`):
`rampart:rto-minutes` and `rampart:rpo-minutes` for every path, and optional per-path overrides
`rampart:restore-rto-minutes`, `rampart:region-rto-minutes`, `rampart:region-rpo-minutes` (recovery objectives
differ by disruption, as AWS Resilience Hub's policies do). Tags are what the pack can see in a real
`pulumi preview --policy-pack` too: stack outputs never reach a policy.

The worst case each path allows, from the resources alone:
- bad deploy (RTO): the slowest rollback alarm (period x evaluation periods + metric delay) + the reroute to blue;
- data loss (RPO): point-in-time recovery (transaction logs every five minutes) when automated backups are on,
  else the longest gap between two runs of the AWS Backup schedule;
- restore (RTO): the measured restore time when the stack's pack config gives one (`measuredRestoreMinutes`, from
  `rampart restore` or the monthly rehearsal), else a model: a base provisioning time, plus storage at the
  largest size autoscaling may reach, plus the Multi-AZ standby;
- region loss (RPO, RTO): the backup schedule's interval + the cross-region copy's lag; the restore above +
  rebuilding the stack in the copy's region. No cross-region copy: the data is lost with the region.

The model's figures are thresholds, so a stack's pack config can set them from what rehearsals measured;
infra/recovery.py exports the same figures for the report (tests/policies/test_recovery.py holds them together).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrails.alarms import detection_seconds, number, rollback_alarms
from guardrails.backup import WEEK, job_starts
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import as_list, first_block, of_type

INSTANCE = "aws:rds/instance:Instance"
PLAN = "aws:backup/plan:Plan"
TARGET_TAGS = {
    "rto": "rampart:rto-minutes",
    "rpo": "rampart:rpo-minutes",
    "restoreRto": "rampart:restore-rto-minutes",
    "regionRto": "rampart:region-rto-minutes",
    "regionRpo": "rampart:region-rpo-minutes",
}

THRESHOLDS: Mapping[str, Any] = {
    "metricDelaySeconds": 60,
    "rerouteSeconds": 60,
    "pitrRpoMinutes": 5,
    "restoreBaseMinutes": 20,
    "restoreMinutesPer100Gb": 10,
    "multiAzRestoreMinutes": 10,
    "measuredRestoreMinutes": 0,
    "crossRegionCopyMinutes": 60,
    "regionRebuildMinutes": 60,
}
"""Model figures in minutes (0 measured = use the model). Conservative estimates until a rehearsal measures them:
AWS bounds none of these times."""


@dataclass(frozen=True)
class PathCase:
    path: str
    objective: str
    """"RTO" or "RPO"."""
    worst_minutes: float | None
    """None: the resources give no bound (nothing protects this path)."""
    basis: str
    urn: str = ""


def _tags(resource: Resource) -> Mapping[str, Any]:
    if resource.type.startswith("pulumi:providers:"):
        default = resource.get("defaultTags")
        if isinstance(default, str):  # the engine may send provider config JSON-encoded
            try:
                default = json.loads(default)
            except ValueError:
                default = None
        tags = first_block(default).get("tags")
    else:
        tags = resource.get("tags")
    return tags if isinstance(tags, Mapping) else {}


def declared_targets(resources: Sequence[Resource]) -> tuple[dict[str, float], list[str]]:
    """The stack's targets by key (rto, rpo, restoreRto, regionRto, regionRpo), and the problems reading them."""
    targets: dict[str, float] = {}
    problems: list[str] = []
    for resource in resources:
        tags = _tags(resource)
        for key, tag in TARGET_TAGS.items():
            raw = tags.get(tag)
            if raw is None:
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                problems.append(f"tag {tag} on {resource.name}: expected minutes, got {raw!r}")
                continue
            if key in targets and targets[key] != value:
                problems.append(f"tag {tag}: {resource.name} says {value:g}, another resource {targets[key]:g}")
            targets[key] = min(value, targets.get(key, value))
    return targets, problems


def target_for(path: str, objective: str, targets: Mapping[str, float]) -> float | None:
    specific = {("restore", "RTO"): "restoreRto", ("region loss", "RTO"): "regionRto",
                ("region loss", "RPO"): "regionRpo"}.get((path, objective))
    if specific and specific in targets:
        return targets[specific]
    return targets.get(objective.lower())


def schedule_interval_minutes(schedule: str) -> int | None:
    """Longest gap between two jobs of an AWS Backup cron schedule over a week; None when not understood."""
    starts = sorted(set(job_starts(schedule) or []))
    if not starts:
        return None
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)] + [starts[0] + WEEK - starts[-1]]
    return max(gaps)


def _backup_rules(resources: Sequence[Resource]) -> list[tuple[Resource, Mapping[str, Any]]]:
    return [(plan, rule) for plan in of_type(resources, PLAN) for rule in as_list(plan.get("rules"))
            if isinstance(rule, Mapping) and isinstance(rule.get("schedule"), str)]


def _shortest_interval(rules: Sequence[tuple[Resource, Mapping[str, Any]]]) -> tuple[int, str, str] | None:
    known = [(schedule_interval_minutes(rule["schedule"]), rule["schedule"], plan.urn) for plan, rule in rules]
    known = [k for k in known if k[0] is not None]
    return min(known) if known else None  # type: ignore[return-value]


def restore_minutes(instance: Resource, config: Mapping[str, Any]) -> tuple[float, str]:
    measured = float(config["measuredRestoreMinutes"] or 0)
    if measured > 0:
        return measured, f"measured restore {measured:g} min"
    storage = number(instance.get("maxAllocatedStorage")) or number(instance.get("allocatedStorage")) or 0
    storage = max(storage, number(instance.get("allocatedStorage")) or 0)
    minutes = config["restoreBaseMinutes"] + math.ceil(storage * config["restoreMinutesPer100Gb"] / 100)
    multi_az = instance.get("multiAz") is True
    if multi_az:
        minutes += config["multiAzRestoreMinutes"]
    return float(minutes), (f"modelled restore of {instance.get('instanceClass', '?')} with up to {storage} GB"
                            f"{' Multi-AZ' if multi_az else ''}")


def _bad_deploy(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[PathCase]:
    timings = [(detection_seconds(alarm, config["metricDelaySeconds"]), alarm) for _, alarm in
               rollback_alarms(resources)]
    timed = [(t, a) for t, a in timings if t is not None]
    if timed:
        slowest, alarm = max(timed, key=lambda pair: pair[0])
        yield PathCase("bad deploy", "RTO", (slowest + config["rerouteSeconds"]) / 60,
                       f"detect {slowest}s ({alarm.name}) + reroute {config['rerouteSeconds']}s", alarm.urn)


def _data_paths(instance: Resource, resources: Sequence[Resource],
                config: Mapping[str, Any]) -> Iterator[PathCase]:
    rules = _backup_rules(resources)
    interval = _shortest_interval(rules)
    if (number(instance.get("backupRetentionPeriod")) or 0) >= 1:
        yield PathCase("data loss", "RPO", float(config["pitrRpoMinutes"]), "point-in-time recovery", instance.urn)
    elif interval:
        yield PathCase("data loss", "RPO", float(interval[0]), f"backup schedule {interval[1]}", interval[2])
    else:
        yield PathCase("data loss", "RPO", None, "no automated backups and no backup plan", instance.urn)
    restore, basis = restore_minutes(instance, config)
    yield PathCase("restore", "RTO", restore, basis, instance.urn)
    copied = _shortest_interval([(p, r) for p, r in rules if as_list(r.get("copyActions"))])
    if copied is None:
        for objective in ("RPO", "RTO"):
            yield PathCase("region loss", objective, None, "no cross-region copy of any backup", instance.urn)
        return
    lag = config["crossRegionCopyMinutes"]
    yield PathCase("region loss", "RPO", float(copied[0] + lag), f"copy every {copied[0]} min + {lag} min copy lag",
                   copied[2])
    rebuild = config["regionRebuildMinutes"]
    yield PathCase("region loss", "RTO", restore + rebuild, f"{basis} + {rebuild} min stack rebuild", copied[2])


def worst_cases(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[PathCase]:
    """Every path's worst case; a stack with several databases is as slow as its slowest."""
    cases = list(_bad_deploy(resources, config))
    for instance in of_type(resources, INSTANCE):
        cases += _data_paths(instance, resources, config)
    return cases


def check_recovery_objectives(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    targets, problems = declared_targets(resources)
    for problem in problems:
        yield Finding(problem)
    cases = worst_cases(resources, context.config)
    if cases and not ({"rto", "rpo"} <= targets.keys()):
        yield Finding(f"no recovery objectives declared: expected tags {TARGET_TAGS['rto']} and "
                      f"{TARGET_TAGS['rpo']} (the provider's defaultTags) to hold {len(cases)} paths against")
        return
    for case in cases:
        target = target_for(case.path, case.objective, targets)
        if target is None:
            continue
        if case.worst_minutes is None:
            yield Finding(f"{case.path} path: {case.objective} target {target:g} min cannot be met: "
                          f"{case.basis}", case.urn)
        elif case.worst_minutes > target:
            yield Finding(f"{case.path} path misses its {case.objective} target: worst case "
                          f"{case.worst_minutes:g} min ({case.basis}) > {target:g} min", case.urn)


POLICIES: list[Rule] = [
    Rule(
        name="recovery-objectives-met",
        description="Each recovery path (bad deploy, data loss, restore, region loss) can meet the stack's declared "
                    "RTO and RPO with the resources it has.",
        enforcement="MP",
        severity="high",
        framework=Framework("Rampart deployment safety", "RECOVERY-1"),
        remediation="Tag the stack (aws.Provider `default_tags`) with rampart:rto-minutes and rampart:rpo-minutes "
                    "(per path: rampart:restore-rto-minutes, rampart:region-rto-minutes, "
                    "rampart:region-rpo-minutes), then either strengthen the path that misses (faster rollback "
                    "alarms, automated backups for point-in-time recovery, a smaller or pre-provisioned restore, "
                    "an AWS Backup copy_action to another region on a shorter schedule) or declare the target the "
                    "resources can honestly meet. Set measuredRestoreMinutes in the stack's pack config from "
                    "`rampart restore`.",
        url="https://docs.aws.amazon.com/resilience-hub/latest/userguide/resiliency-policies.html",
        stack_check=check_recovery_objectives,
        thresholds=dict(THRESHOLDS),
        tags=("recovery", "rds", "backup", "codedeploy"),
    ),
]
