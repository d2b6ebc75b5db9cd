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

import base64
import functools
import hashlib
import importlib
import keyword
import re
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rampart.engine import policy_document
from rampart.engine.fake_outputs import FakeCloud


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

def _split_token(token: str) -> tuple[str, str, str]:
    """'aws:ec2/getAmi:getAmi' -> ('aws', 'ec2', 'getAmi'); 'aws:index/getRegion:getRegion' -> module ''."""
    package, _, rest = token.partition(":")
    module_path, _, function = rest.partition(":")
    module = module_path.split("/", 1)[0] if "/" in module_path else module_path
    return package, "" if module == "index" else module, function


def _function(token: str) -> str:
    package, module, function = _split_token(token)
    return f"{package}:{module}:{function}"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name).lower()


@functools.cache
def result_type(token: str) -> type | None:
    """The SDK's `…Result` class for an invoke token, found from the token alone."""
    package, module, function = _split_token(token)
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


@functools.cache
def properties(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """(python name, wire name, annotation) of an SDK output type, from its `@pulumi.getter`s."""
    from pulumi import _types

    module = importlib.import_module(cls.__module__)
    found = []
    for python_name, wire_name, prop in _types._py_properties(cls):
        try:
            hints = typing.get_type_hints(prop.fget, vars(module))
        except Exception:  # noqa: BLE001 (an annotation the SDK itself cannot resolve: answer a string)
            hints = {}
        found.append((python_name, wire_name, hints.get("return", str)))
    return tuple(found)


# Values of the right shape ----------------------------------------------------------------------------------

# Resource id prefixes AWS uses, by the snake-case stem of the field (`vpc_id`) or the function (`get_vpc`).
_ID_PREFIXES = {
    "vpc": "vpc", "subnet": "subnet", "security_group": "sg", "image": "ami", "ami": "ami",
    "route_table": "rtb", "internet_gateway": "igw", "nat_gateway": "nat", "instance": "i",
    "network_interface": "eni", "network_acl": "acl", "dhcp_options": "dopt", "snapshot": "snap",
    "volume": "vol", "transit_gateway": "tgw", "vpc_endpoint": "vpce", "prefix_list": "pl", "eip": "eipalloc",
    "allocation": "eipalloc", "launch_template": "lt", "key_pair": "key", "customer_gateway": "cgw",
    "vpn_gateway": "vgw", "egress_only_internet_gateway": "eigw", "vpc_peering_connection": "pcx",
    "root_snapshot": "snap", "kernel": "aki", "ramdisk": "ari",
}
_MAX_DEPTH = 4
_TIMESTAMP = "2024-01-01T00:00:00Z"
_EMPTY_POLICY = '{"Version":"2012-10-17","Statement":[]}'


class _Values:
    """Deterministic values for one invoke: the same token and arguments always give the same answer."""

    def __init__(self, token: str, args: Mapping[str, Any], cloud: FakeCloud) -> None:
        self.token = token
        self.args = args
        self.cloud = cloud
        self.stem = _snake(_split_token(token)[2]).removeprefix("get_")

    def digest(self, *parts: str) -> str:
        return hashlib.sha256("/".join((self.cloud.region, *parts)).encode()).hexdigest()

    def of_class(self, cls: type, depth: int) -> dict[str, Any]:
        shaped = {}
        for python_name, wire_name, annotation in properties(cls):
            if depth == 0 and self.args.get(wire_name) is not None:
                shaped[wire_name] = coerced(self.args[wire_name], annotation)  # what it was asked for, it echoes
            else:
                shaped[wire_name] = self.of(annotation, python_name, depth)
        return shaped

    def of(self, annotation: Any, name: str, depth: int) -> Any:
        from pulumi import _types

        origin, inner = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Union:
            return self.of(next((a for a in inner if a is not type(None)), str), name, depth)
        if origin in (list, tuple, typing.Sequence, _abc("Sequence")):
            return [self.of(inner[0] if inner else str, _singular(name), depth)]
        if origin in (dict, typing.Mapping, _abc("Mapping")):
            return {}
        if annotation is bool:
            return False
        if annotation is int:
            return _number(name)
        if annotation is float:
            return float(_number(name))
        if isinstance(annotation, type) and _types.is_output_type(annotation):
            return self.of_class(annotation, depth + 1) if depth < _MAX_DEPTH else {}
        return self.string(name)

    def resource_id(self, stem: str, *salt: str) -> str:
        digest = self.digest(stem, *salt)
        if stem in ("zone", "hosted_zone"):
            return "Z" + digest[:20].upper()
        if stem in ("key", "kms_key"):
            return f"{digest[:8]}-{digest[8:12]}-4{digest[12:15]}-8{digest[15:18]}-{digest[18:30]}"
        prefix = _ID_PREFIXES.get(stem)
        return f"{prefix}-{digest[:17]}" if prefix else f"{stem or 'id'}-{digest[:12]}"

    def arn(self, name: str) -> str:
        _, module, _ = _split_token(self.token)
        service = module or "iam"
        resource = (name.removesuffix("_arn").removesuffix("arn").strip("_") or self.stem).replace("_", "-")
        region = "" if service == "iam" else self.cloud.region
        return f"arn:aws:{service}:{region}:{self.cloud.account_id}:{resource}/{self.physical_name()}"

    def physical_name(self) -> str:
        given = self.args.get("name")
        return given if isinstance(given, str) and given else f"offline-{self.stem.replace('_', '-')}"

    def string(self, name: str) -> str:
        for pattern, make in _STRING_RULES:
            if re.fullmatch(pattern, name):
                return make(self, name)
        return f"offline-{name.replace('_', '-')}"


_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def coerced(value: Any, annotation: Any) -> Any:
    """An echoed argument as the provider returns it: converted to its schema's primitive type as the Terraform
    bridge converts a string to a bool or a number (Go's strconv rules) and a bool or number to a string. A value
    that does not convert, or a non-primitive field, is left as it is."""
    if typing.get_origin(annotation) is typing.Union:
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else annotation
    if annotation is bool and isinstance(value, str):
        return True if value in _GO_TRUE else False if value in _GO_FALSE else value
    if annotation in (int, float) and isinstance(value, str):
        try:
            return annotation(value)
        except ValueError:
            return value
    if annotation is str and isinstance(value, bool):
        return "true" if value else "false"
    if annotation is str and isinstance(value, (int, float)):
        return str(value)
    return value


def _abc(name: str) -> Any:
    import collections.abc

    return getattr(collections.abc, name)


def _singular(name: str) -> str:
    for plural, single in (("_ids", "_id"), ("_arns", "_arn"), ("ies", "y"), ("ses", "s")):
        if name.endswith(plural):
            return name.removesuffix(plural) + single
    return name.removesuffix("s") if name.endswith("s") and not name.endswith("ss") else name


def zone_id_prefix(region: str) -> str:
    """us-east-1 -> use1, eu-west-1 -> euw1: the prefix of AWS's availability zone ids."""
    parts = region.split("-")
    return parts[0] + "".join(part[0] for part in parts[1:-1]) + parts[-1]


def _number(name: str) -> int:
    if name == "port" or name.endswith("_port"):
        return 443
    if "size" in name:
        return 8
    return 1


def _id_field(values: _Values, name: str) -> str:
    stem = values.stem if name == "id" else name.removesuffix("_id")
    if name == "id":
        given = values.args.get("id") or values.args.get("name")
        if isinstance(given, str) and given:
            return given
    return values.resource_id(stem)


_STRING_RULES: tuple[tuple[str, Callable[[_Values, str], str]], ...] = (
    (r"(.+_)?arn", lambda v, n: v.arn(n)),
    (r"(.+_)?(account_id|owner_id|registry_id|owner_account_id)", lambda v, n: v.cloud.account_id),
    (r"(.+_)?region(_name)?", lambda v, n: v.cloud.region),
    (r"(.+_)?availability_zone", lambda v, n: f"{v.cloud.region}a"),
    (r"(.+_)?availability_zone_id", lambda v, n: f"{zone_id_prefix(v.cloud.region)}-az1"),
    (r"partition", lambda v, n: "aws"),
    (r"dns_suffix", lambda v, n: "amazonaws.com"),
    (r"(.+_)?ipv6_cidr_block", lambda v, n: "2600:1f18:1234:5600::/56"),
    (r"(.+_)?cidr(_block)?", lambda v, n: "10.0.0.0/16"),
    (r"(.+_)?(id)", _id_field),
    (r"name", lambda v, n: v.physical_name()),
    (r"authorization_token", lambda v, n: base64.b64encode(b"AWS:offline-password").decode()),
    (r"(.+_)?password", lambda v, n: "offline-password"),
    (r"user_name", lambda v, n: "AWS"),
    (r"proxy_endpoint", lambda v, n: f"https://{v.cloud.account_id}.dkr.ecr.{v.cloud.region}.amazonaws.com"),
    (r"repository_url", lambda v, n: f"{v.cloud.account_id}.dkr.ecr.{v.cloud.region}.amazonaws.com/"
                                     f"{v.physical_name()}"),
    (r"(.+_)?(url|endpoint)", lambda v, n: f"https://{v.stem.replace('_', '-')}.{v.cloud.region}.amazonaws.com"),
    (r"(.+_)?(dns_name|domain_name|domain|hostname)", lambda v, n: f"offline.{v.cloud.region}.amazonaws.com"),
    (r"(.+_)?(date|time|at|timestamp)", lambda v, n: _TIMESTAMP),
    (r"(.+_)?(policy|json|document)", lambda v, n: _EMPTY_POLICY),
    (r"(.+_)?(state|status)", lambda v, n: "available"),
)


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


def _elb_service_account(v: _Values) -> dict[str, Any]:
    # us-east-1's Elastic Load Balancing account, the one bucket policies for access logs name.
    return {"arn": "arn:aws:iam::127311923021:root", "id": "127311923021"}


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
