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
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from components.deployment_alarms import METRIC_DELAY_SECONDS, worst_case_detection_seconds  # noqa: F401 (re-export)
from components.log_retention import CLOUDWATCH_LOG_RETENTION_DAYS
from infra.backup_windows import window_conflict
from infra.config_base import (
    FARGATE_MEMORY_BY_CPU,
    AwsRegion,
    ConfigError,
    ConfigKey,
    LogRetentionDays,
    Name,
    TimeWindow,
    WeeklyWindow,
    _Model,
)
from infra.config_data import (
    ApplicationSecretConfig,
    BackupConfig,
    DatabaseConfig,
    RecoveryConfig,
)
from infra.config_github import (
    GITHUB_APP_STORE_ARN,
    GITHUB_OIDC_PROVIDER_ARN,
    SECRETS_PROVIDER_KEY_ARN,
    GithubConfig,
    GithubReviewersConfig,
    GithubSecurityConfig,
)
from infra.config_notifications import (
    NotificationsConfig,
    SlackChatConfig,
    TeamsChatConfig,
)
from infra.config_service import (
    PUBLIC_TEST_INGRESS_MIN_PREFIX,
    AlarmsConfig,
    AutoscalingConfig,
    DeploymentConfig,
    LoadBalancerConfig,
    NetworkConfig,
    ServiceConfig,
)

__all__ = [
    "AlarmsConfig",
    "ApplicationSecretConfig",
    "AutoscalingConfig",
    "AwsRegion",
    "BackupConfig",
    "CLOUDWATCH_LOG_RETENTION_DAYS",
    "ConfigError",
    "ConfigKey",
    "DatabaseConfig",
    "DeploymentConfig",
    "FARGATE_MEMORY_BY_CPU",
    "GITHUB_APP_STORE_ARN",
    "GITHUB_OIDC_PROVIDER_ARN",
    "GithubConfig",
    "GithubReviewersConfig",
    "GithubSecurityConfig",
    "LoadBalancerConfig",
    "LogRetentionDays",
    "METRIC_DELAY_SECONDS",
    "Name",
    "NetworkConfig",
    "NotificationsConfig",
    "PUBLIC_TEST_INGRESS_MIN_PREFIX",
    "RecoveryConfig",
    "SECRETS_PROVIDER_KEY_ARN",
    "ServiceConfig",
    "SlackChatConfig",
    "TeamsChatConfig",
    "TimeWindow",
    "WeeklyWindow",
]

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
