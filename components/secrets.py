"""Application secrets: one Secrets Manager secret per `applicationSecrets` entry, its value from secret config.

ECS reads a secret once, when a task starts (DESIGN trap 6). A task definition that names the bare secret ARN
keeps whatever value each task happened to read, and a changed value never forces a new revision, so nothing is
deployed and old and new tasks disagree. `value_from` therefore pins the version: `<arn>:::<version_id>`. A new
value replaces the SecretVersion, which yields a new version id, a new task definition revision and an ordinary
blue/green deployment; the old version stays readable (Secrets Manager only removes its staging label), so the
blue revision that a rollback returns to still starts.

Values come from `pulumi config set --secret` and stay Pulumi secrets end to end: this module never unwraps them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,60}[a-z0-9]$")


def environment_variable_name(secret_name: str) -> str:
    """`session-key` -> `SESSION_KEY`: the variable a container sees the value under."""
    return secret_name.upper().replace("-", "_")


def pinned_value_from(arn: str, version_id: str) -> str:
    """ECS `valueFrom` for a whole secret at one version: arn:json-key:version-stage:version-id, the first two empty."""
    return f"{arn}:::{version_id}"


@dataclass(frozen=True, kw_only=True)
class SecretSpec:
    """One application secret: its name, where its value comes from, how long a deleted one can be restored."""

    name: str
    config_key: str
    """Key of the value in `values` (the stack's secret config key)."""
    description: str
    recovery_window_days: int = 30


@dataclass(frozen=True, kw_only=True)
class ApplicationSecretsArgs:
    secrets: Sequence[SecretSpec]
    values: Mapping[str, pulumi.Output[str]]
    """configKey -> the secret value (a Pulumi secret Output)."""
    kms_key_arn: pulumi.Input[str]
    name_prefix: str
    """Secrets are named `<name_prefix>/<secret name>`."""
    protect: bool


class ApplicationSecrets(pulumi.ComponentResource):
    arns: Mapping[str, pulumi.Output[str]]
    """Secret name -> secret ARN (for IAM: the task execution role may read exactly these)."""
    value_from: Mapping[str, pulumi.Output[str]]
    """Secret name -> `<arn>:::<version_id>`, the ECS `valueFrom` that pins the current version."""
    environment_variable_names: Mapping[str, str]
    """Secret name -> environment variable name in the container (e.g. SESSION_KEY)."""

    def __init__(
        self, name: str, args: ApplicationSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        _validate(args)
        super().__init__("rampart:index:ApplicationSecrets", name, None, opts)
        arns: dict[str, pulumi.Output[str]] = {}
        value_from: dict[str, pulumi.Output[str]] = {}
        for config in args.secrets:
            secret = aws.secretsmanager.Secret(
                f"{name}-{config.name}",
                name=f"{args.name_prefix}/{config.name}",
                description=config.description,
                kms_key_id=args.kms_key_arn,
                recovery_window_in_days=config.recovery_window_days,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            # Not protected: a new value replaces the version (that is how the pin moves); the secret is what
            # must survive.
            version = aws.secretsmanager.SecretVersion(
                f"{name}-{config.name}-version",
                secret_id=secret.id,
                # Marked secret here even for a plain Output (pulumi-aws 7.x does it too; this keeps the guarantee
                # independent of the SDK): the value must never reach state, logs or previews in clear.
                secret_string=pulumi.Output.secret(args.values[config.config_key]),
                opts=pulumi.ResourceOptions(parent=self),
            )
            arns[config.name] = secret.arn
            value_from[config.name] = pulumi.Output.all(secret.arn, version.version_id).apply(
                lambda parts: pinned_value_from(parts[0], parts[1])
            )

        self.arns = arns
        self.value_from = value_from
        self.environment_variable_names = {
            config.name: environment_variable_name(config.name) for config in args.secrets
        }
        self.register_outputs(
            {
                "arns": self.arns,
                "valueFrom": self.value_from,
                "environmentVariableNames": self.environment_variable_names,
            }
        )


def _validate(args: ApplicationSecretsArgs) -> None:
    if not _NAME_PREFIX.fullmatch(args.name_prefix):
        raise ValueError(
            "ApplicationSecretsArgs.name_prefix: expected 2-62 lowercase letters, digits and hyphens, "
            f"got {args.name_prefix!r}"
        )
    for index, spec in enumerate(args.secrets):
        if not isinstance(spec, SecretSpec):
            kind = type(spec).__name__
            raise ValueError(f"ApplicationSecretsArgs.secrets[{index}]: expected a SecretSpec, got {kind}")
        if not 7 <= spec.recovery_window_days <= 30:
            raise ValueError(f"ApplicationSecretsArgs.secrets[{index}].recovery_window_days: expected 7..30 days "
                             f"(a deleted secret stays restorable), got {spec.recovery_window_days!r}")
    for field, values in (
        ("name", [s.name for s in args.secrets]),
        ("config_key", [s.config_key for s in args.secrets]),
        ("environment variable name", [environment_variable_name(s.name) for s in args.secrets]),
    ):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(
                f"ApplicationSecretsArgs.secrets: expected a unique {field} per secret, got repeated {repeated}"
            )
    for config in args.secrets:
        if args.values.get(config.config_key) is None:
            raise ValueError(
                f"applicationSecrets.{config.name}: no value for config key rampart:{config.config_key}; "
                f"set it with pulumi config set --secret {config.config_key}"
            )
