"""GitHub repository rules: the repository is private or internal with vulnerability alerts, secret scanning and
push protection on; a stack that manages a repository's rules manages those settings too; and the workflow files
the stack writes into it use read-only tokens, OIDC only in environment-gated jobs and SHA-pinned actions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.github_branches import REPO_RULESET
from guardrails.iam_documents import strings
from guardrails.rule import Context, Finding, Framework, Resource, Rule, shown
from guardrails.shapes import first_block

REPOSITORY = "github:index/repository:Repository"
REPOSITORY_FILE = "github:index/repositoryFile:RepositoryFile"


def _status(block: Any, name: str) -> Any:
    return first_block(first_block(block).get(name)).get("status")


def check_repo_security_settings(resource: Resource, context: Context) -> Iterator[str]:
    visibility = resource.get("visibility")
    if visibility is None and resource.get("private") is True:
        visibility = "private"
    if visibility not in ("private", "internal"):
        yield f"visibility is {visibility or 'not set (public)'}, expected private or internal"
    if resource.get("vulnerabilityAlerts") is not True:
        yield "vulnerabilityAlerts is not true; expected Dependabot alerts on"
    analysis = resource.get("securityAndAnalysis")
    for name in ("secretScanning", "secretScanningPushProtection"):
        status = _status(analysis, name)
        if status != "enabled":
            yield f"securityAndAnalysis.{name}.status is {shown(status, quoted=False)}, expected enabled"


def check_repo_security_managed(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    declared = {r.get("name") for r in resources if r.type == REPOSITORY}
    for ruleset in resources:
        if ruleset.type != REPO_RULESET:
            continue
        name = ruleset.get("repository")
        # A ruleset's repository unknown at preview names nothing to look for: judged at `up`.
        if isinstance(name, str) and name not in declared:
            yield Finding(
                f"the stack manages repository {name!r}'s rules but not its security settings: no github.Repository "
                f"{name!r} turns on secret scanning and push protection",
                ruleset.urn,
            )


# --- workflow files -----------------------------------------------------------------------------------------------

_WORKFLOW_PATH = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
_PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
_READ_ONLY = {"read", "none"}


def _read_only(permissions: Any) -> bool:
    """Read-only apart from id-token, which has its own finding."""
    if permissions in ("read-all", {}):
        return True
    return isinstance(permissions, Mapping) and all(
        str(v) in _READ_ONLY for k, v in permissions.items() if k != "id-token"
    )


def _triggers(workflow: Mapping[Any, Any]) -> list[str]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, Mapping):
        return [str(k) for k in on]
    return strings(on)


def _uses_pinned(uses: str) -> bool:
    return uses.startswith("./") or (uses.startswith("docker://") and "@sha256:" in uses) or bool(_PINNED.match(uses))


def workflow_findings(path: str, workflow: Mapping[Any, Any]) -> Iterator[str]:
    if not _read_only(workflow.get("permissions")):
        yield f"{path}: top-level permissions are not read-only; expected permissions: contents: read"
    target = "pull_request_target" in _triggers(workflow)
    jobs = workflow.get("jobs") if isinstance(workflow.get("jobs"), Mapping) else {}
    for job_id, job in jobs.items():
        if not isinstance(job, Mapping):
            continue
        permissions = job.get("permissions")
        id_token = isinstance(permissions, Mapping) and permissions.get("id-token") == "write"
        if id_token and not job.get("environment"):
            yield f"{path}: job {job_id} gets id-token: write without an environment; expected an environment on " \
                "every job that assumes a cloud role"
        uses_list = [str(job["uses"])] if job.get("uses") else []
        steps = job.get("steps") if isinstance(job.get("steps"), list) else []
        uses_list += [str(s["uses"]) for s in steps if isinstance(s, Mapping) and s.get("uses")]
        for uses in uses_list:
            if not _uses_pinned(uses):
                yield f"{path}: job {job_id} uses {uses}, expected a full commit SHA pin"
        if target and any(u.split("@")[0] == "actions/checkout" for u in uses_list):
            yield f"{path}: job {job_id} checks out code in a pull_request_target workflow, which runs untrusted " \
                "code with secrets; expected pull_request"
    top = workflow.get("permissions")
    if isinstance(top, Mapping) and top.get("id-token") == "write":
        yield f"{path}: top-level id-token: write gives every job an OIDC token; expected it only on deploy jobs"


def check_workflow_file_lint(resource: Resource, context: Context) -> Iterator[str]:
    path = str(resource.get("file", ""))
    if not _WORKFLOW_PATH.match(path):
        return
    import yaml  # pulumi's own dependency; only needed for workflow files

    try:
        workflow = yaml.safe_load(str(resource.get("content", "")))
    except yaml.YAMLError:
        yield f"{path}: content is not valid YAML"
        return
    if not isinstance(workflow, Mapping):
        yield f"{path}: content is not a workflow mapping"
        return
    yield from workflow_findings(path, workflow)


RULES: list[Rule] = [
    Rule(
        name="gh-repo-security-settings",
        description="The repository is private or internal with vulnerability alerts, secret scanning and push "
        "protection on.",
        enforcement="M",
        severity="high",
        framework=Framework("Checkov", "CKV_GIT_1, CKV_GIT_3"),
        remediation="On github.Repository set `visibility=\"private\"` (or internal), `vulnerability_alerts=True` "
        "and `security_and_analysis={\"secret_scanning\": {\"status\": \"enabled\"}, "
        "\"secret_scanning_push_protection\": {\"status\": \"enabled\"}}`.",
        url="https://docs.github.com/en/code-security/secret-scanning/introduction/about-secret-scanning",
        resource_types=(REPOSITORY,),
        check=check_repo_security_settings,
    ),
    Rule(
        name="gh-repo-security-managed",
        description="A stack that manages a repository's rules also manages its secret scanning and push "
        "protection (a github.Repository of the same name, which gh-repo-security-settings then judges).",
        enforcement="MP",
        severity="high",
        framework=Framework("Checkov", "CKV_GIT_3"),
        remediation="Declare the repository beside its ruleset with `vulnerability_alerts=True` and "
        "`security_and_analysis` turning on `secret_scanning` and `secret_scanning_push_protection` (Rampart: "
        "components/github_repository_security.py), importing the existing repository once.",
        url="https://docs.github.com/en/code-security/secret-scanning/introduction/about-push-protection",
        stack_check=check_repo_security_managed,
    ),
    Rule(
        name="gh-workflow-file-lint",
        description="Managed workflow files use read-only top-level permissions, OIDC only in environment-gated "
        "jobs, SHA-pinned actions and no pull_request_target checkout.",
        enforcement="A",
        severity="medium",
        framework=Framework("Checkov", "CKV2_GHA_1"),
        remediation="In the github.RepositoryFile `content`: `permissions: contents: read` at the top, "
        "`id-token: write` only on jobs with an `environment`, `uses: owner/action@<40-hex sha>`, and "
        "`pull_request` instead of `pull_request_target` for anything that checks out code.",
        url="https://docs.github.com/en/actions/security-for-github-actions/security-guides/"
        "security-hardening-for-github-actions",
        resource_types=(REPOSITORY_FILE,),
        check=check_workflow_file_lint,
    ),
]
