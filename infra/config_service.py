"""Stack config of what serves traffic: network, load balancer, services, deployment strategy, alarms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    model_validator,
)

from components.deployment_alarms import worst_case_detection_seconds
from infra.config_base import (
    FARGATE_MEMORY_BY_CPU,
    LogRetentionDays,
    Name,
    _acm_certificate_arn,
    _cidr,
    _image_reference,
    _Model,
    _source_cidr,
)


class NetworkConfig(_Model):
    cidr: Annotated[str, AfterValidator(_cidr)] = "10.0.0.0/16"
    az_count: int = Field(default=2, ge=2, le=4)
    """Availability zones used; production uses three."""
    nat_gateways: int = Field(default=1, ge=1, le=4)
    """One in staging (cost), one per AZ in production (an AZ outage must not cut egress)."""
    flow_log_retention_days: LogRetentionDays = 365

    @model_validator(mode="after")
    def _nat_not_beyond_azs(self) -> NetworkConfig:
        if self.nat_gateways > self.az_count:
            raise ValueError(f"natGateways: {self.nat_gateways} cannot exceed azCount ({self.az_count})")
        return self


PUBLIC_TEST_INGRESS_MIN_PREFIX = 24
"""A public source range on production's test listener is at most a /24 (an office or VPN egress)."""


class LoadBalancerConfig(_Model):
    certificate_arn: Annotated[str, AfterValidator(_acm_certificate_arn)]
    ssl_policy: Literal[
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    ] = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    test_listener_port: int = Field(default=8443, ge=1024, le=65535)
    access_log_retention_days: int = Field(default=365, ge=1)
    idle_timeout_seconds: int = Field(default=60, ge=1, le=4000)
    test_ingress_cidrs: tuple[Annotated[str, AfterValidator(_source_cidr)], ...] | None = Field(
        default=None, min_length=1
    )
    """Who else may reach the test listener (the unreleased green version), besides the NAT gateways' addresses the
    smoke task comes from. None: nobody else; never the internet."""


class AutoscalingConfig(_Model):
    min_count: int = Field(ge=1, le=100)
    max_count: int = Field(ge=1, le=100)
    cpu_target_percent: int = Field(default=60, ge=10, le=90)

    @model_validator(mode="after")
    def _ordered(self) -> AutoscalingConfig:
        if self.max_count < self.min_count:
            raise ValueError(f"maxCount: {self.max_count} must be at least minCount ({self.min_count})")
        return self


class ServiceConfig(_Model):
    name: Name
    image: Annotated[str, AfterValidator(_image_reference)] | None = None
    """The image every deployment starts from; production pins it by digest (REPO@sha256:<digest>)."""
    awaiting_image: bool = False
    """A new stack's first `pulumi up`, before the repository it creates holds any image: everything but the task
    definition, the ECS service, its autoscaling and alarms and the deployment group is created. Set on a service
    that runs, it deletes that service on the next `up`: only for services that have never had an image."""
    cpu: Literal[256, 512, 1024, 2048, 4096] = 512
    memory: int = Field(default=1024, ge=512, le=30720)
    desired_count: int = Field(default=2, ge=1, le=100)
    container_port: int = Field(default=8080, ge=1024, le=65535)
    health_check_path: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/-]*$")] = "/health"
    path_patterns: tuple[Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/*-]*$")], ...] = ("/*",)
    listener_rule_priority: int = Field(default=100, ge=1, le=50000)
    user: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}(:[0-9]{1,10})?$")] = "10001:10001"
    """Numeric uid[:gid]: the task never runs as root."""
    secrets: tuple[Name, ...] = ()
    """Names of `applicationSecrets` injected into this service by ARN."""
    environment: Mapping[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")], str] = Field(
        default_factory=dict
    )
    autoscaling: AutoscalingConfig | None = None
    log_retention_days: LogRetentionDays = 365
    container_health_check: tuple[Annotated[str, StringConstraints(min_length=1)], ...] | None = Field(
        default=None, min_length=2
    )
    """ECS container health check command, e.g. ["CMD", "/app/healthcheck"]. None: curl the health check path
    (the image must then ship curl)."""
    migration_command: tuple[Annotated[str, StringConstraints(min_length=1)], ...] = ()
    """Command (exec form) the deploy workflow runs as a one-off task before traffic moves; empty: no migration."""
    traffic_control: Literal["CODE_DEPLOY", "ECS"] = "CODE_DEPLOY"
    """How blue/green moves traffic: a CodeDeploy deployment group, or ECS's own blue/green deployments (no
    CodeDeploy resources; docs/operations.md, "Two blue/green paths"). The stack's `deployment` settings apply to
    both; under ECS traffic moves all at once after the smoke gate, and terminationWaitMinutes is the bake time."""

    @model_validator(mode="after")
    def _fargate_size(self) -> ServiceConfig:
        allowed = FARGATE_MEMORY_BY_CPU[self.cpu]
        if self.memory not in allowed:
            raise ValueError(
                f"memory: {self.memory} is not valid for cpu {self.cpu} on Fargate; "
                f"expected one of {allowed[0]}..{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            )
        if self.autoscaling and not (
            self.autoscaling.min_count <= self.desired_count <= self.autoscaling.max_count
        ):
            raise ValueError("desiredCount: must lie between autoscaling.minCount and autoscaling.maxCount")
        return self

    @model_validator(mode="after")
    def _image_or_awaiting(self) -> ServiceConfig:
        # Explicit, not implied by a missing line: a deleted `image` must not quietly delete a running service.
        if self.image is None and not self.awaiting_image:
            raise ValueError(
                "image: required (REPO@sha256:<digest>); for a new stack whose repository holds no image yet, "
                "set awaitingImage: true instead (docs/adopting-workflows.md, \"The first image\")"
            )
        if self.image is not None and self.awaiting_image:
            raise ValueError(
                "awaitingImage: true contradicts image; remove awaitingImage once the first image is set"
            )
        return self

    @model_validator(mode="after")
    def _health_check(self) -> ServiceConfig:
        if self.container_health_check is not None and self.container_health_check[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError("containerHealthCheck: must start with CMD or CMD-SHELL, as ECS expects")
        return self


class DeploymentConfig(_Model):
    strategy: Literal["canary", "linear", "all-at-once"]
    traffic_percent: int = Field(default=10, ge=1, le=99)
    """Share shifted in the first step (canary) or every step (linear)."""
    interval_minutes: int = Field(default=5, ge=1, le=60)
    termination_wait_minutes: int = Field(default=30, ge=5, le=2880)
    """How long blue is kept after the shift: must exceed the alarm detection window."""
    ready_wait_minutes: int = Field(default=0, ge=0, le=2880)
    """0 reroutes as soon as green is healthy; otherwise waits for a manual continue at most this long."""
    # No deployment timeout here: every timeout is derived from these fields (infra/timing.py says why).


class AlarmsConfig(_Model):
    period_seconds: Literal[10, 30, 60, 300] = 60
    evaluation_periods: int = Field(default=3, ge=1, le=10)
    datapoints_to_alarm: int = Field(default=2, ge=1, le=10)
    server_error_rate_percent: float = Field(default=5.0, gt=0, le=100)
    p95_latency_ms: int = Field(default=1000, ge=10, le=60000)
    unhealthy_hosts_periods: int = Field(default=3, ge=1, le=10)
    max_detection_minutes: int = Field(default=10, ge=1, le=60)
    """Upper bound for period x evaluation periods of every rollback alarm (also a policy threshold)."""

    @property
    def worst_case_detection_seconds(self) -> int:
        """From a bad deployment to the slowest rollback alarm firing (the component's one formula)."""
        return worst_case_detection_seconds(
            period_seconds=self.period_seconds,
            evaluation_periods=self.evaluation_periods,
            unhealthy_hosts_periods=self.unhealthy_hosts_periods,
        )

    @model_validator(mode="after")
    def _datapoints_within_periods(self) -> AlarmsConfig:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapointsToAlarm: {self.datapoints_to_alarm} cannot exceed "
                f"evaluationPeriods ({self.evaluation_periods})"
            )
        return self
