"""A small deployed stack inside moto: VPC, cluster, a CodeDeploy-controlled Fargate service, alarms, database."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass
class World:
    outputs_path: Path
    outputs: dict[str, Any]
    task_definition_arn: str
    subnet_id: str
    security_group_id: str


def build(client: Callable[[str], Any], tmp_path: Path, *, with_group: bool = True, with_db: bool = False,
          alarm_rollback: bool = True, encrypted: bool = True) -> World:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    # As the network component sets it; moto's awsvpc RunTask also breaks on ENIs without a private DNS name.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="api", Description="api tasks", VpcId=vpc)["GroupId"]

    ecs = client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    task_definition = ecs.register_task_definition(
        family=FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn="arn:aws:iam::123456789012:role/exec", taskRoleArn="arn:aws:iam::123456789012:role/task",
        containerDefinitions=[
            {
                "name": CONTAINER, "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1", "essential": True,
                "cpu": 192, "memory": 384,  # moto's RunTask needs container-level sizes
                "portMappings": [{"containerPort": PORT, "protocol": "tcp"}],
                "environment": [{"name": "MODE", "value": "production"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": LOG_GROUP, "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "api"}},
            },
            {"name": "sidecar", "image": "public.ecr.aws/xray/aws-xray-daemon:3.3", "essential": False,
             "cpu": 64, "memory": 128},
        ],
        tags=[{"key": "rampart:stack", "value": "production"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER, serviceName=ECS_SERVICE, taskDefinition=task_definition, desiredCount=2,
        launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}},
    )

    cloudwatch = client("cloudwatch")
    for name in ALARMS:
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum", Period=60, EvaluationPeriods=3, Threshold=5, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )

    codedeploy = client("codedeploy")
    codedeploy.create_application(applicationName=APPLICATION, computePlatform="ECS")
    if with_group:
        events = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"] if alarm_rollback else ["DEPLOYMENT_FAILURE"]
        codedeploy.create_deployment_group(
            applicationName=APPLICATION, deploymentGroupName=GROUP,
            serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
            deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes",
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            ecsServices=[{"serviceName": ECS_SERVICE, "clusterName": CLUSTER}],
            autoRollbackConfiguration={"enabled": True, "events": events},
            alarmConfiguration={"enabled": True, "alarms": [{"name": n} for n in ALARMS]},
        )

    if with_db:
        client("rds").create_db_instance(
            DBInstanceIdentifier=DB, DBInstanceClass="db.t4g.medium", Engine="postgres",
            MasterUsername="admin_user", MasterUserPassword="not-a-real-pass-1", AllocatedStorage=20,
            BackupRetentionPeriod=14, StorageEncrypted=encrypted, DeletionProtection=True,
        )

    outputs = {
        "environment": "production",
        "region": "eu-west-1",
        "clusterName": CLUSTER,
        "services": {SERVICE: {
            "serviceName": ECS_SERVICE, "taskDefinitionFamily": FAMILY, "containerName": CONTAINER,
            "containerPort": PORT, "codedeployApplication": APPLICATION, "deploymentGroup": GROUP,
            "subnetIds": [subnet], "securityGroupIds": [group], "logGroupName": LOG_GROUP,
            "alarmNames": list(ALARMS), "detectionSeconds": 240,
        }},
        "database": {"instanceIdentifier": DB, "endpoint": "db.example", "port": 5432, "rpoMinutes": 5},
    }
    path = tmp_path / "outputs" / "production.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return World(outputs_path=path, outputs=outputs, task_definition_arn=task_definition, subnet_id=subnet,
                 security_group_id=group)
