"""Machine-readable report: per stack, resources (secrets redacted) and findings with their rule metadata."""

from __future__ import annotations

import dataclasses
import json
from json.encoder import encode_basestring_ascii
from typing import Any

from rampart.reports.model import CheckReport, Finding, SourceLocation, StackResult

SCHEMA_VERSION = 1


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "policy": finding.policy,
        "urn": finding.urn,
        "resourceType": finding.resource_type,
        "resourceName": finding.resource_name,
        "message": finding.message,
        "details": list(finding.failures),
        "enforcement": finding.enforcement,
        "severity": finding.severity,
        "state": finding.state,
        "blocking": finding.blocking,
        "framework": finding.framework,
        "control": finding.control,
        "remediation": finding.remediation,
        "url": finding.url,
        "waiver": dataclasses.asdict(finding.waiver) if finding.waiver else None,
        "source": _source(finding.source),
    }


def _source(source: SourceLocation | None) -> dict[str, Any] | None:
    """The declaring file (relative to the repository root, else the program directory) and line."""
    return {"file": source.file, "line": source.line} if source else None


def _stack(result: StackResult) -> dict[str, Any]:
    return {
        "stack": result.stack,
        "project": result.project,
        "stackFile": result.stack_file,
        "policyConfig": result.policy_config_file or None,
        "mode": result.mode,
        "stackConfigNote": result.stack_config_note,
        "policyConfigNote": result.policy_config_note,
        "cacheNote": result.cache_note or None,
        "notCheckedInside": [dataclasses.asdict(o) for o in result.not_checked_inside],
        "error": result.error,
        "summary": {
            "resources": len(result.resources),
            "mandatoryViolations": result.count("violation", "mandatory"),
            "advisoryViolations": result.count("violation", "advisory"),
            "waived": result.count("waived"),
            "undeterminable": result.count("undeterminable"),
            "notCheckedInside": len(result.not_checked_inside),
        },
        "recovery": dataclasses.asdict(result.recovery),
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "protect": r.protect,
                "ignore_changes": list(r.ignore_changes),
                "inputs": r.inputs,
                "source": _source(r.source),
            }
            for r in result.resources
        ],
        "violations": [_finding(f) for f in result.findings],
        "outputs": result.outputs,
    }


def document(report: CheckReport) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "pack": {"name": report.pack.name, "version": report.pack.version} if report.pack else None,
        "exitCode": report.exit_code,
        "stacks": [_stack(s) for s in report.stacks],
    }


def render(report: CheckReport) -> str:
    return dumps(document(report)) + "\n"


class _Unsupported(Exception):
    """A value the walk below does not write exactly as json does: json.dumps writes (or refuses) it instead."""


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FLOATS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def dumps(value: Any) -> str:
    """json.dumps(value, indent=2) byte for byte. With an indent json falls back to its pure-Python encoder
    (~0.13 s for a 3 MB report at 50 services); this walk writes the same text in about a third of the time,
    strings escaped by json's C escaper. Anything but exact JSON types and string keys, or a cycle, goes to
    json.dumps itself, which then writes or refuses it as it always did."""
    parts: list[str] = []
    try:
        _write(value, "", parts)
    except (_Unsupported, RecursionError):
        return json.dumps(value, indent=2)
    return "".join(parts)


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        text = float.__repr__(value)
        return _FLOATS.get(text, text)
    raise _Unsupported


def _write(value: Any, indent: str, parts: list[str]) -> None:
    kind = type(value)
    if kind is dict:
        items = value.items()
        opening, closing = "{", "}"
    elif kind is list or kind is tuple:
        items = value
        opening, closing = "[", "]"
    else:
        parts.append(_scalar(value))
        return
    if not value:
        parts.append(opening + closing)
        return
    inner = indent + "  "
    separator = opening + "\n" + inner
    for entry in items:
        parts.append(separator)
        if kind is dict:
            key, entry = entry
            if type(key) is not str:
                raise _Unsupported
            parts.append(encode_basestring_ascii(key) + ": ")
        if type(entry) in _SCALARS:
            parts.append(_scalar(entry))
        else:
            _write(entry, inner, parts)
        separator = ",\n" + inner
    parts.append("\n" + indent + closing)
