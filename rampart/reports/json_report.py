"""Machine-readable report: per stack, resources (secrets redacted) and findings with their rule metadata."""

from __future__ import annotations

import dataclasses
import json
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


def render(report: CheckReport) -> str:
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "pack": {"name": report.pack.name, "version": report.pack.version} if report.pack else None,
        "exitCode": report.exit_code,
        "stacks": [_stack(s) for s in report.stacks],
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
