"""IAM grant rules: no admin grants, no unscoped wildcards, AWS-managed policies only from an allowlist, and no
privilege escalation, judged on every permission document a resource carries (guardrails.iam_documents).

Not waivable, because a waiver would leave the account open: iam-no-admin (full account takeover) and
iam-no-privilege-escalation (admin in two steps).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.iam_documents import (
    ATTACHMENT_TYPES,
    GRANTING_TYPES,
    ROLE,
    actions,
    allow_statements,
    attached_policy_arns,
    aws_managed_name,
    condition_keys,
    condition_values,
    covers_action,
    get_ci,
    grants_action,
    is_wildcard_resource,
    resources,
    strings,
    unscopable,
    wildcard_service,
)
from guardrails.rule import Context, Framework, Resource, Rule

FSBP = "AWS Foundational Security Best Practices"
SH_IAM_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html"


def check_no_admin(resource: Resource, context: Context) -> Iterator[str]:
    # AWS-managed policies are judged by their published grants (permission_documents): AdministratorAccess is
    # Action "*", PowerUserAccess a NotAction on "*".
    for where, statement in allow_statements(resource):
        if not any(wildcard_service(r) == "*" for r in resources(statement)):
            continue
        if any(a in ("*", "*:*") for a in actions(statement)):
            yield f"{where}: Action \"*\" on Resource \"*\" grants full administrator access; expected named actions"
        elif get_ci(statement, "NotAction") is not None:
            yield f"{where}: NotAction on Resource \"*\" grants every other action; expected named actions"


DEFAULT_UNSCOPABLE_ACTIONS = (
    "ecr:GetAuthorizationToken",
    "sts:GetCallerIdentity",
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
    "cloudwatch:DescribeAlarmsForMetric",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:DescribeLogGroups",
    "ec2:Describe*",
    "elasticloadbalancing:Describe*",
    "application-autoscaling:Describe*",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListClusters",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "secretsmanager:ListSecrets",
    "kms:ListKeys",
    "kms:ListAliases",
    "iam:ListRoles",
    "tag:GetResources",
    "rds:DescribeDBEngineVersions",
    # No resource-level permissions (Service Authorization Reference; awsdocs/aws-codedeploy-user-guide#18).
    "codedeploy:ContinueDeployment",
    "codedeploy:StopDeployment",
)


def _service_wide(action: str) -> bool:
    return action in ("*", "*:*") or (action.endswith(":*") and action.count(":") == 1)


# Describe*/List* over one resource type (`alarm:*`, `snapshot:*`): listing is over whatever exists of that type
# by nature, and the pattern already keeps it to that type; on "*" it is judged as before.
_LISTING = re.compile(r"^[A-Za-z0-9-]+:(Describe|List)[A-Za-z0-9]*$")


def _every(resource: str) -> str:
    """`arn:aws:rds:...:snapshot:*` -> "every rds snapshot"; `arn:aws:logs:*:*:*` -> "every logs resource"."""
    kind = re.split(r"[:/]", resource.split(":", 5)[5])[0]
    return f"every {wildcard_service(resource)} {kind if kind != '*' else 'resource'}"


def _tag_scoped(statement: Mapping[str, Any]) -> bool:
    """A typed pattern narrowed by the resources' (or the request's) tags: only tagged resources are granted."""
    return any(k.lower().startswith(("aws:resourcetag/", "aws:requesttag/")) for k in condition_keys(statement))


def wildcard_findings(where: str, statement: Mapping[str, Any], allowlist: Sequence[str]) -> Iterator[str]:
    """Service-wide action wildcards, and `*` resources for actions that support resource-level scoping."""
    if get_ci(statement, "NotAction") is not None:
        yield f"{where}: NotAction allows every action not listed; expected Action with named actions"
    for action in actions(statement):
        if _service_wide(action):
            yield f"{where}: Action {action} is a service-wide wildcard; expected named actions"
    wide = [r for r in resources(statement) if r == "*" or (is_wildcard_resource(r) and not _tag_scoped(statement))]
    scopable = [a for a in actions(statement) if not _service_wide(a) and not unscopable(a, allowlist)
                and any(covers_action(r, a) and (r == "*" or not _LISTING.match(a)) for r in wide)]
    if scopable:
        shown = ", ".join("\"*\"" if r == "*" else f"{r} ({_every(r)})"
                          for r in wide if any(covers_action(r, a) for a in scopable))
        yield (
            f"{where}: Resource {shown} for {', '.join(scopable)}, which support resource-level permissions; "
            "expected the ARNs of this stack's resources"
        )


def check_no_wildcards(resource: Resource, context: Context) -> Iterator[str]:
    allowlist = strings(context.threshold("unscopableActions"))
    for where, statement in allow_statements(resource):
        yield from wildcard_findings(where, statement, allowlist)


def check_managed_policy_allowlist(resource: Resource, context: Context) -> Iterator[str]:
    allowed = set(strings(context.threshold("allowedManagedPolicies")))
    for field, arn in attached_policy_arns(resource):
        name = aws_managed_name(arn)
        if name is not None and name not in allowed:
            yield f"{field}: AWS-managed policy {name} is not in the allowlist ({', '.join(sorted(allowed))})"


POLICY_EDITING_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:AddUserToGroup",
)
CREDENTIAL_ACTIONS = (
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "sts:GetFederationToken",
    "sts:AssumeRole",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ec2:GetPasswordData",
    "redshift:GetClusterCredentials",
    "rds-db:Connect",
    "sso:GetRoleCredentials",
)


def check_no_privilege_escalation(resource: Resource, context: Context) -> Iterator[str]:
    for where, statement in allow_statements(resource):
        wildcard = [r for r in resources(statement) if is_wildcard_resource(r)]
        if not wildcard:
            continue
        on = ", ".join(wildcard)

        def granted(action: str, _statement: Mapping[str, Any] = statement, _wide: list[str] = wildcard) -> bool:
            return grants_action(_statement, action) and any(covers_action(r, action) for r in _wide)

        if granted("iam:PassRole") and not condition_values(statement, "iam:PassedToService"):
            yield (
                f"{where}: iam:PassRole on {on} without an iam:PassedToService condition lets the holder hand any "
                "role to any service; expected named role ARNs and iam:PassedToService"
            )
        editing = [a for a in POLICY_EDITING_ACTIONS if granted(a)]
        if editing:
            yield f"{where}: {', '.join(editing)} on {on} lets the holder rewrite permissions; expected none"
        credentials = [a for a in CREDENTIAL_ACTIONS if granted(a)]
        if credentials:
            yield f"{where}: {', '.join(credentials)} on {on} exposes credentials; expected named resource ARNs"


RULES: list[Rule] = [
    Rule(
        name="iam-no-admin",
        description="No IAM policy grants every action on every resource, and AdministratorAccess is never attached.",
        enforcement="M",
        severity="critical",
        framework=Framework(FSBP, "IAM.1"),
        remediation="Replace Action \"*\" / Resource \"*\" (or NotAction) in the `policy` / `inline_policies` "
        "document with the named actions and resource ARNs the workload needs; remove AdministratorAccess from "
        "`policy_arn` / `managed_policy_arns`.",
        url=f"{SH_IAM_URL}#iam-1",
        resource_types=GRANTING_TYPES,
        check=check_no_admin,
        waivable=False,
    ),
    Rule(
        name="iam-no-wildcards-without-exemption",
        description="No service-wide action wildcards and no Resource \"*\" for actions that can be scoped.",
        enforcement="MP",
        severity="high",
        framework=Framework(FSBP, "IAM.21"),
        remediation="List the actions by name in the `policy` document and name the resource ARNs (pass the "
        "resources' `.arn` outputs); actions that only accept \"*\" belong in the `unscopableActions` config; "
        "otherwise waive the finding with a reason.",
        url=f"{SH_IAM_URL}#iam-21",
        resource_types=GRANTING_TYPES,
        check=check_no_wildcards,
        thresholds={"unscopableActions": list(DEFAULT_UNSCOPABLE_ACTIONS)},
    ),
    Rule(
        name="iam-managed-policy-allowlist",
        description="AWS-managed policies are attached only from an explicit allowlist.",
        enforcement="A",
        severity="medium",
        framework=Framework("cdk-nag AwsSolutions", "IAM4"),
        remediation="Replace the AWS-managed `policy_arn` with an inline or customer-managed policy scoped to the "
        "stack's resources, or add it to `allowedManagedPolicies` with a reason.",
        url="https://github.com/cdklabs/cdk-nag/blob/main/RULES.md",
        resource_types=(ROLE,) + ATTACHMENT_TYPES,
        check=check_managed_policy_allowlist,
        thresholds={
            "allowedManagedPolicies": [
                "service-role/AmazonECSTaskExecutionRolePolicy",
                "AWSCodeDeployRoleForECS",
                "service-role/AmazonRDSEnhancedMonitoringRole",
                "service-role/AWSBackupServiceRolePolicyForBackup",
                "service-role/AWSBackupServiceRolePolicyForRestores",
            ]
        },
    ),
    Rule(
        name="iam-no-privilege-escalation",
        description="No unconstrained iam:PassRole, policy editing or credential-exposing actions on wildcard "
        "resources.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_AWS_286, CKV_AWS_287, CKV_AWS_289, CKV_AWS_110, CKV_AWS_107, "
                            "CKV_AWS_109"),
        remediation="In the `policy` document, name the role ARNs for iam:PassRole and add a Condition on "
        "iam:PassedToService; drop iam:Put*/Attach*/CreatePolicyVersion; scope credential actions "
        "(secretsmanager:GetSecretValue, sts:AssumeRole, ...) to named ARNs.",
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
        resource_types=GRANTING_TYPES,
        check=check_no_privilege_escalation,
        waivable=False,
    ),
]
