"""The typed stack config: both stack files parse, bad input gets one clear message, never a traceback."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.config import ConfigError, parse_stack_config
from rampart.engine.recorder import record
from tests.support.stacks import STACKS, raw_config, record_stack, stack_settings


def parse(raw: dict[str, Any], stack: str = "production"):
    return parse_stack_config(raw, stack=stack, stack_file=f"Pulumi.{stack}.yaml")


def error_of(raw: dict[str, Any], stack: str = "production") -> str:
    with pytest.raises(ConfigError) as caught:
        parse(raw, stack)
    return str(caught.value)


@pytest.mark.parametrize("stack", STACKS)
def test_both_stack_files_parse(stack):
    cfg = parse(raw_config(stack), stack)
    assert cfg.stack == stack
    assert cfg.environment == stack
    assert cfg.services


def test_production_and_staging_differ_where_the_config_says():
    production, staging = parse(raw_config("production")), parse(raw_config("staging"), "staging")
    assert (production.network.az_count, staging.network.az_count) == (3, 2)
    assert (production.network.nat_gateways, staging.network.nat_gateways) == (3, 1)
    assert (production.deployment.strategy, staging.deployment.strategy) == ("canary", "all-at-once")
    assert production.is_production and not staging.is_production


def with_change(path: str, value: Any, stack: str = "production") -> dict[str, Any]:
    """The stack's raw config with one key changed; path like 'services[0].cpu' or 'database.port'."""
    raw = copy.deepcopy(raw_config(stack))
    tokens = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    target: Any = raw
    for token in tokens[:-1]:
        target = target[int(token[1:-1])] if token.startswith("[") else target[token]
    last = tokens[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = value
    else:
        target[last] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("services[0].cpu", 300, "rampart:services[0].cpu: Input should be 256, 512, 1024, 2048 or 4096"),
        ("services[0].memory", 512, "rampart:services[0].memory: 512 is not valid for cpu 1024 on Fargate"),
        ("services[0].image", "repo/web:latest", "rampart:services[0].image: expected an image pinned"),
        ("services[1].secrets", ["nope"], "rampart:services[1].secrets: names nope, expected names declared"),
        ("database.backupWindow", "2am", "rampart:database.backupWindow: String should match pattern"),
        ("database.maxAllocatedStorageGb", 50, "rampart:database.maxAllocatedStorageGb: 50 must exceed"),
        ("network.cidr", "10.0.0.0/8", "rampart:network.cidr: expected an IPv4 CIDR block with a prefix"),
        ("network.natGateways", 4, "rampart:network.natGateways: 4 cannot exceed azCount (3)"),
        ("github.repository", "shop", "rampart:github.repository: String should match pattern"),
        ("github.reviewers", {}, "rampart:github.reviewers: production needs at least one reviewer"),
        ("github.deploymentBranches", ["*"], "rampart:github.deploymentBranches: must name branches, not a pattern"),
        ("github.deploymentBranches", ["?**"], "rampart:github.deploymentBranches: must name branches, not a pattern"),
        ("services[0].image", "nginx", "rampart:services[0].image: expected an image pinned by digest or version"),
        ("deployment.readyWaitMinutes", 0, "rampart:deployment.readyWaitMinutes: production waits at least 1"),
        ("backup.copyRegion", None, "rampart:backup.copyRegion: production copies its backups to a second region"),
        ("loadBalancer.testIngressCidrs", ["10.1.0.0/16", "11.0.0.0/8"],
         "rampart:loadBalancer.testIngressCidrs[1]: production admits to the unreleased version only private"),
        ("alarms.datapointsToAlarm", 5, "rampart:alarms.datapointsToAlarm: 5 cannot exceed evaluationPeriods (3)"),
        ("loadBalancer.certificateArn", "arn:nope", "rampart:loadBalancer.certificateArn: expected an ACM"),
        ("deployment.strategy", "yolo", "rampart:deployment.strategy: Input should be 'canary', 'linear'"),
        ("database.colour", "blue", "rampart:database.colour: Extra inputs are not permitted"),
    ],
)
def test_bad_value_names_file_key_and_expectation(path, value, expected):
    message = error_of(with_change(path, value))
    assert message.startswith("Pulumi.production.yaml: invalid stack configuration\n")
    assert expected in message


def test_unknown_top_level_key_is_rejected():
    raw = {**raw_config("production"), "databse": {"port": 5432}}
    assert "rampart:databse: unknown key, expected one of: environment, network" in error_of(raw)


def test_missing_required_section_is_named():
    raw = raw_config("production")
    del raw["github"]
    assert "rampart:github: Field required" in error_of(raw)


def test_every_problem_is_in_one_message():
    raw = with_change("services[0].cpu", 300)
    raw["database"]["port"] = 80
    message = error_of(raw)
    assert "services[0].cpu" in message and "database.port" in message


def test_bad_value_through_the_runtime_config_is_a_config_error():
    from infra.config import load_stack_config

    settings = stack_settings("production")
    config = dict(settings.config)
    config["rampart:database"] = json.dumps({**json.loads(config["rampart:database"]), "port": 80})
    with pytest.raises(ConfigError) as caught:
        record(load_stack_config, project="rampart", stack="production", config=config,
               secret_keys=settings.secret_keys)
    assert "rampart:database.port: Input should be greater than or equal to 1150" in str(caught.value)


def test_bad_stack_config_declares_nothing():
    from infra.config import load_stack_config
    from infra.stack import build_stack
    from rampart.engine import recorder

    settings = stack_settings("staging")
    config = {**settings.config, "rampart:services": "[]"}
    captured = {}
    original = recorder.Recording

    class Capturing(original):  # keeps a handle on the recording the failed run filled
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            captured["recording"] = self

    recorder.Recording = Capturing
    try:
        with pytest.raises(ConfigError):
            record(lambda: build_stack(load_stack_config()), project="rampart", stack="staging", config=config,
                   secret_keys=settings.secret_keys)
    finally:
        recorder.Recording = original
    assert captured["recording"].registrations == []


def test_missing_secret_value_names_the_key():
    settings = stack_settings("production")
    config = {k: v for k, v in settings.config.items() if k != "rampart:paymentsApiKey"}
    from infra.config import load_stack_config

    with pytest.raises(ConfigError) as caught:
        record(load_stack_config, project="rampart", stack="production", config=config,
               secret_keys=tuple(k for k in settings.secret_keys if k in config))
    assert "rampart:paymentsApiKey: missing secret value for application secret 'payments-api-key'" in str(
        caught.value
    )
    assert "pulumi config set --secret paymentsApiKey" in str(caught.value)


def test_project_stacks_record_without_error():
    for stack in STACKS:
        recording = record_stack(stack)
        assert recording.outputs["environment"] == stack


# Fuzzing: whatever the YAML holds, the config layer answers with ConfigError (one message naming the file),
# never another exception.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
SECTIONS = ("environment", "network", "loadBalancer", "services", "deployment", "alarms", "database", "backup",
            "applicationSecrets", "notifications", "github", "recovery", "tags")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section=st.sampled_from(SECTIONS), value=json_values)
def test_fuzz_any_section_value_gives_config_error_or_valid_config(section, value):
    raw = {**raw_config("production"), section: value}
    try:
        parse(raw)
    except ConfigError as exc:
        assert str(exc).startswith("Pulumi.production.yaml: invalid stack configuration\n  rampart")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 1), field=st.sampled_from(
    ["name", "image", "cpu", "memory", "desiredCount", "containerPort", "healthCheckPath", "pathPatterns",
     "secrets", "environment", "autoscaling", "user", "listenerRulePriority"]), value=json_values)
def test_fuzz_service_fields(index, field, value):
    raw = copy.deepcopy(raw_config("production"))
    raw["services"][index][field] = value
    try:
        parse(raw)
    except ConfigError as exc:
        assert "rampart:services" in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.dictionaries(st.text(max_size=15), json_values, max_size=6))
def test_fuzz_whole_document(raw):
    try:
        parse(raw)
    except ConfigError as exc:
        assert str(exc).startswith("Pulumi.production.yaml: invalid stack configuration")


def _expect_error(stack: str, expected: str, **overrides):
    from tests.support.stacks import raw_config

    raw = raw_config(stack)
    for section, patch in overrides.items():
        raw[section] = {**raw[section], **patch}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, stack=stack, stack_file=f"Pulumi.{stack}.yaml")
    assert expected in str(caught.value)


def test_production_wait_timer_below_five_minutes_is_rejected():
    _expect_error("production", "rampart:github.waitTimerMinutes: production waits at least 5 minutes",
                  github={"waitTimerMinutes": 4})


def test_graded_strictness_staging_needs_a_reviewer_dev_needs_none():
    staging, dev = parse(raw_config("staging"), "staging"), parse(raw_config("dev"), "dev")
    assert not staging.github.reviewers.empty and staging.github.wait_timer_minutes == 0
    assert dev.github.reviewers.empty and dev.github.wait_timer_minutes == 0
    raw = copy.deepcopy(raw_config("staging"))
    raw["github"] = {key: value for key, value in raw["github"].items() if key != "reviewers"}
    assert "rampart:github.reviewers: staging needs at least one reviewer id" in error_of(raw, "staging")


def test_production_backup_retention_below_fourteen_days_is_rejected():
    _expect_error("production", "rampart:database.backupRetentionDays: production keeps automated backups",
                  database={"backupRetentionDays": 13})


def test_blue_must_outlive_the_alarm_detection_window():
    # 300 s x 3 periods + 60 s of metric delay = 960 s > 15 minutes of termination wait
    _expect_error("staging", "rampart:deployment.terminationWaitMinutes: blue must outlive",
                  alarms={"periodSeconds": 300, "evaluationPeriods": 3, "datapointsToAlarm": 2},
                  deployment={"terminationWaitMinutes": 15})


def test_state_backend_and_oidc_provider_are_validated():
    _expect_error("staging", "rampart:github.stateBackendUrl", github={"stateBackendUrl": "ftp://state"})
    _expect_error("staging", "rampart:github.oidcProviderArn", github={"oidcProviderArn": "arn:aws:iam::1:user/x"})


def test_the_test_listener_is_never_opened_to_the_internet():
    _expect_error("staging", "rampart:loadBalancer.testIngressCidrs[0]: expected a narrow source range",
                  loadBalancer={"testIngressCidrs": ["0.0.0.0/0"]})


@pytest.mark.parametrize(("patch", "expected"), [
    ({"canAdminsBypass": True}, "rampart:github.canAdminsBypass: production protection rules apply to admins"),
    ({"preventSelfReview": False}, "rampart:github.preventSelfReview: production deployments need a second"),
    ({"requiredApprovingReviews": 0}, "rampart:github.requiredApprovingReviews: production merges need"),
    ({"requiredStatusChecks": ["lint"]}, "rampart:github.requiredStatusChecks: must include 'rampart check'"),
    ({"reviewers": {"users": [1, 2, 3, 4], "teams": [5, 6, 7]}}, "rampart:github.reviewers: GitHub allows at most 6"),
])
def test_github_protection_is_validated_before_any_resource(patch, expected):
    _expect_error("production", expected, github=patch)


def test_log_retention_must_be_a_period_cloudwatch_accepts():
    _expect_error("staging", "rampart:network.flowLogRetentionDays: expected one of the retention periods",
                  network={"flowLogRetentionDays": 100})


def test_container_health_check_must_be_an_ecs_command():
    from tests.support.stacks import raw_config

    raw = raw_config("staging")
    raw["services"][0]["containerHealthCheck"] = ["wget", "-q", "http://localhost/health"]
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, stack="staging", stack_file="Pulumi.staging.yaml")
    assert "rampart:services[0].containerHealthCheck: must start with CMD or CMD-SHELL" in str(caught.value)


def test_the_slow_unhealthy_hosts_alarm_counts_in_the_detection_window():
    # 60 s x 10 unhealthy-host periods + 60 s of metric delay = 660 s > 10 minutes of termination wait
    _expect_error("staging", "rampart:deployment.terminationWaitMinutes: blue must outlive the alarm detection "
                  "window (660 s)", alarms={"unhealthyHostsPeriods": 10}, deployment={"terminationWaitMinutes": 10})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("oidcProviderArn", None, "github.oidcProviderArn: expected the account's bootstrap values"),
        ("stateBackendUrl", None, "github.stateBackendUrl: expected the account's bootstrap values"),
        ("secretsProviderKeyArn", None, "github.secretsProviderKeyArn: expected the account's bootstrap values"),
        ("stateBackendUrl", "https://api.pulumi.com", "github.stateBackendUrl: expected the s3:// backend"),
        ("secretsProviderKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/pulumi", "secretsProviderKeyArn"),
        ("appSecretArn", "rampart/github-app", "appSecretArn"),
    ],
)
def test_the_account_pieces_bootstrap_owns_are_required_and_well_formed(key, value, expected):
    raw = copy.deepcopy(raw_config("production"))
    if value is None:
        del raw["github"][key]
    else:
        raw["github"][key] = value
    message = error_of(raw)
    assert expected in message
    assert "Pulumi.production.yaml" in message
