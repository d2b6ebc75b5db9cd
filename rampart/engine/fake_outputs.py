"""Deterministic provider answers for the offline engine.

A real provider computes ids, ARNs, DNS names and the like. Programs read those (an ARN into an IAM policy, a
target group's ARN suffix into an alarm dimension), so the offline run answers with stable, obviously fake
values in the right shape. Inputs are echoed back as state, which is what a provider does for most properties.
"""

from __future__ import annotations

import hashlib
from typing import Any

ACCOUNT_ID = "123456789012"


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


# pulumi type token module -> ARN service name, where they differ.
_ARN_SERVICES = {
    "lb": "elasticloadbalancing",
    "alb": "elasticloadbalancing",
    "cloudwatch": "logs",
    "appautoscaling": "application-autoscaling",
    "backup": "backup",
    "wafv2": "wafv2",
}


# Resources whose autonamed property is not `name` (Pulumi's Check fills it in, so a preview knows it).
_AUTONAMED = {("s3", "Bucket"): "bucket", ("s3", "BucketV2"): "bucket", ("rds", "Instance"): "identifier"}


class FakeCloud:
    def __init__(self, region: str = "us-east-1", account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id

    # Resources -----------------------------------------------------------------------------------------
    def new_resource(self, type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        package, module, kind = _split_type(type_token)
        physical = inputs.get("name") if isinstance(inputs.get("name"), str) else name
        resource_id = f"{physical}-{_short_hash(type_token, name)[:8]}"
        state = dict(inputs)
        if package == "aws":
            state.setdefault("arn", self._arn(module, kind, physical))
            state.setdefault("region", self.region)
            state.setdefault("tagsAll", inputs.get("tags") or {})
            state.update(self._aws_computed(module, kind, physical, resource_id, inputs))
        elif package == "github":
            state.update(self._github_computed(kind, physical, inputs))
        return resource_id, state

    def new_resource_preview(self, type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A create as `pulumi preview` of a new stack sees it: no id, and of the state only what the provider's
        plan knows before anything exists: the inputs echoed back, the name Pulumi's autonaming chose during
        Check, and the region and `tagsAll` the plan takes from provider config. Everything else (ARNs, DNS
        names, endpoints, generated ids) is left out, which the SDK in preview resolves as unknown."""
        _, state = self.new_resource(type_token, name, inputs)
        _, module, kind = _split_type(type_token)
        known = {*inputs, "region", "tagsAll", _AUTONAMED.get((module, kind), "name")}
        return "", {key: value for key, value in state.items() if key in known}

    def _arn(self, module: str, kind: str, physical: str) -> str:
        service = _ARN_SERVICES.get(module, module)
        if module == "cloudwatch" and kind != "LogGroup":
            service = "cloudwatch"
        if module == "iam":
            return f"arn:aws:iam::{self.account_id}:{kind[0].lower() + kind[1:]}/{physical}"
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{kind.lower()}/{physical}"

    def _elb_prefix(self) -> str:
        return f"arn:aws:elasticloadbalancing:{self.region}:{self.account_id}"

    def _aws_computed(
        self, module: str, kind: str, physical: str, resource_id: str, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        suffix = _short_hash(module, kind, physical)
        computed: dict[str, Any] = {"name": physical} if "name" not in inputs else {}
        if module == "lb" and kind == "LoadBalancer":
            computed |= {
                "arnSuffix": f"app/{physical}/{suffix}",
                "dnsName": f"{physical}-{suffix[:8]}.{self.region}.elb.amazonaws.com",
                "zoneId": "Z35SXDOTRQ7X7K",
                "arn": f"{self._elb_prefix()}:loadbalancer/app/{physical}/{suffix}",
            }
        elif module == "lb" and kind == "TargetGroup":
            computed |= {
                "arnSuffix": f"targetgroup/{physical}/{suffix}",
                "arn": f"{self._elb_prefix()}:targetgroup/{physical}/{suffix}",
            }
        elif module == "lb" and kind == "Listener":
            computed |= {
                "arn": f"{self._elb_prefix()}:listener/app/lb/{suffix}/{suffix[:8]}"
            }
        elif module == "ecr" and kind == "Repository":
            computed |= {
                "repositoryUrl": f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{physical}",
                "registryId": self.account_id,
            }
        elif module == "kms" and kind == "Key":
            key_id = f"{suffix[:8]}-{suffix[8:12]}-4{suffix[:3]}-8{suffix[3:6]}-{suffix}"
            computed |= {"keyId": key_id, "arn": f"arn:aws:kms:{self.region}:{self.account_id}:key/{key_id}"}
        elif module == "kms" and kind == "Alias":
            computed |= {"arn": f"arn:aws:kms:{self.region}:{self.account_id}:{physical}"}
        elif module == "rds" and kind == "Instance":
            identifier = inputs.get("identifier") or physical
            computed |= {
                "identifier": identifier,
                "address": f"{identifier}.{suffix}.{self.region}.rds.amazonaws.com",
                "endpoint": f"{identifier}.{suffix}.{self.region}.rds.amazonaws.com:{int(inputs.get('port') or 5432)}",
                "resourceId": f"db-{suffix.upper()}",
                "masterUserSecrets": [
                    {
                        "secretArn": f"arn:aws:secretsmanager:{self.region}:{self.account_id}"
                        f":secret:rds!db-{suffix}",
                        "secretStatus": "active",
                        "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                    }
                ],
                "arn": f"arn:aws:rds:{self.region}:{self.account_id}:db:{identifier}",
            }
        elif module == "secretsmanager" and kind == "Secret":
            computed |= {"arn": f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:{physical}-{suffix[:6]}"}  # noqa: E501
        elif module == "secretsmanager" and kind == "SecretVersion":
            computed |= {"versionId": f"{suffix[:8]}-{suffix[8:12]}-4{suffix[:3]}-a{suffix[3:6]}-{suffix}"}
        elif module == "ecs" and kind == "TaskDefinition":
            family = inputs.get("family") or physical
            computed |= {
                "revision": 1,
                "arn": f"arn:aws:ecs:{self.region}:{self.account_id}:task-definition/{family}:1",
                "arnWithoutRevision": f"arn:aws:ecs:{self.region}:{self.account_id}:task-definition/{family}",
            }
        elif module == "ecs" and kind == "Service":
            # The long ARN, with the cluster's name: what ECS has given every new service since 2021.
            cluster = str(inputs.get("cluster") or "default").rsplit("/", 1)[-1]
            computed |= {"arn": f"arn:aws:ecs:{self.region}:{self.account_id}:service/{cluster}/{physical}"}
        elif module == "ecs" and kind == "Cluster":
            computed |= {"arn": f"arn:aws:ecs:{self.region}:{self.account_id}:cluster/{physical}"}
        elif module == "ec2" and kind == "Subnet":
            computed |= {"availabilityZone": inputs.get("availabilityZone", f"{self.region}a")}
        elif module == "ec2" and kind == "Vpc":
            computed |= {
                "defaultSecurityGroupId": f"sg-default-{suffix[:8]}",
                "mainRouteTableId": f"rtb-main-{suffix[:8]}",
                "defaultNetworkAclId": f"acl-{suffix[:8]}",
            }
        elif module == "ec2" and kind == "Eip":
            # TEST-NET-3 (RFC 5737): an address that can never be anyone's real one.
            computed |= {"publicIp": f"203.0.113.{int(suffix[:2], 16) % 254 + 1}",
                         "allocationId": f"eipalloc-{suffix[:8]}"}
        elif module == "apigateway" and kind == "RestApi":
            api_id = suffix[:10]
            computed |= {"executionArn": f"arn:aws:execute-api:{self.region}:{self.account_id}:{api_id}",
                         "rootResourceId": suffix[:10][::-1],
                         "arn": f"arn:aws:apigateway:{self.region}::/restapis/{api_id}"}
        elif module == "sns" and kind == "Topic":
            computed |= {"arn": f"arn:aws:sns:{self.region}:{self.account_id}:{physical}"}
        elif module == "cloudwatch" and kind == "LogGroup":
            computed |= {"arn": f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{physical}"}
        elif module == "cloudwatch" and kind == "MetricAlarm":
            computed |= {"arn": f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{physical}"}
        elif module == "s3" and kind.startswith("Bucket") and kind in ("Bucket", "BucketV2"):
            bucket = inputs.get("bucket") or physical
            computed |= {
                "bucket": bucket,
                "arn": f"arn:aws:s3:::{bucket}",
                "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                "bucketRegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
            }
        elif module == "iam" and kind == "OpenIdConnectProvider":
            url = str(inputs.get("url", "")).removeprefix("https://")
            computed |= {"arn": f"arn:aws:iam::{self.account_id}:oidc-provider/{url}"}
        elif module == "codedeploy" and kind == "Application":
            computed |= {"applicationId": suffix}
        elif module == "backup" and kind == "Vault":
            computed |= {"arn": f"arn:aws:backup:{self.region}:{self.account_id}:backup-vault:{physical}"}
        return computed

    def _github_computed(self, kind: str, physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
        computed: dict[str, Any] = {}
        if kind == "Repository":
            computed |= {
                "fullName": f"example-org/{physical}",
                "repoId": int(_short_hash(physical)[:6], 16),
                "nodeId": f"R_{_short_hash(physical)}",
            }
        return computed

    # Invokes --------------------------------------------------------------------------------------------
    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/offline",
                "userId": "OFFLINE",
                "id": self.account_id,
            }
        if token in ("aws:index/getRegion:getRegion", "aws:index/region:getRegion"):
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in "abcdef"]
            return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 7)], "id": self.region,
                    "groupNames": [self.region] * 6}
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": "arn:aws:iam::127311923021:root", "id": "127311923021"}
        return {}


def _split_type(type_token: str) -> tuple[str, str, str]:
    """'aws:ecs/taskDefinition:TaskDefinition' -> ('aws', 'ecs', 'TaskDefinition')."""
    package, _, rest = type_token.partition(":")
    module_path, _, kind = rest.partition(":")
    module = module_path.split("/", 1)[0]
    return package, module, kind
