"""GetSchema from the real provider process: the `rampart` package, one resource per exported component, and every
input property of each resource as its Args dataclass declares it (name, required or not, type, plain or Input)."""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import types
import typing

import pytest

from components.blue_green_service import BlueGreenServiceArgs
from components.package import EXPORTED, PACKAGE_NAME

SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def is_input(hint) -> bool:
    return any(typing.get_origin(arg) is collections.abc.Awaitable for arg in typing.get_args(hint))


def expected_property(hint) -> dict:
    """What a schema property for the annotation `hint` must say (an independent reading of the annotation)."""
    plain = not is_input(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        # X | None, or Input[X] (= X | Awaitable[X] | Output[X]): the property is X.
        hint = args[0]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in SIMPLE:
        found = {"type": SIMPLE[hint]}
    elif dataclasses.is_dataclass(hint):
        found = {"$ref": f"#/types/{PACKAGE_NAME}:index:{hint.__name__}"}
    elif origin is typing.Literal:
        found = {"$ref": "enum", "values": sorted(args)}
    elif origin in (tuple, list, collections.abc.Sequence):
        found = {"type": "array", "items": expected_property(args[0])}
    elif origin is collections.abc.Mapping:
        found = {"type": "object", "additionalProperties": expected_property(args[1])}
    else:
        raise AssertionError(f"no expectation for {hint!r}")
    return {**found, "plain": plain}


def actual_property(prop: dict, schema: dict) -> dict:
    ref = prop.get("$ref")
    enum = schema["types"][ref.removeprefix("#/types/")].get("enum") if ref else None
    if enum:
        found = {"$ref": "enum", "values": sorted(v["value"] for v in enum)}
    elif ref:
        found = {"$ref": ref}
    elif prop["type"] == "array":
        found = {"type": "array", "items": actual_property(prop["items"], schema)}
    elif prop["type"] == "object" and "additionalProperties" in prop:
        found = {"type": "object", "additionalProperties": actual_property(prop["additionalProperties"], schema)}
    else:
        found = {"type": prop["type"]}
    return {**found, "plain": bool(prop.get("plain"))}


def required_fields(cls) -> set[str]:
    return {
        camel(f.name) for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }


def dataclass_fields_of(cls) -> set[type]:
    """The dataclasses `cls`'s fields hold (directly or as `X | None`)."""
    found = set()
    for hint in inspect.get_annotations(cls, eval_str=True).values():
        candidates = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        found |= {c for c in candidates if dataclasses.is_dataclass(c)}
    return found


def test_package_name_version_and_resources(schema):
    assert schema["name"] == PACKAGE_NAME
    assert schema["version"] == "0.1.0"
    assert set(schema["resources"]) == {f"{PACKAGE_NAME}:index:{c.__name__}" for c, _ in EXPORTED}
    assert {"Network", "LoadBalancer", "Database", "StackKey", "BlueGreenService"} <= {
        c.__name__ for c, _ in EXPORTED
    }
    for resource in schema["resources"].values():
        assert resource["isComponent"] is True


@pytest.mark.parametrize("component,args_cls", EXPORTED, ids=[c.__name__ for c, _ in EXPORTED])
def test_inputs_are_the_args_fields(schema, component, args_cls):
    resource = schema["resources"][f"{PACKAGE_NAME}:index:{component.__name__}"]
    hints = inspect.get_annotations(args_cls, eval_str=True)
    assert set(resource["inputProperties"]) == {camel(f.name) for f in dataclasses.fields(args_cls)}
    assert set(resource.get("requiredInputs", [])) == required_fields(args_cls)
    for field in dataclasses.fields(args_cls):
        prop = resource["inputProperties"][camel(field.name)]
        assert actual_property(prop, schema) == expected_property(hints[field.name]), field.name


def test_nested_types_follow_their_dataclasses(schema):
    """ServiceSpec, DeploymentStrategy, AlarmThresholds, Autoscaling, DatabaseSettings: each a schema type."""
    nested = {hint for _, args_cls in EXPORTED for hint in dataclass_fields_of(args_cls)}
    nested |= {hint for cls in list(nested) for hint in dataclass_fields_of(cls)}
    assert {cls.__name__ for cls in nested} >= {"ServiceSpec", "DeploymentStrategy", "AlarmThresholds", "Autoscaling"}
    for cls in nested:
        spec = schema["types"][f"{PACKAGE_NAME}:index:{cls.__name__}"]
        hints = inspect.get_annotations(cls, eval_str=True)
        assert set(spec["properties"]) == {camel(f.name) for f in dataclasses.fields(cls)}
        assert set(spec.get("required", [])) == required_fields(cls)
        for field in dataclasses.fields(cls):
            assert actual_property(spec["properties"][camel(field.name)], schema) == expected_property(
                hints[field.name]), f"{cls.__name__}.{field.name}"


def test_traffic_control_is_an_enum_of_the_two_strategies(schema):
    prop = schema["resources"][f"{PACKAGE_NAME}:index:BlueGreenService"]["inputProperties"]["trafficControl"]
    enum_type = schema["types"][prop["$ref"].removeprefix("#/types/")]
    assert enum_type["type"] == "string"
    assert [v["value"] for v in enum_type["enum"]] == list(
        typing.get_args(inspect.get_annotations(BlueGreenServiceArgs, eval_str=True)["traffic_control"]))


def test_descriptions_come_from_the_field_docstrings(schema):
    network = schema["resources"][f"{PACKAGE_NAME}:index:Network"]
    assert network["inputProperties"]["cidr"]["description"] == "IPv4 CIDR of the VPC (private range, /16 to /24)."
    assert network["properties"]["vpcId"]["description"] == "The VPC id."
    assert network["description"].startswith("Network: a VPC with public and private subnets")


def test_outputs_are_the_component_attributes(schema):
    network = schema["resources"][f"{PACKAGE_NAME}:index:Network"]["properties"]
    assert network["vpcCidr"]["type"] == "string"
    assert network["privateSubnetIds"] == {**network["privateSubnetIds"], "type": "array"}
    assert network["privateSubnetIds"]["items"]["type"] == "string"
    service = schema["resources"][f"{PACKAGE_NAME}:index:BlueGreenService"]["properties"]
    assert {"serviceName", "repositoryUrl", "trafficControl", "detectionSeconds", "alarmNames"} <= set(service)
