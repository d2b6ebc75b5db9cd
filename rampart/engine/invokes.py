"""Answers to data-source invokes, derived from the SDK's own result types.

A real preview reads data sources for real; offline, every invoke of a Pulumi Python SDK (pulumi_aws,
pulumi_github, any other package the program imports) is answered with a value of the shape of the SDK's
`…Result` output type: the token names the module and function, the result class's `@pulumi.getter` names are
the wire (camelCase) keys, and each property's annotation gives the shape (strings plausible for the field's
name, numbers, bools, lists, nested result types). Arguments the function echoes (a name, filters, tags) are
echoed. A few functions whose values programs build on are answered faithfully (`OVERRIDES`).

What cannot be answered is not answered with `{}` (which the SDK turns into a result of Nones that later
crashes or, worse, is judged as if the user had written it): the invoke fails with a message naming it.
A field-by-field unknown is not an option for typed results: the SDK's result constructors type-check every
field and reject the unknown marker, so a whole result is either answered or refused.
"""

from __future__ import annotations

import functools
import importlib
import keyword
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rampart.engine import policy_document
from rampart.engine.fake_outputs import FakeCloud
from rampart.engine.shapes import Shaper, coerced, properties, snake, split_token, zone_id_prefix

__all__ = ["OVERRIDES", "UnanswerableInvoke", "answer", "coerced", "properties", "result_type", "subnet_ids",
           "zone_id_prefix"]


class UnanswerableInvoke(LookupError):
    """No result type is known for this invoke token."""


def answer(token: str, args: Mapping[str, Any], cloud: FakeCloud) -> dict[str, Any]:
    """The provider's answer to `token` called with `args` (camelCase wire names both ways)."""
    cls = result_type(token)
    if cls is None:
        raise UnanswerableInvoke(
            f"rampart cannot answer the data source {token} offline: no `…Result` type for it in the "
            "program's Pulumi SDK packages"
        )
    values = _Values(token, args, cloud)
    shaped = values.of_class(cls, depth=0)
    override = OVERRIDES.get(_function(token))
    if override is not None:
        shaped.update(override(values))
    return shaped


# Token -> result type ---------------------------------------------------------------------------------------

def _function(token: str) -> str:
    package, module, function = split_token(token)
    return f"{package}:{module}:{function}"


@functools.cache
def result_type(token: str) -> type | None:
    """The SDK's `…Result` class for an invoke token, found from the token alone."""
    package, module, function = split_token(token)
    if not function:
        return None
    class_name = function[0].upper() + function[1:] + "Result"
    base = "pulumi_" + package.replace("-", "_")
    if keyword.iskeyword(module):
        module += "_"  # the SDK's module for `aws:lambda/...` is pulumi_aws.lambda_
    parent = f"{base}.{module}" if module else base
    try:
        package_module = importlib.import_module(parent)
    except ImportError:
        return None
    # Ask the package itself first, which also completes the SDK's lazy load of it. Importing one of its
    # submodules while it is still lazy would leave the submodule shadowing the function of the same name
    # (`aws.iam.get_policy_document` becoming a module) once the package loads.
    found = getattr(package_module, class_name, None)
    if isinstance(found, type):
        return found
    return _search_package(package_module, token, class_name)


def _search_package(package_module: Any, token: str, class_name: str) -> type | None:
    """A result class the package does not export: find the generated file that invokes the token, within
    the module's own folder only."""
    folder = Path(getattr(package_module, "__file__", "") or ".").parent
    needle = f"'{token}'"
    for path in sorted(folder.glob("*.py")):
        if needle in path.read_text(encoding="utf-8", errors="replace"):
            try:
                module = importlib.import_module(f"{package_module.__name__}.{path.stem}")
            except ImportError:
                return None
            found = getattr(module, class_name, None)
            return found if isinstance(found, type) else None
    return None


class _Values(Shaper):
    """Deterministic values for one invoke: the same token and arguments always give the same answer."""

    def __init__(self, token: str, args: Mapping[str, Any], cloud: FakeCloud) -> None:
        _, module, function = split_token(token)
        super().__init__(cloud, module=module, stem=snake(function).removeprefix("get_"), salt=(cloud.region,),
                         args=args)
        self.token = token


# Faithful answers for the functions programs build on -------------------------------------------------------

def _caller_identity(v: _Values) -> dict[str, Any]:
    account = v.cloud.account_id
    return {"accountId": account, "arn": f"arn:aws:iam::{account}:user/offline", "userId": "AIDAOFFLINE",
            "id": account}


def _region(v: _Values) -> dict[str, Any]:
    region = v.cloud.region
    return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
            "description": region}


def _partition(v: _Values) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}


def _availability_zones(v: _Values) -> dict[str, Any]:
    region = v.cloud.region
    return {"names": [f"{region}{letter}" for letter in "abc"],
            "zoneIds": [f"{zone_id_prefix(region)}-az{i}" for i in (1, 2, 3)], "groupNames": [region] * 3, "id": region}


def _vpc(v: _Values) -> dict[str, Any]:
    vpc_id = v.args.get("id") or v.resource_id("vpc", "default" if v.args.get("default") else "")
    return {"id": vpc_id, "cidrBlock": v.args.get("cidrBlock") or "10.0.0.0/16", "ownerId": v.cloud.account_id,
            "arn": f"arn:aws:ec2:{v.cloud.region}:{v.cloud.account_id}:vpc/{vpc_id}", "state": "available",
            "default": bool(v.args.get("default")), "enableDnsHostnames": True, "enableDnsSupport": True}


def subnet_ids(cloud: FakeCloud) -> list[str]:
    """The three subnets every subnet lookup finds, one per availability zone: stable across calls, so a
    `get_subnet(id=...)` of one of them agrees with `get_subnets`."""
    values = _Values("aws:ec2/getSubnet:getSubnet", {}, cloud)
    return [values.resource_id("subnet", str(index)) for index in range(3)]


def _subnets(v: _Values) -> dict[str, Any]:
    return {"ids": subnet_ids(v.cloud), "id": v.cloud.region}


def _subnet(v: _Values) -> dict[str, Any]:
    ids = subnet_ids(v.cloud)
    subnet_id = v.args.get("id") or ids[0]
    index = ids.index(subnet_id) if subnet_id in ids else 0
    return {"id": subnet_id, "vpcId": v.args.get("vpcId") or v.resource_id("vpc", ""),
            "cidrBlock": f"10.0.{index * 16}.0/20", "availabilityZone": f"{v.cloud.region}{'abc'[index]}",
            "arn": f"arn:aws:ec2:{v.cloud.region}:{v.cloud.account_id}:subnet/{subnet_id}",
            "ownerId": v.cloud.account_id, "state": "available"}


def _ami(v: _Values) -> dict[str, Any]:
    image_id = v.resource_id("ami")
    return {"id": image_id, "imageId": image_id, "architecture": "x86_64", "state": "available",
            "arn": f"arn:aws:ec2:{v.cloud.region}::image/{image_id}", "rootDeviceType": "ebs",
            "virtualizationType": "hvm", "platformDetails": "Linux/UNIX", "name": "offline-ami"}


# Elastic Load Balancing's own account per region, which bucket policies for access logs name (AWS, "Enable access
# logs for your Application Load Balancer"; the provider's `aws_elb_service_account` table). Regions opened since
# August 2022 have none: they name the service principal logdelivery.elasticloadbalancing.amazonaws.com instead.
ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667",
    "eu-south-1": "635631232127", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517", "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}


def _elb_service_account(v: _Values) -> dict[str, Any]:
    region = v.args.get("region") or v.cloud.region
    account = ELB_ACCOUNTS.get(region)
    if account is None:
        raise UnanswerableInvoke(
            f"rampart cannot answer the data source {v.token} offline: AWS names no Elastic Load Balancing "
            f"account for the region {region!r} (regions opened since August 2022 grant the service principal "
            "logdelivery.elasticloadbalancing.amazonaws.com instead)"
        )
    partition = "aws-us-gov" if region.startswith("us-gov-") else "aws-cn" if region.startswith("cn-") else "aws"
    return {"arn": f"arn:{partition}:iam::{account}:root", "id": account}


OVERRIDES: Mapping[str, Callable[[_Values], dict[str, Any]]] = {
    "aws::getCallerIdentity": _caller_identity,
    "aws::getRegion": _region,
    "aws::getPartition": _partition,
    "aws::getAvailabilityZones": _availability_zones,
    "aws:ec2:getVpc": _vpc,
    "aws:ec2:getSubnets": _subnets,
    "aws:ec2:getSubnet": _subnet,
    "aws:ec2:getAmi": _ami,
    "aws:elb:getServiceAccount": _elb_service_account,
    "aws:iam:getPolicyDocument": lambda v: policy_document.render(v.args),
}
