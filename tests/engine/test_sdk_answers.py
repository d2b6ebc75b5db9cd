"""A provider's plain answer reaches the SDK's resolver as the SDK's own deserialisation of its Struct would give
it (rampart.engine.sdk_answers)."""

from __future__ import annotations

import json

import pytest
from google.protobuf import struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.output import Unknown
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import resource_pb2

from rampart.engine import sdk_answers

_SDK_DESERIALIZE = pulumi_rpc.deserialize_properties
_SCALARS = (st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=5) | st.just(pulumi_rpc.UNKNOWN))
_KEYS = st.text(max_size=4) | st.sampled_from(["__internal", "__provider", "__x"])
_ANSWERS = st.dictionaries(_KEYS, st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12), max_size=6)


def _as_text(value) -> str:
    """JSON text, an Unknown spelled out: a float and an int would compare equal as values. Keys are sorted: a
    Struct's own order is its hash table's (under the real engine, whatever order the engine sent), which no
    program can rely on; the answer's order is kept instead."""
    return json.dumps(value, sort_keys=True, default=lambda v: "<Unknown>" if isinstance(v, Unknown) else repr(v))


@settings(max_examples=300, deadline=None)
@given(answer=_ANSWERS, dry_run=st.booleans(), keep_unknowns=st.sampled_from([None, True, False]),
       keep_internal=st.sampled_from([None, True, False]))
def test_a_plain_answer_deserialises_as_its_struct_does(answer, dry_run, keep_unknowns, keep_internal):
    pulumi_settings.configure(pulumi_settings.Settings(project="p", stack="s", dry_run=dry_run))
    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in answer.items() if value is not None})
    sdk = _SDK_DESERIALIZE(struct, keep_unknowns, keep_internal)
    assert _as_text(sdk_answers.deserialize_plain(answer, keep_unknowns, keep_internal)) == _as_text(sdk)


def _answered(answer: dict):
    struct = struct_pb2.Struct()
    struct.update(answer)
    sdk_answers.remember(struct, answer)
    return struct


def test_the_remembered_struct_is_deserialised_from_its_answer_once():
    with sdk_answers.installed():
        struct = _answered({"arn": "arn:aws:x", "count": 2})
        assert sdk_answers.take_last() is struct and sdk_answers.take_last() is None
        first = pulumi_rpc.deserialize_properties(struct)
        assert sdk_answers._remembered.by_struct == {}  # the SDK reads an answer once: nothing kept after
        assert _as_text(first) == _as_text(pulumi_rpc.deserialize_properties(struct)) == '{"arn": "arn:aws:x", "count": 2.0}'  # noqa: E501


def test_an_answer_with_a_signature_is_left_to_the_sdk():
    secret = {pulumi_rpc._special_sig_key: pulumi_rpc._special_secret_sig, "value": "s3cr3t"}
    with sdk_answers.installed():
        _answered({"password": secret, "nested": [{"ok": 1}]})
        assert sdk_answers.take_last() is None
        assert sdk_answers._remembered.by_struct == {}


def test_the_response_carries_the_remembered_struct_and_the_rest_of_the_message():
    struct = struct_pb2.Struct()
    struct.update({"arn": "arn:aws:x"})
    message = resource_pb2.RegisterResourceResponse(urn="urn:x", id="id-1", object=struct)
    response = sdk_answers.AnsweredResponse(message, struct)
    assert response.object is struct and (response.urn, response.id, response.result) == ("urn:x", "id-1", 0)
    with pytest.raises(AttributeError):
        response.no_such_field  # noqa: B018


_SECRET = st.builds(lambda value: {pulumi_rpc._special_sig_key: pulumi_rpc._special_secret_sig, "value": value},
                    st.text(max_size=4) | st.integers(0, 9))
_STRUCT_VALUES = st.recursive(
    _SCALARS | _SECRET, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(properties=st.dictionaries(_KEYS, _STRUCT_VALUES, max_size=6), dry_run=st.booleans(),
       keep_unknowns=st.sampled_from([None, True, False]), keep_internal=st.sampled_from([None, True, False]))
def test_any_struct_deserialises_as_the_sdks_own_function(properties, dry_run, keep_unknowns, keep_internal):
    """Not remembered (a program's own inputs, as the mock monitor reads them): protobuf's accessors instead of
    the Struct's Python mapping layer, the same values, secrets pushed up, and the same key order."""
    pulumi_settings.configure(pulumi_settings.Settings(project="p", stack="s", dry_run=dry_run))
    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in properties.items() if value is not None})
    fast = sdk_answers._deserializing_remembered(_SDK_DESERIALIZE)(struct, keep_unknowns, keep_internal)
    sdk = _SDK_DESERIALIZE(struct, keep_unknowns, keep_internal)
    unsorted = lambda value: json.dumps(value, default=lambda v: "<Unknown>" if isinstance(v, Unknown) else repr(v))  # noqa: E731
    assert unsorted(fast) == unsorted(sdk)


def test_an_answer_no_registration_claims_is_not_kept():
    """An invoke's or a read's answer is copied into its response: only a registration's comes back to be read."""
    with sdk_answers.installed():
        _answered({"invoke": "result"})
        claimed = _answered({"registration": "answer"})
        assert sdk_answers.take_last() is claimed
        _answered({"another": "invoke"})
        latest = _answered({"yet another": "invoke"})
        # The registration's, until the SDK reads it, and only the latest unclaimed one (it may be claimed next).
        assert [entry[0] for entry in sdk_answers._remembered.by_struct.values()] == [claimed, latest]


def test_a_registrations_plain_answer_is_never_made_into_a_struct(monkeypatch):
    """A registration's answer goes to the SDK's resolver as itself (deserialize_plain): the Struct the mock monitor
    would make of it (a tenth of the monitor's work), and copy into its response, is not made at all."""
    import pulumi
    import pulumi_aws as aws

    from rampart.engine import recorder

    updates = []
    real_update = struct_pb2.Struct.update
    monkeypatch.setattr(struct_pb2.Struct, "update",
                        lambda self, values: updates.append(1) or real_update(self, values))

    def program():
        queues = [aws.sqs.Queue(f"queue-{index}") for index in range(5)]
        pulumi.export("arns", pulumi.Output.all(*(queue.arn for queue in queues)))

    recording = recorder.record(program, project="p", stack="dev", mode=recorder.ASSUME_EXISTING)
    assert updates == []
    assert [arn.split(":")[2] for arn in recording.outputs["arns"]] == ["sqs"] * 5


def test_an_unmade_answer_is_its_struct_to_any_other_reader():
    """Anything but the SDK's resolver that reads the answer (a newer SDK, a hook) gets the Struct the SDK would
    have made, made on first read; the resolver gets what the SDK's deserialisation of that Struct gives."""
    answer = {"arn": "arn:aws:x", "count": 2, "gone": None, "tags": {"a": "b"}}
    unmade = sdk_answers.UnmadeAnswer(answer)
    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in answer.items() if value is not None})
    with sdk_answers.installed():
        assert _as_text(pulumi_rpc.deserialize_properties(unmade)) == _as_text(_SDK_DESERIALIZE(struct))
    assert unmade.made is None
    assert unmade.fields == struct.fields and unmade.SerializeToString(deterministic=True) == struct.SerializeToString(
        deterministic=True)
    assert unmade["arn"] == "arn:aws:x" and "gone" not in unmade and len(unmade) == 3 and unmade.made is not None
