"""The same weaknesses written the other common ways (issue 16): each breaking case draws a mandatory violation
of its rule on the offending resource under the production stack's pack config, through the real pack over the
analyzer protocol; its compliant twin, written the same other way, draws none. Values the run did not know are
undeterminable (advisory, never a violation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.pack import analyze, analyze_stack, registration
from tests.support.rules import DROP, changed

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = json.loads((ROOT / "policies" / "config" / "production.json").read_text())
KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b1f6a3e-1111-2222-3333-444455556666"

CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
BRANCH_V3 = "github:index/branchProtectionV3:BranchProtectionV3"
REPO_VARIABLE = "github:index/actionsVariable:ActionsVariable"
ENV_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED = "arn:aws:iam::aws:policy/"

AURORA: dict[str, Any] = {
    "engine": "aurora-postgresql", "engineVersion": "16.4", "masterUsername": "orders_owner",
    "storageEncrypted": True, "kmsKeyId": KEY_ARN, "backupRetentionPeriod": 14.0,
    "preferredBackupWindow": "03:00-04:00", "deletionProtection": True, "manageMasterUserPassword": True,
    "masterUserSecretKmsKeyId": KEY_ARN, "skipFinalSnapshot": False, "finalSnapshotIdentifier": "orders-final-1a2b",
    "deleteAutomatedBackups": False, "copyTagsToSnapshot": True, "iamDatabaseAuthenticationEnabled": True,
}
AURORA_MEMBER = {"clusterIdentifier": "orders", "engine": "aurora-postgresql", "instanceClass": "db.r6g.large",
                 "publiclyAccessible": False}


def task_definition(environment: list[dict[str, str]], secrets: list[dict[str, str]] = ()) -> dict[str, Any]:
    container = {"name": "app", "image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "a" * 64,
                 "environment": environment, "secrets": list(secrets)}
    return {"family": "app", "networkMode": "awsvpc", "containerDefinitions": json.dumps([container])}


def ingress(**fields: Any) -> dict[str, Any]:
    return changed({"securityGroupId": "sg-0app", "fromPort": 3389.0, "toPort": 3389.0, "ipProtocol": "udp",
                    "cidrIpv4": "0.0.0.0/0"}, **fields)


GATED = {"repository": "shop", "environment": "Production", "reviewers": [{"teams": [9137421.0]}],
         "preventSelfReview": True, "canAdminsBypass": False, "waitTimer": 10.0,
         "deploymentBranchPolicy": {"protectedBranches": True, "customBranchPolicies": False}}
BRANCH_V3_PROPS = {"repository": "shop", "branch": "main", "enforceAdmins": True, "requireSignedCommits": True,
                   "requireConversationResolution": True,
                   "requiredPullRequestReviews": {"requiredApprovingReviewCount": 2.0, "requireCodeOwnerReviews": True,
                                                  "dismissStaleReviews": True},
                   "requiredStatusChecks": {"strict": True, "checks": ["rampart check:-1"]}}
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # noqa: S105 - a fake token shape


def attachment(type_name: str, policy: str, principal: str = "role") -> dict[str, Any]:
    return {principal: "app", "policyArn": MANAGED + policy}


def role_policy(action: str, resource: str) -> dict[str, Any]:
    statement = {"Sid": "S", "Effect": "Allow", "Action": [action], "Resource": resource}
    return {"role": "app", "policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


# case id -> (rule, type token, breaking props, compliant twin props)
CASES: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "aurora-unencrypted": ("rds-storage-encrypted", CLUSTER, changed(AURORA, storageEncrypted=False), AURORA),
    "aurora-1-day-backups": ("rds-backup-retention", CLUSTER, changed(AURORA, backupRetentionPeriod=1.0), AURORA),
    "aurora-no-deletion-protection": ("rds-deletion-protection", CLUSTER,
                                      changed(AURORA, deletionProtection=False), AURORA),
    "aurora-plain-master-password": ("rds-managed-master-password", CLUSTER,
                                     changed(AURORA, masterPassword="Plain-Text-Pw-1", manageMasterUserPassword=DROP,
                                             masterUserSecretKmsKeyId=DROP), AURORA),
    "aurora-public-member": ("rds-not-public", CLUSTER_INSTANCE, changed(AURORA_MEMBER, publiclyAccessible=True),
                             AURORA_MEMBER),
    "env-MYSQL_PWD": ("ecs-taskdef-no-secrets-in-environment", TASK_DEFINITION,
                      task_definition([{"name": "MYSQL_PWD", "value": "x"}]),
                      task_definition([], [{"name": "MYSQL_PWD", "valueFrom": "/app/mysql-pwd"}])),
    "env-APP_KEY": ("ecs-taskdef-no-secrets-in-environment", TASK_DEFINITION,
                    task_definition([{"name": "APP_KEY", "value": "x"}]),
                    task_definition([{"name": "PUBLIC_KEY_URL", "value": "https://example.org/jwks.json"}],
                                    [{"name": "APP_KEY", "valueFrom": "app-key"}])),
    "env-JWT_SIGNING_KEY": ("ecs-taskdef-no-secrets-in-environment", TASK_DEFINITION,
                            task_definition([{"name": "JWT_SIGNING_KEY", "value": "x"}]),
                            task_definition([], [{"name": "JWT_SIGNING_KEY", "valueFrom":
                                                  "arn:aws:ssm:eu-west-1:111111111111:parameter/app/jwt"}])),
    "rdp-over-udp": ("sg-no-admin-ports", INGRESS_RULE, ingress(),
                     ingress(cidrIpv4=DROP, referencedSecurityGroupId="sg-0bastion")),
    "all-protocols-from-cidr": ("sg-no-admin-ports", INGRESS_RULE, ingress(ipProtocol="-1", fromPort=DROP,
                                                                          toPort=DROP, cidrIpv4="10.0.0.0/8"),
                                ingress(ipProtocol="udp", fromPort=53.0, toPort=53.0, cidrIpv4="10.0.0.0/8")),
    "Production-without-reviewers": ("gh-env-approval-gate", ENVIRONMENT, changed(GATED, reviewers=[]), GATED),
    "Production-admin-bypass": ("gh-env-no-admin-bypass", ENVIRONMENT, changed(GATED, canAdminsBypass=DROP), GATED),
    "branch-v3-admins-exempt": ("gh-branch-integrity", BRANCH_V3, changed(BRANCH_V3_PROPS, enforceAdmins=False),
                                BRANCH_V3_PROPS),
    "branch-v3-no-reviews": ("gh-branch-merge-gate", BRANCH_V3, changed(BRANCH_V3_PROPS,
                                                                        requiredPullRequestReviews=DROP),
                             BRANCH_V3_PROPS),
    "variable-ghp-token": ("gh-deploy-secrets-hygiene", REPO_VARIABLE,
                           {"repository": "shop", "variableName": "RELEASE_NOTES_SOURCE", "value": TOKEN},
                           {"repository": "shop", "variableName": "RELEASE_NOTES_SOURCE", "value": "docs/notes"}),
    "env-variable-gho-token": ("gh-deploy-secrets-hygiene", ENV_VARIABLE,
                               {"repository": "shop", "environment": "production", "variableName": "UPSTREAM",
                                "value": "gho_" + TOKEN[4:]},
                               {"repository": "shop", "environment": "production", "variableName": "UPSTREAM",
                                "value": "https://github.com/example-org/upstream"}),
    "org-variable-database-url": ("gh-deploy-secrets-hygiene", ORG_VARIABLE,
                                  {"variableName": "DATABASE_URL", "visibility": "private",
                                   "value": "postgres://app:s3cr3t-pw@db.internal:5432/app"},
                                  {"variableName": "DATABASE_URL", "visibility": "private",
                                   "value": "postgres://db.internal:5432/app"}),
    "PowerUserAccess": ("iam-no-admin", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                        attachment("role", "PowerUserAccess"),
                        attachment("role", "service-role/AmazonECSTaskExecutionRolePolicy")),
    "PowerUserAccess-managedPolicyArns": ("iam-no-admin", ROLE,
                                          {"managedPolicyArns": [MANAGED + "PowerUserAccess"]},
                                          {"managedPolicyArns": [MANAGED + "ReadOnlyAccess"]}),
    "IAMFullAccess-group": ("iam-no-privilege-escalation", "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                            attachment("group", "IAMFullAccess", "group"),
                            attachment("group", "AmazonS3ReadOnlyAccess", "group")),
    "IAMFullAccess-user": ("iam-no-privilege-escalation", "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                           attachment("user", "IAMFullAccess", "user"),
                           attachment("user", "AWSCodeDeployRoleForECS", "user")),
    "IAMFullAccess-policy-attachment": ("iam-no-privilege-escalation", "aws:iam/policyAttachment:PolicyAttachment",
                                        {"roles": ["app"], "policyArn": MANAGED + "IAMFullAccess"},
                                        {"roles": ["app"], "policyArn": MANAGED + "AWSCodeDeployRoleForECS"}),
    "IAMFullAccess-sso": ("iam-no-privilege-escalation", "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
                          {"instanceArn": "arn:aws:sso:::instance/ssoins-1", "permissionSetArn": "arn:ps",
                           "managedPolicyArn": MANAGED + "IAMFullAccess"},
                          {"instanceArn": "arn:aws:sso:::instance/ssoins-1", "permissionSetArn": "arn:ps",
                           "managedPolicyArn": MANAGED + "AWSCodeDeployRoleForECS"}),
    "AmazonS3FullAccess": ("iam-no-wildcards-without-exemption", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                           attachment("role", "AmazonS3FullAccess"), attachment("role", "AWSCodeDeployRoleForECS")),
    "logs-arn-wildcard": ("iam-no-wildcards-without-exemption", ROLE_POLICY,
                          role_policy("logs:PutLogEvents", "arn:aws:logs:*:*:*"),
                          role_policy("logs:PutLogEvents", "arn:aws:logs:eu-west-1:111111111111:log-group:/app/web:*")),
    "s3-arn-wildcard": ("iam-no-wildcards-without-exemption", ROLE_POLICY,
                        role_policy("s3:GetObject", "arn:aws:s3:::*"),
                        role_policy("s3:GetObject", "arn:aws:s3:::orders-exports/*")),
    "dynamodb-arn-wildcard": ("iam-no-wildcards-without-exemption", ROLE_POLICY,
                              role_policy("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/*"),
                              role_policy("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:111111111111:table/orders")),
    "secrets-arn-wildcard": ("iam-no-privilege-escalation", ROLE_POLICY,
                             role_policy("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:*"),
                             role_policy("secretsmanager:GetSecretValue",
                                         "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/db-AbCdEf")),
}


def mandatory_on(diagnostics: list, rule: str, name: str) -> list:
    return [d for d in diagnostics if d.policy == rule and d.enforcement == "mandatory" and d.urn.endswith(f"::{name}")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_other_way_of_writing_it_is_a_mandatory_violation_and_its_twin_passes(policy_pack, case):
    rule, type_token, broken, twin = CASES[case]
    assert mandatory_on(analyze(policy_pack, type_token, broken, name="subject", config=PRODUCTION), rule, "subject")
    assert [d for d in analyze(policy_pack, type_token, twin, name="subject", config=PRODUCTION)
            if d.policy == rule] == []


def _listener_stack(rule_actions: list[dict[str, Any]], listener_protocol: str = "HTTP") -> list:
    redirect = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    listener = registration("aws:lb/listener:Listener", {"protocol": listener_protocol, "port": 80.0,
                                                         "defaultActions": [redirect]}, name="http")
    rule = registration("aws:lb/listenerRule:ListenerRule", {"priority": 10.0, "actions": rule_actions,
                                                             "conditions": [{"pathPattern": {"values": ["/api/*"]}}]},
                        name="api", property_dependencies={"listenerArn": [listener.urn]})
    return [listener, rule]


def test_a_listener_rule_forwarding_on_an_http_listener_is_plain_http(policy_pack):
    forward = [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api/1"}]
    broken = analyze_stack(policy_pack, _listener_stack(forward), config=PRODUCTION)
    assert mandatory_on(broken, "alb-listener-rules-https-only", "api")
    redirect = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    for twin in (_listener_stack(redirect), _listener_stack(forward, listener_protocol="HTTPS")):
        diagnostics = analyze_stack(policy_pack, twin, config=PRODUCTION)
        assert [d for d in diagnostics if d.policy == "alb-listener-rules-https-only"] == []


def test_a_value_the_run_did_not_know_is_undeterminable_never_a_violation(policy_pack):
    service = registration("aws:ecs/service:Service", {
        "desiredCount": 2.0, "launchType": "FARGATE",
        "networkConfiguration": {"subnets": [None, None], "assignPublicIp": False},
    }, name="web")
    diagnostics = analyze_stack(policy_pack, [service], config=PRODUCTION)
    [undeterminable] = [d for d in diagnostics if d.policy == "ecs-service-min-healthy-capacity"]
    assert undeterminable.enforcement == "advisory"
    assert "during preview: service web: a networkConfiguration.subnets entry" in undeterminable.message
