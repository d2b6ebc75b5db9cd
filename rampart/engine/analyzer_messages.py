"""The Analyzer protocol's messages as Rampart reads and writes them: what a pack says about itself (PackInfo,
PolicyMetadata), what it reports (Diagnostic), and the requests built from a recorded registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from rampart.engine.pack_info import Diagnostic
from rampart.engine.recorder import Registration

_ENFORCEMENT_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
_ENFORCEMENT_VALUES = {name: value for value, name in _ENFORCEMENT_NAMES.items()}
_SEVERITY_NAMES = {0: "unspecified", 1: "low", 2: "medium", 3: "high", 4: "critical"}


def _analyze_request(registration: Registration) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type=registration.type,
        properties=_to_struct(registration.inputs),
        urn=registration.urn,
        name=registration.name,
        options=_options(registration),
    )


def _analyzer_resource(registration: Registration) -> analyzer_pb2.AnalyzerResource:
    """The registration as AnalyzeStack receives it."""
    return analyzer_pb2.AnalyzerResource(**_resource_fields(registration, _analyze_request(registration)))


def _resource_fields(registration: Registration, request: analyzer_pb2.AnalyzeRequest) -> dict[str, Any]:
    """An AnalyzerResource's fields, given the registration's own Analyze request: its properties and options are
    copied from the request (a copy in C) instead of converted from Python values again."""
    return {
        "type": registration.type,
        "properties": request.properties,
        "urn": registration.urn,
        "name": registration.name,
        "options": request.options,
        "parent": registration.parent,
        "dependencies": list(registration.dependencies),
        "propertyDependencies": {
            k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
            for k, v in registration.property_dependencies.items()
        },
    }


def _to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


def _options(registration: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=registration.protect,
        ignoreChanges=list(registration.ignore_changes),
        deleteBeforeReplace=registration.delete_before_replace,
        deleteBeforeReplaceDefined=registration.delete_before_replace,
        additionalSecretOutputs=list(registration.additional_secret_outputs),
        aliases=list(registration.aliases),
        parent=registration.parent,
    )


def _diagnostic(d: analyzer_pb2.AnalyzeDiagnostic, analyzed_urn: str) -> Diagnostic:
    return Diagnostic(
        policy=d.policyName,
        message=d.message,
        enforcement=_ENFORCEMENT_NAMES.get(d.enforcementLevel, "advisory"),
        severity=_SEVERITY_NAMES.get(d.severity, "unspecified"),
        urn=d.urn or analyzed_urn,
        analyzed_urn=analyzed_urn,
    )
