"""Values of the shape of a Pulumi SDK output type, shared by data-source answers (invokes) and the outputs of
resources that exist (resource_outputs).

An SDK output type (an invoke's `…Result`, a resource class, a nested output type) lists its properties as
`@pulumi.getter`s: the getter's name is the wire (camelCase) key and its annotation the shape. `Shaper` answers each
with a deterministic value of that shape: strings plausible for the field's name (an ARN for `*_arn`, an id with
AWS's prefix for `vpc_id`, a timestamp for `created_at`...), numbers, bools, lists of one element, empty maps and
nested output types filled recursively.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import re
import sys
import typing
from collections.abc import Callable, Container, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart.engine.fake_outputs import FakeCloud


@functools.cache
def split_token(token: str) -> tuple[str, str, str]:
    """'aws:ec2/getAmi:getAmi' -> ('aws', 'ec2', 'getAmi'); 'aws:index/getRegion:getRegion' -> module ''."""
    package, _, rest = token.partition(":")
    module_path, _, name = rest.partition(":")
    module = module_path.split("/", 1)[0] if "/" in module_path else module_path
    return package, "" if module == "index" else module, name


@functools.cache
def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name).lower()


@functools.cache
def properties(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """(python name, wire name, type) of an SDK output type, from its `@pulumi.getter`s: the types as the SDK
    itself reads them (`Output[T]` and `Optional[T]` unwrapped to T), which the worker remembers across checks
    (sdk_hints). A property whose type the SDK cannot use is answered as a string."""
    from pulumi import _types

    try:
        types = _types._types_from_py_properties(cls)
    except Exception:  # noqa: BLE001 (one annotation the SDK cannot resolve: the others are still read one by one)
        types = {wire_name: _return_type(prop, cls) for _, wire_name, prop in _types._py_properties(cls)}
    return tuple((python_name, wire_name, types.get(wire_name, str))
                 for python_name, wire_name, _ in _types._py_properties(cls))


def _return_type(prop: property, cls: type) -> Any:
    from pulumi import _types

    try:
        hint = typing.get_type_hints(prop.fget, vars(sys.modules[cls.__module__])).get("return", str)
    except Exception:  # noqa: BLE001 (this property's annotation cannot be resolved: answered as a string)
        return str
    return _types.unwrap_type(hint)


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

Rule = tuple["re.Pattern[str]", Callable[["Shaper", str], str]]


class Shaper:
    """Deterministic values for one answer: the same salt (an invoke's region, a resource's type and name) always
    gives the same values. `rules` (name pattern -> string) are tried before the shared `STRING_RULES`."""

    rules: tuple[Rule, ...] = ()

    def __init__(self, cloud: FakeCloud, *, module: str, stem: str, salt: tuple[str, ...],
                 args: Mapping[str, Any] | None = None) -> None:
        self.cloud = cloud
        self.module = module
        self.stem = stem
        self.salt = salt
        self.args: Mapping[str, Any] = args or {}

    def digest(self, *parts: str) -> str:
        return hashlib.sha256("/".join((*self.salt, *parts)).encode()).hexdigest()

    def of_class(self, cls: type, depth: int, skip: Container[str] = (),
                 unset_arguments: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Every property of `cls` but those in `skip`; at the top, a property the caller asked for is echoed.
        A nested block among `unset_arguments` (arguments the resource was not given) is empty, as a provider
        answers a block nobody set: a list `[]`, an object null; their scalars are answered like any other."""
        if not self.args:  # every resource: the shape is worked out once per class (`_class_plan`)
            return {wire_name: make(self) for wire_name, make in _class_plan(self.rules, cls, depth, unset_arguments)
                    if wire_name not in skip}
        shaped = {}
        for python_name, wire_name, annotation in properties(cls):
            if wire_name in skip:
                continue
            if depth == 0 and self.args.get(wire_name) is not None:
                shaped[wire_name] = coerced(self.args[wire_name], annotation)  # what it was asked for, it echoes
            else:
                shaped[wire_name] = self.of(annotation, python_name, depth)
        return shaped

    def of(self, annotation: Any, name: str, depth: int) -> Any:
        from pulumi import Output, _types

        origin, inner = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is Output:  # a resource class's property: `pulumi.Output[T]`
            return self.of(inner[0] if inner else str, name, depth)
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
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value  # the SDK accepts only a member's value
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
        service = self.module or "iam"
        resource = (name.removesuffix("_arn").removesuffix("arn").strip("_") or self.stem).replace("_", "-")
        region = "" if service == "iam" else self.cloud.region
        return f"arn:aws:{service}:{region}:{self.cloud.account_id}:{resource}/{self.physical_name()}"

    def physical_name(self) -> str:
        given = self.args.get("name")
        return given if isinstance(given, str) and given else f"offline-{self.stem.replace('_', '-')}"

    def string(self, name: str) -> str:
        for pattern, make in (*self.rules, *STRING_RULES):
            if pattern.fullmatch(name):
                return make(self, name)
        return f"offline-{name.replace('_', '-')}"


Make = Callable[[Shaper], Any]
"""A value of one property, given the answer's Shaper (its salt, cloud and rules)."""


@functools.cache
def _class_plan(rules: tuple[Rule, ...], cls: type, depth: int,
                unset_arguments: frozenset[str] = frozenset()) -> tuple[tuple[str, Make], ...]:
    """What `Shaper.of` answers for each property of `cls`, decided once: the annotation walked and the string rule
    chosen per class, not per resource (a stack of 1,857 resources would otherwise walk them 1,857 times)."""
    return tuple((wire_name, (_unset_block(annotation) if wire_name in unset_arguments else None)
                  or _plan(rules, annotation, python_name, depth))
                 for python_name, wire_name, annotation in properties(cls))


def _unset_block(annotation: Any) -> Make | None:
    from pulumi import _types

    origin = typing.get_origin(annotation)
    if origin in (list, tuple, typing.Sequence, _abc("Sequence")):
        return lambda shaper: []
    if origin in (dict, typing.Mapping, _abc("Mapping")):
        return lambda shaper: {}
    if isinstance(annotation, type) and _types.is_output_type(annotation):
        return lambda shaper: None
    return None


@functools.cache
def _plan(rules: tuple[Rule, ...], annotation: Any, name: str, depth: int) -> Make:  # noqa: C901 (Shaper.of's cases)
    from pulumi import Output, _types

    origin, inner = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Output:
        return _plan(rules, inner[0] if inner else str, name, depth)
    if origin is typing.Union:
        return _plan(rules, next((a for a in inner if a is not type(None)), str), name, depth)
    if origin in (list, tuple, typing.Sequence, _abc("Sequence")):
        element = _plan(rules, inner[0] if inner else str, _singular(name), depth)
        return lambda shaper: [element(shaper)]
    if origin in (dict, typing.Mapping, _abc("Mapping")):
        return lambda shaper: {}
    constant: Any = None
    if annotation is bool:
        constant = False
    elif annotation in (int, float):
        constant = annotation(_number(name))
    elif isinstance(annotation, type) and _types.is_output_type(annotation):
        if depth >= _MAX_DEPTH:
            return lambda shaper: {}
        fields = _class_plan(rules, annotation, depth + 1)
        return lambda shaper: {wire_name: make(shaper) for wire_name, make in fields}
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        constant = next(iter(annotation)).value
    else:
        for pattern, make_string in (*rules, *STRING_RULES):
            if pattern.fullmatch(name):
                return lambda shaper: make_string(shaper, name)
        constant = f"offline-{name.replace('_', '-')}"
    return lambda shaper: constant


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
    for plural, single in (("_ids", "_id"), ("_arns", "_arn"), ("ies", "y"), ("sses", "ss"), ("ses", "s")):
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


def _id_field(values: Shaper, name: str) -> str:
    stem = values.stem if name == "id" else name.removesuffix("_id")
    if name == "id":
        given = values.args.get("id") or values.args.get("name")
        if isinstance(given, str) and given:
            return given
    return values.resource_id(stem)


def rules(*pairs: tuple[str, Callable[[Any, str], str]]) -> tuple[Rule, ...]:
    """Name patterns (matched whole) compiled once, with what each answers."""
    return tuple((re.compile(pattern), make) for pattern, make in pairs)


STRING_RULES = rules(
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
