"""SARIF 2.1.0 for GitHub code scanning: rules carry their metadata, results their stack and resource.

Code scanning needs a physical location for every result; a resource has none in the repository, so results
point at the stack file (the config that produced the resource) and name the resource as a logical location.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rampart.reports.model import CheckReport, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL_BY_SEVERITY = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning reads `security-severity` (0.0-10.0) to rank alerts.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "unspecified": "1.0"}


def level(finding: Finding) -> str:
    if finding.state != "violation":
        return "note"
    severity_level = _LEVEL_BY_SEVERITY.get(finding.severity, "warning")
    if finding.enforcement == "advisory" and severity_level == "error":
        return "warning"
    return severity_level


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
                    "security-severity": _SECURITY_SEVERITY.get(meta.severity, "1.0"),
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


def render(report: CheckReport) -> str:
    rules = _rules(report)
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    results = []
    for stack in report.stacks:
        for finding in stack.findings:
            result: dict[str, Any] = {
                "ruleId": finding.policy,
                "level": level(finding),
                "message": {
                    "text": f"[{stack.stack}] {finding.resource_type} '{finding.resource_name}': {finding.message}"
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": stack.stack_file},
                            "region": {"startLine": 1},
                        },
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
                    "framework": finding.framework,
                    "control": finding.control,
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
            results.append(result)
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
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
