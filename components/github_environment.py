"""A GitHub deployment environment: the approval gate, branch policy, variables and secrets a deploy job sees."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_github as github

from components.github_settings import GithubRepositorySettings, validate_github

PRODUCTION = "production"
MIN_PRODUCTION_WAIT_MINUTES = 5
MAX_REVIEWERS = 6
"""GitHub accepts at most six required reviewers (users and teams together) per environment."""

_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_ACTIONS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A pattern made only of wildcards and separators matches every branch, which is the same as no policy.
_ANY_BRANCH = re.compile(r"^[*/]+$")


@dataclass(frozen=True, kw_only=True)
class GithubEnvironmentArgs:
    github: GithubRepositorySettings
    """The repository and its protection settings (components/github_settings.py)."""
    environment: str
    """The stack's environment name, used as the GitHub environment name (e.g. "production")."""
    variables: Mapping[str, pulumi.Input[str]]
    """Environment-scoped Actions variables (plain values: never put a secret here)."""
    secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Environment-scoped Actions secrets; values must be pulumi Outputs (literals would sit in the program)."""


def _validate_actions_name(kind: str, name: str) -> None:
    # GitHub rejects these names at apply time; failing here explains why before anything is created.
    if not _ACTIONS_NAME.match(name) or name.upper().startswith("GITHUB_"):
        raise ValueError(
            f"GithubEnvironmentArgs.{kind}: expected names of letters, digits and underscores, not starting with a"
            f" digit or GITHUB_, got {name!r}"
        )


def _validate(args: GithubEnvironmentArgs) -> None:
    validate_github(args.github, "GithubEnvironmentArgs.github")
    gh = args.github
    if not _ENVIRONMENT_NAME.match(args.environment):
        raise ValueError(
            f"GithubEnvironmentArgs.environment: expected a GitHub environment name, got {args.environment!r}"
        )
    if not gh.protected_branches_only and not gh.deployment_branches:
        raise ValueError(
            "GithubEnvironmentArgs.github: expected deployment_branches when protected_branches_only is false, got none"
        )
    for pattern in gh.deployment_branches:
        if _ANY_BRANCH.match(pattern):
            raise ValueError(
                "GithubEnvironmentArgs.github: expected named deployment branches (any branch could deploy),"
                f" got {pattern!r}"
            )
    reviewer_count = len(gh.reviewers.users) + len(gh.reviewers.teams)
    if reviewer_count > MAX_REVIEWERS:
        raise ValueError(
            f"GithubEnvironmentArgs.github: expected at most {MAX_REVIEWERS} reviewers (users and teams),"
            f" got {reviewer_count}"
        )
    if args.environment == PRODUCTION:
        if gh.reviewers.empty:
            raise ValueError(
                "GithubEnvironmentArgs.github: expected at least one production reviewer (numeric user or team id),"
                " got none. Note: required reviewers on a private repository need GitHub Enterprise."
            )
        if gh.wait_timer_minutes < MIN_PRODUCTION_WAIT_MINUTES:
            raise ValueError(
                f"GithubEnvironmentArgs.github: expected wait_timer_minutes >= {MIN_PRODUCTION_WAIT_MINUTES} in"
                f" production, got {gh.wait_timer_minutes}"
            )
        if gh.can_admins_bypass:
            raise ValueError("GithubEnvironmentArgs.github: expected can_admins_bypass false in production, got true")
        if not gh.prevent_self_review:
            raise ValueError(
                "GithubEnvironmentArgs.github: expected prevent_self_review true in production, got false"
            )
    for name in args.variables:
        _validate_actions_name("variables", name)
    for name, value in args.secrets.items():
        _validate_actions_name("secrets", name)
        if not isinstance(value, pulumi.Output):
            raise ValueError(
                f"GithubEnvironmentArgs.secrets: expected a pulumi Output (e.g. a secret from config) for {name!r},"
                f" got a literal {type(value).__name__}"
            )
    overlap = sorted(set(args.variables) & set(args.secrets))
    if overlap:
        raise ValueError(f"GithubEnvironmentArgs.secrets: expected names distinct from variables, got {overlap}")


class GithubEnvironment(pulumi.ComponentResource):
    """A repository environment gating deploys: the reviewers and wait timer the stack names (production must name
    both), deploys only from named branches (or protected branches), and the variables and secrets the deploy job
    reads."""

    environment_name: pulumi.Output[str]
    """The GitHub environment name the deploy workflow's `environment:` must use."""

    def __init__(self, name: str, args: GithubEnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rampart:index:GithubEnvironment", name, None, opts)
        _validate(args)
        environment = self._environment(name, args)
        self._branch_policies(name, args.github, environment)
        self._variables_and_secrets(name, args, environment)
        self.environment_name = environment.environment
        self.register_outputs({"environment_name": self.environment_name})

    def _environment(self, name: str, args: GithubEnvironmentArgs) -> github.RepositoryEnvironment:
        gh = args.github
        production = args.environment == PRODUCTION
        # Graded strictness comes from the stack's config (dev: nobody, staging: a reviewer, production: reviewers
        # and a wait timer, validated above): whoever the stack names is asked.
        gated = not gh.reviewers.empty
        reviewers = (
            [github.RepositoryEnvironmentReviewerArgs(users=list(gh.reviewers.users), teams=list(gh.reviewers.teams))]
            if gated
            else []
        )
        return github.RepositoryEnvironment(
            f"{name}-environment",
            repository=gh.name,
            environment=args.environment,
            reviewers=reviewers,
            prevent_self_review=gh.prevent_self_review if gated else False,
            # The provider's default is true: an admin could skip the reviewers and the wait timer.
            can_admins_bypass=False if production else gh.can_admins_bypass,
            wait_timer=gh.wait_timer_minutes,
            # GitHub rejects both flags true and treats both false as "any branch may deploy".
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=gh.protected_branches_only,
                custom_branch_policies=not gh.protected_branches_only,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _branch_policies(
        self, name: str, gh: GithubRepositorySettings, environment: github.RepositoryEnvironment
    ) -> None:
        if gh.protected_branches_only:
            return
        for index, pattern in enumerate(gh.deployment_branches):
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-branch-{index}",
                repository=gh.name,
                # From the environment's output, so the policy waits for the environment to exist.
                environment=environment.environment,
                branch_pattern=pattern,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _variables_and_secrets(
        self, name: str, args: GithubEnvironmentArgs, environment: github.RepositoryEnvironment
    ) -> None:
        gh = args.github
        child = pulumi.ResourceOptions(parent=self)
        for variable_name, value in sorted(args.variables.items()):
            github.ActionsEnvironmentVariable(
                f"{name}-var-{variable_name.lower()}",
                repository=gh.name,
                environment=environment.environment,
                variable_name=variable_name,
                value=value,
                opts=child,
            )

        for secret_name, secret in sorted(args.secrets.items()):
            github.ActionsEnvironmentSecret(
                f"{name}-secret-{secret_name.lower()}",
                repository=gh.name,
                environment=environment.environment,
                secret_name=secret_name,
                # `value` replaces the deprecated `plaintext_value` in pulumi-github 6.x. The SDK marks it secret
                # too; wrapping here keeps that true should an SDK upgrade stop doing so.
                value=pulumi.Output.secret(secret),
                opts=child,
            )
