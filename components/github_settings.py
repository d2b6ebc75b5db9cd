"""The repository a stack deploys from and its protection settings: plain frozen values the GitHub components
share (the stack's config maps onto them in infra/component_args.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPOSITORY = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True, kw_only=True)
class GithubReviewers:
    """Numeric GitHub ids (DESIGN trap 9: reviewers are ids, not logins)."""

    users: tuple[int, ...] = ()
    teams: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.users and not self.teams


@dataclass(frozen=True, kw_only=True)
class GithubRepositorySettings:
    repository: str
    """owner/name."""
    owner_id: int | None = None
    repository_id: int | None = None
    """Numeric ids: repositories created after 2026-07-15 get OIDC subjects in the immutable-id form."""
    reviewers: GithubReviewers = GithubReviewers()
    prevent_self_review: bool = True
    can_admins_bypass: bool = False
    wait_timer_minutes: int = 0
    deployment_branches: tuple[str, ...] = ("main",)
    protected_branches_only: bool = False
    """GitHub's two branch-policy flags must differ: True uses protected branches, False the named patterns."""
    required_approving_reviews: int = 1
    required_status_checks: tuple[str, ...] = ("rampart check",)
    allowed_actions: tuple[str, ...] = ("actions/*", "pulumi/*", "aws-actions/*", "github/codeql-action/*")

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]


def validate_github(github: GithubRepositorySettings, field: str) -> None:
    """The checks every GitHub component needs; errors name `field` and echo only the repository's name."""
    if not isinstance(github, GithubRepositorySettings):
        raise ValueError(f"{field}: expected a GithubRepositorySettings, got {type(github).__name__}")
    if not isinstance(github.repository, str) or not _REPOSITORY.match(github.repository):
        raise ValueError(f"{field}.repository: expected owner/name, got {github.repository!r}")
    if not isinstance(github.reviewers, GithubReviewers):
        raise ValueError(f"{field}.reviewers: expected a GithubReviewers, got {type(github.reviewers).__name__}")
    if (github.owner_id is None) != (github.repository_id is None):
        raise ValueError(f"{field}: expected owner_id and repository_id both set or both unset")
