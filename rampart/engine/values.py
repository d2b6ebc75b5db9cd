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
    """Struct -> JSON-like dict. Resource references become the referenced id (custom) or URN, as the engine
    marshals them for analyzers; secrets keep their signature so nothing downstream unwraps by accident."""
    from google.protobuf import json_format  # here: the rest of this module is for readers without protobuf loaded

    return _replace_resource_references(json_format.MessageToDict(struct), ids_by_urn)


def _replace_resource_references(value: Any, ids_by_urn: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == RESOURCE_REF_SIG:
            urn = value.get("urn", "")
            return value.get("id") or ids_by_urn.get(urn) or urn
        return {k: _replace_resource_references(v, ids_by_urn) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_resource_references(v, ids_by_urn) for v in value]
    return value
