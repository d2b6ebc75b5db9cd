"""Repository-level rules: the merge gate on the default branch, which actions may run, and what the token may do."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.github_settings import GithubRepositorySettings, validate_github

POLICY_CHECK = "rampart check"
"""The status check the policy gate reports under; without it a PR could merge past the pack."""
DEFAULT_BRANCH = "~DEFAULT_BRANCH"
_ALLOW_EVERYTHING = {"*", "*/*", "*@*", "*/*@*"}


@dataclass(frozen=True, kw_only=True)
class GithubRepositoryRulesArgs:
    github: GithubRepositorySettings
    """The repository and its protection settings (components/github_settings.py)."""


def _validate(args: GithubRepositoryRulesArgs) -> None:
    validate_github(args.github, "GithubRepositoryRulesArgs.github")
    gh = args.github
    if POLICY_CHECK not in gh.required_status_checks:
        raise ValueError(
            f"GithubRepositoryRulesArgs.github: expected required_status_checks to include {POLICY_CHECK!r},"
            f" got {list(gh.required_status_checks)}"
        )
    if any(not context.strip() for context in gh.required_status_checks):
        raise ValueError("GithubRepositoryRulesArgs.github: expected non-empty status check names, got an empty one")
    if gh.required_approving_reviews < 1:
        raise ValueError(
            "GithubRepositoryRulesArgs.github: expected required_approving_reviews >= 1 (a pull request nobody"
            f" reviewed could merge), got {gh.required_approving_reviews}"
        )
    wide = sorted(set(gh.allowed_actions) & _ALLOW_EVERYTHING)
    if wide:
        raise ValueError(
            f"GithubRepositoryRulesArgs.github: expected allowed_actions to name owners or actions, got {wide}"
        )


class GithubRepositoryRules(pulumi.ComponentResource):
    """Branch ruleset on the default branch (reviews, code owners, strict status checks including the policy
    gate, no force push or deletion, linear history, nobody bypasses), an allow-list of SHA-pinned actions and a
    read-only workflow token."""

    ruleset_name: pulumi.Output[str]
    """Name of the ruleset protecting the default branch."""

    def __init__(
        self, name: str, args: GithubRepositoryRulesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rampart:index:GithubRepositoryRules", name, None, opts)
        _validate(args)
        ruleset = self._ruleset(name, args.github)
        self._actions_permissions(name, args.github)
        self.ruleset_name = ruleset.name
        self.register_outputs({"ruleset_name": self.ruleset_name})

    def _ruleset(self, name: str, gh: GithubRepositorySettings) -> github.RepositoryRuleset:
        return github.RepositoryRuleset(
            f"{name}-main",
            repository=gh.name,
            name="rampart-main",
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(includes=[DEFAULT_BRANCH], excludes=[]),
            ),
            # Empty on purpose: admins and apps follow the same rules (no bypass, not even for emergencies).
            bypass_actors=[],
            rules=github.RepositoryRulesetRulesArgs(
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=gh.required_approving_reviews,
                    require_code_owner_review=True,
                    dismiss_stale_reviews_on_push=True,
                    # Without it the author can push after approval and merge unreviewed code.
                    require_last_push_approval=True,
                    required_review_thread_resolution=True,
                    # Linear history forbids merge commits; offer only the methods that keep it.
                    allowed_merge_methods=["squash", "rebase"],
                ),
                required_status_checks=github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                    # Strict: the checks must have run against the branch as it will merge, not a stale base.
                    strict_required_status_checks_policy=True,
                    required_checks=[
                        github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(context=context)
                        for context in gh.required_status_checks
                    ],
                ),
                non_fast_forward=True,
                deletion=True,
                required_linear_history=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _actions_permissions(self, name: str, gh: GithubRepositorySettings) -> None:
        """Only listed, SHA-pinned actions run, and the workflow token is read-only unless a workflow asks."""
        child = pulumi.ResourceOptions(parent=self)
        github.ActionsRepositoryPermissions(
            f"{name}-actions",
            repository=gh.name,
            enabled=True,
            allowed_actions="selected",
            allowed_actions_config=github.ActionsRepositoryPermissionsAllowedActionsConfigArgs(
                github_owned_allowed=True,
                # Marketplace "verified" is a publisher badge, not a review of the code: list actions instead.
                verified_allowed=False,
                patterns_alloweds=list(gh.allowed_actions),
            ),
            # A tag can be moved to malicious code after review; a full commit SHA cannot.
            sha_pinning_required=True,
            opts=child,
        )

        github.WorkflowRepositoryPermissions(
            f"{name}-workflow-token",
            repository=gh.name,
            # Jobs that need more (id-token, deployments) ask for it in the workflow, visible in review.
            default_workflow_permissions="read",
            can_approve_pull_request_reviews=False,
            opts=child,
        )
