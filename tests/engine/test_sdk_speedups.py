"""The offline replacements for SDK per-resource costs keep what the recorder reads (rampart.engine.sdk_speedups)."""

from __future__ import annotations

import asyncio
import enum
import sys
import typing

import pulumi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime.proto import engine_pb2

from rampart.engine import recorder, sdk_shortcuts, sdk_speedups

LIBRARY = '''
def build(make, traces):
    return make(traces)  # a library (site-packages) declaring the resource for the program
'''


class _Resource:
    def __init__(self, traces):
        # What register_resource does: both versions of the trace, taken at the same depth.
        traces.append((sdk_speedups.program_stack_trace(), pulumi_resource._get_stack_trace()))


class _CustomResource(_Resource):
    def __init__(self, traces):
        super().__init__(traces)


class _Concrete(_CustomResource):
    def __init__(self, traces):
        super().__init__(traces)


def _positions(trace):
    return [(frame.pc.uri, frame.pc.line) for frame in trace.frames]


def test_the_programs_frame_is_the_sdks_source_position():
    traces = []
    _Concrete(traces)  # the program's line
    lean, sdk = traces[0]
    assert _positions(lean) == _positions(sdk)[:1]
    assert lean.frames[0].pc.uri.endswith("/test_sdk_speedups.py")


def test_a_library_declared_resource_keeps_the_callers_up_to_the_programs_line():
    namespace: dict = {}
    exec(compile(LIBRARY, "/venv/lib/site-packages/lib.py", "exec"), namespace)  # noqa: S102
    traces = []
    namespace["build"](_Concrete, traces)
    lean, sdk = traces[0]
    # The library's frame (the SDK's source position), then this test's line: the first frame outside it.
    assert _positions(lean) == _positions(sdk)[:2]
    assert [uri.rsplit("/", 1)[-1] for uri, _ in _positions(lean)] == ["lib.py", "test_sdk_speedups.py"]


def test_fewer_than_three_constructors_up_the_stack_is_no_trace():
    assert not sdk_speedups.program_stack_trace().frames


def test_installed_puts_the_sdks_function_back():
    original = pulumi_resource._get_stack_trace
    with sdk_speedups.installed():
        assert pulumi_resource._get_stack_trace is sdk_speedups.program_stack_trace
    assert pulumi_resource._get_stack_trace is original


# Plain values as a provider's answer holds them: None below the top level, in lists and in maps, must survive.
_SCALARS = st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False) | st.text(max_size=8)
_PLAIN = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _PLAIN, max_size=5))
def test_plain_answers_serialise_exactly_as_the_sdk_does(state):
    made = sdk_speedups.serialize_plain_properties(state, {})
    assert isinstance(made, sdk_speedups._Serialized)  # the direct path was taken, not the SDK's
    assert made.struct == asyncio.run(pulumi_rpc.serialize_properties(state, {}))


class _Kind(str, enum.Enum):  # noqa: UP042 (the shape of the enums pulumi_aws generates)
    FAST = "fast"


@pytest.mark.parametrize("state", [
    {"kind": _Kind.FAST},  # an Enum: the SDK serialises its value
    {"asset": pulumi.StringAsset("text")},
    {"nested": ({"tuple": 1},)},
])
def test_anything_but_plain_values_goes_to_the_sdk(state):
    made = sdk_speedups.serialize_plain_properties(state, {})
    assert not isinstance(made, sdk_speedups._Serialized)
    assert sdk_speedups.mock_sync_await(made) == asyncio.run(pulumi_rpc.serialize_properties(state, {}))


def test_the_mocks_module_gets_its_own_names_back():
    before = (pulumi_mocks.rpc, pulumi_mocks._sync_await)
    with sdk_speedups.installed():
        assert pulumi_mocks.rpc.serialize_properties is sdk_speedups.serialize_plain_properties
        assert pulumi_mocks.rpc.deserialize_properties is pulumi_rpc.deserialize_properties
    assert (pulumi_mocks.rpc, pulumi_mocks._sync_await) == before


class _Colour(str, enum.Enum):  # noqa: UP042 (as generated provider SDKs declare their enums)
    RED = "red"


_INPUT_SCALARS = st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False) \
    | st.text(max_size=6) | st.just(_Colour.RED) | st.just(pulumi_rpc.UNKNOWN)
_INPUT_VALUES = st.recursive(
    _INPUT_SCALARS | st.tuples(st.sampled_from(["output", "secret"]), _INPUT_SCALARS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10)


def _with_outputs(value):
    """Outputs are made on the loop that serialises them: ("output", x) and ("secret", x) stand for them."""
    if isinstance(value, tuple):
        kind, inner = value
        return pulumi.Output.from_input(inner) if kind == "output" else pulumi.Output.secret(inner)
    if isinstance(value, list):
        return [_with_outputs(item) for item in value]
    if isinstance(value, dict):
        return {key: _with_outputs(item) for key, item in value.items()}
    return value


def _serialized(serialize_property, inputs, typ=None):
    async def serialize():
        deps: dict = {}
        struct = await pulumi_rpc.serialize_properties(_with_outputs(inputs), deps, None, None, typ)
        return struct, deps

    original = pulumi_rpc.serialize_property
    pulumi_rpc.serialize_property = serialize_property
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(serialize())
    finally:
        pulumi_rpc.serialize_property = original
        asyncio.set_event_loop(None)
        loop.close()


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _INPUT_VALUES, max_size=5))
def test_scalars_answered_at_once_serialise_as_the_sdk_does(inputs):
    sdk = pulumi_rpc.serialize_property
    assert _serialized(sdk_speedups._serialize_scalars_at_once(sdk), inputs) == _serialized(sdk, inputs)


def test_typed_inputs_serialise_as_the_sdk_does():
    import pulumi_aws as aws

    inputs = {"name": "svc", "desired_count": 2, "launch_type": "FARGATE", "wait_for_steady_state": None,
              "load_balancers": [aws.ecs.ServiceLoadBalancerArgs(container_name="app", container_port=8080)],
              "network_configuration": {"subnets": ["a"], "assign_public_ip": False}}
    sdk = pulumi_rpc.serialize_property
    lean = _serialized(sdk_speedups._serialize_scalars_at_once(sdk), inputs, aws.ecs.ServiceArgs)
    assert lean == _serialized(sdk, inputs, aws.ecs.ServiceArgs)
    assert lean[0]["loadBalancers"][0]["containerPort"] == 8080


def test_memoised_unwrap_type_is_the_sdks_for_every_property_type():
    import typing

    import pulumi._types as pulumi_types
    import pulumi_aws as aws

    sdk = pulumi_types.unwrap_type
    memoised = sdk_speedups._memoised_unwrap_type(sdk)
    hints = []
    localns = {"Output": pulumi.Output, "T": type(None)}
    for cls in (aws.ecs.Service, aws.ecs.ServiceArgs, aws.lb.Listener, aws.lb.ListenerArgs, aws.iam.Role):
        globalns = vars(sys.modules[cls.__module__])
        for member in vars(cls).values():
            if isinstance(member, property):
                hints.append(typing.get_type_hints(member.fget, globalns=globalns, localns=localns).get("return"))
    hints = [hint for hint in hints if hint is not None]
    assert len(hints) > 100
    for hint in hints * 2:  # the second pass answers from the memo
        assert memoised(hint) == sdk(hint)


def test_an_unhashable_type_is_unwrapped_once_too():
    calls = []
    memoised = sdk_speedups._memoised_unwrap_type(lambda val: calls.append(val) or "unwrapped")
    unhashable = [int]
    assert memoised(unhashable) == memoised(unhashable) == "unwrapped"
    assert len(calls) == 1


def test_unions_equal_in_any_order_are_unwrapped_each_as_the_sdk_does():
    """typing's Union equality ignores the order of its arguments; the SDK's unwrap_type reads them by position."""
    from collections.abc import Awaitable
    from typing import Union

    import pulumi._types as pulumi_types

    in_order = Union[str, Awaitable[str], pulumi.Output[str]]  # noqa: UP007 (as the SDK spells Input[T])
    reordered = Union[pulumi.Output[str], str, Awaitable[str]]  # noqa: UP007
    assert in_order == reordered
    sdk = pulumi_types.unwrap_type
    memoised = sdk_speedups._memoised_unwrap_type(sdk)
    assert [memoised(in_order), memoised(reordered)] == [sdk(in_order), sdk(reordered)]


_CYCLE: list = []
_CYCLE.append(_CYCLE)


class _TextEnum(enum.StrEnum):
    VALUE = "value"


@pytest.mark.parametrize("value", [
    "arn:aws:s3:::bucket", "", 3, 2.5, True, None, _TextEnum.VALUE, b"bytes",
    [1, "a", None], {"a": {"b": ["c"]}}, _CYCLE, {"tags": {"k": "v"}, "n": [1.0]},
    pulumi.output.UNKNOWN, ["a", pulumi.output.UNKNOWN],
    {"a": {"b": [pulumi.output.UNKNOWN]}},
], ids=lambda value: repr(value).replace(repr(pulumi.output.UNKNOWN), "UNKNOWN"))
def test_contains_unknowns_answers_as_the_sdks(value):
    """Every `_OutputData` asks whether its value holds an unknown (a sixth of a program's SDK-side checks at 10
    services): a plain scalar is answered at once, anything else by the SDK's own function."""
    fast = sdk_shortcuts._scalars_hold_no_unknowns(pulumi_rpc.contains_unknowns)
    assert fast(value) is pulumi_rpc.contains_unknowns(value)
    calls = []
    counted = sdk_shortcuts._scalars_hold_no_unknowns(lambda v: calls.append(v) or pulumi_rpc.contains_unknowns(v))
    counted(value)
    assert bool(calls) is (type(value) not in (str, int, float, bool, type(None)))


def test_a_recording_sends_the_engine_no_debug_lines_and_keeps_the_programs_others(monkeypatch):
    """The SDK logs every registration at debug level (three lines a resource, a task each when a resource is named);
    the recording drops debug lines, so they are not made at all. Info and warnings are kept as before."""
    import pulumi_aws as aws

    severities = []
    real_log = recorder.RecordingEngine.Log
    monkeypatch.setattr(recorder.RecordingEngine, "Log",
                        lambda self, request: severities.append(request.severity) or real_log(self, request))

    def program():
        queue = aws.sqs.Queue("queue")
        pulumi.log.debug("the program's own debug line", resource=queue)
        pulumi.log.info("the program's own info line")
        pulumi.log.warn("the program's own warning", resource=queue)

    recording = recorder.record(program, project="p", stack="dev")
    assert engine_pb2.DEBUG not in severities
    with pytest.raises(TypeError):  # what the SDK's LogRequest refuses is refused as before
        recorder.record(lambda: pulumi.log.debug({"retries": 3}), project="p", stack="dev")
    assert [(log.severity, log.message) for log in recording.logs] == [
        ("info", "the program's own info line"), ("warning", "the program's own warning")]
    assert pulumi.log.debug.__module__ == "pulumi.log"  # put back


def test_resource_options_are_copied_as_copy_copy_copies_them():
    """Every resource merges its options (two copies, copy.copy's generic reduce path): a plain instance's copy is
    a new instance of its class holding the same attribute values, made directly."""
    import copy

    options = pulumi.ResourceOptions( protect=True, aliases=[pulumi.Alias(name="x")],
                                     ignore_changes=["tags"], custom_timeouts=pulumi.CustomTimeouts(create="5m"))
    for original in (options, pulumi.ResourceOptions(), pulumi.ResourceHookBinding(before_create=[])):
        fast = sdk_shortcuts._plain_copy(original)
        sdk = copy.copy(original)
        assert type(fast) is type(sdk) and fast is not original
        assert vars(fast) == vars(sdk) and all(vars(fast)[k] is vars(original)[k] for k in vars(original))
    assert sdk_shortcuts._copies_plainly(pulumi.ResourceOptions)
    copied_by_the_sdk = []
    _copy = sdk_shortcuts._plain_copying(lambda self: copied_by_the_sdk.append(self) or copy.copy(self),
                                         cls=pulumi.ResourceOptions)
    _copy(options)  # exactly the class: made directly
    assert copied_by_the_sdk == []

    class Derived(pulumi.ResourceOptions):
        pass

    derived = Derived()
    assert type(_copy(derived)) is Derived and copied_by_the_sdk == [derived]  # a subclass: the SDK's copy

    class WithCopy(pulumi.ResourceOptions):
        def __copy__(self):
            return self

    class WithSlots:
        __slots__ = ("a",)

    assert not sdk_shortcuts._copies_plainly(WithCopy) and not sdk_shortcuts._copies_plainly(WithSlots)


def test_the_mocks_event_loop_is_the_running_one_or_the_sdks():
    from pulumi.runtime import sync_await

    ensured = []
    ensure = sdk_shortcuts._running_loop_or(lambda: ensured.append(1) or sync_await._ensure_event_loop())

    async def inside():
        return ensure() is asyncio.get_running_loop()

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(inside()) and ensured == []  # the running loop, without the SDK's lookup
    finally:
        loop.close()
    asyncio.set_event_loop(None)
    made = ensure()  # no loop on this thread, none running: the SDK's own makes one and sets it
    assert isinstance(made, asyncio.AbstractEventLoop) and asyncio.get_event_loop() is made and ensured == [1]
    made.close()
    asyncio.set_event_loop(None)


class _Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(("value", "typ", "at_once"), [
    # typing.Optional: the form the SDK's own type hints come in
    ("arn:aws:x", str, True), ("arn:aws:x", None, True), ("arn:aws:x", typing.Optional[str], True),  # noqa: UP045
    ("red", _Colour, False), ("red", typing.Optional[_Colour], False), (True, bool, True),  # noqa: UP045
    (1.0, int, False), (1.0, float, True), (2.5, None, True), ("x", typing.Any, True), (None, str, True),
    (["a"], list[str], False), ({"k": "v"}, dict[str, str], False), ("x", int, False),
], ids=lambda item: repr(item))
def test_plain_outputs_translate_as_the_sdk_translates_them(value, typ, at_once):
    """Every output property of every registration goes through the SDK's `translate_output_properties` (a secret
    check, the type unwrapped, an enum check): a string, bool or float whose type asks for nothing more is the
    value itself, answered without the SDK; anything else (an enum, a float for an int, a container) is the SDK's."""
    asked = []
    fast = sdk_shortcuts._plain_outputs_as_they_are(
        lambda *args, **kwargs: asked.append(args) or pulumi_rpc.translate_output_properties(*args, **kwargs))
    sdk = pulumi_rpc.translate_output_properties(value, lambda k: k, typ)
    answered = fast(value, lambda k: k, typ)
    assert answered == sdk and type(answered) is type(sdk)
    assert (asked == []) is at_once
