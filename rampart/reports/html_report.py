"""One self-contained page an auditor opens from disk: every finding of every stack, filterable by stack, state,
severity and rule, with waivers (reason, approver, expiry) shown.

Nothing is fetched: the CSS and the filter script are inline, and the page's Content-Security-Policy allows only
those two blocks (by hash), so even a name that slipped past escaping could neither run a script nor load
anything. Every value from the program (resource names, messages, waiver text) is HTML-escaped; the rows carry
their filter keys as escaped data attributes, never as script text. Resource inputs are not shown at all: the
findings say what is wrong without quoting values, so no secret can reach the page.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from rampart.reports.markdown import LEGEND, recovery_line, recovery_path_lines, state_icon
from rampart.reports.model import CheckReport, Finding, StackResult

FILTERS = (("stack", "Stack"), ("state", "State"), ("severity", "Severity"), ("rule", "Rule"))
SEVERITY_ORDER = ("critical", "high", "medium", "low")
STATE_ORDER = ("violation", "undeterminable", "waived")

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.2rem 0 .3rem}
.verdict-0{color:#116329}.verdict-1,.verdict-2{color:#a40e26}
.stack ul{margin:.2rem 0 .6rem 1.2rem;padding:0}.error{white-space:pre-wrap;background:#fff0f0;padding:.5rem}
form{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0;padding:.6rem;background:#f3f5f8;border-radius:6px}
label{display:flex;flex-direction:column;font-weight:600;font-size:.85rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.35rem .5rem;vertical-align:top}
th{background:#f6f8fa;text-align:left;position:sticky;top:0}td ul{margin:0;padding-left:1.1rem}
tr.violation.mandatory td:first-child{border-left:4px solid #cf222e}
tr.violation.advisory td:first-child{border-left:4px solid #bf8700}
tr.undeterminable td:first-child{border-left:4px solid #0969da}tr.waived td:first-child{border-left:4px solid #8c959f}
.muted{color:#57606a;font-size:.85rem}code{font-size:.85rem}
"""

SCRIPT = """
(function(){
  var form=document.getElementById('filters');
  var rows=Array.prototype.slice.call(document.querySelectorAll('#findings tbody tr'));
  var count=document.getElementById('shown');
  function apply(){
    var wanted={};
    Array.prototype.forEach.call(form.elements,function(e){if(e.name){wanted[e.name]=e.value;}});
    var shown=0;
    rows.forEach(function(row){
      var visible=Object.keys(wanted).every(function(k){return !wanted[k]||row.dataset[k]===wanted[k];});
      row.hidden=!visible; if(visible){shown+=1;}
    });
    count.textContent=String(shown);
  }
  form.addEventListener('change',apply);
  form.addEventListener('reset',function(){setTimeout(apply,0);});
  apply();
})();
"""


def _csp_hash(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
                           "img-src 'none'; form-action 'none'; base-uri 'none'")


def _select(name: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return (f'<label>{escape(label)}<select name="{name}" data-filter="{name}">'
            f'<option value="">all</option>{options}</select></label>')


def _ordered(values: set[str], order: tuple[str, ...]) -> list[str]:
    return [v for v in order if v in values] + sorted(values - set(order))


def _filters(report: CheckReport) -> str:
    findings = [f for s in report.stacks for f in s.findings]
    values = {
        "stack": [s.stack for s in report.stacks],
        "state": _ordered({f.state for f in findings}, STATE_ORDER),
        "severity": _ordered({f.severity for f in findings}, SEVERITY_ORDER),
        "rule": sorted({f.policy for f in findings}),
    }
    selects = "".join(_select(name, label, values[name]) for name, label in FILTERS)
    return (f'<form id="filters">{selects}<label>&nbsp;<button type="reset">Show all</button></label>'
            f'<p class="muted">Showing <span id="shown">0</span> of {len(findings)} findings.</p></form>')


def _waiver(finding: Finding) -> str:
    if not finding.waiver:
        return ""
    waiver = finding.waiver
    return (f'<div class="waiver">{escape(waiver.reason)}<br><span class="muted">approved by '
            f'{escape(waiver.approved_by)}, expires <time>{escape(waiver.expires)}</time></span></div>')


def _row(stack: StackResult, finding: Finding) -> str:
    data = {"stack": stack.stack, "state": finding.state, "severity": finding.severity, "rule": finding.policy}
    attributes = " ".join(f'data-{key}="{escape(value)}"' for key, value in data.items())
    failures = "".join(f"<li>{escape(failure)}</li>" for failure in finding.failures)
    declared = (f'<br><span class="muted">{escape(finding.source.file)}:{finding.source.line}</span>'
                if finding.source else "")
    control = escape(f"{finding.framework} {finding.control}".strip())
    rule = escape(finding.policy)
    if finding.url.startswith(("https://", "http://")):  # never a javascript: or data: link
        rule = f'<a href="{escape(finding.url)}" rel="noreferrer">{rule}</a>'
    return (
        f'<tr class="{escape(finding.state)} {escape(finding.enforcement)}" {attributes}>'
        f"<td>{escape(stack.stack)}</td><td>{state_icon(finding)} {escape(finding.state)}</td>"
        f"<td>{escape(finding.enforcement)}</td><td>{escape(finding.severity)}</td><td>{rule}</td>"
        f"<td>{control}</td><td>{escape(finding.resource_name)}<br><span class=\"muted\">"
        f"{escape(finding.resource_type)}</span>{declared}</td><td><ul>{failures}</ul></td>"
        f"<td>{_waiver(finding)}</td></tr>"
    )


def _stack_summary(result: StackResult) -> str:
    title = f"<h2>{escape(result.project)} / {escape(result.stack)}</h2>"
    if result.error:
        return f'<section class="stack">{title}<pre class="error">{escape(result.error)}</pre></section>'
    verdict = "blocked" if result.blocking else "passes"
    counts = (f"{verdict}: {len(result.resources)} resources, {result.count('violation', 'mandatory')} mandatory "
              f"and {result.count('violation', 'advisory')} advisory violations, {result.count('waived')} waived, "
              f"{result.count('undeterminable')} undeterminable")
    lines = [*result.context_lines()]
    recovery = recovery_line(result.recovery)
    if recovery:
        lines.append(f"Recovery: {recovery}")
    lines += [line.strip() for line in recovery_path_lines(result.recovery)]
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<section class="stack">{title}<p>{escape(counts)}.</p><ul>{items}</ul></section>'


def render(report: CheckReport) -> str:
    pack = f"{report.pack.name} {report.pack.version}" if report.pack else "policy pack"
    verdict = {0: "no mandatory violations", 1: "mandatory violations", 2: "errors"}[report.exit_code]
    rows = "".join(_row(stack, finding) for stack in report.stacks for finding in stack.findings)
    header = "".join(f"<th>{name}</th>" for name in
                     ("stack", "state", "enforcement", "severity", "rule", "control", "resource",
                      "failing properties", "waiver"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rampart check: {escape(verdict)}</title><style>{STYLE}</style></head>
<body><h1 class="verdict-{report.exit_code}">rampart check: {escape(verdict)}</h1>
<p class="muted">Policy pack: {escape(pack)}. {escape(LEGEND)}</p>
{"".join(_stack_summary(s) for s in report.stacks)}
{_filters(report)}
<table id="findings"><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>
<script>{SCRIPT}</script></body></html>
"""
