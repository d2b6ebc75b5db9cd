"""What a blue/green service runs and how it ships: plain frozen values (no stack config), checked by the
component (validation.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class Autoscaling:
    min_count: int
    max_count: int
    cpu_target_percent: int = 60


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One container behind the load balancer."""

    name: str
    image: str | None = None
    """The image every deployment starts from; None only while `awaiting_image`."""
    awaiting_image: bool = False
    """A new stack's first `up`, before its repository holds an image: no task definition, service, alarms or
    deployment group yet."""
    cpu: int = 512
    memory: int = 1024
    desired_count: int = 2
    container_port: int = 8080
    health_check_path: str = "/health"
    path_patterns: tuple[str, ...] = ("/*",)
    listener_rule_priority: int = 100
    user: str = "10001:10001"
    """Numeric uid[:gid]; never root."""
    environment: Mapping[str, str] = field(default_factory=dict)
    autoscaling: Autoscaling | None = None
    container_health_check: tuple[str, ...] | None = None
    """ECS health check command (CMD or CMD-SHELL form); None: curl the health check path."""


@dataclass(frozen=True, kw_only=True)
class DeploymentStrategy:
    """How CodeDeploy moves traffic from blue to green, and how long blue is kept."""

    strategy: Literal["canary", "linear", "all-at-once"]
    traffic_percent: int = 10
    interval_minutes: int = 5
    termination_wait_minutes: int = 30
    """How long blue is kept after the shift: must exceed the alarm detection window."""
    ready_wait_minutes: int = 0
    """0 reroutes as soon as green is healthy; otherwise waits for a manual continue at most this long."""
