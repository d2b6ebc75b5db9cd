"""No resource collides with itself when Pulumi replaces it.

Pulumi replaces create-before-delete by default: the replacement is created while the old resource still exists.
For a type whose physical name is unique in its scope and cannot change in place (the provider marks `name`
ForceNew), a fixed name makes that create fail (target group, security group, role, vault, web ACL ...), or, for
the upsert APIs (PutRolePolicy, PutMetricAlarm, PutScalingPolicy), silently overwrite the old resource, which the
following delete then removes. A replacement can come from any ForceNew property, from a provider change, or
from `pulumi up --target-replace`, so every fixed name of such a type carries `deleteBeforeReplace`, or the
name is left to Pulumi's auto-naming, or the type is exempted (EXEMPT, with the reason).

Which names force replacement: the pulumi-aws SDK docstrings do not carry upstream's "Forces new resource" for
these types, so the table (policies/guardrails/lifecycle.py, shared with the pack's advisory rule
`fixed-name-replace-collision`) cites the terraform-provider-aws schema the bridge is generated from
(`ForceNew: true` on the attribute; file under internal/service/). The SDK is still the judge where it can be:
each property must be an input of its SDK class, and a docstring that says the name forces a new resource
overrides the table.
"""

from __future__ import annotations

import importlib
import re

import pytest
from guardrails.lifecycle import EXEMPT, NAME_FORCES_REPLACEMENT, RENAMED_IN_PLACE

from tests.support.stacks import STACKS, record_stack

# Inputs that usually hold a resource's own physical name; the tables name the others (deploymentGroupName is the
# group's own name, while a group's deploymentConfigName refers to another resource).
_NAME_INPUTS = ("name", "identifier")


def _sdk_class(type_token: str):
    package, module_path, class_name = re.fullmatch(r"(\w+):([\w/]+)/\w+:(\w+)", type_token).groups()
    module = importlib.import_module(f"pulumi_{package}.{module_path.replace('/', '.')}")
    return getattr(module, class_name)


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


@pytest.fixture(scope="module", params=STACKS)
def recording(request):
    return record_stack(request.param)


def _fixed_names(recording):
    """(registration, name input, value) for every custom resource whose own name is a fixed string."""
    for registration in recording.registrations:
        if not registration.custom or registration.type.startswith("pulumi:"):
            continue
        inputs = registration.plain_inputs()
        own = {table[registration.type][0] for table in (NAME_FORCES_REPLACEMENT, RENAMED_IN_PLACE)
               if registration.type in table}
        for key in sorted(set(_NAME_INPUTS) | own):
            if isinstance(inputs.get(key), str) and inputs[key]:
                yield registration, key, inputs[key]


def _sdk_input(type_token: str, key: str) -> property | None:
    cls = _sdk_class(type_token)
    args_class = getattr(importlib.import_module(cls.__module__), f"{cls.__name__}Args")
    found = getattr(args_class, _snake(key), None)
    return found if isinstance(found, property) else None


def _sdk_says_forces_new(type_token: str, key: str) -> bool:
    """Where the SDK docstring carries upstream's wording, the table follows from it."""
    doc = (_sdk_input(type_token, key).__doc__ or "").lower()
    return "forces a new resource" in doc or "forces new resource" in doc


@pytest.mark.parametrize("table", [NAME_FORCES_REPLACEMENT, RENAMED_IN_PLACE])
def test_table_names_inputs_the_sdk_declares(table):
    for type_token, (key, _source) in table.items():
        assert _sdk_input(type_token, key) is not None, (type_token, key)


def test_renamed_in_place_never_contradicts_the_sdk():
    assert not [t for t, (key, _) in RENAMED_IN_PLACE.items() if _sdk_says_forces_new(t, key)]


def test_every_fixed_aws_name_is_classified(recording):
    unclassified = sorted({
        (r.type, key) for r, key, _ in _fixed_names(recording)
        if r.type.startswith("aws:")
        and NAME_FORCES_REPLACEMENT.get(r.type, (None,))[0] != key
        and (RENAMED_IN_PLACE.get(r.type, (None,))[0] != key or _sdk_says_forces_new(r.type, key))
    })
    assert not unclassified, (
        f"classify these in NAME_FORCES_REPLACEMENT or RENAMED_IN_PLACE from the provider schema: {unclassified}"
    )


def test_fixed_names_that_force_replacement_are_deleted_before_replacing(recording):
    colliding = sorted(
        f"{r.type} {value!r} ({r.urn.rsplit('::', 1)[-1]})"
        for r, key, value in _fixed_names(recording)
        if NAME_FORCES_REPLACEMENT.get(r.type, (None,))[0] == key
        and r.type not in EXEMPT
        and not r.delete_before_replace
    )
    assert not colliding, (
        "fixed physical names that a create-before-delete replacement would collide with; set "
        "delete_before_replace=True (name part of a contract) or let Pulumi name the resource:\n  "
        + "\n  ".join(colliding)
    )


def test_exemptions_are_for_types_that_need_one():
    assert set(EXEMPT) <= set(NAME_FORCES_REPLACEMENT)
