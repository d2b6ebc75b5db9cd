"""SARIF 2.1.0 for GitHub code scanning: rules carry their metadata, results their stack and resource.

Code scanning needs a physical location for every result: the file and line that declared the resource (the SDK's
source position; for a resource inside a component, the component's line that declared it), relative to the
repository root (`%SRCROOT%`, else the program directory), as code scanning resolves it against its checkout. A
finding with no declaring line (a stack-level one) points at the stack file. The resource is the logical location.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rampart.reports.model import CheckReport, Finding, StackResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning reads `security-severity` (0.0-10.0) to rank alerts: over 9.0 critical, 7.0-8.9 high,
# 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
UNRANKED_SECURITY_SEVERITY = "1.0"
_LEVEL_BY_ENFORCEMENT = {"mandatory": "error", "advisory": "warning"}


def security_severity(severity: str) -> str:
    return SECURITY_SEVERITY.get(severity, UNRANKED_SECURITY_SEVERITY)


def kind(finding: Finding) -> str:
    """SARIF 2.1.0 §3.27.9: `open` is a result the tool could not judge pass or fail, an undeterminable finding;
    a violation, waived or not, is `fail` (a waiver is a suppression, not a different outcome)."""
    return "open" if finding.state == "undeterminable" else "fail"


def level(finding: Finding) -> str:
    """From enforcement, not severity: a finding that blocks the gate is an `error`, whatever its severity.
    SARIF 2.1.0 §3.27.10: a result whose kind is not `fail` SHALL have level `none`."""
    if kind(finding) != "fail":
        return "none"
    return _LEVEL_BY_ENFORCEMENT.get(finding.enforcement, "warning")


def _rules(report: CheckReport) -> list[dict[str, Any]]:
    rules = []
    for meta in (report.pack.policies.values() if report.pack else ()):
        rules.append(
            {
                "id": meta.name,
                "name": "".join(part.capitalize() for part in meta.name.split("-")),
                "shortDescription": {"text": meta.description},
                "fullDescription": {"text": meta.description},
                "help": {
                    "text": meta.remediation or meta.description,
                    "markdown": f"**Remediation:** {meta.remediation or meta.description}"
                    + (f"\n\n[Reference]({meta.url})" if meta.url else ""),
                },
                **({"helpUri": meta.url} if meta.url else {}),
                "defaultConfiguration": {
                    "level": "error" if meta.enforcement == "mandatory" else "warning"
                },
                "properties": {
                    "tags": ["security", "infrastructure", *meta.tags],
                    "security-severity": security_severity(meta.severity),
                    "precision": "high",
                    "severity": meta.severity,
                    "enforcement": meta.enforcement,
                    "framework": meta.framework_name,
                    "control": meta.framework_reference,
                },
            }
        )
    return rules


def _fingerprint(stack: str, finding: Finding) -> str:
    return hashlib.sha256(f"{stack}|{finding.policy}|{finding.urn}".encode()).hexdigest()


SOURCE_ROOT = "%SRCROOT%"


def _physical_location(report: CheckReport, stack: StackResult, finding: Finding) -> dict[str, Any]:
    if finding.source:
        uri, line = finding.source.file, finding.source.line
    else:
        uri, line = posixpath.join(report.program_path, stack.stack_file), 1
    location: dict[str, Any] = {"uri": quote(uri)}  # a URI reference, not a path: spaces and `%` are escaped
    if report.source_root:
        location["uriBaseId"] = SOURCE_ROOT
    return {"artifactLocation": location, "region": {"startLine": max(1, line)}}


def _message(stack: StackResult, finding: Finding) -> str:
    subject = f"[{stack.stack}] {finding.resource_type} '{finding.resource_name}'"
    if len(finding.failures) == 1:
        return f"{subject}: {finding.message}"
    return f"{subject}: {len(finding.failures)} failing properties: {finding.message}"


STACK_ERROR_RULE = "rampart-stack-not-checked"


def _stack_error(report: CheckReport, stack: StackResult) -> dict[str, Any]:
    """A stack that could not be checked (bad stack file, failing program) is a result too: code scanning must not
    read its absence as a clean stack."""
    uri = posixpath.join(report.program_path, stack.stack_file or f"Pulumi.{stack.stack}.yaml")
    location: dict[str, Any] = {"uri": quote(uri)}
    if report.source_root:
        location["uriBaseId"] = SOURCE_ROOT
    return {
        "ruleId": STACK_ERROR_RULE,
        "level": "error",
        "message": {"text": f"[{stack.stack}] not checked: {stack.error}"},
        "locations": [{"physicalLocation": {"artifactLocation": location, "region": {"startLine": 1}}}],
        "properties": {"stack": stack.stack, "state": "error"},
    }


def _stack_properties(stack: StackResult) -> dict[str, Any]:
    return {
        "mode": stack.mode,
        "stackConfig": stack.stack_config_note,
        "packConfig": stack.policy_config_note,
        "cache": stack.cache_note or None,
        "notCheckedInside": [{"urn": o.urn, "type": o.type, "name": o.name, "kind": o.kind}
                             for o in stack.not_checked_inside],
        "undeterminable": stack.count("undeterminable"),
    }


def _result(report: CheckReport, stack: StackResult, finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.policy,
        "kind": kind(finding),
        "level": level(finding),
        "message": {"text": _message(stack, finding)},
        "locations": [
            {
                "physicalLocation": _physical_location(report, stack, finding),
                "logicalLocations": [
                    {"fullyQualifiedName": finding.urn or f"stack:{stack.stack}", "kind": "resource"}
                ],
            }
        ],
        "partialFingerprints": {"rampartFinding/v1": _fingerprint(stack.stack, finding)},
        "properties": {
            "stack": stack.stack,
            "state": finding.state,
            "enforcement": finding.enforcement,
            "severity": finding.severity,
            "security-severity": security_severity(finding.severity),
            "framework": finding.framework,
            "control": finding.control,
            "failures": list(finding.failures),
        },
    }
    if finding.policy in rule_index:
        result["ruleIndex"] = rule_index[finding.policy]
    if finding.waiver:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{finding.waiver.reason} (approved by {finding.waiver.approved_by}, "
                f"expires {finding.waiver.expires})",
            }
        ]
    return result


def render(report: CheckReport) -> str:
    rules = _rules(report)
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    results = [_result(report, stack, finding, rule_index) for stack in report.stacks for finding in stack.findings]
    results.extend(_stack_error(report, stack) for stack in report.stacks if stack.error)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rampart",
                        "informationUri": "https://github.com/example-org/rampart",
                        "semanticVersion": report.pack.version if report.pack else "0.0.0",
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": "rampart-check/" + ",".join(s.stack for s in report.stacks)},
                **({"originalUriBaseIds": {SOURCE_ROOT: {"uri": Path(report.source_root).as_uri() + "/"}}}
                   if report.source_root else {}),
                "results": results,
                # What each stack's findings rest on: preview mode, configs, what could not be seen into.
                "properties": {"stacks": {s.stack: _stack_properties(s) for s in report.stacks}},
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
