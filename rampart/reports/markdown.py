"""A report that fits a pull-request comment or a job summary."""

from __future__ import annotations

from rampart.reports.model import CheckReport, Finding, Recovery, StackResult

_ICON = {"violation": "❌", "waived": "⏸️", "undeterminable": "❔"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def recovery_line(recovery: Recovery) -> str:
    parts = []
    if recovery.rto_minutes is not None:
        worst = "unknown"
        if recovery.worst_case_rollback_minutes is not None:
            worst = (f"{recovery.worst_case_rollback_minutes:g} min "
                     f"(detect {recovery.worst_case_detection_seconds:g} s + reroute)")
        parts.append(f"RTO target {recovery.rto_minutes:g} min, worst case {worst}")
    if recovery.rpo_minutes is not None:
        worst = f"{recovery.worst_case_rpo_minutes:g} min" if recovery.worst_case_rpo_minutes is not None else "unknown"
        parts.append(f"RPO target {recovery.rpo_minutes:g} min, worst case {worst}")
    if recovery.worst_case_deploy_seconds is not None and recovery.worst_case_deploy_with_bake_seconds is not None:
        parts.append(f"deploy worst case {recovery.worst_case_deploy_seconds / 60:g} min until shifted, "
                     f"{recovery.worst_case_deploy_with_bake_seconds / 60:g} min with the bake")
    if recovery.worst_case_manual_rollback_seconds is not None:
        parts.append(f"manual rollback {recovery.worst_case_manual_rollback_seconds / 60:g} min after its one "
                     "approval (no wait timer)")
    return "; ".join(parts)


def _finding_row(finding: Finding) -> str:
    control = f"{finding.framework} {finding.control}".strip()
    note = finding.message
    if finding.waiver:
        waiver = finding.waiver
        note += f" — waived: {waiver.reason} (approved by {waiver.approved_by}, expires {waiver.expires})"
    declared = f" at `{_cell(finding.source.file)}:{finding.source.line}`" if finding.source else ""
    return (
        f"| {_ICON[finding.state]} {finding.state} | `{finding.policy}` | {finding.enforcement} | {finding.severity} "
        f"| {_cell(control)} | `{_cell(finding.resource_name)}` ({_cell(finding.resource_type)}){declared} "
        f"| {_cell(note)} |"
    )


def _stack(result: StackResult) -> list[str]:
    lines = [f"### Stack `{result.stack}`", ""]
    if result.error:
        return [*lines, "**Error:**", "", "```", result.error, "```", ""]
    status = "❌ blocked" if result.blocking else "✅ passes"
    lines += [
        f"{status}: {len(result.resources)} resources, "
        f"{result.count('violation', 'mandatory')} mandatory and {result.count('violation', 'advisory')} advisory "
        f"violations, {result.count('waived')} waived, {result.count('undeterminable')} undeterminable.",
        "",
    ]
    lines += [*(f"- {_cell(line)}" for line in result.context_lines()), ""]
    recovery = recovery_line(result.recovery)
    if recovery:
        lines += [f"Recovery: {recovery}.", ""]
    if result.findings:
        lines += [
            "| state | rule | enforcement | severity | control | resource | message |",
            "|---|---|---|---|---|---|---|",
            *(_finding_row(f) for f in result.findings),
            "",
        ]
    return lines


def render(report: CheckReport) -> str:
    pack = f"{report.pack.name} {report.pack.version}" if report.pack else "policy pack"
    verdict = {0: "✅ no mandatory violations", 1: "❌ mandatory violations", 2: "⚠️ errors"}[report.exit_code]
    lines = [f"## rampart check — {verdict}", "", f"Policy pack: {pack}.", ""]
    for result in report.stacks:
        lines += _stack(result)
    return "\n".join(lines).rstrip() + "\n"
