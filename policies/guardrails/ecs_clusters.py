"""ECS cluster rules (catalogue rules 13-14): a shell into tasks (ECS Exec) is off in production and elsewhere
governed by its cluster's KMS key and session logging; clusters run Container Insights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guardrails.alarms import ECS_SERVICE, block, blocks, physical_name
from guardrails.ecs_services import CLUSTER, service_cluster, service_task_definition
from guardrails.ecs_task_definitions import each_container
from guardrails.rule import Context, Finding, Framework, Resource, Rule, shown
from guardrails.shapes import of_type

FSBP = "AWS Foundational Security Best Practices"
_SH_ECS = "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html"


# 13 ----------------------------------------------------------------------------------------------------------
def _exec_governance_gaps(cluster: Resource) -> list[str]:
    config = block(block(cluster.get("configuration")).get("executeCommandConfiguration"))
    gaps = []
    if not config.get("kmsKeyId"):
        gaps.append("configuration.executeCommandConfiguration.kmsKeyId is not set")
    logging = config.get("logging") or "DEFAULT"
    if logging == "NONE":
        gaps.append("executeCommandConfiguration.logging is NONE")
    elif logging == "OVERRIDE":
        log = block(config.get("logConfiguration"))
        cloudwatch = log.get("cloudWatchLogGroupName") and log.get("cloudWatchEncryptionEnabled") is True
        s3 = log.get("s3BucketName") and log.get("s3EncryptionEnabled") is True
        if not (cloudwatch or s3):
            gaps.append("executeCommandConfiguration.logConfiguration has no encrypted CloudWatch or S3 destination")
    return gaps


def check_exec_governed(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    allowed = context.threshold("allowExecuteCommand")
    for service in of_type(resources, ECS_SERVICE):
        if service.get("enableExecuteCommand") is not True:
            continue
        if not allowed:
            yield Finding("enableExecuteCommand is true: expected false in this stack (no shell into production "
                          "tasks; allowExecuteCommand is off)", service.urn)
            continue
        cluster = service_cluster(service, resources)
        if cluster is None:
            yield Finding("enableExecuteCommand is true and the cluster is not in this stack: expected a stack "
                          "cluster whose executeCommandConfiguration sets kmsKeyId and session logging", service.urn)
        else:
            for gap in _exec_governance_gaps(cluster):
                yield Finding(f"enableExecuteCommand is true but cluster {physical_name(cluster)}: {gap}: expected a "
                              "KMS key and encrypted session logging", service.urn)
        task_definition = service_task_definition(service, resources)
        items = each_container(task_definition) if task_definition else iter(())
        readonly = [item[0] for item in items
                    if not isinstance(item, str) and item[1].get("readonlyRootFilesystem") is True]
        if readonly:
            yield Finding(f"enableExecuteCommand is true but {', '.join(readonly)} has readonlyRootFilesystem: ECS "
                          "Exec cannot start its agent there; expected exec off (ecs-taskdef-readonly-rootfs wants the "
                          "read-only root)", service.urn)


# 14 ----------------------------------------------------------------------------------------------------------
def check_container_insights(resource: Resource, context: Context) -> Iterator[str]:
    values = [s.get("value") for s in blocks(resource.get("settings")) if s.get("name") == "containerInsights"]
    if not any(v in ("enabled", "enhanced") for v in values):
        yield (f"settings containerInsights is {shown(values[0] if values else None)}: expected "
               "{name: containerInsights, value: enhanced or enabled}")


RULES: list[Rule] = [
    Rule(
        name="ecs-exec-governed",
        description="ECS Exec is off in production and elsewhere only with a KMS key and logged sessions.",
        enforcement="MP",
        severity="high",
        framework=Framework("Checkov", "CKV_AWS_223, CKV_AWS_224"),
        remediation="Set `enable_execute_command` false on the aws.ecs.Service; where a stack allows exec, set the "
        "cluster's `configuration.execute_command_configuration` {kms_key_id, logging: OVERRIDE, "
        "log_configuration with an encrypted CloudWatch log group or S3 bucket}.",
        url="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html",
        stack_check=check_exec_governed,
        thresholds={"allowExecuteCommand": False},
    ),
    Rule(
        name="ecs-cluster-container-insights",
        description="ECS clusters have Container Insights enabled.",
        enforcement="M",
        severity="low",
        framework=Framework(FSBP, "ECS.12"),
        remediation="Add `settings=[{name: \"containerInsights\", value: \"enhanced\"}]` (or \"enabled\") to the "
        "aws.ecs.Cluster.",
        url=f"{_SH_ECS}#ecs-12",
        resource_types=(CLUSTER,),
        check=check_container_insights,
    ),
]
