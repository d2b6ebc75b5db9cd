"""AnalyzeStack's request is built from the Analyze requests analyze_all already sent (no second conversion of every
resource's inputs), and is exactly the request built from the registrations themselves: same resources, same order,
same properties, options and links. A fake stub records what would go over gRPC, so no pack process is needed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from rampart.engine.analyzer import PolicyPackProcess, _options
from rampart.engine.values import SECRET_SIG, SECRET_SIG_KEY, Registration


class _Future:
    def __init__(self, response: Any) -> None:
        self._response = response

    def result(self) -> Any:
        return self._response

    def cancel(self) -> None:  # pragma: no cover (only on a failed Analyze)
        pass


class _Method:
    def __init__(self, response: Any) -> None:
        self.sent: list[Any] = []
        self._response = response

    def future(self, request: Any, timeout: float) -> _Future:
        copy = type(request)()
        copy.CopyFrom(request)  # as sent: later changes to the caller's message must not show here
        self.sent.append(copy)
        return _Future(self._response)


class _Stub:
    def __init__(self) -> None:
        self.Analyze = _Method(analyzer_pb2.AnalyzeResponse())
        self.AnalyzeStack = _Method(analyzer_pb2.AnalyzeResponse(diagnostics=[
            analyzer_pb2.AnalyzeDiagnostic(policyName="stack-rule", message="seen", urn="urn:x")]))


def _pack() -> tuple[PolicyPackProcess, _Stub]:
    pack = PolicyPackProcess(pack_dir=None)  # type: ignore[arg-type]  # never started: the stub stands in
    stub = _Stub()
    pack._stub = stub  # type: ignore[assignment]
    return pack, stub


def _registration(name: str, parent: str = "", **inputs: Any) -> Registration:
    return Registration(
        urn=f"urn:pulumi:prod::p::aws:s3/bucket:Bucket::{name}", type="aws:s3/bucket:Bucket", name=name,
        custom=True, parent=parent, dependencies=(parent,) if parent else (),
        property_dependencies={"bucket": (parent,)} if parent else {}, protect=name == "a",
        ignore_changes=("tags",), delete_before_replace=True, retain_on_delete=False, aliases=("urn:old",),
        custom_timeouts={}, provider="", additional_secret_outputs=("policy",), replace_on_changes=(),
        inputs={"bucket": name, "tags": {"team": "x", "size": 3.0}, "rules": [{"days": 7.0}, None, True],
                "password": {SECRET_SIG_KEY: SECRET_SIG, "value": "s3cr3t"}, **inputs},
    )


def _from_scratch(registrations: list[Registration]) -> analyzer_pb2.AnalyzeStackRequest:
    """What AnalyzeStack received before the reuse: every resource converted from its registration."""
    resources = []
    for r in registrations:
        properties = struct_pb2.Struct()
        properties.update(dict(r.inputs))
        resources.append(analyzer_pb2.AnalyzerResource(
            type=r.type, properties=properties, urn=r.urn, name=r.name, options=_options(r), parent=r.parent,
            dependencies=list(r.dependencies),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies.items()}))
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


STACK = [_registration("a"), _registration("b", parent="urn:pulumi:prod::p::aws:s3/bucket:Bucket::a"),
         _registration("c", acl="private")]


def test_analyze_stack_after_analyze_all_sends_what_converting_every_resource_again_would():
    pack, stub = _pack()
    pack.analyze_all(iter(STACK), window=2)
    diagnostics = pack.analyze_stack(STACK)
    [sent] = stub.AnalyzeStack.sent
    assert sent == _from_scratch(STACK)
    assert [d.policy for d in diagnostics] == ["stack-rule"]


def test_another_list_of_resources_reuses_what_was_sent_and_builds_the_rest_from_its_own_inputs():
    pack, stub = _pack()
    pack.analyze_all(iter(STACK))
    changed = replace(STACK[1], inputs={"bucket": "changed"})  # same URN, another registration: not the one sent
    others = [STACK[2], changed, STACK[0]]
    pack.analyze_stack(others)
    assert stub.AnalyzeStack.sent == [_from_scratch(others)]


def test_a_stack_left_without_analyze_stack_does_not_leak_into_the_next():
    pack, stub = _pack()
    pack.analyze_all(iter(STACK[:2]))  # a stack whose program failed: no AnalyzeStack
    pack.analyze_all(iter(STACK[2:]))
    pack.analyze_stack(STACK[2:])
    pack.analyze_stack(STACK[2:])  # nothing kept from the first call either
    assert stub.AnalyzeStack.sent == [_from_scratch(STACK[2:])] * 2


def test_analyze_stack_can_be_waited_for_later():
    pack, stub = _pack()
    pack.analyze_all(iter(STACK))
    wait = pack.start_analyze_stack(STACK)
    assert len(stub.AnalyzeStack.sent) == 1  # sent before anyone waits
    assert [d.message for d in wait()] == ["seen"]
