"""EKS rules: the API endpoint is private (or public only to named networks), Kubernetes secrets are envelope-
encrypted with KMS, and the control plane logs to CloudWatch.

EKS's defaults are the unsafe ones: a public endpoint open to 0.0.0.0/0, secrets only base64 in etcd, and no
control-plane logs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from guardrails.anchors import FSBP, anchor_tags, anchored, blocks, is_false, is_set, sh_url
from guardrails.rule import Context, Framework, Resource, Rule
from guardrails.shapes import as_list, first_block

CLUSTER = "aws:eks/cluster:Cluster"
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def check_private_endpoint(resource: Resource, context: Context) -> Iterator[str]:
    vpc = first_block(resource.get("vpcConfig"))
    if is_false(vpc.get("endpointPublicAccess")):
        return
    cidrs = [str(c) for c in as_list(vpc.get("publicAccessCidrs"))]
    if not cidrs:
        yield ("vpcConfig.endpointPublicAccess is on (the default) with no publicAccessCidrs, so the API server "
               "is open to 0.0.0.0/0; expected endpointPublicAccess false (endpointPrivateAccess true) or named CIDRs")
    elif OPEN_CIDRS & set(cidrs):
        yield (f"vpcConfig.publicAccessCidrs includes {', '.join(sorted(OPEN_CIDRS & set(cidrs)))}; expected "
               "endpointPublicAccess false or only named office/VPN CIDRs")


def check_secrets_encryption(resource: Resource, context: Context) -> Iterator[str]:
    for config in blocks(resource.get("encryptionConfig")):
        if "secrets" in as_list(config.get("resources")) and is_set(first_block(config.get("provider")), "keyArn"):
            return
    yield ("encryptionConfig does not encrypt \"secrets\" with a KMS key; expected encryption_config with "
           "resources [\"secrets\"] and provider.key_arn (the stack key)")


def check_control_plane_logging(resource: Resource, context: Context) -> Iterator[str]:
    enabled = set(as_list(resource.get("enabledClusterLogTypes")))
    missing = [t for t in context.threshold("requiredLogTypes") if t not in enabled]
    if missing:
        yield f"enabledClusterLogTypes lacks {', '.join(missing)}; expected all of them sent to CloudWatch Logs"


def _rule(name: str, description: str, enforcement: Any, severity: Any, control: str, checkov: Sequence[str],
          nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement=enforcement,
                severity=severity, framework=Framework(FSBP, control), remediation=remediation,
                url=sh_url("eks", control), tags=anchor_tags(checkov, nag), resource_types=(CLUSTER,), **kwargs)


POLICIES: list[Rule] = [
    _rule("eks-private-endpoint",
          "EKS cluster API endpoints are private, or public only to named CIDRs (never 0.0.0.0/0).",
          "MP", "high", "EKS.1", ("CKV_AWS_39", "CKV_AWS_38"), ("AwsSolutions-EKS1",),
          "Set vpc_config `endpoint_public_access=False` and `endpoint_private_access=True` (reach the API through "
          "the VPC or a VPN), or list the allowed networks in `public_access_cidrs`.",
          check=check_private_endpoint),
    _rule("eks-secrets-encryption",
          "EKS clusters envelope-encrypt Kubernetes secrets with a KMS key.",
          "MP", "high", "EKS.3", ("CKV_AWS_58",), (),
          "Set `encryption_config={\"resources\": [\"secrets\"], \"provider\": {\"key_arn\": <stack key arn>}}` on "
          "the aws.eks.Cluster.",
          check=check_secrets_encryption),
    _rule("eks-control-plane-logging",
          "EKS clusters send the api, audit, authenticator, controllerManager and scheduler logs to CloudWatch.",
          "MP", "medium", "EKS.8", ("CKV_AWS_37",), ("AwsSolutions-EKS2",),
          "Set `enabled_cluster_log_types=[\"api\", \"audit\", \"authenticator\", \"controllerManager\", "
          "\"scheduler\"]` on the aws.eks.Cluster (and a retention on /aws/eks/<name>/cluster).",
          check=check_control_plane_logging,
          thresholds={"requiredLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}),
]
