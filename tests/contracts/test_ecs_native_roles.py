"""IAM contract for ECS-native blue/green: every call `rampart deploy` and `rampart rollback` make for such a service
is allowed by the deploy and rollback roles of a stack that has one, removing any of their ECS-native actions is
noticed, the ECS-native grants are all used, and a stack without such a service gets none of them.

The calls are recorded below botocore's Stubber (tests/support/aws_calls.py) while the real ops code runs; the
service-deployment APIs are not in moto 5.2.5, so every answer here comes from Stubber, shaped by the service model.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from rampart.ops.deploy import DeployOptions
from rampart.ops.ecs_native_deploy import run_native_deploy
from rampart.ops.ecs_native_rollback import run_native_rollback
from rampart.ops.report import Report
from rampart.ops.rollback import RollbackOptions
from tests.support import aws_calls
from tests.support.iam import Request, assert_role_allows, denied, role_policies, unused_actions, without_action
from tests.support.stacks import raw_config, record_config, record_stack

ACCOUNT, REGION, SWITCHED = "123456789012", "us-east-1", "api"
NATIVE_ACTIONS = ("ecs:UpdateService", "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments",
                  "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment", "ecs:DescribeServiceRevisions")


@functools.cache
def switched():
    services = [dict(s, trafficControl="ECS") if s["name"] == SWITCHED else s
                for s in raw_config("production")["services"]]
    from tests.support.stacks import stack_config

    return record_config(stack_config("production", services=services))


def _names(recording) -> dict[str, str]:
    outputs = recording.outputs
    cluster = outputs["clusterName"]
    service = outputs["services"][SWITCHED]["serviceName"]
    base = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
    return {"cluster": cluster, "service": service, "alarm": outputs["services"][SWITCHED]["alarmNames"][0],
            "deployment": f"{base}:service-deployment/{cluster}/{service}/Abc",
            "revision": f"{base}:service-revision/{cluster}/{service}/Rev",
            "task": f"{base}:task-definition/{service}:7", "previous": f"{base}:task-definition/{service}:6"}


class _Stubbed:
    """An `Aws` whose clients answer from Stubber only."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=REGION, aws_access_key_id="x",
                                                 aws_secret_access_key="x")
            self.stubbers[service] = Stubber(self.clients[service])
            self.stubbers[service].activate()
        return self.clients[service]

    def answer(self, service: str, operation: str, response: dict) -> None:
        self.client(service)
        self.stubbers[service].add_response(operation, response)


def _service(n: dict[str, str]) -> dict:
    return {"services": [{
        "serviceName": n["service"], "status": "ACTIVE", "taskDefinition": n["task"],
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": {"strategy": "BLUE_GREEN", "alarms": {"alarmNames": [n["alarm"]], "enable": True,
                                                                         "rollback": True},
                                    "lifecycleHooks": [{"targetType": "PAUSE",
                                                        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]}}]}


def _deployment(n, status: str, stage: str = "", hook: bool = False, **more) -> dict:
    hooks = [{"hookId": "h1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}] if hook else []
    return {"serviceDeployments": [{"serviceDeploymentArn": n["deployment"], "status": status,
                                    "lifecycleStage": stage, "lifecycleHookDetails": hooks, **more}]}


def _deploy_calls(n) -> list[Request]:
    """A deploy that continues at the pause hook and is released on quiet alarms, then one that times out."""
    aws = _Stubbed()
    listed = {"serviceDeployments": [{"serviceDeploymentArn": n["deployment"], "status": "PENDING"}]}
    for walk in ([("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", True), ("IN_PROGRESS", "BAKE_TIME")],
                 [("IN_PROGRESS", "SCALE_UP")]):
        aws.answer("ecs", "describe_services", _service(n))
        aws.answer("ecs", "update_service", {"service": {}})
        aws.answer("ecs", "list_service_deployments", listed)
        for step in walk:
            aws.answer("ecs", "describe_service_deployments", _deployment(n, *step))
            if len(step) > 2:
                aws.answer("ecs", "continue_service_deployment", {"serviceDeploymentArn": n["deployment"]})
        if len(walk) > 1:
            aws.answer("cloudwatch", "describe_alarms",
                       {"MetricAlarms": [{"AlarmName": n["alarm"], "StateValue": "OK"}]})
    aws.answer("ecs", "stop_service_deployment", {"serviceDeploymentArn": n["deployment"]})
    with aws_calls.recording(ACCOUNT, REGION) as recorded:
        for timeout in (60.0, 0.5):
            ticks = itertools.count()  # a second per look at the clock: the short timeout expires at once
            options = DeployOptions(cluster=n["cluster"], service=n["service"], application="", deployment_group="",
                                    container_name="app", container_port=8080, task_definition=n["task"],
                                    timeout=timeout, poll=0.01, continue_when_ready=True, traffic_control="ECS")
            run_native_deploy(aws, options, Report("deploy"), clock=lambda t=ticks: float(next(t)),
                              sleep=lambda s: None)
    return recorded.requests()


def _rollback_calls(n) -> list[Request]:
    """A rollback that stops an in-flight deployment, then one that returns to the revision served before."""
    aws = _Stubbed()
    flying = {"serviceDeployments": [{"serviceDeploymentArn": n["deployment"], "status": "IN_PROGRESS"}]}
    done = {"serviceDeployments": [{"serviceDeploymentArn": n["deployment"], "status": "SUCCESSFUL"}]}
    aws.answer("ecs", "describe_services", _service(n))
    aws.answer("ecs", "list_service_deployments", flying)
    aws.answer("ecs", "stop_service_deployment", {"serviceDeploymentArn": n["deployment"]})
    aws.answer("ecs", "describe_service_deployments", _deployment(n, "ROLLBACK_SUCCESSFUL"))
    aws.answer("ecs", "describe_services", _service(n))
    aws.answer("cloudwatch", "describe_alarms", {"MetricAlarms": [{"AlarmName": n["alarm"], "StateValue": "OK"}]})
    aws.answer("ecs", "describe_services", _service(n))
    aws.answer("ecs", "list_service_deployments", {"serviceDeployments": []})
    aws.answer("ecs", "list_service_deployments", done)
    aws.answer("ecs", "describe_service_deployments",
               _deployment(n, "SUCCESSFUL", sourceServiceRevisions=[{"arn": n["revision"]}]))
    aws.answer("ecs", "describe_service_revisions", {"serviceRevisions": [{"taskDefinition": n["previous"]}]})
    aws.answer("ecs", "update_service", {"service": {}})
    aws.answer("ecs", "list_service_deployments", flying)
    # The service's smoke-gate hook holds the redeploy too; the target already served traffic, so it continues.
    aws.answer("ecs", "describe_service_deployments", _deployment(n, "IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", True))
    aws.answer("ecs", "continue_service_deployment", {"serviceDeploymentArn": n["deployment"]})
    aws.answer("ecs", "describe_service_deployments", _deployment(n, "SUCCESSFUL"))
    back = {**_service(n)["services"][0], "taskDefinition": n["previous"]}
    aws.answer("ecs", "describe_services", {"services": [back]})
    aws.answer("cloudwatch", "describe_alarms", {"MetricAlarms": [{"AlarmName": n["alarm"], "StateValue": "OK"}]})
    with aws_calls.recording(ACCOUNT, REGION) as recorded:
        for _ in range(2):
            report = Report("rollback")
            run_native_rollback(aws, RollbackOptions(stack="production", cluster=n["cluster"], service=n["service"],
                                                     application="", deployment_group="", container_name="app",
                                                     container_port=8080, reason="test", timeout=30, poll=0.01,
                                                     traffic_control="ECS"), report, sleep=lambda s: None)
            assert report.exit_code == 0, report.steps
    return recorded.requests()


@functools.cache
def calls(role: str) -> tuple[Request, ...]:
    n = _names(switched())
    return tuple(_deploy_calls(n) if role == "-github-deploy" else _rollback_calls(n))


ROLES = ["-github-deploy", "-github-rollback"]


@pytest.mark.parametrize("role", ROLES)
def test_every_ecs_native_call_is_allowed(role):
    assert_role_allows(role_policies(switched(), role), list(calls(role)), role=f"production *{role} (ECS-native)")


@pytest.mark.parametrize("role", ROLES)
def test_removing_any_ecs_native_action_is_noticed(role):
    policies, requests = role_policies(switched(), role), list(calls(role))
    used = sorted({r.action for r in requests} & set(NATIVE_ACTIONS))
    unnoticed = [action for action in used if not denied(without_action(policies, action), requests)]
    assert used and not unnoticed, unnoticed


@pytest.mark.parametrize("role", ROLES)
def test_every_ecs_native_grant_is_used(role):
    unused = unused_actions(role_policies(switched(), role), list(calls(role)))
    assert not set(unused) & set(NATIVE_ACTIONS), unused


@pytest.mark.parametrize("role", ROLES)
def test_a_stack_without_ecs_native_services_gets_none_of_it(role):
    granted = {str(a) for p in role_policies(record_stack("production"), role) for s in p["Statement"]
               for a in (s.get("Action") if isinstance(s.get("Action"), list) else [s.get("Action")])}
    assert not granted & set(NATIVE_ACTIONS), sorted(granted & set(NATIVE_ACTIONS))


def test_the_service_deployments_are_this_services_only():
    n = _names(switched())
    other = n["deployment"].replace(f"/{n['service']}/", "/rampart-production-web/")
    refused = denied(role_policies(switched(), "-github-rollback"),
                     [Request("ecs:StopServiceDeployment", other, {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}"
                                                                                     f":cluster/{n['cluster']}"})])
    assert refused, "the rollback role may stop deployments of a service that is not ECS-native"
