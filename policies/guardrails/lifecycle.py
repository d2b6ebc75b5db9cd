"""Lifecycle rules (catalogue 58): a resource under a fixed physical name does not collide with itself when it is
replaced.

Pulumi replaces create-before-delete unless `deleteBeforeReplace` is set: the replacement is created while the old
resource still exists. For a type whose physical name is unique in its scope and cannot change in place, a fixed
name makes that create fail (`DuplicateTargetGroupName`, `EntityAlreadyExists`, `AlreadyExistsException` ...) or,
for upsert APIs (PutRolePolicy, PutMetricAlarm, PutScalingPolicy), overwrite the old resource, which the delete
that follows then removes. Replacement comes from any property the provider marks ForceNew, from a provider
change, or from `pulumi up --target-replace`.

The table says which types: the pulumi-aws SDK docstrings do not carry upstream's "Forces new resource" for them,
so each entry cites the terraform-provider-aws schema file (under internal/service/) where the name attribute is
`ForceNew: true`. tests/infra/test_replace_collisions.py holds the program to the same table.
"""

from __future__ import annotations

from collections.abc import Iterator

from guardrails.rule import Context, Framework, Resource, Rule

# type token -> (the input holding the resource's own physical name, upstream schema file: ForceNew there)
NAME_FORCES_REPLACEMENT: dict[str, tuple[str, str]] = {
    "aws:lb/targetGroup:TargetGroup": ("name", "elbv2/target_group.go"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "ec2/vpc_security_group.go"),
    "aws:iam/role:Role": ("name", "iam/role.go"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "iam/role_policy.go"),
    "aws:backup/vault:Vault": ("name", "backup/vault.go"),
    "aws:backup/plan:Plan": ("name", "backup/plan.go"),
    "aws:backup/selection:Selection": ("name", "backup/selection.go (no update: every attribute is ForceNew)"),
    "aws:wafv2/webAcl:WebAcl": ("name", "wafv2/web_acl.go"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "logs/group.go"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", "cloudwatch/metric_alarm.go (alarm_name)"),
    "aws:appautoscaling/policy:Policy": ("name", "appautoscaling/policy.go"),
    "aws:codedeploy/deploymentConfig:DeploymentConfig": (
        "deploymentConfigName", "deploy/deployment_config.go (no update: every attribute is ForceNew)"),
    "aws:ecr/repository:Repository": ("name", "ecr/repository.go"),
    "aws:ecs/service:Service": ("name", "ecs/service.go"),
    "aws:kms/alias:Alias": ("name", "kms/alias.go"),
    "aws:secretsmanager/secret:Secret": ("name", "secretsmanager/secret.go"),
}

# Names the provider changes in place (its Update takes the new name): a rename never replaces.
RENAMED_IN_PLACE: dict[str, tuple[str, str]] = {
    "aws:codedeploy/deploymentGroup:DeploymentGroup": ("deploymentGroupName", "UpdateDeploymentGroup"),
    "aws:codedeploy/application:Application": ("name", "UpdateApplication"),
    "aws:rds/instance:Instance": ("identifier", "ModifyDBInstance NewDBInstanceIdentifier"),
}

# Types in the table that the rule leaves create-before-delete, and why.
EXEMPT: dict[str, str] = {
    "aws:secretsmanager/secret:Secret": (
        "only the name forces replacement, and a deleted secret keeps its name through the recovery window, "
        "so delete-before-replace could not free it either"
    ),
    "aws:ecs/service:Service": (
        "replacing a service is an outage: a collision stops `pulumi up` before anything is deleted, which is "
        "the outcome wanted; a service replacement is a planned move to a new name"
    ),
    "aws:codedeploy/deploymentConfig:DeploymentConfig": (
        "configs are named after their shape (strategy, percentage, interval), so a changed config has a new name; "
        "delete-before-replace would delete the config a deployment group still uses"
    ),
}


def check_replace_collision(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type in EXEMPT or resource.delete_before_replace:
        return
    key = NAME_FORCES_REPLACEMENT[resource.type][0]
    name = resource.get(key)
    if isinstance(name, str) and name:
        yield (f"{key} is fixed ({name!r}) and forces replacement, without deleteBeforeReplace: a replacement is "
               "created before the old resource is deleted and collides with its name; set "
               "delete_before_replace=True or leave the name to Pulumi (name_prefix or no name)")


POLICIES: list[Rule] = [
    Rule(
        name="fixed-name-replace-collision",
        description="A resource under a fixed physical name that forces replacement is deleted before it is "
                    "replaced (or named by Pulumi), so a replacement does not collide with the old resource.",
        enforcement="A", severity="medium", framework=Framework("Rampart deployment safety", "LIFECYCLE-58"),
        remediation="Pass `opts=pulumi.ResourceOptions(delete_before_replace=True)` where the name is a contract "
                    "(outputs, workflows, IAM policies, CodeDeploy target groups); otherwise drop `name` (or use "
                    "`name_prefix`) and let Pulumi name the resource. Renaming an existing resource replaces it.",
        url="https://www.pulumi.com/docs/iac/concepts/resources/options/deletebeforereplace/",
        resource_types=tuple(NAME_FORCES_REPLACEMENT), check=check_replace_collision,
        tags=("lifecycle", "catalogue-58"),
    ),
]
