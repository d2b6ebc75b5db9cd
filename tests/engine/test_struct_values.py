"""A recorded registration's inputs are protobuf's JSON mapping of the request's Struct, with resource references
replaced as the engine marshals them for analyzers (rampart.engine.values.struct_to_python)."""

from __future__ import annotations

import json
import math

import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.engine.values import RESOURCE_REF_SIG, SECRET_SIG, SECRET_SIG_KEY, struct_to_python

IDS_BY_URN = {"urn:pulumi:dev::p::aws:iam/role:Role::known": "role-id-1"}


def _reference_implementation(struct: struct_pb2.Struct) -> dict:
    """What the recorder did before: protobuf's own MessageToDict, then a walk replacing resource references."""

    def replace(value):
        if isinstance(value, dict):
            if value.get(SECRET_SIG_KEY) == RESOURCE_REF_SIG:
                urn = value.get("urn", "")
                return value.get("id") or IDS_BY_URN.get(urn) or urn
            return {k: replace(v) for k, v in value.items()}
        if isinstance(value, list):
            return [replace(v) for v in value]
        return value

    return replace(json_format.MessageToDict(struct))


_REFERENCES = st.fixed_dictionaries(
    {SECRET_SIG_KEY: st.just(RESOURCE_REF_SIG),
     "urn": st.sampled_from([*IDS_BY_URN, "urn:pulumi:dev::p::aws:s3/bucket:Bucket::unknown", ""])},
    optional={"id": st.sampled_from(["", "bucket-id"]), "packageVersion": st.just("")})
_SECRETS = st.fixed_dictionaries({SECRET_SIG_KEY: st.just(SECRET_SIG), "value": st.text(max_size=4)})
_SCALARS = (st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
            | st.integers(-2**53, 2**53) | st.text(max_size=6))
_VALUES = st.recursive(_SCALARS | _REFERENCES | _SECRETS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=15)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _VALUES, max_size=5))
def test_inputs_are_protobufs_json_mapping_with_references_replaced(properties):
    struct = struct_pb2.Struct()
    struct.update(properties)
    # As JSON text: a float and an int, or the keys' order, would compare equal as Python values.
    assert json.dumps(struct_to_python(struct, IDS_BY_URN)) == json.dumps(_reference_implementation(struct))


def test_an_unset_value_is_null_as_in_the_json_mapping():
    struct = struct_pb2.Struct()
    struct.fields["unset"].CopyFrom(struct_pb2.Value())
    assert struct_to_python(struct, {}) == {"unset": None} == _reference_implementation(struct)


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_a_non_finite_number_is_refused_as_by_the_json_mapping(number):
    struct = struct_pb2.Struct()
    struct.update({"n": [number]})
    with pytest.raises(ValueError):
        _reference_implementation(struct)
    with pytest.raises(ValueError, match="non-finite"):
        struct_to_python(struct, {})
