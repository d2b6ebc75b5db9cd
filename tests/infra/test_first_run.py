"""A new stack's first `pulumi up` happens before any image exists: its ECR repositories are created by that same
`up`. Services marked `awaitingImage: true` get everything that needs no image (repository, logs, roles, security
group, target groups, listener rules, CodeDeploy application) and defer the task definition, the ECS service, its
autoscaling, its rollback alarms and the deployment group until the image is set."""

from __future__ import annotations

import json
import re

import pytest

from infra import outputs
from infra.config import ConfigError
from tests.support.stacks import STACKS, raw_config, record_config, stack_config

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
SCALING = "aws:appautoscaling/target:Target"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
REPO = "aws:ecr/repository:Repository"
LOGS = "aws:cloudwatch/logGroup:LogGroup"
TG = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
APP = "aws:codedeploy/application:Application"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"


def first_run_services(stack: str, awaiting: tuple[str, ...] | None = None) -> list[dict]:
    """The stack file's services with `image` replaced by `awaitingImage: true` (all of them by default)."""
    services = []
    for service in raw_config(stack)["services"]:
        if awaiting is None or service["name"] in awaiting:
            service = {k: v for k, v in service.items() if k != "image"} | {"awaitingImage": True}
        services.append(service)
    return services


def first_run_config(stack: str, awaiting: tuple[str, ...] | None = None):
    return stack_config(stack, services=first_run_services(stack, awaiting))


# Config ------------------------------------------------------------------------------------------------------


def test_a_service_awaiting_its_image_validates_in_every_stack():
    for stack in STACKS:
        cfg = first_run_config(stack)
        assert all(s.awaiting_image and s.image is None for s in cfg.services)


def test_a_service_with_neither_image_nor_awaiting_image_is_refused_naming_both():
    services = raw_config("staging")["services"]
    del services[1]["image"]
    with pytest.raises(ConfigError) as raised:
        stack_config("staging", services=services)
    message = str(raised.value)
    assert "rampart:services[1].image: required" in message
    assert "awaitingImage: true" in message and "The first image" in message
    assert "Traceback" not in message


def test_an_image_and_awaiting_image_together_are_refused():
    services = raw_config("staging")["services"]
    services[0]["awaitingImage"] = True
    with pytest.raises(ConfigError, match=r"rampart:services\[0\]\.awaitingImage: .*remove awaitingImage"):
        stack_config("staging", services=services)


def test_production_images_are_pinned_by_digest_staging_may_use_a_version_tag():
    for stack in ("production", "staging"):
        services = raw_config(stack)["services"]
        services[1]["image"] = services[1]["image"].split("@")[0] + ":1.4.2"
        if stack == "staging":
            assert stack_config(stack, services=services).services[1].image.endswith(":1.4.2")
            continue
        with pytest.raises(ConfigError) as raised:
            stack_config(stack, services=services)
        assert "rampart:services[1].image: production pins images by digest" in str(raised.value)


# The first `pulumi up`, recorded --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_run():
    return record_config(first_run_config("production"))


def _needs_a_stack_image(registration) -> bool:
    # The smoke task runs a public curl image pinned by digest (components/smoke_runner.py): it exists before any
    # image of ours, so it is declared on the first run too.
    return "SmokeRunner" not in registration.urn


def test_nothing_that_needs_an_image_is_declared(first_run):
    for kind in (SERVICE, TASK, GROUP, SCALING):
        assert [r for r in first_run.by_type(kind) if _needs_a_stack_image(r)] == [], kind
    # The database keeps its own alarms; the services' rollback alarms wait for something to roll back.
    assert [a.name for a in first_run.by_type(ALARM) if "BlueGreenService" in a.urn] == []
    # No input anywhere names an image in the stack's own registry (none exists there yet), and apart from the
    # smoke runner's public one, no image at all.
    for registration in first_run.registrations:
        text = json.dumps(registration.plain_inputs(), default=str)
        assert ".dkr.ecr." not in text, registration.urn
        assert "@sha256:" not in text or not _needs_a_stack_image(registration), registration.urn


def test_everything_that_needs_no_image_is_declared(first_run):
    assert sorted(r.plain_inputs().get("name") for r in first_run.by_type(REPO)) == [
        "rampart-production-api", "rampart-production-web"]
    assert {"/ecs/rampart-production-api", "/ecs/rampart-production-web"} <= {
        r.plain_inputs().get("name") for r in first_run.by_type(LOGS)}
    assert len(first_run.by_type(TG)) == 4 and len(first_run.by_type(RULE)) == 4
    assert sorted(r.plain_inputs().get("name") for r in first_run.by_type(APP)) == [
        "rampart-production-api", "rampart-production-web"]
    roles = {r.plain_inputs().get("name") for r in first_run.by_type(ROLE)}
    assert {"rampart-production-web-execution", "rampart-production-web-task",
            "rampart-production-web-codedeploy"} <= roles


def test_outputs_name_the_services_awaiting_their_first_image(first_run):
    exported = first_run.outputs
    assert exported[outputs.SERVICES] == {}
    awaiting = exported[outputs.AWAITING_IMAGE]
    assert sorted(awaiting) == ["api", "web"]
    for value in awaiting.values():
        assert set(value) == set(outputs.AWAITING_IMAGE_KEYS)
    # Rollbacks read RAMPART_SERVICES: a service without a deployment group has nothing to roll back.
    published = [v for v in first_run.by_type(VARIABLE) if v.plain_inputs()["variableName"] == "RAMPART_SERVICES"]
    assert published and all(json.loads(v.plain_inputs()["value"]) == {} for v in published)


def test_the_deploy_role_already_names_what_the_second_up_creates(first_run):
    """The deploy role is scoped to fixed names, so it is valid (non-empty, exact) before the services exist and
    does not change when the first image lands."""
    [policy] = [p for p in first_run.by_type(ROLE_POLICY) if p.name.endswith("-deploy-policy")]
    document = json.loads(policy.plain_inputs()["policy"])
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    services = sorted(by_sid["EcsServices"]["Resource"])
    assert [s.rsplit("/", 1)[-1] for s in services] == ["rampart-production-api", "rampart-production-web"]
    # The long ARN format: arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE.
    assert all(re.fullmatch(r"arn:aws:ecs:us-east-1:\d{12}:service/[\w-]+/rampart-production-\w+", s)
               for s in services), services
    groups = by_sid["CodeDeployDeployments"]["Resource"]
    assert any(g.endswith("deploymentgroup:rampart-production-web/rampart-production-web") for g in groups)


def test_a_stack_may_await_one_service_while_the_other_runs():
    recording = record_config(first_run_config("staging", awaiting=("api",)))
    assert [r.plain_inputs()["name"] for r in recording.by_type(SERVICE)] == ["rampart-staging-web"]
    assert sorted(recording.outputs[outputs.SERVICES]) == ["web"]
    assert sorted(recording.outputs[outputs.AWAITING_IMAGE]) == ["api"]
    assert len(recording.by_type(GROUP)) == 1
    # The awaiting service's planned ARN has the shape the running one's real ARN has: the role is the same
    # before and after the first image.
    [policy] = [p for p in recording.by_type(ROLE_POLICY) if p.name.endswith("-deploy-policy")]
    statements = {s["Sid"]: s for s in json.loads(policy.plain_inputs()["policy"])["Statement"]}
    arns = sorted(statements["EcsServices"]["Resource"])
    assert [a.rsplit("/", 1) for a in arns] == [[arns[0].rsplit("/", 1)[0], "rampart-staging-api"],
                                                [arns[0].rsplit("/", 1)[0], "rampart-staging-web"]]


def test_setting_the_first_image_only_adds_resources():
    """The second `up` creates what waited and changes nothing the first one made (no replacement, no policy churn),
    except the list of services the rollback workflow may act on."""
    first = record_config(first_run_config("staging"))
    second = record_config(stack_config("staging"))
    before = {r.urn: r.plain_inputs() for r in first.registrations}
    after = {r.urn: r.plain_inputs() for r in second.registrations}
    assert set(before) <= set(after)
    changed = sorted(before[urn].get("variableName", urn) for urn in before if before[urn] != after[urn])
    assert changed == ["RAMPART_SERVICES"] * len(changed) and changed
    added = {after_urn.split("::")[-2].rsplit("$", 1)[-1] for after_urn in set(after) - set(before)}
    assert {SERVICE, TASK, GROUP, "rampart:index:DeploymentAlarms"} <= added
