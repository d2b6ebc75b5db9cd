"""GitHub deployment environment rules (pulumi_github 6.x): production environments gated by a reviewer who is
not the author, no administrator bypass, deployments only from protected or named branches, and a wait timer.

No public scanner checks GitHub deployment environments; these rules follow GitHub's own documentation. "Production"
environments are those whose name matches `productionEnvironments` in the rule's config.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence

from guardrails.iam_documents import strings
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import as_list, first_block

SAFETY = "Rampart deployment safety"
ENV_DOCS = (
    "https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/"
    "managing-environments-for-deployment"
)

ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
DEPLOYMENT_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"

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


ANY_BRANCH = {"*", "**", "*/*", "**/*"}


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
            if pattern in ANY_BRANCH or (isinstance(pattern, str) and not pattern.strip("*?/")):
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


def gh_rule(number: int) -> Framework:
    return Framework(SAFETY, f"GH-{number}")


PRODUCTION_THRESHOLD = {"productionEnvironments": PRODUCTION_ENVIRONMENTS}

RULES: list[Rule] = [
    Rule(
        name="gh-env-approval-gate",
        description="Production deployment environments require a reviewer who is not the author.",
        enforcement="MP",
        severity="high",
        framework=gh_rule(1),
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
        framework=gh_rule(2),
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
        framework=gh_rule(3),
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
        framework=gh_rule(4),
        remediation="Set `wait_timer` (minutes) on the github.RepositoryEnvironment to at least `minWaitMinutes`.",
        url=ENV_DOCS + "#wait-timer",
        resource_types=(ENVIRONMENT,),
        check=check_env_wait_timer,
        thresholds={**PRODUCTION_THRESHOLD, "minWaitMinutes": 5},
    ),
]
