"""The pack's inventory, pinned: adding, removing or re-grading a rule is always a deliberate diff here.

Every rule also carries what an auditor reads (description, framework control, remediation, url), and the
per-stack config files are rendered from the rules (production strict, MP advisory elsewhere).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from guardrails import all_rules
from guardrails.stack_config import STACKS, enforcement_level, main, render

ROOT = Path(__file__).resolve().parents[2]

# (rule, catalogue enforcement, severity)
INVENTORY = [
    ("ecs-taskdef-no-host-privileges", "M", "critical"),
    ("ecs-taskdef-readonly-rootfs", "MP", "medium"),
    ("ecs-taskdef-nonroot-user", "MP", "high"),
    ("ecs-taskdef-no-secrets-in-environment", "M", "critical"),
    ("ecs-taskdef-logging", "M", "medium"),
    ("ecs-taskdef-separate-roles", "M", "high"),
    ("ecs-taskdef-image-pinned-digest", "MP", "high"),
    ("ecs-service-no-public-ip", "M", "critical"),
    ("ecs-service-fargate-platform-latest", "A", "low"),
    ("ecs-service-codedeploy-controller", "MP", "high"),
    ("ecs-service-codedeploy-ignore-changes", "MP", "high"),
    ("ecs-service-min-healthy-capacity", "MP", "high"),
    ("ecs-exec-governed", "MP", "high"),
    ("ecs-cluster-container-insights", "M", "low"),
    ("codedeploy-auto-rollback-on-alarm", "M", "critical"),
    ("codedeploy-alarms-resolvable", "MP", "high"),
    ("codedeploy-ecs-blue-green-shape", "M", "high"),
    ("codedeploy-bake-time", "MP", "high"),
    ("codedeploy-no-all-at-once-prod", "MP", "high"),
    ("codedeploy-config-traffic-window", "MP", "medium"),
    ("alarm-detection-latency-bound", "MP", "high"),
    ("alarm-actions", "M", "medium"),
    ("alarm-rollback-signal-coverage", "MP", "high"),
    ("log-group-retention", "M", "medium"),
    ("log-group-kms", "MP", "medium"),
    ("rds-storage-encrypted", "M", "high"),
    ("rds-cmk", "MP", "medium"),
    ("rds-not-public", "M", "critical"),
    ("rds-backup-retention", "M", "high"),
    ("rds-snapshot-hygiene", "MP", "high"),
    ("rds-deletion-protection", "MP", "high"),
    ("rds-multi-az", "MP", "medium"),
    ("rds-iam-auth", "A", "low"),
    ("rds-managed-master-password", "M", "critical"),
    ("rds-logging", "MP", "medium"),
    ("rds-operational-hygiene", "A", "low"),
    ("rds-force-ssl", "M", "high"),
    ("rds-network-isolation", "M", "high"),
    ("rds-non-default-identifiers", "A", "low"),
    ("backup-clear-of-rds-windows", "MP", "medium"),
    ("alb-access-logs", "M", "medium"),
    ("alb-http-hardening", "M", "medium"),
    ("alb-deletion-protection", "MP", "medium"),
    ("alb-waf-association", "MP", "high"),
    ("alb-multi-az", "M", "medium"),
    ("alb-http-redirect-only", "M", "high"),
    ("alb-listener-rules-https-only", "M", "high"),
    ("alb-listener-tls-policy", "M", "high"),
    ("alb-listener-cert-hsts", "A", "low"),
    ("lb-target-group-health-check", "M", "medium"),
    ("sg-no-public-ingress", "M", "critical"),
    ("sg-no-admin-ports", "M", "critical"),
    ("sg-least-privilege-paths", "MP", "high"),
    ("no-split-management-conflicts", "M", "medium"),
    ("vpc-default-sg-closed", "M", "high"),
    ("vpc-flow-logs", "M", "medium"),
    ("subnet-no-auto-public-ip", "M", "medium"),
    ("vpc-endpoints-for-private-tasks", "A", "low"),
    ("ecr-immutable-tags", "M", "high"),
    ("ecr-scan-on-push", "M", "medium"),
    ("ecr-kms", "MP", "medium"),
    ("ecr-lifecycle-keeps-rollback", "A", "medium"),
    ("ecr-policy-not-public", "M", "critical"),
    ("kms-rotation", "M", "high"),
    ("kms-key-policy-safety", "M", "critical"),
    ("iam-no-kms-decrypt-all-keys", "M", "high"),
    ("secret-cmk", "MP", "medium"),
    ("secret-rotation", "MP", "high"),
    ("secret-value-not-literal", "A", "high"),
    ("stateful-resource-protection", "MP", "high"),
    ("descriptions", "A", "low"),
    ("iam-no-admin", "M", "critical"),
    ("iam-no-wildcards-without-exemption", "MP", "high"),
    ("iam-managed-policy-allowlist", "A", "medium"),
    ("iam-no-privilege-escalation", "M", "critical"),
    ("iam-deploy-role-scoped", "M", "high"),
    ("iam-github-oidc-trust", "M", "critical"),
    ("iam-trust-no-wildcard-principal", "M", "critical"),
    ("iam-no-users-or-access-keys", "M", "critical"),
    ("codebuild-source-credential-by-reference", "M", "critical"),
    ("gh-env-approval-gate", "MP", "high"),
    ("gh-env-no-admin-bypass", "MP", "high"),
    ("gh-env-deployment-branch-policy", "MP", "high"),
    ("gh-env-wait-timer", "A", "low"),
    ("gh-deploy-secrets-hygiene", "M", "critical"),
    ("gh-oidc-subject-claim", "A", "medium"),
    ("gh-branch-merge-gate", "M", "high"),
    ("gh-branch-integrity", "M", "high"),
    ("gh-branch-hygiene", "A", "low"),
    ("gh-actions-pinning-allowlist", "M", "high"),
    ("gh-workflow-token-read-only", "M", "high"),
    ("gh-repo-security-settings", "M", "high"),
    ("gh-repo-security-managed", "MP", "high"),
    ("gh-workflow-file-lint", "A", "medium"),
    ("fixed-name-replace-collision", "A", "medium"),
    # Deliverable 2 of issue 16: the AWS services a platform team runs beside ECS and RDS.
    ("s3-public-access-block", "M", "high"),
    ("s3-bucket-policy-not-public", "M", "critical"),
    ("s3-tls-only", "M", "medium"),
    ("s3-encryption-explicit", "A", "low"),
    ("s3-versioning-state-and-logs", "MP", "medium"),
    ("ec2-imdsv2-required", "M", "high"),
    ("ec2-ebs-encrypted", "MP", "high"),
    ("ec2-no-public-ip", "MP", "high"),
    ("lambda-no-secrets-in-environment", "M", "critical"),
    ("lambda-supported-runtime", "MP", "medium"),
    ("lambda-role-not-admin", "M", "critical"),
    ("apigw-access-logs", "MP", "medium"),
    ("apigw-domain-tls-policy", "MP", "high"),
    ("apigw-authorization", "MP", "high"),
    ("sns-topic-encrypted", "MP", "medium"),
    ("sqs-queue-encrypted", "MP", "medium"),
    ("kinesis-stream-encrypted", "MP", "medium"),
    ("dynamodb-point-in-time-recovery", "MP", "medium"),
    ("dynamodb-kms-encryption", "MP", "medium"),
    ("elasticache-encryption", "MP", "high"),
    ("elasticache-auth", "MP", "high"),
    ("eks-private-endpoint", "MP", "high"),
    ("eks-secrets-encryption", "MP", "high"),
    ("eks-control-plane-logging", "MP", "medium"),
    ("cloudfront-tls-policy", "MP", "high"),
    ("cloudfront-viewer-https", "MP", "high"),
    ("cloudfront-s3-origin-access-control", "MP", "high"),
    ("cloudfront-logging", "MP", "medium"),
    ("redshift-encrypted", "M", "high"),
    ("redshift-not-public", "M", "critical"),
    ("redshift-snapshot-hygiene", "MP", "high"),
    ("recovery-objectives-met", "MP", "high"),
]

UNWAIVABLE = [
    "codebuild-source-credential-by-reference",
    "codedeploy-auto-rollback-on-alarm",
    "ecr-policy-not-public",
    "ecs-service-no-public-ip",
    "ecs-taskdef-no-host-privileges",
    "ecs-taskdef-no-secrets-in-environment",
    "gh-deploy-secrets-hygiene",
    "iam-github-oidc-trust",
    "iam-no-admin",
    "iam-no-privilege-escalation",
    "iam-no-users-or-access-keys",
    "iam-trust-no-wildcard-principal",
    "lambda-no-secrets-in-environment",
    "rds-managed-master-password",
    "rds-not-public",
    "redshift-not-public",
    "sg-no-admin-ports",
    "sg-no-public-ingress",
]


def test_the_pack_holds_exactly_the_pinned_rules():
    assert [(r.name, r.enforcement, r.severity) for r in all_rules()] == INVENTORY
    assert len(INVENTORY) == 127


def test_unwaivable_rules_are_pinned():
    assert sorted(r.name for r in all_rules() if not r.waivable) == UNWAIVABLE


def test_the_running_pack_reports_every_rule_with_its_enforcement_and_severity(policy_pack):
    info = policy_pack.info().policies
    for name, enforcement, severity in INVENTORY:
        assert name in info, name
        expected = "advisory" if enforcement == "A" else "mandatory"
        assert info[name].enforcement == expected, name
        assert info[name].severity == severity, name
        assert info[name].framework_reference and info[name].url.startswith("https://"), name


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.name)
def test_every_rule_carries_what_an_auditor_reads(rule):
    assert rule.description.strip() and rule.remediation.strip()
    assert rule.framework.name and rule.framework.reference
    assert rule.url.startswith("https://")


def test_config_files_are_rendered_from_the_rules():
    assert main(["--check"]) == 0


@pytest.mark.parametrize("stack", STACKS)
def test_production_is_strict_and_other_stacks_downgrade_mp_to_advisory(stack):
    config = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())
    for rule in all_rules():
        level = config[rule.name]["enforcementLevel"]
        assert level == enforcement_level(rule, stack)
        if rule.enforcement == "M" and stack == "dev":
            # Graded: dev blocks only on critical and high severity (exposure, credentials, encryption at rest).
            assert level == ("mandatory" if rule.severity in ("critical", "high") else "advisory"), rule.name
        elif rule.enforcement == "M":
            assert level == "mandatory"
        elif rule.enforcement == "MP":
            assert level == ("mandatory" if stack == "production" else "advisory")
        else:
            assert level == "advisory"


def test_rendering_keeps_waivers_and_rejects_unknown_thresholds():
    rules = all_rules()
    waiver = {"resource": "x", "reason": "A reason of at least one sentence.", "approvedBy": "me",
              "expires": "2030-01-01"}
    rendered = render(rules, "staging", {"rds-multi-az": {"waivers": [waiver]}})
    assert rendered["rds-multi-az"]["waivers"] == [waiver]
    import guardrails.stack_config as stack_config

    original = stack_config.STACK_THRESHOLDS
    try:
        stack_config.STACK_THRESHOLDS = {"staging": {"rds-multi-az": {"noSuchThreshold": 1}}}
        with pytest.raises(ValueError, match="unknown thresholds"):
            render(rules, "staging")
    finally:
        stack_config.STACK_THRESHOLDS = original
