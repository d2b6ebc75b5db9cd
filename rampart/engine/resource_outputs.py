"""Every output of a resource that already exists, shaped by its SDK resource class.

`pulumi preview` of a deployed stack knows each resource's whole state: every output property, computed ones
(an instance's private IP, a cluster's endpoint, a certificate's DNS validation records) included. Offline, the
fake cloud answers the outputs programs most often build on faithfully (fake_outputs), echoes the inputs, and
`derived_outputs` fills in every other output property of the resource's SDK class (`pulumi_aws.ec2.Instance` for
`aws:ec2/instance:Instance`): its `@pulumi.getter` names are the wire keys and its `pulumi.Output[T]` annotations
the shapes (shapes.Shaper), so a property a newer SDK adds is answered too. A property left out would resolve as
unknown in a preview, which a deployed stack never shows. A nested block among the resource's own arguments that
the program did not set is empty (a list `[]`, an object null), as a provider answers a block nobody set; the
computed ones (a certificate's validation records, a cluster's certificate authority) are filled in.

Values are deterministic (hashed from the type token and the resource's name) and plausible for the field's name:
an address in 10.0.0.0/16 for a private `*_ip`, TEST-NET-3 (RFC 5737) for a public one, a DNS name for `*_dns`,
`*endpoint` and a DNS record's name and value. Of the resource's inputs only its physical name is used (its
`name` argument when that is a plain string, else Pulumi's name): a secret arrives wrapped, never as a plain
string, so no secret reaches a derived value.
"""

from __future__ import annotations

import functools
import importlib
import keyword
import re
import sys
from collections.abc import Container, Iterable
from typing import TYPE_CHECKING, Any

from rampart.engine.shapes import Shaper, rules, snake, split_token

if TYPE_CHECKING:
    from rampart.engine.fake_outputs import FakeCloud

DERIVED_PACKAGES = frozenset({"aws", "github"})
"""The providers whose resources are derived. Others (random, tls...) compute secrets from nothing, which no
fake value should stand for: their outputs beyond the inputs stay unknown."""

GITHUB_OWNER = "example-org"


@functools.cache
def resource_class(type_token: str) -> type | None:
    """The SDK class of a resource type: 'aws:ec2/instance:Instance' -> pulumi_aws.ec2.Instance."""
    package, module, kind = split_token(type_token)
    if not kind or package not in DERIVED_PACKAGES:
        return None
    if keyword.iskeyword(module):
        module += "_"  # the SDK's module for `aws:lambda/...` is pulumi_aws.lambda_
    parent = "pulumi_" + package + (f".{module}" if module else "")
    try:
        # The package itself is asked for the class, which also completes the SDK's lazy load of the module.
        found = getattr(importlib.import_module(parent), kind, None)
    except ImportError:
        return None
    return found if isinstance(found, type) else None


def derived_outputs(cloud: FakeCloud, type_token: str, name: str, physical: str,
                    known: Container[str]) -> dict[str, Any]:
    """Every output property of the resource's SDK class not in `known`, as the wire (camelCase) keys."""
    cls = resource_class(type_token)
    if cls is None:
        return {}
    values = _ResourceValues(cloud, type_token, name, physical)
    return values.of_class(cls, depth=0, skip=known, unset_arguments=argument_names(cls))


def plan_classes(cloud: FakeCloud, classes: Iterable[type]) -> int:
    """Work out the output plans of these SDK resource classes now (what `derived_outputs` does at a class's first
    resource): a warm server does it for the classes a program names before it forks the program's runner, which
    then starts with them (~10 ms of a 10-service check). A class planned before is not planned again (the server
    asks before every check). Returns how many classes were newly planned."""
    planned = 0
    for cls in classes:
        token = getattr(cls, "pulumi_type", None)  # @pulumi.type_token's, on classes of SDKs that have it
        if cls in _PLANNED or not isinstance(token, str) or resource_class(token) is not cls:
            continue
        try:
            derived_outputs(cloud, token, "planned", "planned", known=())
        except Exception:  # noqa: BLE001,S112 (what fails here fails at the program's own resource, as before)
            continue
        _PLANNED.add(cls)
        planned += 1
    return planned


_PLANNED: set[type] = set()


@functools.cache
def argument_names(cls: type) -> frozenset[str]:
    """The wire names of a resource's arguments (its `<Kind>Args` input type)."""
    from pulumi import _types

    arguments = getattr(sys.modules.get(cls.__module__), f"{cls.__name__}Args", None)
    if not isinstance(arguments, type):
        return frozenset()
    return frozenset(wire_name for _, wire_name, _ in _types._py_properties(arguments))


class _ResourceValues(Shaper):
    def __init__(self, cloud: FakeCloud, type_token: str, name: str, physical: str) -> None:
        package, module, kind = split_token(type_token)
        super().__init__(cloud, module=module, stem=snake(kind), salt=(type_token, name))
        self.package = package
        self.physical = physical
        self.rules = _GITHUB_RULES if package == "github" else _AWS_RULES

    def physical_name(self) -> str:
        return self.physical

    def label(self) -> str:
        return re.sub(r"[^a-z0-9-]+", "-", self.physical.lower()).strip("-")[:40] or self.stem.replace("_", "-")

    def host(self, field: str) -> str:
        service = self.module or self.package
        return f"{self.label()}-{self.digest(field)[:8]}.{service}.{self.cloud.region}.amazonaws.com"


def _ip(values: _ResourceValues, name: str) -> str:
    if "public" in name or "elastic" in name:
        return f"203.0.113.{int(values.digest('public')[:2], 16) % 254 + 1}"
    digest = values.digest("private")
    return f"10.0.{int(digest[:2], 16)}.{int(digest[2:4], 16) % 254 + 1}"


def _dns(values: _ResourceValues, name: str) -> str:
    region = values.cloud.region
    if "private" in name:
        return f"ip-{_ip(values, name).replace('.', '-')}.{region}.compute.internal"
    if "public" in name:
        return f"ec2-{_ip(values, name).replace('.', '-')}.{region}.compute.amazonaws.com"
    return values.host(name)


def _ipv6(values: _ResourceValues, name: str) -> str:
    return f"2001:db8::{values.digest('ipv6')[:4]}"  # the documentation prefix (RFC 3849)


_AWS_RULES = rules(
    (r"(.+_)?ipv6_address", _ipv6),
    (r"(.+_)?(ip|ip_address|ipv4_address)", _ip),
    (r"(.+_)?dns(_name)?", _dns),
    (r"(.+_)?(endpoint|record_name|record_value)", lambda v, n: v.host(n)),
    (r"(.+_)?record_type", lambda v, n: "CNAME"),
)

_GITHUB_RULES = rules(
    (r"(.+_)?url", lambda v, n: f"https://github.com/{GITHUB_OWNER}/{v.label()}"),
)
