"""GitHub rules (pulumi_github 6.x): production deployment environments gated by reviewers and branch policy,
Actions secrets scoped to environments and free of long-lived AWS keys, OIDC subject claims that keep repository and
environment, merge gates and branch integrity, SHA-pinned allowed actions, read-only workflow tokens, repository
security settings, and the workflow files the stack itself manages.

No public scanner checks GitHub deployment environments; these rules follow GitHub's own documentation. "Production"
environments are those whose name matches `productionEnvironments` in the rule's config.

gh-deploy-secrets-hygiene is not waivable: a plain AWS access key in Actions is a long-lived credential to the
account, exactly what OIDC replaced. Secret values are never echoed in a message.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from guardrails.credentials import is_credential_name, is_credential_value, is_reference_value
from guardrails.iam import strings
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.secrets import looks_hand_written
from guardrails.shapes import as_list, first_block

SAFETY = "Rampart deployment safety"
ENV_DOCS = (
    "https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/"
    "managing-environments-for-deployment"
)

ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
DEPLOYMENT_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
REPO_SECRET = "github:index/actionsSecret:ActionsSecret"  # noqa: S105 - a type token
ENV_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"  # noqa: S105 - a type token
ORG_SECRET = "github:index/actionsOrganizationSecret:ActionsOrganizationSecret"  # noqa: S105 - a type token
REPO_VARIABLE = "github:index/actionsVariable:ActionsVariable"
ENV_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable"
REPO_CLAIM_TEMPLATE = (
    "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
    "ActionsRepositoryOidcSubjectClaimCustomizationTemplate"
)
ORG_CLAIM_TEMPLATE = (
    "github:index/actionsOrganizationOidcSubjectClaimCustomizationTemplate:"
    "ActionsOrganizationOidcSubjectClaimCustomizationTemplate"
)
BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
BRANCH_PROTECTION_V3 = "github:index/branchProtectionV3:BranchProtectionV3"
REPO_RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
ORG_RULESET = "github:index/organizationRuleset:OrganizationRuleset"
ACTIONS_REPO_PERMISSIONS = "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions"
ACTIONS_ORG_PERMISSIONS = "github:index/actionsOrganizationPermissions:ActionsOrganizationPermissions"
WORKFLOW_REPO_PERMISSIONS = "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions"
WORKFLOW_ORG_PERMISSIONS = "github:index/actionsOrganizationWorkflowPermissions:ActionsOrganizationWorkflowPermissions"
REPOSITORY = "github:index/repository:Repository"
REPOSITORY_FILE = "github:index/repositoryFile:RepositoryFile"

PRODUCTION_ENVIRONMENTS = ["production"]


def is_production(environment: Resource, context: Context) -> bool:
    # GitHub treats environment names case-insensitively: `Production` is the `production` environment.
    name = str(environment.get("environment", "")).lower()
    return any(fnmatch.fnmatchcase(name, p.lower()) for p in strings(context.threshold("productionEnvironments")))


# --- deployment environments --------------------------------------------------------------------------------------


def check_env_approval_gate(resource: Resource, context: Context) -> Iterator[str]:
    if not is_production(resource, context):
        return
    reviewers = [
        r for r in as_list(resource.get("reviewers")) if isinstance(r, Mapping) and (r.get("users") or r.get("teams"))
    ]
    if not reviewers:
        yield "reviewers is empty; expected at least one user or team id who must approve production deployments"
    if resource.get("preventSelfReview") is not True:
        yield "preventSelfReview is not true; expected true so the author cannot approve their own deployment"


def check_env_no_admin_bypass(resource: Resource, context: Context) -> Iterator[str]:
    if is_production(resource, context) and resource.get("canAdminsBypass") is not False:
        yield "canAdminsBypass is not false (the provider default is true); expected false"


def _policy_for(policy: Resource, environment: Resource) -> bool:
    dependencies = policy.property_dependencies.get("environment", ())
    if dependencies:
        # Not read: an output of another resource may be unknown at preview.
        return environment.urn in dependencies
    same_env = policy.get("environment") is not None and policy.get("environment") == environment.get("environment")
    repo, env_repo = policy.get("repository"), environment.get("repository")
    return same_env and (repo is None or env_repo is None or repo == env_repo)


_ANY_BRANCH = {"*", "**", "*/*", "**/*"}


def check_env_deployment_branch_policy(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    policies = [r for r in resources if r.type == DEPLOYMENT_POLICY]
    for environment in resources:
        if environment.type != ENVIRONMENT or not is_production(environment, context):
            continue
        branch_policy = first_block(environment.get("deploymentBranchPolicy"))
        protected = branch_policy.get("protectedBranches")
        custom = branch_policy.get("customBranchPolicies")
        if not branch_policy:
            yield Finding("deploymentBranchPolicy is not set, so any branch can deploy; expected protected branches "
                          "or named branch patterns", environment.urn)
            continue
        if bool(protected) == bool(custom):
            yield Finding(
                f"deploymentBranchPolicy has protectedBranches={protected} and customBranchPolicies={custom}; "
                "expected exactly one of them true",
                environment.urn,
            )
            continue
        if protected:
            continue
        mine = [p for p in policies if _policy_for(p, environment)]
        if not mine:
            yield Finding(
                "customBranchPolicies is true but no RepositoryEnvironmentDeploymentPolicy names a branch; "
                "expected at least one branchPattern",
                environment.urn,
            )
        for policy in mine:
            pattern = policy.get("branchPattern") or policy.get("tagPattern")
            if pattern in _ANY_BRANCH or (isinstance(pattern, str) and not pattern.strip("*?/")):
                yield Finding(
                    f"RepositoryEnvironmentDeploymentPolicy {policy.name}: pattern {pattern!r} lets any branch "
                    "deploy; expected named branches such as main",
                    policy.urn,
                )


def check_env_wait_timer(resource: Resource, context: Context) -> Iterator[str]:
    if not is_production(resource, context):
        return
    minimum = context.threshold("minWaitMinutes")
    wait = float(resource.get("waitTimer", 0))
    if wait < minimum:
        yield f"waitTimer is {wait:g} minutes, expected at least {minimum}"


# --- Actions secrets and variables --------------------------------------------------------------------------------

_AWS_KEY_NAME = re.compile(r"AWS_(SECRET_)?ACCESS_KEY(_ID)?|AWS_SESSION_TOKEN", re.IGNORECASE)
_AWS_KEY_VALUE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
SECRET_VALUE_FIELDS = ("plaintextValue", "value")


def check_deploy_secrets_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    is_secret = resource.type in (REPO_SECRET, ENV_SECRET, ORG_SECRET)
    name = str(resource.get("secretName" if is_secret else "variableName", ""))
    if resource.type in (REPO_SECRET, ORG_SECRET):
        scope = "repository" if resource.type == REPO_SECRET else "organization"
        yield f"secret {name} is {scope}-wide, so every workflow can read it; expected an ActionsEnvironmentSecret"
    if _AWS_KEY_NAME.search(name):
        yield f"{name} holds an AWS access key; expected no AWS keys in GitHub: deploy through the OIDC role"
    values = [(f, resource.get(f)) for f in (SECRET_VALUE_FIELDS if is_secret else ("value",))]
    for field, value in values:
        if not isinstance(value, str):
            continue
        if _AWS_KEY_VALUE.search(value):
            yield f"{field} of {name} contains an AWS access key id; expected no AWS keys: use the OIDC role"
        elif is_secret and looks_hand_written(value, context.threshold("minSecretLength")):
            yield f"{field} of {name} looks like a literal typed into the program; expected a value from " \
                "`pulumi config set --secret`"
        elif not is_secret and (is_credential_value(value) or (is_credential_name(name, reference_exempts=False)
                                                               and not is_reference_value(value))):
            yield f"variable {name} looks like a credential stored in plain text; expected an " \
                "ActionsEnvironmentSecret"


def check_oidc_subject_claim(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == REPO_CLAIM_TEMPLATE and resource.get("useDefault") is True:
        return
    keys = set(strings(resource.get("includeClaimKeys")))
    if not keys & {"repo", "repository", "repository_id"}:
        yield f"includeClaimKeys {sorted(keys)} drops the repository; expected repo (or repository_id) in the subject"
    if not keys & {"environment", "context"}:
        yield f"includeClaimKeys {sorted(keys)} drops the environment; expected context or environment"


# --- branches -----------------------------------------------------------------------------------------------------


CLASSIC_PROTECTION = (BRANCH_PROTECTION, BRANCH_PROTECTION_V3)


def _check_context(check: str) -> str:
    context, _, app = check.rpartition(":")
    return context if context and app.lstrip("-").isdigit() else check


def _ruleset_rules(resource: Resource) -> Mapping[str, Any] | None:
    """The rules of an active branch ruleset; None for rulesets that do not gate branches."""
    if resource.get("target", "branch") != "branch":
        return None
    return first_block(resource.get("rules"))


def _ruleset_enforcement(resource: Resource) -> Iterator[str]:
    enforcement = resource.get("enforcement")
    if enforcement != "active":
        yield f"enforcement is {enforcement}, expected active (evaluate only reports)"


def check_branch_merge_gate(resource: Resource, context: Context) -> Iterator[str]:
    minimum = context.threshold("minApprovals")
    required = strings(context.threshold("requiredStatusChecks"))
    if resource.type in CLASSIC_PROTECTION:
        reviews = first_block(resource.get("requiredPullRequestReviews"))
        checks = first_block(resource.get("requiredStatusChecks"))
        count_field, owners_field, stale_field = (
            "requiredApprovingReviewCount", "requireCodeOwnerReviews", "dismissStaleReviews"
        )
        reviews_name, checks_name = "requiredPullRequestReviews", "requiredStatusChecks"
        strict = checks.get("strict")
        # V3 names checks "context:app_id"; the context is what a workflow job reports.
        contexts = strings(checks.get("contexts")) + [_check_context(c) for c in strings(checks.get("checks"))]
    else:
        rules = _ruleset_rules(resource)
        if rules is None:
            return
        yield from _ruleset_enforcement(resource)
        reviews = first_block(rules.get("pullRequest"))
        checks = first_block(rules.get("requiredStatusChecks"))
        count_field, owners_field, stale_field = (
            "requiredApprovingReviewCount", "requireCodeOwnerReview", "dismissStaleReviewsOnPush"
        )
        reviews_name, checks_name = "rules.pullRequest", "rules.requiredStatusChecks"
        strict = checks.get("strictRequiredStatusChecksPolicy")
        contexts = [str(c.get("context")) for c in as_list(checks.get("requiredChecks")) if isinstance(c, Mapping)]
    if not reviews:
        yield f"{reviews_name} is not set; expected pull requests with at least {minimum} approval(s)"
    else:
        count = float(reviews.get(count_field, 0 if resource.type not in CLASSIC_PROTECTION else 1))
        if count < minimum:
            yield f"{reviews_name}.{count_field} is {count:g}, expected at least {minimum}"
        if reviews.get(owners_field) is not True:
            yield f"{reviews_name}.{owners_field} is not true; expected code owner review"
        if reviews.get(stale_field) is not True:
            yield f"{reviews_name}.{stale_field} is not true; expected new pushes to dismiss approvals"
    if not checks:
        yield f"{checks_name} is not set; expected required status checks including {', '.join(required)}"
        return
    if strict is not True:
        yield f"{checks_name} is not strict; expected branches up to date before merging"
    missing = [c for c in required if c not in contexts]
    if missing:
        yield f"{checks_name} does not require {', '.join(missing)}; expected the policy check to gate merges"


def check_branch_integrity(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == BRANCH_PROTECTION_V3:
        # The REST protection always blocks force pushes and deletion; only the admin exemption is a choice.
        if resource.get("enforceAdmins") is not True:
            yield "enforceAdmins is not true; expected the rules to bind administrators too"
        return
    if resource.type == BRANCH_PROTECTION:
        if resource.get("allowsForcePushes") is True:
            yield "allowsForcePushes is true; expected false"
        if strings(resource.get("forcePushBypassers")):
            yield "forcePushBypassers is not empty; expected nobody may force push"
        if resource.get("allowsDeletions") is True:
            yield "allowsDeletions is true; expected false"
        if resource.get("enforceAdmins") is not True:
            yield "enforceAdmins is not true; expected the rules to bind administrators too"
        return
    rules = _ruleset_rules(resource)
    if rules is None:
        return
    yield from _ruleset_enforcement(resource)
    if rules.get("nonFastForward") is not True:
        yield "rules.nonFastForward is not true; expected force pushes blocked"
    if rules.get("deletion") is not True:
        yield "rules.deletion is not true; expected branch deletion blocked"
    for index, actor in enumerate(as_list(resource.get("bypassActors"))):
        if isinstance(actor, Mapping) and actor.get("bypassMode") == "always":
            yield f"bypassActors[{index}] ({actor.get('actorType')}) may always bypass; expected no bypass " \
                "(or bypassMode pull_request)"


def check_branch_hygiene(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == BRANCH_PROTECTION_V3:
        # The REST resource has no linear-history setting: only what it can express is asked of it.
        fields = {
            "requireSignedCommits": resource.get("requireSignedCommits"),
            "requireConversationResolution": resource.get("requireConversationResolution"),
        }
    elif resource.type == BRANCH_PROTECTION:
        fields = {
            "requireSignedCommits": resource.get("requireSignedCommits"),
            "requiredLinearHistory": resource.get("requiredLinearHistory"),
            "requireConversationResolution": resource.get("requireConversationResolution"),
        }
    else:
        rules = _ruleset_rules(resource)
        if rules is None:
            return
        fields = {
            "rules.requiredSignatures": rules.get("requiredSignatures"),
            "rules.requiredLinearHistory": rules.get("requiredLinearHistory"),
            "rules.pullRequest.requiredReviewThreadResolution": first_block(rules.get("pullRequest")).get(
                "requiredReviewThreadResolution"
            ),
        }
    for field, value in fields.items():
        if value is not True:
            yield f"{field} is not true; expected true"


# --- Actions settings ---------------------------------------------------------------------------------------------


def check_actions_pinning_allowlist(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == ACTIONS_REPO_PERMISSIONS and resource.get("enabled") is False:
        return
    if resource.get("shaPinningRequired") is not True:
        yield "shaPinningRequired is not true; expected actions pinned to a full commit SHA"
    allowed = resource.get("allowedActions", "all")
    if allowed not in ("selected", "local_only"):
        yield f"allowedActions is {allowed}, expected selected (with an allowlist) or local_only"
        return
    if allowed == "selected":
        config = first_block(resource.get("allowedActionsConfig"))
        patterns = strings(config.get("patternsAlloweds"))
        if not config:
            yield "allowedActionsConfig is not set; expected the allowed action patterns listed"
        open_patterns = [p for p in patterns if p.strip() in _ANY_BRANCH]
        if open_patterns:
            yield f"allowedActionsConfig.patternsAlloweds contains {open_patterns}, which allows any action; " \
                "expected owner/* or owner/action patterns"


def check_workflow_token_read_only(resource: Resource, context: Context) -> Iterator[str]:
    permissions = resource.get("defaultWorkflowPermissions")
    if permissions != "read":
        yield f"defaultWorkflowPermissions is {permissions}, expected read"
    if resource.get("canApprovePullRequestReviews") is True:
        yield "canApprovePullRequestReviews is true; expected false so a workflow cannot approve its own pull request"


def _status(block: Any, name: str) -> Any:
    return first_block(first_block(block).get(name)).get("status")


def check_repo_security_settings(resource: Resource, context: Context) -> Iterator[str]:
    visibility = resource.get("visibility")
    if visibility is None and resource.get("private") is True:
        visibility = "private"
    if visibility not in ("private", "internal"):
        yield f"visibility is {visibility or 'unset (public)'}, expected private or internal"
    if resource.get("vulnerabilityAlerts") is not True:
        yield "vulnerabilityAlerts is not true; expected Dependabot alerts on"
    analysis = resource.get("securityAndAnalysis")
    for name in ("secretScanning", "secretScanningPushProtection"):
        status = _status(analysis, name)
        if status != "enabled":
            yield f"securityAndAnalysis.{name}.status is {status}, expected enabled"


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


def _gh_rule(number: int) -> Framework:
    return Framework(SAFETY, f"GH-{number}")


PRODUCTION_THRESHOLD = {"productionEnvironments": PRODUCTION_ENVIRONMENTS}
BRANCH_TYPES = (BRANCH_PROTECTION, BRANCH_PROTECTION_V3, REPO_RULESET, ORG_RULESET)

POLICIES: list[Rule] = [
    Rule(
        name="gh-env-approval-gate",
        description="Production deployment environments require a reviewer who is not the author.",
        enforcement="MP",
        severity="high",
        framework=_gh_rule(1),
        remediation="On the github.RepositoryEnvironment set `reviewers=[{\"users\": [...], \"teams\": [...]}]` "
        "(numeric ids) and `prevent_self_review=True`.",
        url=ENV_DOCS + "#required-reviewers",
        resource_types=(ENVIRONMENT,),
        check=check_env_approval_gate,
        thresholds=PRODUCTION_THRESHOLD,
    ),
    Rule(
        name="gh-env-no-admin-bypass",
        description="Administrators cannot bypass the protection rules of production environments.",
        enforcement="MP",
        severity="high",
        framework=_gh_rule(2),
        remediation="Set `can_admins_bypass=False` on the github.RepositoryEnvironment (the provider defaults to "
        "true).",
        url=ENV_DOCS + "#allow-administrators-to-bypass-configured-protection-rules",
        resource_types=(ENVIRONMENT,),
        check=check_env_no_admin_bypass,
        thresholds=PRODUCTION_THRESHOLD,
    ),
    Rule(
        name="gh-env-deployment-branch-policy",
        description="Production environments deploy only from protected branches or named branch patterns.",
        enforcement="MP",
        severity="high",
        framework=_gh_rule(3),
        remediation="Set `deployment_branch_policy={\"protected_branches\": False, \"custom_branch_policies\": "
        "True}` and add a github.RepositoryEnvironmentDeploymentPolicy with `branch_pattern=\"main\"` (or use "
        "protected branches only); never \"*\".",
        url=ENV_DOCS + "#deployment-branches-and-tags",
        stack_check=check_env_deployment_branch_policy,
        thresholds=PRODUCTION_THRESHOLD,
    ),
    Rule(
        name="gh-env-wait-timer",
        description="Production environments wait a configured number of minutes before deploying.",
        enforcement="A",
        severity="low",
        framework=_gh_rule(4),
        remediation="Set `wait_timer` (minutes) on the github.RepositoryEnvironment to at least `minWaitMinutes`.",
        url=ENV_DOCS + "#wait-timer",
        resource_types=(ENVIRONMENT,),
        check=check_env_wait_timer,
        thresholds={**PRODUCTION_THRESHOLD, "minWaitMinutes": 5},
    ),
    Rule(
        name="gh-deploy-secrets-hygiene",
        description="Actions secrets are environment-scoped, not literals, and never AWS access keys.",
        enforcement="M",
        severity="critical",
        framework=Framework("Checkov", "CKV_GIT_4"),
        remediation="Use github.ActionsEnvironmentSecret with the value from `config.require_secret(...)`; remove "
        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and let the workflow assume the OIDC role; keep credentials out "
        "of Actions variables.",
        url="https://docs.github.com/en/actions/security-for-github-actions/security-guides/"
        "using-secrets-in-github-actions",
        resource_types=(REPO_SECRET, ENV_SECRET, ORG_SECRET, REPO_VARIABLE, ENV_VARIABLE, ORG_VARIABLE),
        check=check_deploy_secrets_hygiene,
        waivable=False,
        thresholds={"minSecretLength": 12},
    ),
    Rule(
        name="gh-oidc-subject-claim",
        description="Customised OIDC subject claims keep the repository and the environment.",
        enforcement="A",
        severity="medium",
        framework=_gh_rule(5),
        remediation="Set `use_default=True`, or include \"repo\" (or \"repository_id\") and \"context\" in "
        "`include_claim_keys`, and update the role trust's sub condition to match.",
        url="https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/"
        "about-security-hardening-with-openid-connect#customizing-the-subject-claims-for-an-organization-or-"
        "repository",
        resource_types=(REPO_CLAIM_TEMPLATE, ORG_CLAIM_TEMPLATE),
        check=check_oidc_subject_claim,
    ),
    Rule(
        name="gh-branch-merge-gate",
        description="Protected branches merge only reviewed, code-owner-approved, up-to-date pull requests that "
        "passed the policy check.",
        enforcement="M",
        severity="high",
        framework=Framework("Checkov", "CKV_GIT_5"),
        remediation="On github.BranchProtection set `required_pull_request_reviews` (count ≥ minApprovals, "
        "`require_code_owner_reviews`, `dismiss_stale_reviews`) and `required_status_checks` (`strict=True`, "
        "contexts incl. the policy check); on a ruleset, the same under `rules.pull_request` and "
        "`rules.required_status_checks`, with `enforcement=\"active\"`.",
        url="https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/"
        "managing-protected-branches/about-protected-branches",
        resource_types=BRANCH_TYPES,
        check=check_branch_merge_gate,
        thresholds={"minApprovals": 1, "requiredStatusChecks": ["rampart check"]},
    ),
    Rule(
        name="gh-branch-integrity",
        description="Protected branches refuse force pushes and deletion, for administrators too.",
        enforcement="M",
        severity="high",
        framework=Framework("Checkov", "CKV_GITHUB_5, CKV_GITHUB_18, CKV_GITHUB_10"),
        remediation="On github.BranchProtection leave `allows_force_pushes` / `allows_deletions` false and set "
        "`enforce_admins=True`; on a ruleset set `rules.non_fast_forward` and `rules.deletion` true, with no "
        "always-bypass actors.",
        url="https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/"
        "managing-protected-branches/about-protected-branches#allow-force-pushes",
        resource_types=BRANCH_TYPES,
        check=check_branch_integrity,
    ),
    Rule(
        name="gh-branch-hygiene",
        description="Protected branches require signed commits, linear history and resolved conversations.",
        enforcement="A",
        severity="low",
        framework=Framework("Checkov", "CKV_GIT_6"),
        remediation="Set `require_signed_commits`, `required_linear_history` and `require_conversation_resolution` "
        "on github.BranchProtection (ruleset: `rules.required_signatures`, `rules.required_linear_history`, "
        "`rules.pull_request.required_review_thread_resolution`).",
        url="https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/"
        "managing-protected-branches/about-protected-branches#require-signed-commits",
        resource_types=BRANCH_TYPES,
        check=check_branch_hygiene,
    ),
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
