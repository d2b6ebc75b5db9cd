"""Stack config of the repository that deploys the stack and the CI access it gets."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from infra.config_base import _Model


class GithubReviewersConfig(_Model):
    users: tuple[Annotated[int, Field(gt=0)], ...] = ()
    teams: tuple[Annotated[int, Field(gt=0)], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.users and not self.teams


class GithubSecurityConfig(_Model):
    """The repository's own security settings (components/github_repository_security.py), managed by the stack that
    manages the repository's settings."""

    visibility: Literal["private", "internal", "public"] = "private"
    secret_protection: bool = False
    """The plan includes secret scanning and push protection here (always for public repositories; private and
    internal ones need GitHub Secret Protection). False: only Dependabot alerts, and the pack reports the rest."""


GITHUB_OIDC_PROVIDER_ARN = r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
GITHUB_APP_STORE_ARN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
SECRETS_PROVIDER_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$"


class GithubConfig(_Model):
    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")]
    """owner/name of the repository that deploys this stack."""
    owner_id: int | None = Field(default=None, gt=0)
    repository_id: int | None = Field(default=None, gt=0)
    """Numeric ids: repositories created after 2026-07-15 get OIDC subjects in the immutable-id form."""
    reviewers: GithubReviewersConfig = GithubReviewersConfig()
    prevent_self_review: bool = True
    can_admins_bypass: bool = False
    wait_timer_minutes: int = Field(default=0, ge=0, le=43200)
    deployment_branches: tuple[Annotated[str, StringConstraints(min_length=1, max_length=255)], ...] = ("main",)
    protected_branches_only: bool = False
    """GitHub's two branch-policy flags must differ: True uses protected branches, False the named patterns."""
    required_approving_reviews: int = Field(default=1, ge=0, le=6)
    required_status_checks: tuple[str, ...] = ("rampart check",)
    allowed_actions: tuple[str, ...] = (
        "actions/*", "pulumi/*", "aws-actions/*", "github/codeql-action/*",
        # deploy-stack.yml builds the application image from the commit.
        "docker/build-push-action@*", "docker/setup-buildx-action@*",
    )
    manage_repository_settings: bool = False
    """One stack owns the repository-wide settings (ruleset on main, Actions permissions); two would fight."""
    security: GithubSecurityConfig = GithubSecurityConfig()
    """Visibility, secret scanning and push protection: applied by the stack with manageRepositorySettings."""
    oidc_provider_arn: Annotated[str, StringConstraints(pattern=GITHUB_OIDC_PROVIDER_ARN)] | None = None
    """The account's existing GitHub OIDC provider; None: this stack creates it (one per account)."""
    state_backend_url: Annotated[str, StringConstraints(pattern=r"^(s3|gs|azblob|https)://[^\s]+$")] | None = None
    """Pulumi state backend the workflows log in to (published as a GitHub variable); None: Pulumi Cloud."""
    secrets_provider_key_arn: Annotated[str, StringConstraints(pattern=SECRETS_PROVIDER_KEY_ARN)] | None = None
    """The KMS key behind the stack file's `secretsprovider: awskms://…` (`rampart bootstrap` creates it)."""
    app_secret_arn: Annotated[str, StringConstraints(pattern=GITHUB_APP_STORE_ARN)] | None = None
    """Secrets Manager secret holding the GitHub App (`{"appId": …, "installationId": …, "privateKey": …}`) the
    deploy job's github provider authenticates as: only the infrastructure role may read it."""
    reader_app_secret_arn: Annotated[str, StringConstraints(pattern=GITHUB_APP_STORE_ARN)] | None = None
    """Secrets Manager secret of a read-only GitHub App (Administration, Environments, Variables: read) for the
    github provider's refresh in previews and drift checks; the preview role may read it. GITHUB_TOKEN cannot read
    Actions variables or repository administration settings."""
    rollback_environment: bool = True
    """A `<environment>-rollback` GitHub environment and role for emergency rollbacks (same reviewers, no wait)."""

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]

    @model_validator(mode="after")
    def _branch_policy(self) -> GithubConfig:
        if not self.protected_branches_only and not self.deployment_branches:
            raise ValueError("deploymentBranches: must name at least one branch when protectedBranchesOnly is false")
        if any(not pattern.strip("*?/") for pattern in self.deployment_branches):
            raise ValueError("deploymentBranches: must name branches, not a pattern of wildcards only such as '*' "
                             "or '?**' (any branch could deploy)")
        if "rampart check" not in self.required_status_checks:
            raise ValueError("requiredStatusChecks: must include 'rampart check', the policy gate on every PR")
        if len(self.reviewers.users) + len(self.reviewers.teams) > 6:
            raise ValueError("reviewers: GitHub allows at most 6 required reviewers (users and teams together)")
        if (self.owner_id is None) != (self.repository_id is None):
            raise ValueError("repositoryId: ownerId and repositoryId go together, set both or neither")
        return self
