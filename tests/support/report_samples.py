"""A report as an auditor meets it, built from diagnostics in the shape the pack sends them: two stacks, a rule
failing on several properties of one resource, mandatory and advisory violations, an undeterminable finding, a
waiver, a stack-level finding, and names and messages that are HTML and markup."""

from __future__ import annotations

from dataclasses import replace

from rampart.engine.analyzer import Diagnostic, PackInfo, PolicyMetadata
from rampart.reports.model import CheckReport, SourceLocation, StackResult, classify

HOSTILE_NAME = 'db"><img src=x onerror="document.title=\'injected\'"><script>document.title="pwned"</script>'
DB = f"urn:pulumi:{{stack}}::shop::aws:rds/instance:Instance::{HOSTILE_NAME}"
TASK = "urn:pulumi:{stack}::shop::aws:ecs/taskDefinition:TaskDefinition::worker"
ROLE_POLICY = "urn:pulumi:{stack}::shop::aws:iam/rolePolicy:RolePolicy::reader"

POLICIES = {
    "rds-not-public": ("mandatory", "critical", "RDS.2", "Database not publicly accessible"),
    "rds-snapshot-hygiene": ("mandatory", "high", "RDS.7", "Final snapshot and backups kept"),
    "rds-multi-az": ("mandatory", "medium", "RDS.5", "Multi-AZ"),
    "secrets-in-environment": ("advisory", "high", "ECS.8", "No secrets in task environment"),
    "rds-iam-auth": ("advisory", "low", "RDS.10", "IAM authentication"),
    "rds-logging": ("advisory", "medium", "RDS.9", "Database logs exported"),
    "iam-no-admin": ("mandatory", "critical", "IAM.1", "No admin grants"),
    "recovery-objectives": ("mandatory", "medium", "", "Recovery objectives met"),
}


def pack() -> PackInfo:
    return PackInfo("rampart-guardrails", "1.2.3", {
        name: PolicyMetadata(
            name=name, description=description, enforcement=enforcement, severity=severity,
            framework_name="AWS Foundational Security Best Practices" if control else "", framework_reference=control,
            remediation=f"Fix {name}.", url=f"https://example.com/rules/{name}", tags=(), config_schema={},
        )
        for name, (enforcement, severity, control, description) in POLICIES.items()
    })


def _diagnostic(policy: str, message: str, urn: str, enforcement: str | None = None) -> Diagnostic:
    meta = POLICIES.get(policy, ("advisory", "low", "", ""))
    return Diagnostic(policy=policy, message=f"{meta[3]}\n{message}" if meta[3] else message,
                      enforcement=enforcement or meta[0], severity=meta[1], urn=urn)


def production_diagnostics() -> list[Diagnostic]:
    db, task, role_policy = (u.format(stack="production") for u in (DB, TASK, ROLE_POLICY))
    return [
        _diagnostic("rds-not-public", "publiclyAccessible is true; expected false", db),
        _diagnostic("rds-snapshot-hygiene", "skipFinalSnapshot is true; expected false", db),
        _diagnostic("rds-snapshot-hygiene", "finalSnapshotIdentifier is not set; expected a unique identifier", db),
        _diagnostic("rds-snapshot-hygiene", "copyTagsToSnapshot is not set; expected true", db),
        _diagnostic("rds-snapshot-hygiene", "skipFinalSnapshot is true; expected false", db),  # AnalyzeStack again
        _diagnostic("secrets-in-environment", "container 'worker' environment DB_PASSWORD looks like a credential "
                    "[bold]<b>", task),
        _diagnostic("rds-iam-auth", "iamDatabaseAuthenticationEnabled is not set; expected true", db),
        _diagnostic("rds-logging", "enabledCloudwatchLogsExports is empty", db),
        _diagnostic("iam-no-admin", "can't run policy 'iam-no-admin' from policy pack 'rampart-guardrails' during "
                    "preview: string value at .policy can't be known during preview", role_policy, "advisory"),
        _diagnostic("waived-findings", "rds-multi-az: multiAz is not set; expected true [waived: Reporting replica, "
                    "single AZ accepted <until> the move | approved by head-of-platform | expires 2099-12-31]", db),
        _diagnostic("recovery-objectives", "RPO worst case 60 min exceeds the target 15 min", ""),
    ]


def staging_diagnostics() -> list[Diagnostic]:
    db = DB.format(stack="staging")
    return [
        _diagnostic("rds-not-public", "publiclyAccessible is true; expected false", db, "advisory"),
        _diagnostic("rds-iam-auth", "iamDatabaseAuthenticationEnabled is not set; expected true", db),
    ]


def sample_report() -> CheckReport:
    info = pack()
    stacks = []
    for stack, diagnostics, levels in (
        ("production", production_diagnostics(), {"iam-no-admin": "mandatory"}),
        ("staging", staging_diagnostics(), {"rds-not-public": "advisory"}),
    ):
        result = StackResult(stack=stack, project="shop", stack_file=f"Pulumi.{stack}.yaml",
                             policy_config_note=f"Pack config: policies/config/{stack}.json")
        located = SourceLocation("infra/database.py", 42)
        result.findings = [replace(f, source=located) if ":rds/" in f.urn else f
                           for f in classify(diagnostics, info, levels)]
        stacks.append(result)
    return CheckReport(pack=info, stacks=stacks, source_root="/repo", program_path="")
