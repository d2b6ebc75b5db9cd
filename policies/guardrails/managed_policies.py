"""What AWS-managed policies grant, pinned, so the IAM rules judge an attachment by meaning, not by name.

Each entry is the policy's JSON document as AWS publishes it in the AWS Managed Policy Reference (the `source`
URL), reduced to the Allow statements that matter to the rules: administrator access, IAM write (privilege
escalation) and `*` data access. Attaching one of these is judged exactly as writing its statements inline would
be. A policy not listed here is judged by `iam-managed-policy-allowlist` (advisory) by name only.

Pinned on purpose: AWS edits these documents (PowerUserAccess v12 added account and organizations reads), so a
change is a deliberate diff here with its source, never a download at policy time. Review when AWS announces a
new version of a listed policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REFERENCE = "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/"


@dataclass(frozen=True)
class ManagedPolicy:
    name: str
    """The path after `arn:aws:iam::aws:policy/`."""
    version: str
    """The default version the statements were taken from."""
    statements: tuple[Mapping[str, Any], ...]

    @property
    def source(self) -> str:
        return f"{REFERENCE}{self.name.rsplit('/', 1)[-1]}.html"


def _allow(**statement: Any) -> Mapping[str, Any]:
    return {"Effect": "Allow", **statement}


MANAGED_POLICIES: dict[str, ManagedPolicy] = {
    policy.name: policy
    for policy in (
        ManagedPolicy("AdministratorAccess", "v1", (_allow(Action="*", Resource="*"),)),
        # Everything except IAM, Organizations and Account management: admin of every workload and its data.
        ManagedPolicy("PowerUserAccess", "v12", (
            _allow(NotAction=["iam:*", "organizations:*", "account:*"], Resource="*"),
            _allow(Action=["account:GetAccountInformation", "account:GetGovCloudAccountInformation",
                           "account:GetPrimaryEmail", "account:ListRegions", "iam:CreateServiceLinkedRole",
                           "iam:DeleteServiceLinkedRole", "iam:ListRoles", "organizations:DescribeEffectivePolicy",
                           "organizations:DescribeOrganization"], Resource="*"),
        )),
        # iam:* on everything: the holder can grant itself anything (privilege escalation).
        ManagedPolicy("IAMFullAccess", "v2", (
            _allow(Action=["iam:*", "organizations:DescribeAccount", "organizations:DescribeOrganization",
                           "organizations:DescribeOrganizationalUnit", "organizations:DescribePolicy",
                           "organizations:ListChildren", "organizations:ListParents",
                           "organizations:ListPoliciesForTarget", "organizations:ListRoots",
                           "organizations:ListPolicies", "organizations:ListTargetsForPolicy"], Resource="*"),
        )),
        ManagedPolicy("AWSAccountManagementFullAccess", "v1", (_allow(Action="account:*", Resource="*"),)),
        # Every bucket and object, read and write.
        ManagedPolicy("AmazonS3FullAccess", "", (_allow(Action=["s3:*", "s3-object-lambda:*"], Resource="*"),)),
        # Every bucket and object, read.
        ManagedPolicy("AmazonS3ReadOnlyAccess", "v3", (
            _allow(Action=["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*",
                           "s3-object-lambda:List*"], Resource="*"),
        )),
    )
}


def managed_document(name: str) -> Mapping[str, Any] | None:
    """The pinned effective document of an AWS-managed policy (by its name after `policy/`), None when unknown."""
    policy = MANAGED_POLICIES.get(name)
    if policy is None:
        return None
    return {"Version": "2012-10-17", "Statement": [dict(s) for s in policy.statements]}
