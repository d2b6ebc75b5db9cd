"""Recorded property values as JSON-like Python: secrets stay wrapped in Pulumi's secret signature until a reader
chooses to unwrap or redact them; resource references become the id (custom) or URN, as the engine gives them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf import struct_pb2


SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class Registration:
    """One `RegisterResource` request as the engine would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    protect: bool
    ignore_changes: tuple[str, ...]
    delete_before_replace: bool
    retain_on_delete: bool
    aliases: tuple[str, ...]
    custom_timeouts: Mapping[str, str]
    provider: str
    additional_secret_outputs: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    inputs: Mapping[str, Any]
    """Inputs as JSON-like values, camelCase keys; secrets stay wrapped in Pulumi's secret signature."""
    id: str = ""
    source_file: str = ""
    """The absolute path of the file that declared the resource (the SDK's `sourcePosition`): for a resource
    declared inside a component, the component's line that declared it. Empty when the SDK gives none."""
    source_line: int = 0

    def plain_inputs(self) -> dict[str, Any]:
        """Inputs with secrets unwrapped: for assertions in tests, never for output."""
        return unwrap_secrets(self.inputs)

    def redacted_inputs(self) -> dict[str, Any]:
        """Inputs with every secret replaced by the marker `[secret]`: safe for any report."""
        return redact_secrets(self.inputs)



def unwrap_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def redact_secrets(value: Any) -> Any:
    """Every secret replaced by "[secret]"; and, since reports are read by people, the unknown sentinel (a
    value only known after apply) by "[unknown]"."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return "[secret]"
        return {k: redact_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    if value == UNKNOWN:
        return "[unknown]"
    return value


def contains_secret(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return True
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def struct_to_python(struct: struct_pb2.Struct, ids_by_urn: Mapping[str, str]) -> dict[str, Any]:
    """Struct -> JSON-like dict, as protobuf's `json_format.MessageToDict` gives it (numbers as floats, an unset
    value as None; infinity and NaN refused), in one walk. Resource references become the referenced id (custom)
    or URN, as the engine marshals them for analyzers; secrets keep their signature so nothing downstream unwraps
    by accident."""
    return {key: _value_to_python(value, ids_by_urn) for key, value in struct.fields.items()}


def _value_to_python(value: Any, ids_by_urn: Mapping[str, str]) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        fields = value.struct_value.fields
        reference = fields.get(SECRET_SIG_KEY)
        if reference is not None and reference.WhichOneof("kind") == "string_value" \
                and reference.string_value == RESOURCE_REF_SIG:
            plain = {key: _value_to_python(item, ids_by_urn) for key, item in fields.items()}
            urn = plain.get("urn", "")
            return plain.get("id") or ids_by_urn.get(urn) or urn
        return {key: _value_to_python(item, ids_by_urn) for key, item in fields.items()}
    if kind == "list_value":
        return [_value_to_python(item, ids_by_urn) for item in value.list_value.values]
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if number != number or number in (_INFINITY, -_INFINITY):
            raise ValueError("Fail to serialize a non-finite number_value (protobuf's JSON mapping has none)")
        return number
    return None  # null_value, or no value set


_INFINITY = float("inf")


def provider_inputs(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A registration's inputs as the engine hands them to a provider that takes no resource references: each
    reference is the resource's id (unknown while the resource is new) or, for a component, its URN; secrets are
    unwrapped, as the SDK's mock runtime gives the fake provider every other input."""
    return unwrap_secrets({key: _provider_value(value) for key, value in struct.fields.items()})


def _provider_value(value: Any) -> Any:
    if value.WhichOneof("kind") == "struct_value":
        fields = value.struct_value.fields
        signature = fields.get(SECRET_SIG_KEY)
        if signature is not None and signature.string_value == RESOURCE_REF_SIG:
            if "id" not in fields:
                return fields["urn"].string_value if "urn" in fields else None
            return fields["id"].string_value or UNKNOWN
        return {key: _provider_value(item) for key, item in fields.items()}
    if value.WhichOneof("kind") == "list_value":
        return [_provider_value(item) for item in value.list_value.values]
    return _value_to_python(value, {})
