"""GitHub branch rules, for classic branch protection (GraphQL and REST) and branch rulesets alike: protected
branches merge only reviewed, code-owner-approved, up-to-date pull requests that passed the policy check; refuse
force pushes and deletion, for administrators too; and require signed commits, linear history and resolved
conversations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from guardrails.iam_documents import strings
from guardrails.rule import Context, Framework, Resource, Rule, shown
from guardrails.shapes import as_list, first_block

BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
BRANCH_PROTECTION_V3 = "github:index/branchProtectionV3:BranchProtectionV3"
REPO_RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
ORG_RULESET = "github:index/organizationRuleset:OrganizationRuleset"
CLASSIC_PROTECTION = (BRANCH_PROTECTION, BRANCH_PROTECTION_V3)
BRANCH_TYPES = (BRANCH_PROTECTION, BRANCH_PROTECTION_V3, REPO_RULESET, ORG_RULESET)


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
        yield f"enforcement is {shown(enforcement, quoted=False)}, expected active (evaluate only reports)"


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


RULES: list[Rule] = [
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
]
