"""A small deployed stack inside moto: VPC, cluster, a CodeDeploy-controlled Fargate service, alarms, database."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLUSTER = "rampart-production"
SERVICE = "api"
ECS_SERVICE = "rampart-production-api"
FAMILY = "rampart-production-api"
CONTAINER = "app"
PORT = 8080
APPLICATION = "rampart-production-api"
GROUP = "rampart-production-api-dg"
LOG_GROUP = "/rampart/production/api"
ALARMS = ("rampart-production-api-5xx", "rampart-production-api-unhealthy")
DB = "rampart-production-db"


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One CodeDeploy-controlled service; the defaults are the small world the ops tests use."""

    key: str = SERVICE
    ecs_service: str = ECS_SERVICE
    family: str = FAMILY
    container: str = CONTAINER
    port: int = PORT
    application: str = APPLICATION
    group: str = GROUP
    log_group: str = LOG_GROUP
    stream_prefix: str = "api"
    alarms: tuple[str, ...] = ALARMS
    image: str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1"
    task_role_arn: str = "arn:aws:iam::123456789012:role/task"
    execution_role_arn: str = "arn:aws:iam::123456789012:role/exec"


@dataclass(frozen=True, kw_only=True)
class WorldSpec:
    """Names and region of the world; the IAM contract tests fill it from a recorded stack."""

    region: str = "eu-west-1"
    environment: str = "production"
    cluster: str = CLUSTER
    db: str = DB
    services: tuple[ServiceSpec, ...] = (ServiceSpec(),)
    long_arns: bool = False
    """ECS's long service and task ARNs (with the cluster name), which every account has had by default since 2021;
    set explicitly so a moto default cannot change the shapes under the test."""


DEFAULT_SPEC = WorldSpec()


@dataclass
class World:
    outputs_path: Path
    outputs: dict[str, Any]
    task_definition_arn: str
    """The first service's running revision."""
    subnet_id: str
    security_group_id: str
    task_definition_arns: dict[str, str] = field(default_factory=dict)
    """Running revision per service key."""


def _task_definition(ecs: Any, spec: WorldSpec, service: ServiceSpec) -> str:
    return ecs.register_task_definition(
        family=service.family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=service.execution_role_arn, taskRoleArn=service.task_role_arn,
        containerDefinitions=[
            {
                "name": service.container, "image": service.image, "essential": True,
                "cpu": 192, "memory": 384,  # moto's RunTask needs container-level sizes
                "portMappings": [{"containerPort": service.port, "protocol": "tcp"}],
                "environment": [{"name": "MODE", "value": spec.environment}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": service.log_group, "awslogs-region": spec.region,
                    "awslogs-stream-prefix": service.stream_prefix}},
            },
            {"name": "sidecar", "image": "public.ecr.aws/xray/aws-xray-daemon:3.3", "essential": False,
             "cpu": 64, "memory": 128},
        ],
        tags=[{"key": "rampart:stack", "value": spec.environment}],
    )["taskDefinition"]["taskDefinitionArn"]


def _deployment(client: Callable[[str], Any], spec: WorldSpec, service: ServiceSpec, *, with_group: bool,
                alarm_rollback: bool) -> None:
    cloudwatch = client("cloudwatch")
    for name in service.alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum", Period=60, EvaluationPeriods=3, Threshold=5, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
    codedeploy = client("codedeploy")
    codedeploy.create_application(applicationName=service.application, computePlatform="ECS")
    if with_group:
        events = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"] if alarm_rollback else ["DEPLOYMENT_FAILURE"]
        codedeploy.create_deployment_group(
            applicationName=service.application, deploymentGroupName=service.group,
            serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
            deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes",
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            ecsServices=[{"serviceName": service.ecs_service, "clusterName": spec.cluster}],
            autoRollbackConfiguration={"enabled": True, "events": events},
            alarmConfiguration={"enabled": True, "alarms": [{"name": n} for n in service.alarms]},
        )


def build(client: Callable[[str], Any], tmp_path: Path, *, with_group: bool = True, with_db: bool = False,
          alarm_rollback: bool = True, encrypted: bool = True, spec: WorldSpec = DEFAULT_SPEC) -> World:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    # As the network component sets it; moto's awsvpc RunTask also breaks on ENIs without a private DNS name.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="api", Description="api tasks", VpcId=vpc)["GroupId"]

    ecs = client("ecs")
    if spec.long_arns:
        for setting in ("serviceLongArnFormat", "taskLongArnFormat"):
            ecs.put_account_setting(name=setting, value="enabled")
    ecs.create_cluster(clusterName=spec.cluster)
    revisions: dict[str, str] = {}
    services: dict[str, Any] = {}
    for service in spec.services:
        revisions[service.key] = _task_definition(ecs, spec, service)
        ecs.create_service(
            cluster=spec.cluster, serviceName=service.ecs_service, taskDefinition=revisions[service.key],
            desiredCount=2, launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}},
        )
        _deployment(client, spec, service, with_group=with_group, alarm_rollback=alarm_rollback)
        services[service.key] = {
            "serviceName": service.ecs_service, "taskDefinitionFamily": service.family,
            "containerName": service.container, "containerPort": service.port,
            "codedeployApplication": service.application, "deploymentGroup": service.group,
            "subnetIds": [subnet], "securityGroupIds": [group], "logGroupName": service.log_group,
            "alarmNames": list(service.alarms), "detectionSeconds": 240,
        }

    if with_db:
        client("rds").create_db_instance(
            DBInstanceIdentifier=spec.db, DBInstanceClass="db.t4g.medium", Engine="postgres",
            MasterUsername="admin_user", MasterUserPassword="not-a-real-pass-1", AllocatedStorage=20,
            BackupRetentionPeriod=14, StorageEncrypted=encrypted, DeletionProtection=True,
        )

    outputs = {
        "environment": spec.environment,
        "region": spec.region,
        "clusterName": spec.cluster,
        "services": services,
        "database": {"instanceIdentifier": spec.db, "endpoint": "db.example", "port": 5432, "rpoMinutes": 5},
    }
    path = tmp_path / "outputs" / f"{spec.environment}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return World(outputs_path=path, outputs=outputs, task_definition_arn=revisions[spec.services[0].key],
                 subnet_id=subnet, security_group_id=group, task_definition_arns=revisions)
