"""Config ↔ components: every component setting has a stack config field of the same name, and every config field
of a mapped model is either passed to its component or named here as the stack's own; a field added or renamed on
either side fails until the mapping (infra/component_args.py) and this table agree."""

from __future__ import annotations

import dataclasses

import pytest

from components.backup_plan import BackupSchedule
from components.blue_green.spec import Autoscaling, DeploymentStrategy, ServiceSpec
from components.database_settings import DatabaseSettings
from components.deployment_alarms import AlarmThresholds
from components.github_repository_security import RepositorySecurity
from components.github_settings import GithubRepositorySettings, GithubReviewers
from components.secrets import SecretSpec
from infra import component_args
from infra.config import (
    AlarmsConfig,
    ApplicationSecretConfig,
    AutoscalingConfig,
    BackupConfig,
    DatabaseConfig,
    DeploymentConfig,
    GithubConfig,
    GithubReviewersConfig,
    GithubSecurityConfig,
    ServiceConfig,
)
from tests.support.stacks import STACKS, stack_config

# (component type, config model, config fields the stack keeps for itself)
PAIRS = [
    (ServiceSpec, ServiceConfig, {"secrets", "log_retention_days", "migration_command", "traffic_control"}),
    (Autoscaling, AutoscalingConfig, set()),
    (DeploymentStrategy, DeploymentConfig, set()),
    (AlarmThresholds, AlarmsConfig, set()),
    (DatabaseSettings, DatabaseConfig, set()),
    (BackupSchedule, BackupConfig, {"copy_region"}),
    (SecretSpec, ApplicationSecretConfig, set()),
    (GithubReviewers, GithubReviewersConfig, set()),
    (RepositorySecurity, GithubSecurityConfig, set()),
    (
        GithubRepositorySettings,
        GithubConfig,
        # Account- and stack-level wiring that build_stack uses itself (providers, variables, which roles exist).
        {"manage_repository_settings", "security", "oidc_provider_arn", "state_backend_url", "secrets_provider_key_arn",
         "app_secret_arn", "reader_app_secret_arn", "rollback_environment"},
    ),
]


@pytest.mark.parametrize(("component", "model", "stack_only"), PAIRS, ids=lambda v: getattr(v, "__name__", ""))
def test_fields_correspond(component, model, stack_only):
    component_fields = {f.name for f in dataclasses.fields(component)}
    assert component_fields - set(model.model_fields) == set(), "component settings with no config field"
    assert set(model.model_fields) - component_fields == stack_only, "config fields neither mapped nor stack-only"


@pytest.mark.parametrize("stack", STACKS)
def test_both_stacks_map_value_for_value(stack):
    cfg = stack_config(stack)
    mapped = [
        (component_args.deployment_strategy(cfg.deployment), cfg.deployment),
        (component_args.alarm_thresholds(cfg.alarms), cfg.alarms),
        (component_args.database_settings(cfg.database), cfg.database),
        (component_args.backup_schedule(cfg.backup), cfg.backup),
        (component_args.github_settings(cfg.github), cfg.github),
        (component_args.repository_security(cfg.github.security), cfg.github.security),
        *((component_args.service_spec(s), s) for s in cfg.services),
        *zip(component_args.secret_specs(cfg.application_secrets), cfg.application_secrets, strict=True),
    ]
    for plain, model in mapped:
        for f in dataclasses.fields(plain):
            value = getattr(plain, f.name)
            expected = getattr(model, f.name)
            if dataclasses.is_dataclass(value):
                expected = {k: getattr(expected, k) for k in (g.name for g in dataclasses.fields(value))}
                value = dataclasses.asdict(value)
            assert value == expected, (type(plain).__name__, f.name)


def test_alarm_detection_is_one_formula_on_both_sides():
    cfg = stack_config("production").alarms
    assert component_args.alarm_thresholds(cfg).worst_case_detection_seconds == cfg.worst_case_detection_seconds


def test_an_override_applies_to_one_environment_only():
    cfg = stack_config("production").github
    assert component_args.github_settings(cfg, wait_timer_minutes=0).wait_timer_minutes == 0
    assert component_args.github_settings(cfg).wait_timer_minutes == cfg.wait_timer_minutes > 0
