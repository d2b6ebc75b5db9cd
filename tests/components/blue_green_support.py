"""BlueGreenService arguments as the project stacks give them (their first service, with fixed ARNs for what other
components provide), and recording the component on them: for tests/components/test_blue_green_service_*.py (whose
module-scoped recordings of both stacks are in tests/components/conftest.py) and the tests that build the same
component another way (test_blue_green_ecs_native.py, tests/package/test_provider_construct.py)."""

from __future__ import annotations

import dataclasses

from components.blue_green_service import BlueGreenService, BlueGreenServiceArgs
from infra.component_args import alarm_thresholds, deployment_strategy, service_spec
from tests.support.stacks import record_program, stack_config

ACCOUNT = "123456789012"
KMS = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b7d3e2a-9c41-4f6e-8a35-3e5d9b1c7f20"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:rampart-alerts"
PROD_LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/lb/abc/prod"
TEST_LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/lb/abc/test"
ALB_SG = "sg-0alb0000000000000"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
OTHER_SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:someone-elses-ZZZZZZ"

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
TG = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
DEPLOY_CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
REPO = "aws:ecr/repository:Repository"


def secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rampart-{name}-AbCdEf"


def make_args(stack: str = "production", **overrides) -> BlueGreenServiceArgs:
    cfg = stack_config(stack)
    names = cfg.services[0].secrets
    service = service_spec(cfg.services[0])
    secrets = {name.upper().replace("-", "_"): f"{secret_arn(name)}:::0000-version-{name}" for name in names}
    base = BlueGreenServiceArgs(
        service=service,
        deployment=deployment_strategy(cfg.deployment),
        alarms=alarm_thresholds(cfg.alarms),
        environment=cfg.environment,
        name_prefix=f"rampart-{stack}",
        cluster_arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/rampart-{stack}",
        cluster_name=f"rampart-{stack}",
        vpc_id="vpc-0123456789abcdef0",
        private_subnet_ids=SUBNETS,
        load_balancer_security_group_id=ALB_SG,
        load_balancer_arn_suffix=f"app/rampart-{stack}/0123456789abcdef",
        production_listener_arn=PROD_LISTENER,
        test_listener_arn=TEST_LISTENER,
        notification_topic_arn=TOPIC,
        kms_key_arn=KMS,
        log_retention_days=90,
        secrets=secrets,
        secret_arns=[secret_arn(name) for name in names],
        region=cfg.region,
    )
    return dataclasses.replace(base, **overrides)


def record(args: BlueGreenServiceArgs):
    built: dict[str, BlueGreenService] = {}

    def program() -> None:
        built["c"] = BlueGreenService("web", args)

    return record_program(program), built["c"]


def group(rec) -> dict:
    return rec.one(GROUP).plain_inputs()


def _service(**update):
    return dataclasses.replace(service_spec(stack_config("production").services[0]), **update)


def _deployment(**update):
    return dataclasses.replace(deployment_strategy(stack_config("production").deployment), **update)
