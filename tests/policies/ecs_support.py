"""What the ECS rule tests share (tests/policies/test_ecs_*.py, test_ecs_native.py): a compliant task definition,
container and service, each with fields to flip, and one rule's messages for a resource or a stack."""

from __future__ import annotations

import json

from guardrails import ecs
from guardrails.rule import Context, Resource

RULES = {rule.name: rule for rule in ecs.POLICIES}
TASKDEF, SERVICE, CLUSTER = ecs.TASK_DEFINITION, "aws:ecs/service:Service", ecs.CLUSTER
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
IMAGE = ("123456789012.dkr.ecr.us-east-1.amazonaws.com/rampart-production-web@sha256:"
         "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945")
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rampart/db-AbCdEf"
URN = "urn:pulumi:test::rampart::{}::{}"


def ctx(rule: str, **overrides) -> Context:
    return Context(config={**RULES[rule].thresholds, **overrides})


def container(**overrides) -> dict:
    base = {
        "name": "web", "image": IMAGE, "essential": True, "user": "10001:10001", "readonlyRootFilesystem": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD_SECRET_ARN",
                                                                  "value": SECRET_ARN}],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}],
        "healthCheck": {"command": ["CMD-SHELL", "wget -qO- http://localhost:8080/health || exit 1"]},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/rampart/production/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}},
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def taskdef_props(*containers: dict, **overrides) -> dict:
    props = {
        "family": "rampart-production-web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "512", "memory": "1024", "executionRoleArn": "arn:aws:iam::123456789012:role/web-execution",
        "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
        "containerDefinitions": json.dumps(list(containers) or [container()]),
    }
    return {k: v for k, v in {**props, **overrides}.items() if v is not None}


def taskdef(*containers: dict, urn: str = "urn:td", **overrides) -> Resource:
    return Resource(TASKDEF, taskdef_props(*containers, **overrides), urn=urn, name="web-td")


def service_props(**overrides) -> dict:
    props = {
        "name": "web", "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/main", "launchType": "FARGATE",
        "platformVersion": "LATEST", "desiredCount": 2.0, "healthCheckGracePeriodSeconds": 60.0,
        "deploymentController": {"type": "CODE_DEPLOY"},
        "networkConfiguration": {"subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-1"],
                                 "assignPublicIp": False},
        "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-blue/1",
                           "containerName": "web", "containerPort": 8080.0}],
        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/rampart-production-web:1",
        "enableExecuteCommand": False,
    }
    return {k: v for k, v in {**props, **overrides}.items() if v is not None}


IGNORED = ("taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion")


def service(ignore_changes=IGNORED, **overrides) -> Resource:
    return Resource(SERVICE, service_props(**overrides), urn="urn:svc", name="web", ignore_changes=ignore_changes)


def run(rule_name: str, subject, **overrides) -> list[str]:
    rule = RULES[rule_name]
    if rule.is_stack_rule:
        results = rule.stack_check(subject, ctx(rule_name, **overrides))
    else:
        results = rule.check(subject, ctx(rule_name, **overrides))
    return [r if isinstance(r, str) else r.message for r in results]


def hits(diags, policy):
    return [d.message.splitlines()[-1] for d in diags if d.policy == policy]
