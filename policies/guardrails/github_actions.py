"""GitHub Actions settings rules: actions pinned to a full commit SHA from an explicit allowlist, and a read-only
default workflow token that cannot approve pull requests.
"""

from __future__ import annotations

from collections.abc import Iterator

from guardrails.github_environments import ANY_BRANCH
from guardrails.iam_documents import strings
from guardrails.rule import Context, Framework, Resource, Rule, shown
from guardrails.shapes import first_block

ACTIONS_REPO_PERMISSIONS = "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions"
ACTIONS_ORG_PERMISSIONS = "github:index/actionsOrganizationPermissions:ActionsOrganizationPermissions"
WORKFLOW_REPO_PERMISSIONS = "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions"
WORKFLOW_ORG_PERMISSIONS = "github:index/actionsOrganizationWorkflowPermissions:ActionsOrganizationWorkflowPermissions"


def check_actions_pinning_allowlist(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == ACTIONS_REPO_PERMISSIONS and resource.get("enabled") is False:
        return
    if resource.get("shaPinningRequired") is not True:
        yield "shaPinningRequired is not true; expected actions pinned to a full commit SHA"
    allowed = resource.get("allowedActions", "all")
    if allowed not in ("selected", "local_only"):
        yield f"allowedActions is {shown(allowed, quoted=False)}, expected selected (with an allowlist) or local_only"
        return
    if allowed == "selected":
        config = first_block(resource.get("allowedActionsConfig"))
        patterns = strings(config.get("patternsAlloweds"))
        if not config:
            yield "allowedActionsConfig is not set; expected the allowed action patterns listed"
        open_patterns = [p for p in patterns if p.strip() in ANY_BRANCH]
        if open_patterns:
            yield f"allowedActionsConfig.patternsAlloweds contains {open_patterns}, which allows any action; " \
                "expected owner/* or owner/action patterns"


def check_workflow_token_read_only(resource: Resource, context: Context) -> Iterator[str]:
    permissions = resource.get("defaultWorkflowPermissions")
    if permissions != "read":
        yield f"defaultWorkflowPermissions is {shown(permissions, quoted=False)}, expected read"
    if resource.get("canApprovePullRequestReviews") is True:
        yield "canApprovePullRequestReviews is true; expected false so a workflow cannot approve its own pull request"


RULES: list[Rule] = [
    Rule(
        name="gh-actions-pinning-allowlist",
        description="Actions must be pinned to a full commit SHA and come from an explicit allowlist.",
        enforcement="M",
        severity="high",
        framework=Framework("OpenSSF Scorecard", "Pinned-Dependencies"),
        remediation="On github.ActionsRepositoryPermissions set `sha_pinning_required=True`, "
        "`allowed_actions=\"selected\"` and `allowed_actions_config={\"github_owned_allowed\": True, "
        "\"patterns_alloweds\": [\"aws-actions/*\", ...]}` (no \"*\").",
        url="https://github.com/ossf/scorecard/blob/main/docs/checks.md#pinned-dependencies",
        resource_types=(ACTIONS_REPO_PERMISSIONS, ACTIONS_ORG_PERMISSIONS),
        check=check_actions_pinning_allowlist,
    ),
    Rule(
        name="gh-workflow-token-read-only",
        description="The default GITHUB_TOKEN is read-only and workflows cannot approve pull requests.",
        enforcement="M",
        severity="high",
        framework=Framework("OpenSSF Scorecard", "Token-Permissions"),
        remediation="Set `default_workflow_permissions=\"read\"` and `can_approve_pull_request_reviews=False` on "
        "github.WorkflowRepositoryPermissions (or the organization equivalent).",
        url="https://github.com/ossf/scorecard/blob/main/docs/checks.md#token-permissions",
        resource_types=(WORKFLOW_REPO_PERMISSIONS, WORKFLOW_ORG_PERMISSIONS),
        check=check_workflow_token_read_only,
    ),
]
