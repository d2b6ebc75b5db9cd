"""The checks BlueGreenService makes before declaring anything: each error names the argument and what is
expected; values are echoed only where they cannot be secret (names, counts, patterns), never `secrets` values
or `service.environment` values."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from components.blue_green.spec import DeploymentStrategy, ServiceSpec
from components.deployment_alarms import detection_seconds, validate_thresholds

if TYPE_CHECKING:
    from components.blue_green_service import BlueGreenServiceArgs

# An ALB rule takes at most five condition values in total.
MAX_PATH_PATTERNS = 5
STRATEGY_ROUTING = {"canary": "TimeBasedCanary", "linear": "TimeBasedLinear"}
STRATEGIES = (*STRATEGY_ROUTING, "all-at-once")
FARGATE_CPU = (256, 512, 1024, 2048, 4096)
TRAFFIC_CONTROLS = ("CODE_DEPLOY", "ECS")
# ECS-native blue/green: bake time and pause-hook timeout bounds ECS accepts (minutes).
ECS_MAX_BAKE_MINUTES = 1440
_NAME_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_USER = re.compile(r"^[0-9]{1,10}(:[0-9]{1,10})?$")


def _fail(field: str, expected: str, got: Any) -> None:
    raise ValueError(f"BlueGreenServiceArgs.{field}: expected {expected}, got {got!r}")


def validate(args: BlueGreenServiceArgs) -> None:
    for field, kind in (("service", ServiceSpec), ("deployment", DeploymentStrategy)):
        if not isinstance(getattr(args, field), kind):
            _fail(field, f"a {kind.__name__}", type(getattr(args, field)).__name__)
    validate_thresholds(args.alarms, "BlueGreenServiceArgs.alarms")
    if args.traffic_control not in TRAFFIC_CONTROLS:
        _fail("traffic_control", f"one of {TRAFFIC_CONTROLS}", args.traffic_control)
    if not isinstance(args.name_prefix, str) or not _NAME_PREFIX.match(args.name_prefix):
        _fail("name_prefix", "lower-case letters, digits and inner hyphens", args.name_prefix)
    if not isinstance(args.environment, str) or not args.environment:
        _fail("environment", "a non-empty environment name", args.environment)
    if not isinstance(args.region, str) or not re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", args.region):
        _fail("region", "an AWS region such as us-east-1", args.region)
    if isinstance(args.log_retention_days, bool) or not isinstance(args.log_retention_days, int):
        _fail("log_retention_days", "an int", args.log_retention_days)
    if args.log_retention_days < 1:
        _fail("log_retention_days", "at least 1 day (0 keeps logs forever, unbounded)", args.log_retention_days)
    subnets = args.private_subnet_ids
    minimum_subnets = 2 if args.environment == "production" else 1
    if isinstance(subnets, str) or len(subnets) < minimum_subnets:
        _fail("private_subnet_ids", f"at least {minimum_subnets} private subnets", subnets)
    _validate_secrets(args)
    _validate_service(args.service)
    _validate_deployment(args)


def _validate_secrets(args: BlueGreenServiceArgs) -> None:
    if isinstance(args.secret_arns, str):
        _fail("secret_arns", "a sequence of secret ARNs", args.secret_arns)
    bad_names = sorted(k for k in args.secrets if not _ENV_NAME.match(k))
    if bad_names:
        _fail("secrets", "environment variable names as keys", bad_names)
    clash = sorted(set(args.secrets) & set(args.service.environment))
    if clash:
        _fail("secrets", "names not also set in service.environment", clash)
    if args.secrets and not args.secret_arns:
        _fail("secret_arns", "the ARNs of the injected secrets (the execution role reads only these)", [])


def _validate_service(svc: ServiceSpec) -> None:
    if not isinstance(svc.user, str) or not _USER.match(svc.user) or int(svc.user.split(":", 1)[0]) == 0:
        _fail("service.user", "a non-root numeric uid[:gid]", svc.user)
    if len(svc.path_patterns) > MAX_PATH_PATTERNS:
        _fail("service.path_patterns", f"at most {MAX_PATH_PATTERNS} patterns (ALB rule limit)", svc.path_patterns)
    if (svc.image is None) != svc.awaiting_image:
        _fail("service.image", "an image, or None exactly while awaiting_image is true", "image" if svc.image else None)
    if svc.cpu not in FARGATE_CPU:
        _fail("service.cpu", f"one of the Fargate sizes {FARGATE_CPU}", svc.cpu)
    if not 1024 <= svc.container_port <= 65535:
        _fail("service.container_port", "an unprivileged port (1024-65535)", svc.container_port)
    if svc.container_health_check is not None and svc.container_health_check[:1] not in (("CMD",), ("CMD-SHELL",)):
        _fail("service.container_health_check", "a command starting with CMD or CMD-SHELL", "another form")
    scaling = svc.autoscaling
    if scaling and not scaling.min_count <= svc.desired_count <= scaling.max_count:
        _fail("service.desired_count", f"a count within autoscaling {scaling.min_count}..{scaling.max_count}",
              svc.desired_count)


def _validate_deployment(args: BlueGreenServiceArgs) -> None:
    deployment = args.deployment
    if deployment.strategy not in STRATEGIES:
        _fail("deployment.strategy", f"one of {STRATEGIES}", deployment.strategy)
    detection = detection_seconds(args.alarms)
    if args.traffic_control == "ECS":
        _validate_ecs_native(deployment, detection)
        return
    if deployment.termination_wait_minutes * 60 <= detection:
        _fail(
            "deployment.termination_wait_minutes",
            f"a wait longer than the alarm detection window ({detection}s), or rollback finds blue gone",
            deployment.termination_wait_minutes,
        )
    if deployment.strategy in STRATEGY_ROUTING and deployment.interval_minutes * 60 < detection:
        _fail(
            "deployment.interval_minutes",
            f"an interval at least as long as the alarm detection window ({detection}s), "
            "or traffic shifts on before the alarms can see the first step",
            deployment.interval_minutes,
        )


def _validate_ecs_native(deployment: DeploymentStrategy, detection: int) -> None:
    """ECS keeps blue for the bake time: the alarms must be able to fire, and roll back, within it."""
    field = "deployment.termination_wait_minutes"
    if deployment.termination_wait_minutes * 60 <= detection:
        _fail(field, f"a bake time (ECS bake_time_in_minutes) longer than the alarm detection window "
              f"({detection}s), or the alarms fire after blue is gone", deployment.termination_wait_minutes)
    if deployment.termination_wait_minutes > ECS_MAX_BAKE_MINUTES:
        _fail(field, f"at most {ECS_MAX_BAKE_MINUTES} minutes (the ECS bake time limit)",
              deployment.termination_wait_minutes)
