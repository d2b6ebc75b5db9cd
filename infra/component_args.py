"""From stack config to component arguments: one small function per component concern.

Components take plain frozen values (components/ never imports infra, tests/test_import_graph.py); the stack's
pydantic models map onto them here. Field names are the same on both sides, so each mapping copies the fields
the component declares, and tests/infra/test_component_args.py fails when either side adds or renames one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import fields
from typing import Any, TypeVar

from pydantic import BaseModel

from components.backup_plan import BackupSchedule
from components.blue_green_service import Autoscaling, DeploymentStrategy, ServiceSpec
from components.database_settings import DatabaseSettings
from components.deployment_alarms import AlarmThresholds
from components.github_repository_security import RepositorySecurity
from components.github_settings import GithubRepositorySettings, GithubReviewers
from components.secrets import SecretSpec
from infra.config import (
    AlarmsConfig,
    ApplicationSecretConfig,
    BackupConfig,
    DatabaseConfig,
    DeploymentConfig,
    GithubConfig,
    GithubSecurityConfig,
    ServiceConfig,
)

T = TypeVar("T")


def copy_fields(target: type[T], model: BaseModel, **replaced: Any) -> T:
    """`target` built from the model's fields of the same names (`replaced`: nested values already mapped)."""
    return target(**{f.name: replaced.get(f.name, getattr(model, f.name)) for f in fields(target)})  # type: ignore[arg-type]


def service_spec(service: ServiceConfig) -> ServiceSpec:
    scaling = service.autoscaling
    return copy_fields(
        ServiceSpec,
        service,
        autoscaling=copy_fields(Autoscaling, scaling) if scaling else None,
        environment=dict(service.environment),
    )


def deployment_strategy(deployment: DeploymentConfig) -> DeploymentStrategy:
    return copy_fields(DeploymentStrategy, deployment)


def alarm_thresholds(alarms: AlarmsConfig) -> AlarmThresholds:
    return copy_fields(AlarmThresholds, alarms)


def database_settings(database: DatabaseConfig) -> DatabaseSettings:
    return copy_fields(DatabaseSettings, database)


def backup_schedule(backup: BackupConfig) -> BackupSchedule:
    return copy_fields(BackupSchedule, backup)


def secret_specs(secrets: Sequence[ApplicationSecretConfig]) -> tuple[SecretSpec, ...]:
    return tuple(copy_fields(SecretSpec, secret) for secret in secrets)


def github_settings(github: GithubConfig, **overrides: Any) -> GithubRepositorySettings:
    """`overrides`: settings that differ for one environment (the rollback gate has no wait timer)."""
    settings = copy_fields(GithubRepositorySettings, github, reviewers=copy_fields(GithubReviewers, github.reviewers))
    return dataclasses.replace(settings, **overrides)


def repository_security(security: GithubSecurityConfig) -> RepositorySecurity:
    return copy_fields(RepositorySecurity, security)
