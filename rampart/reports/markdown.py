"""A report that fits a pull-request comment or a job summary."""

from __future__ import annotations

import html

from rampart.reports.model import CheckReport, Finding, Recovery, StackResult

# A reader scanning a PR comment tells a blocking row from an advisory one, and both from rows that do not count
# against the gate, by the icon alone.
STATE_ICONS = {
    ("violation", "mandatory"): "🛑",
    ("violation", "advisory"): "⚠️",
    ("undeterminable", None): "❔",
    ("waived", None): "⏸️",
}
ENFORCEMENT_ICONS = {"mandatory": "🔒", "advisory": "💬"}
LEGEND = ("🛑 mandatory violation (blocks) · ⚠️ advisory violation · ❔ undeterminable until apply · ⏸️ waived · "
          "🔒 mandatory rule · 💬 advisory rule")


def state_icon(finding: Finding) -> str:
    if finding.state == "violation":
        return STATE_ICONS[("violation", "mandatory" if finding.enforcement == "mandatory" else "advisory")]
    return STATE_ICONS[(finding.state, None)]


def _cell(text: str) -> str:
    """Table-cell text: the program's names and values are escaped so they render as text, not as HTML."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


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


def recovery_path_lines(recovery: Recovery) -> list[str]:
    """One line per recovery path: target, worst case and what it rests on."""
    lines = []
    for p in recovery.paths:
        worst = f"{p.worst_case_minutes:g} min" if p.worst_case_minutes is not None else "unbounded"
        target = f"{p.target_minutes:g} min" if p.target_minutes is not None else "none"
        verdict = {True: "met", False: "MISSED", None: "no target"}[p.met]
        lines.append(f"  {p.path} {p.objective}: target {target}, worst case {worst} ({p.basis}): {verdict}")
    return lines


def _finding_row(finding: Finding) -> str:
    control = f"{finding.framework} {finding.control}".strip()
    failures = [_cell(failure) for failure in finding.failures]
    note = failures[0] if len(failures) == 1 else "<br>".join(f"• {failure}" for failure in failures)
    if finding.waiver:
        waiver = finding.waiver
        note += _cell(f" — waived: {waiver.reason} (approved by {waiver.approved_by}, expires {waiver.expires})")
    declared = f" at {_cell(finding.source.file)}:{finding.source.line}" if finding.source else ""
    enforcement = f"{ENFORCEMENT_ICONS.get(finding.enforcement, '')} {finding.enforcement}".strip()
    return (
        f"| {state_icon(finding)} {finding.state} | `{finding.policy}` | {enforcement} | {finding.severity} "
        f"| {_cell(control)} | {_cell(finding.resource_name)} ({_cell(finding.resource_type)}){declared} "
        f"| {note} |"
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
            LEGEND,
            "",
            "| state | rule | enforcement | severity | control | resource | failing properties |",
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
