"""The stack's configuration: the only module that reads `pulumi.Config`.

Everything a stack can vary lives in `Pulumi.<stack>.yaml` under the `rampart:` namespace and is parsed here
into frozen pydantic models with unknown keys rejected. A bad value raises `ConfigError` (a `pulumi.RunError`,
so the engine prints one clean message, not a traceback) before any resource is declared.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.deployment_alarms import METRIC_DELAY_SECONDS, worst_case_detection_seconds  # noqa: F401 (re-export)
from components.log_retention import CLOUDWATCH_LOG_RETENTION_DAYS
from infra.backup_windows import window_conflict

NAMESPACE = "rampart"

# Stack-level keys under `rampart:`; anything else in the namespace is a typo and is rejected.
TOP_LEVEL_KEYS = (
    "environment",
    "network",
    "loadBalancer",
    "services",
    "deployment",
    "alarms",
    "database",
    "backup",
    "applicationSecrets",
    "notifications",
    "github",
    "recovery",
    "tags",
)


class ConfigError(pulumi.RunError):
    """A stack configuration problem: names the stack file, the key path and what is expected."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )


Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")]
ConfigKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
TimeWindow = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")]
WeeklyWindow = Annotated[
    str,
    StringConstraints(
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
    ),
]

# Fargate's valid CPU units and, per CPU size, the memory (MiB) it accepts.
FARGATE_MEMORY_BY_CPU: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        # Never the rejected value itself (ipaddress quotes it): under a real preview it may be a decrypted secret.
        raise ValueError("expected an IPv4 CIDR block such as 10.0.0.0/16 (network address, no host bits)") from None
    if network.version != 4 or not 16 <= network.prefixlen <= 24:
        raise ValueError("expected an IPv4 CIDR block with a prefix between /16 and /24")
    return value


def _log_retention(value: int) -> int:
    if value not in CLOUDWATCH_LOG_RETENTION_DAYS:
        raise ValueError(
            f"expected one of the retention periods CloudWatch Logs accepts "
            f"({', '.join(str(d) for d in CLOUDWATCH_LOG_RETENTION_DAYS)})"
        )
    return value


LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]


def _source_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected a CIDR block such as 203.0.113.0/28 (network address, no host bits)") from None
    if network.prefixlen < 8:
        raise ValueError("expected a narrow source range (prefix /8 or longer), not the internet")
    return value


def _image_reference(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*(@sha256:[a-f0-9]{64})?", value):
        raise ValueError("expected a container image reference such as REPO@sha256:<64 hex digits>")
    if value.endswith(":latest"):
        raise ValueError("expected an image pinned by digest or version tag, never ':latest'")
    if "@sha256:" not in value and ":" not in value.rsplit("/", 1)[-1]:
        # `nginx` is `nginx:latest`: whatever the registry points the tag at on the day of the deploy.
        raise ValueError("expected an image pinned by digest or version tag (REPO:1.2.3 or REPO@sha256:<digest>), "
                         "not a bare name (an implicit ':latest')")
    return value


def _acm_certificate_arn(value: str) -> str:
    if not re.fullmatch(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+", value):
        raise ValueError("expected an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)")
    return value


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


class DatabaseConfig(_Model):
    engine_version: Annotated[str, StringConstraints(pattern=r"^1[4-8](\.\d+)?$")] = "16"
    instance_class: Annotated[str, StringConstraints(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.t4g.medium"
    allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    max_allocated_storage_gb: int = Field(default=100, ge=20, le=65536)
    database_name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "app"
    master_username: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,15}$")] = "rampart_admin"
    port: int = Field(default=5432, ge=1150, le=65535)
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    backup_window: TimeWindow = "02:00-03:00"
    maintenance_window: WeeklyWindow = "sun:04:00-sun:05:00"
    multi_az: bool = True
    deletion_protection: bool = True
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = 60
    performance_insights_retention_days: int = Field(default=7, ge=7, le=731)
    cpu_alarm_percent: int = Field(default=80, ge=1, le=100)
    free_storage_alarm_gb: int = Field(default=5, ge=1)
    connections_alarm: int = Field(default=400, ge=1)

    @model_validator(mode="after")
    def _storage_ordered(self) -> DatabaseConfig:
        if self.max_allocated_storage_gb <= self.allocated_storage_gb:
            raise ValueError(
                f"maxAllocatedStorageGb: {self.max_allocated_storage_gb} must exceed "
                f"allocatedStorageGb ({self.allocated_storage_gb}) for storage autoscaling"
            )
        return self


class BackupConfig(_Model):
    # 05:00 UTC: clear of the default RDS backup window (02:00-03:00) and of the default maintenance window
    # (sun:04:00-05:00) with the hour before it; see infra/backup_windows.py.
    schedule: Annotated[str, StringConstraints(pattern=r"^cron\(.+\)$")] = "cron(0 5 * * ? *)"
    retention_days: int = Field(default=35, ge=1, le=36500)
    copy_region: AwsRegion | None = None
    """A second region's vault for copies (production)."""
    copy_retention_days: int = Field(default=35, ge=1, le=36500)


class ApplicationSecretConfig(_Model):
    name: Name
    config_key: ConfigKey
    """The secret config key holding the value: `pulumi config set --secret <configKey> ...`."""
    description: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    recovery_window_days: int = Field(default=30, ge=7, le=30)


class SlackChatConfig(_Model):
    """A Slack channel of a workspace already authorised in the AWS Chatbot console (ids, not names)."""

    team_id: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,255}$")]
    channel_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,255}$")]


class TeamsChatConfig(_Model):
    """A Microsoft Teams channel of a team already authorised in the AWS Chatbot console."""

    tenant_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f-]{36}$")]
    team_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f-]{36}$")]
    channel_id: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")]


class NotificationsConfig(_Model):
    emails: tuple[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = ()
    slack: SlackChatConfig | None = None
    """Optional: the topic's messages in a Slack channel through AWS Chatbot (components/chat_notifications.py)."""
    teams: TeamsChatConfig | None = None
    """Optional: the same in a Microsoft Teams channel."""


class GithubReviewersConfig(_Model):
    users: tuple[Annotated[int, Field(gt=0)], ...] = ()
    teams: tuple[Annotated[int, Field(gt=0)], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.users and not self.teams


GITHUB_OIDC_PROVIDER_ARN = r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
GITHUB_APP_STORE_ARN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
SECRETS_PROVIDER_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$"


class GithubConfig(_Model):
    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")]
    """owner/name of the repository that deploys this stack."""
    owner_id: int | None = Field(default=None, gt=0)
    repository_id: int | None = Field(default=None, gt=0)
    """Numeric ids: repositories created after 2026-07-15 get OIDC subjects in the immutable-id form."""
    reviewers: GithubReviewersConfig = GithubReviewersConfig()
    prevent_self_review: bool = True
    can_admins_bypass: bool = False
    wait_timer_minutes: int = Field(default=0, ge=0, le=43200)
    deployment_branches: tuple[Annotated[str, StringConstraints(min_length=1, max_length=255)], ...] = ("main",)
    protected_branches_only: bool = False
    """GitHub's two branch-policy flags must differ: True uses protected branches, False the named patterns."""
    required_approving_reviews: int = Field(default=1, ge=0, le=6)
    required_status_checks: tuple[str, ...] = ("rampart check",)
    allowed_actions: tuple[str, ...] = ("actions/*", "pulumi/*", "aws-actions/*", "github/codeql-action/*")
    manage_repository_settings: bool = False
    """One stack owns the repository-wide settings (ruleset on main, Actions permissions); two would fight."""
    oidc_provider_arn: Annotated[str, StringConstraints(pattern=GITHUB_OIDC_PROVIDER_ARN)] | None = None
    """The account's existing GitHub OIDC provider; None: this stack creates it (one per account)."""
    state_backend_url: Annotated[str, StringConstraints(pattern=r"^(s3|gs|azblob|https)://[^\s]+$")] | None = None
    """Pulumi state backend the workflows log in to (published as a GitHub variable); None: Pulumi Cloud."""
    secrets_provider_key_arn: Annotated[str, StringConstraints(pattern=SECRETS_PROVIDER_KEY_ARN)] | None = None
    """The KMS key behind the stack file's `secretsprovider: awskms://…` (`rampart bootstrap` creates it)."""
    app_secret_arn: Annotated[str, StringConstraints(pattern=GITHUB_APP_STORE_ARN)] | None = None
    """Secrets Manager secret holding the GitHub App (`{"appId": …, "installationId": …, "privateKey": …}`) the
    deploy job's github provider authenticates as: only the infrastructure role may read it."""
    reader_app_secret_arn: Annotated[str, StringConstraints(pattern=GITHUB_APP_STORE_ARN)] | None = None
    """Secrets Manager secret of a read-only GitHub App (Administration, Environments, Variables: read) for the
    github provider's refresh in previews and drift checks; the preview role may read it. GITHUB_TOKEN cannot read
    Actions variables or repository administration settings."""
    rollback_environment: bool = True
    """A `<environment>-rollback` GitHub environment and role for emergency rollbacks (same reviewers, no wait)."""

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]

    @model_validator(mode="after")
    def _branch_policy(self) -> GithubConfig:
        if not self.protected_branches_only and not self.deployment_branches:
            raise ValueError("deploymentBranches: must name at least one branch when protectedBranchesOnly is false")
        if any(not pattern.strip("*?/") for pattern in self.deployment_branches):
            raise ValueError("deploymentBranches: must name branches, not a pattern of wildcards only such as '*' "
                             "or '?**' (any branch could deploy)")
        if "rampart check" not in self.required_status_checks:
            raise ValueError("requiredStatusChecks: must include 'rampart check', the policy gate on every PR")
        if len(self.reviewers.users) + len(self.reviewers.teams) > 6:
            raise ValueError("reviewers: GitHub allows at most 6 required reviewers (users and teams together)")
        if (self.owner_id is None) != (self.repository_id is None):
            raise ValueError("repositoryId: ownerId and repositoryId go together, set both or neither")
        return self


class RecoveryConfig(_Model):
    """Targets per recovery path (the `recovery-objectives-met` policy holds each against the resources):
    rto/rpo for every path, and optional overrides for a database restore and for a region loss."""

    rto_minutes: int = Field(ge=1, le=10080)
    rpo_minutes: int = Field(ge=1, le=10080)
    restore_rto_minutes: int | None = Field(default=None, ge=1, le=10080)
    region_rto_minutes: int | None = Field(default=None, ge=1, le=10080)
    region_rpo_minutes: int | None = Field(default=None, ge=1, le=10080)


class StackConfig(_Model):
    """Everything one stack declares. Built by `load_stack_config` from Pulumi config, or directly in tests."""

    stack: Name
    project: str = "rampart"
    region: AwsRegion = "us-east-1"
    environment: Literal["production", "staging", "dev", "development"]
    """Also the GitHub environment the stack deploys through (deploy-stack.yml: `environment: <stack>`)."""
    network: NetworkConfig = NetworkConfig()
    load_balancer: LoadBalancerConfig
    services: tuple[ServiceConfig, ...] = Field(min_length=1)
    deployment: DeploymentConfig
    alarms: AlarmsConfig = AlarmsConfig()
    database: DatabaseConfig = DatabaseConfig()
    backup: BackupConfig = BackupConfig()
    application_secrets: tuple[ApplicationSecretConfig, ...] = ()
    notifications: NotificationsConfig = NotificationsConfig()
    github: GithubConfig
    recovery: RecoveryConfig
    tags: Mapping[Annotated[str, StringConstraints(min_length=1, max_length=128)], str] = Field(
        default_factory=dict
    )
    secret_values: Mapping[str, Any] = Field(default_factory=dict, exclude=True, repr=False)
    """configKey -> pulumi.Output[str] (secret) for every application secret; filled by the loader."""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @model_validator(mode="after")
    def _cross_references(self) -> StackConfig:
        names = [service.name for service in self.services]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"services: names must be unique, repeated: {', '.join(duplicates)}")
        priorities = [service.listener_rule_priority for service in self.services]
        if len(set(priorities)) != len(priorities):
            raise ValueError("services: listenerRulePriority must be unique per service")
        declared = {secret.name for secret in self.application_secrets}
        for index, service in enumerate(self.services):
            unknown = sorted(set(service.secrets) - declared)
            if unknown:
                raise ValueError(
                    f"services[{index}].secrets: names {', '.join(unknown)}, "
                    f"expected names declared under applicationSecrets ({', '.join(sorted(declared)) or 'none'})"
                )
        for index, service in enumerate(self.services):
            if self.is_production and service.image is not None and "@sha256:" not in service.image:
                raise ValueError(
                    f"services[{index}].image: production pins images by digest (REPO@sha256:<64 hex digits>); "
                    "a tag can be moved, the digest a rollback returns to cannot"
                )
        if self.is_production and self.github.reviewers.empty:
            raise ValueError(
                "github.reviewers: production needs at least one reviewer id (users or teams, numeric GitHub ids)"
            )
        if self.environment == "staging" and self.github.reviewers.empty:
            # Graded strictness: dev deploys unattended, staging waits for a reviewer, production for reviewers and
            # a wait timer.
            raise ValueError(
                "github.reviewers: staging needs at least one reviewer id (users or teams, numeric GitHub ids)"
            )
        if self.is_production and self.github.can_admins_bypass:
            raise ValueError("github.canAdminsBypass: production protection rules apply to admins too; expected false")
        if self.is_production and not self.github.prevent_self_review:
            raise ValueError("github.preventSelfReview: production deployments need a second person; expected true")
        if self.is_production and self.github.required_approving_reviews < 1:
            raise ValueError("github.requiredApprovingReviews: production merges need at least 1 approving review")
        if self.is_production and self.github.wait_timer_minutes < 5:
            raise ValueError("github.waitTimerMinutes: production waits at least 5 minutes before a deployment")
        if self.is_production and self.database.backup_retention_days < 14:
            raise ValueError("database.backupRetentionDays: production keeps automated backups at least 14 days")
        detection_seconds = self.alarms.worst_case_detection_seconds
        if self.deployment.termination_wait_minutes * 60 <= detection_seconds:
            raise ValueError(
                f"deployment.terminationWaitMinutes: blue must outlive the alarm detection window "
                f"({detection_seconds} s), or a rollback has nothing to return to"
            )
        if self.load_balancer.test_listener_port == 443:
            raise ValueError("loadBalancer.testListenerPort: must differ from the production listener (443)")
        return self

    @model_validator(mode="after")
    def _production_recoverable_and_closed(self) -> StackConfig:
        if not self.is_production:
            return self
        if self.deployment.ready_wait_minutes == 0:
            raise ValueError("deployment.readyWaitMinutes: production waits at least 1 minute before traffic moves, "
                             "so the new version is smoke-tested on the test listener first; 0 skips that")
        if self.backup.copy_region is None or self.backup.copy_region == self.region:
            raise ValueError("backup.copyRegion: production copies its backups to a second region (a region other "
                             "than the stack's), or a regional outage takes the backups with the database")
        for index, cidr in enumerate(self.load_balancer.test_ingress_cidrs or ()):
            network = ipaddress.ip_network(cidr)
            if not network.is_private and network.prefixlen < PUBLIC_TEST_INGRESS_MIN_PREFIX:
                # The value is not echoed: the key and the index name it.
                raise ValueError(
                    f"loadBalancer.testIngressCidrs[{index}]: production admits to the unreleased version only "
                    f"private ranges or a public range of /{PUBLIC_TEST_INGRESS_MIN_PREFIX} or narrower "
                    "(an office or VPN egress), not a public range that size"
                )
        return self

    @model_validator(mode="after")
    def _account_pieces_referenced(self) -> StackConfig:
        # One per account, owned by `rampart bootstrap`: a stack that created them would collide with the next.
        missing = [
            key
            for key, value in (
                ("github.oidcProviderArn", self.github.oidc_provider_arn),
                ("github.stateBackendUrl", self.github.state_backend_url),
                ("github.secretsProviderKeyArn", self.github.secrets_provider_key_arn),
            )
            if value is None
        ]
        if missing:
            raise ValueError(
                f"{', '.join(missing)}: expected the account's bootstrap values (run `rampart bootstrap`; it prints"
                " the OIDC provider ARN, the s3:// state backend URL and the secrets provider key ARN)"
            )
        if not str(self.github.state_backend_url).startswith("s3://"):
            raise ValueError("github.stateBackendUrl: expected the s3:// backend `rampart bootstrap` created")
        return self

    @model_validator(mode="after")
    def _backup_job_clear_of_database_windows(self) -> StackConfig:
        # AWS Backup and the RDS automated backup snapshot the same instance: see infra/backup_windows.py.
        conflict = window_conflict(
            self.backup.schedule, self.database.backup_window, self.database.maintenance_window
        )
        if conflict:
            raise ValueError(conflict)
        return self


_KEY_PATH_PREFIX = re.compile(
    r"^([A-Za-z][A-Za-z0-9_]*(?:\[\d+\])?(?:\.[A-Za-z][A-Za-z0-9_]*(?:\[\d+\])?)*): (.*)$", re.DOTALL
)


def _format_location(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def format_validation_error(error: ValidationError, stack_file: str) -> str:
    """One message: the stack file, then one line per problem with its `rampart:` key path."""
    lines = [f"{stack_file}: invalid stack configuration"]
    for problem in error.errors(include_url=False, include_input=False):
        location = _format_location(tuple(problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        # Cross-field validators name the offending key first ("key.path: expectation").
        named = _KEY_PATH_PREFIX.match(message)
        if problem["type"] == "value_error" and named:
            location = f"{location}.{named[1]}" if location else named[1]
            message = named[2]
        key = f"{NAMESPACE}:{location}" if location else f"{NAMESPACE} (stack level)"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def parse_stack_config(raw: Mapping[str, Any], *, stack: str, stack_file: str) -> StackConfig:
    """Validate already-parsed config values (keys without the namespace). Raises ConfigError."""
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS) - {"stack", "region", "secretValues"})
    problems: list[str] = []
    try:
        parsed = StackConfig.model_validate({**{k: v for k, v in raw.items() if k not in unknown}, "stack": stack})
    except ValidationError as exc:
        problems = format_validation_error(exc, stack_file).splitlines()[1:]
    # The known keys' problems first: an applicationSecrets entry without its configKey is the cause of its secret
    # key reading as unknown, so naming only the unknown key would point at the symptom.
    allowed = ", ".join(TOP_LEVEL_KEYS)
    problems += [f"  {NAMESPACE}:{key}: unknown key, expected one of: {allowed} "
                 "(or the configKey of an applicationSecrets entry)" for key in unknown]
    if problems:
        raise ConfigError(f"{stack_file}: invalid stack configuration\n" + "\n".join(problems))
    return parsed


def load_stack_config() -> StackConfig:
    """Read this stack's `rampart:` config through pulumi.Config and validate it whole."""
    stack = pulumi.get_stack()
    stack_file = f"Pulumi.{stack}.yaml"
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    _refuse_secrets_in_plain_keys(stack_file)
    for key in _present_keys():
        if key not in TOP_LEVEL_KEYS:
            raw[key] = None  # reported as unknown by parse_stack_config
            continue
        try:
            raw[key] = config.get_object(key)
        except Exception:  # a structured key whose value is not JSON/YAML
            raw[key] = config.get(key)
    region = pulumi.Config("aws").get("region")
    if region:
        raw["region"] = region
    parsed = parse_stack_config(raw, stack=stack, stack_file=stack_file)
    from pulumi.runtime import config as runtime_config

    secret_values: dict[str, Any] = {}
    missing = []
    for secret in parsed.application_secrets:
        value = config.get_secret(secret.config_key)
        if value is not None and not runtime_config.is_config_secret(f"{NAMESPACE}:{secret.config_key}"):
            # Readable by anyone who reads the repository; the value itself is never repeated here.
            raise ConfigError(
                f"{stack_file}: invalid stack configuration\n  {NAMESPACE}:{secret.config_key}: holds a plain "
                f"value for application secret '{secret.name}'; expected an encrypted `secure:` value "
                f"(`pulumi config set --secret {secret.config_key} <value> --stack {stack}`)"
            )
        if value is None:
            missing.append(secret)
        else:
            secret_values[secret.config_key] = value
    if missing:
        raise ConfigError(
            f"{stack_file}: invalid stack configuration\n"
            + "\n".join(
                f"  {NAMESPACE}:{secret.config_key}: missing secret value for application secret "
                f"'{secret.name}', expected `pulumi config set --secret {secret.config_key} <value> "
                f"--stack {stack}`"
                for secret in missing
            )
        )
    return parsed.model_copy(update={"secret_values": secret_values})


def _refuse_secrets_in_plain_keys(stack_file: str) -> None:
    """Stack settings are plain: a `secure:` value among them (say in `tags`, which become the provider's default
    tags) would be stored and shown in clear text without its secret mark."""
    from pulumi.runtime import config as runtime_config

    secret = sorted(key for key in TOP_LEVEL_KEYS if runtime_config.is_config_secret(f"{NAMESPACE}:{key}"))
    if secret:
        raise ConfigError(
            f"{stack_file}: invalid stack configuration\n"
            + "\n".join(f"  {NAMESPACE}:{key}: holds a `secure:` value; expected plain values (secrets belong in "
                        "applicationSecrets, each under its own configKey)" for key in secret)
        )


def _present_keys() -> list[str]:
    """Every `rampart:` key set for this stack, including secret ones, without their values."""
    from pulumi.runtime import config as runtime_config

    declared = {secret_key for secret_key in _application_secret_keys()}
    keys = []
    for full_key in runtime_config.CONFIG.get():
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE and key not in declared:
            keys.append(key)
    return keys


def _application_secret_keys() -> set[str]:
    """Config keys that hold application secret values: declared by `applicationSecrets[].configKey`."""
    try:
        raw = pulumi.Config(NAMESPACE).get_object("applicationSecrets")
    except pulumi.ConfigTypeError:
        return set()  # not JSON: parse_stack_config names the key, without the SDK's echo of the value
    if not isinstance(raw, list):
        return set()
    return {
        entry.get("configKey")
        for entry in raw
        if isinstance(entry, dict) and isinstance(entry.get("configKey"), str)
    }
