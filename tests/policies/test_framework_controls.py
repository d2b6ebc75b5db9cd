"""Each rule's Security Hub control belongs to the resources the rule judges: an auditor filtering findings by
control must never find a Secrets Manager finding under a KMS control (issue 16: stateful-resource-protection on
a secret was reported as KMS.3).

The table maps a control (exactly, or by its service prefix) to the Pulumi type-token families it may judge.
"""

from __future__ import annotations

import re

import pytest
from guardrails import all_rules
from guardrails.rule import Framework, Rule

SECURITY_HUB = ("AWS Foundational Security Best Practices", "AWS Security Hub")

# Control -> type families. Exact controls first (a control about another service's resources), then prefixes.
CONTROL_FAMILIES: dict[str, tuple[str, ...]] = {
    "KMS.1": ("aws:iam", "aws:ssoadmin"),  # IAM policies must not allow decryption on all keys
    "KMS.2": ("aws:iam", "aws:ssoadmin"),
    "RDS": ("aws:rds",),
    "ECS": ("aws:ecs",),
    "ECR": ("aws:ecr",),
    "ELB": ("aws:lb", "aws:alb", "aws:elb", "aws:elasticloadbalancing", "aws:elasticloadbalancingv2"),
    "EC2": ("aws:ec2", "aws:vpc"),
    "KMS": ("aws:kms",),
    "IAM": ("aws:iam", "aws:ssoadmin"),  # an SSO permission set attaches IAM policies
    "SecretsManager": ("aws:secretsmanager",),
    "CloudWatch": ("aws:cloudwatch",),
    "S3": ("aws:s3",),
    "Lambda": ("aws:lambda",),
    "APIGateway": ("aws:apigateway", "aws:apigatewayv2"),
    "SNS": ("aws:sns",),
    "SQS": ("aws:sqs",),
    "Kinesis": ("aws:kinesis",),
    "DynamoDB": ("aws:dynamodb",),
    "ElastiCache": ("aws:elasticache",),
    "EKS": ("aws:eks",),
    "CloudFront": ("aws:cloudfront",),
    "Redshift": ("aws:redshift",),
    "Backup": ("aws:backup",),
    "CodeBuild": ("aws:codebuild",),
}
CONTROL = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\.\d+$")


def family(type_token: str) -> str:
    """`aws:rds/cluster:Cluster` -> `aws:rds`."""
    return type_token.split("/", 1)[0]


def controls(framework: Framework) -> list[str]:
    return [c.strip() for c in framework.reference.split(",") if c.strip()]


def families_of(control: str) -> tuple[str, ...]:
    match = CONTROL.match(control)
    assert match, f"{control!r} is not a Security Hub control id"
    if control in CONTROL_FAMILIES:
        return CONTROL_FAMILIES[control]
    assert match[1] in CONTROL_FAMILIES, f"no type family known for control {control}: add it to CONTROL_FAMILIES"
    return CONTROL_FAMILIES[match[1]]


def mismatches(rule: Rule) -> list[str]:
    if rule.framework.name not in SECURITY_HUB or not rule.resource_types:
        return []
    problems = []
    allowed = {control: families_of(control) for control in controls(rule.framework)}
    for token in rule.resource_types:
        if not any(family(token) in families for families in allowed.values()):
            problems.append(f"{token} is judged under {rule.framework.reference}, a control of other resources")
    for control, families in allowed.items():
        if not any(family(token) in families for token in rule.resource_types):
            problems.append(f"{control} judges none of {', '.join(rule.resource_types)}")
    return problems


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.name)
def test_each_rules_control_belongs_to_the_resources_it_judges(rule):
    assert mismatches(rule) == []


def test_a_control_of_another_service_is_caught():
    check = Rule(name="x", description="x", enforcement="MP", severity="high",
                 framework=Framework(SECURITY_HUB[0], "KMS.3"), remediation="x", url="https://x",
                 resource_types=("aws:kms/key:Key", "aws:secretsmanager/secret:Secret"),
                 check=lambda resource, context: iter(()))
    assert mismatches(check) == [
        "aws:secretsmanager/secret:Secret is judged under KMS.3, a control of other resources"
    ]


def test_stateful_protection_on_a_secret_is_not_reported_under_a_kms_control():
    [rule] = [r for r in all_rules() if r.name == "stateful-resource-protection"]
    assert "aws:secretsmanager/secret:Secret" in rule.resource_types
    assert "KMS" not in rule.framework.reference
