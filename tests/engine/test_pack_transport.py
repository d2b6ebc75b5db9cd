"""The two carriers of the analyzer protocol between `rampart check` and a pack are one contract: pack_host over
pipes (the default) and gRPC (as the Pulumi CLI speaks it, `RAMPART_PACK_TRANSPORT=grpc`) give byte-identical
answers to the same requests, and a pack the pipe host cannot take over is spoken to over gRPC."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from rampart.engine.analyzer import PolicyPackProcess
from rampart.engine.analyzer_messages import _analyze_request, _analyzer_resource
from rampart.engine.pack_pipe import PipeChannel
from rampart.engine.values import UNKNOWN
from tests.support.service_pack import flip, stack_config
from tests.support.stacks import record_stack

ROOT = Path(__file__).resolve().parents[2]
OWN_SERVER_PACK = Path(__file__).resolve().parent / "packs" / "own_server"
TINY_PACK = ROOT / "tests" / "fixtures" / "packs" / "tiny"


@contextlib.contextmanager
def transport(name: str) -> Iterator[None]:
    before = os.environ.get("RAMPART_PACK_TRANSPORT")
    os.environ["RAMPART_PACK_TRANSPORT"] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("RAMPART_PACK_TRANSPORT")
        else:
            os.environ["RAMPART_PACK_TRANSPORT"] = before


@pytest.fixture(scope="module")
def production():
    """The production stack with one resource made non-compliant and one input unknown: violations, waivers and
    undeterminable findings all travel."""
    registrations = record_stack("production").registrations
    database = next(r for r in registrations if r.type == "aws:rds/instance:Instance")
    security_group = next(r for r in registrations if r.type == "aws:ec2/securityGroup:SecurityGroup")
    registrations = flip(registrations, database.name, {"publiclyAccessible": True})
    return flip(registrations, security_group.name, {"ingress": UNKNOWN})


def answers(name: str, registrations) -> list[bytes]:
    """Every call `rampart check` makes, with each answer as the pack serialised it."""
    with transport(name), PolicyPackProcess(pack_dir=ROOT / "policies", project="rampart", stack="production") as pack:
        assert isinstance(pack._channel, PipeChannel) is (name == "pipe")
        pack.configure(stack_config("production"))
        calls = [pack.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60),
                 pack.stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)]
        futures = [pack.stub.Analyze.future(_analyze_request(r), timeout=60) for r in registrations]
        calls += [future.result() for future in futures]
        stack = analyzer_pb2.AnalyzeStackRequest(resources=[_analyzer_resource(r) for r in registrations])
        assert stack.ByteSize() > 1 << 16  # more than a pipe holds: the frame is written in parts
        calls.append(pack.stub.AnalyzeStack(stack, timeout=60))
    return [call.SerializeToString(deterministic=True) for call in calls]


def test_every_call_gets_the_same_answer_over_pipes_and_over_grpc(production):
    over_pipes, over_grpc = answers("pipe", production), answers("grpc", production)
    assert len(over_pipes) == len(production) + 3
    assert over_pipes == over_grpc
    found = [d for answer in over_pipes[2:] for d in analyzer_pb2.AnalyzeResponse.FromString(answer).diagnostics]
    policies = {d.policyName for d in found}
    assert {"rds-not-public", "waived-findings", "waived-stack-findings"} <= policies
    assert any(d.policyName == "sg-no-admin-ports" and "can't run policy" in d.message for d in found)


def test_a_pack_that_serves_its_analyzer_itself_is_spoken_to_over_grpc():
    from tests.engine.test_analyze_pipelined import database

    with transport("pipe"), PolicyPackProcess(pack_dir=OWN_SERVER_PACK, project="tiny", stack="production") as pack:
        assert isinstance(pack._channel, grpc.Channel)
        found = pack.analyze_all([database(0, public=True), database(1, public=False)])
    assert [(d.policy, d.analyzed_urn.rsplit("::", 1)[-1]) for d in found] == [("no-public-db", "db0")]
