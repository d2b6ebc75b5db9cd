"""Construct through the real provider process, as the engine calls it for a TypeScript or Go program: the inputs
arrive camelCase over the wire (numbers as floats), the component registers itself under the caller's parent and
its children under itself, named `<name>-<role>`; the same children as the Python component builds in-process."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import provider_pb2

from components.blue_green_service import BlueGreenService
from rampart.engine.recorder import Recording
from tests.components.blue_green_support import make_args
from tests.package.conftest import PROJECT, STACK
from tests.support.stacks import record_program

STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555"
NETWORK_INPUTS = {
    "cidr": "10.20.0.0/16",
    "azCount": 2,
    "natGateways": 1,
    "flowLogRetentionDays": 90,
    "kmsKeyArn": KEY,
    "availabilityZones": ["us-east-1a", "us-east-1b"],
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def wire(value):
    """A value as another language's SDK sends it: camelCase keys, lists, no unset (None) properties."""
    if dataclasses.is_dataclass(value):
        return {camel(f.name): wire(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, (list, tuple)):
        return [wire(item) for item in value]
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    return value


def construct(provider, component: str, name: str, inputs: dict) -> provider_pb2.ConstructResponse:
    struct = struct_pb2.Struct()
    struct.update(inputs)
    request = provider_pb2.ConstructRequest(
        project=PROJECT, stack=STACK, organization="organization", dryRun=True, parallel=4,
        monitorEndpoint=provider.engine_address, type=f"rampart:index:{component}", name=name,
        parent=STACK_URN, inputs=struct,
    )
    return provider.stub.Construct(request, timeout=60)


def subtree(recording: Recording, root_urn: str) -> list:
    found, frontier = [], [root_urn]
    while frontier:
        children = recording.children_of(frontier.pop())
        found += children
        frontier += [child.urn for child in children]
    return found


@pytest.fixture(scope="module")
def network(provider, engine):
    response = construct(provider, "Network", "net", NETWORK_INPUTS)
    return response, engine[1]


def test_network_registers_itself_under_the_callers_parent(network):
    response, recording = network
    component = recording.one("rampart:index:Network", "net")
    assert response.urn == component.urn == f"urn:pulumi:{STACK}::{PROJECT}::rampart:index:Network::net"
    assert component.parent == STACK_URN and not component.custom


def test_network_children_are_parented_and_named_after_it(network):
    response, recording = network
    children = recording.children_of(response.urn)
    by_type = {}
    for child in children:
        assert child.name.startswith("net-"), child.name
        by_type.setdefault(child.type, []).append(child.name)
    assert by_type["aws:ec2/vpc:Vpc"] == ["net-vpc"]
    subnets = sorted(by_type["aws:ec2/subnet:Subnet"])
    assert subnets == ["net-private-0", "net-private-1", "net-public-0", "net-public-1"]
    assert len(by_type["aws:ec2/natGateway:NatGateway"]) == 1  # natGateways=1 arrived as the integer 1
    assert by_type["aws:ec2/flowLog:FlowLog"]
    vpc = recording.one("aws:ec2/vpc:Vpc", "net-vpc")
    assert vpc.plain_inputs()["cidrBlock"] == "10.20.0.0/16"


def test_network_outputs_reach_the_caller(network):
    response, _ = network
    state = dict(response.state)
    assert state["vpcCidr"] == "10.20.0.0/16"
    assert set(state) >= {"vpcId", "privateSubnetIds", "publicSubnetIds", "flowLogGroupName"}


def test_bad_input_is_refused_naming_the_field(provider):
    with pytest.raises(grpc.RpcError) as raised:
        construct(provider, "Network", "bad", {**NETWORK_INPUTS, "azCount": 1})
    assert "NetworkArgs.az_count: expected an integer >= 2" in raised.value.details()


def test_missing_required_input_is_refused_naming_it(provider):
    inputs = {k: v for k, v in NETWORK_INPUTS.items() if k != "cidr"}
    with pytest.raises(grpc.RpcError) as raised:
        construct(provider, "Network", "nocidr", inputs)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_blue_green_service_over_the_wire_builds_what_python_builds(provider, engine):
    """Nested types (ServiceSpec, DeploymentStrategy, AlarmThresholds), an enum (trafficControl) and maps of
    secrets, sent as a TypeScript program sends them: the same children, types and names as the component
    constructed in-process from the same Args."""
    args = make_args("production", traffic_control="ECS")
    response = construct(provider, "BlueGreenService", "web", wire(args))
    remote = {(r.type, r.name) for r in subtree(engine[1], response.urn)}

    def program() -> None:
        BlueGreenService("web", args)

    local_recording = record_program(program)
    [local_root] = local_recording.by_type("rampart:index:BlueGreenService")
    local = {(r.type, r.name) for r in subtree(local_recording, local_root.urn)}
    assert remote == local
    assert ("aws:ecs/service:Service", "web-service") in remote
    assert not [t for t, _ in remote if t.startswith("aws:codedeploy")]  # "ECS" arrived as the enum's value
    assert dict(response.state)["trafficControl"] == "ECS"
