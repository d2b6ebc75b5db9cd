"""Deterministic provider answers for the offline engine.

A real provider computes ids, ARNs, DNS names and the like. Programs read those (an ARN into an IAM policy, a
target group's ARN suffix into an alarm dimension), so the offline run answers with stable, obviously fake
values in the right shape. Inputs are echoed back as state, which is what a provider does for most properties.
Of a resource that exists, every other output property is derived from its SDK class (resource_outputs); the
first preview of a new stack sees only what a provider's plan knows (`new_resource_preview`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from rampart.engine.resource_outputs import derived_outputs

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
        """A resource that exists, as a preview of a deployed stack sees it: every output property known. The
        inputs echoed and the faithful answers below come first; every other output property of the SDK's
        resource class is derived from its type (resource_outputs)."""
        resource_id, state = self._answered(type_token, name, inputs)
        state.update(derived_outputs(self, type_token, name, _physical(name, inputs), known=state))
        return resource_id, state

    def new_resource_preview(self, type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A create as `pulumi preview` of a new stack sees it: no id, and of the state only what the provider's
        plan knows before anything exists: the inputs echoed back, the name Pulumi's autonaming chose during
        Check, and the region and `tagsAll` the plan takes from provider config. Everything else (ARNs, DNS
        names, endpoints, generated ids) is left out, which the SDK in preview resolves as unknown."""
        _, state = self._answered(type_token, name, inputs)
        _, module, kind = _split_type(type_token)
        known = {*inputs, "region", "tagsAll", _AUTONAMED.get((module, kind), "name")}
        return "", {key: value for key, value in state.items() if key in known}

    def _answered(self, type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The id, and the state the fake cloud answers faithfully: the inputs, and per service what programs
        commonly read (ARNs, DNS names, endpoints)."""
        package, module, kind = _split_type(type_token)
        physical = _physical(name, inputs)
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
        computed: dict[str, Any] = {"name": physical} if "name" not in inputs else {}
        by_service = _AWS_SERVICES.get(module)
        if by_service is not None:
            computed |= by_service(self, kind, physical, _short_hash(module, kind, physical), inputs)
        return computed

    # One answer per AWS service module: (kind, physical name, stable hash, inputs) -> computed properties.
    def _lb(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "LoadBalancer":
            return {
                "arnSuffix": f"app/{physical}/{suffix}",
                "dnsName": f"{physical}-{suffix[:8]}.{self.region}.elb.amazonaws.com",
                "zoneId": "Z35SXDOTRQ7X7K",
                "arn": f"{self._elb_prefix()}:loadbalancer/app/{physical}/{suffix}",
            }
        if kind == "TargetGroup":
            return {
                "arnSuffix": f"targetgroup/{physical}/{suffix}",
                "arn": f"{self._elb_prefix()}:targetgroup/{physical}/{suffix}",
            }
        if kind == "Listener":
            return {"arn": f"{self._elb_prefix()}:listener/app/lb/{suffix}/{suffix[:8]}"}
        return {}

    def _ecr(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "Repository":
            return {
                "repositoryUrl": f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{physical}",
                "registryId": self.account_id,
            }
        return {}

    def _kms(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "Key":
            key_id = f"{suffix[:8]}-{suffix[8:12]}-4{suffix[:3]}-8{suffix[3:6]}-{suffix}"
            return {"keyId": key_id, "arn": f"arn:aws:kms:{self.region}:{self.account_id}:key/{key_id}"}
        if kind == "Alias":
            return {"arn": f"arn:aws:kms:{self.region}:{self.account_id}:{physical}"}
        return {}

    def _rds(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind != "Instance":
            return {}
        identifier = inputs.get("identifier") or physical
        return {
            "identifier": identifier,
            "address": f"{identifier}.{suffix}.{self.region}.rds.amazonaws.com",
            "endpoint": f"{identifier}.{suffix}.{self.region}.rds.amazonaws.com:{int(inputs.get('port') or 5432)}",
            "resourceId": f"db-{suffix.upper()}",
            "masterUserSecrets": [
                {
                    "secretArn": f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:rds!db-{suffix}",
                    "secretStatus": "active",
                    "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                }
            ],
            "arn": f"arn:aws:rds:{self.region}:{self.account_id}:db:{identifier}",
        }

    def _secretsmanager(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "Secret":
            return {"arn": f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:{physical}-{suffix[:6]}"}
        if kind == "SecretVersion":
            return {"versionId": f"{suffix[:8]}-{suffix[8:12]}-4{suffix[:3]}-a{suffix[3:6]}-{suffix}"}
        return {}

    def _ecs(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        arn_prefix = f"arn:aws:ecs:{self.region}:{self.account_id}"
        if kind == "TaskDefinition":
            family = inputs.get("family") or physical
            return {
                "revision": 1,
                "arn": f"{arn_prefix}:task-definition/{family}:1",
                "arnWithoutRevision": f"{arn_prefix}:task-definition/{family}",
            }
        if kind == "Service":
            # The long ARN, with the cluster's name: what ECS has given every new service since 2021.
            cluster = str(inputs.get("cluster") or "default").rsplit("/", 1)[-1]
            return {"arn": f"{arn_prefix}:service/{cluster}/{physical}"}
        if kind == "Cluster":
            return {"arn": f"{arn_prefix}:cluster/{physical}"}
        return {}

    def _ec2(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "Subnet":
            return {"availabilityZone": inputs.get("availabilityZone", f"{self.region}a")}
        if kind == "Vpc":
            return {
                "defaultSecurityGroupId": f"sg-default-{suffix[:8]}",
                "mainRouteTableId": f"rtb-main-{suffix[:8]}",
                "defaultNetworkAclId": f"acl-{suffix[:8]}",
            }
        if kind == "Eip":
            # TEST-NET-3 (RFC 5737): an address that can never be anyone's real one.
            return {"publicIp": f"203.0.113.{int(suffix[:2], 16) % 254 + 1}", "allocationId": f"eipalloc-{suffix[:8]}"}
        return {}

    def _eks(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind != "Cluster":
            return {}
        cluster_id = hashlib.sha256(suffix.encode()).hexdigest()[:32].upper()
        pem = f"-----BEGIN CERTIFICATE-----\nOFFLINE{cluster_id}\n-----END CERTIFICATE-----\n"
        return {"endpoint": f"https://{cluster_id}.gr7.{self.region}.eks.amazonaws.com",
                "certificateAuthority": {"data": base64.b64encode(pem.encode()).decode()},
                "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{cluster_id}"}]}]}

    def _apigateway(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind != "RestApi":
            return {}
        api_id = suffix[:10]
        return {"executionArn": f"arn:aws:execute-api:{self.region}:{self.account_id}:{api_id}",
                "rootResourceId": suffix[:10][::-1],
                "arn": f"arn:aws:apigateway:{self.region}::/restapis/{api_id}"}

    def _sns(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"arn": f"arn:aws:sns:{self.region}:{self.account_id}:{physical}"} if kind == "Topic" else {}

    def _cloudwatch(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "LogGroup":
            return {"arn": f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{physical}"}
        if kind == "MetricAlarm":
            return {"arn": f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{physical}"}
        return {}

    def _s3(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind not in ("Bucket", "BucketV2"):
            return {}
        bucket = inputs.get("bucket") or physical
        return {
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
        }

    def _iam(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind != "OpenIdConnectProvider":
            return {}
        url = str(inputs.get("url", "")).removeprefix("https://")
        return {"arn": f"arn:aws:iam::{self.account_id}:oidc-provider/{url}"}

    def _codedeploy(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"applicationId": suffix} if kind == "Application" else {}

    def _backup(self, kind: str, physical: str, suffix: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "Vault":
            return {"arn": f"arn:aws:backup:{self.region}:{self.account_id}:backup-vault:{physical}"}
        return {}

    def _github_computed(self, kind: str, physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
        computed: dict[str, Any] = {}
        if kind == "Repository":
            computed |= {
                "fullName": f"example-org/{physical}",
                "repoId": int(_short_hash(physical)[:6], 16),
                "nodeId": f"R_{_short_hash(physical)}",
            }
        return computed

_ServiceAnswer = Callable[[FakeCloud, str, str, str, dict[str, Any]], dict[str, Any]]
_AWS_SERVICES: dict[str, _ServiceAnswer] = {
    "lb": FakeCloud._lb,
    "ecr": FakeCloud._ecr,
    "kms": FakeCloud._kms,
    "rds": FakeCloud._rds,
    "secretsmanager": FakeCloud._secretsmanager,
    "ecs": FakeCloud._ecs,
    "ec2": FakeCloud._ec2,
    "eks": FakeCloud._eks,
    "apigateway": FakeCloud._apigateway,
    "sns": FakeCloud._sns,
    "cloudwatch": FakeCloud._cloudwatch,
    "s3": FakeCloud._s3,
    "iam": FakeCloud._iam,
    "codedeploy": FakeCloud._codedeploy,
    "backup": FakeCloud._backup,
}


def _physical(name: str, inputs: dict[str, Any]) -> str:
    """The resource's name in the cloud: its `name` input, else its Pulumi name."""
    given = inputs.get("name")
    return given if isinstance(given, str) else name


def _split_type(type_token: str) -> tuple[str, str, str]:
    """'aws:ecs/taskDefinition:TaskDefinition' -> ('aws', 'ecs', 'TaskDefinition')."""
    package, _, rest = type_token.partition(":")
    module_path, _, kind = rest.partition(":")
    module = module_path.split("/", 1)[0]
    return package, module, kind
