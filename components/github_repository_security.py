"""The repository's own security settings: Dependabot alerts, secret scanning and push protection where the plan
allows them. Pulumi owns only those (and the visibility they depend on); every other repository setting stays as
the organisation left it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.github_settings import GithubRepositorySettings, validate_github

VISIBILITIES = ("private", "internal", "public")

# Repository inputs this component leaves to whoever manages the repository: ignored, so the provider's defaults
# (issues off, merge commits on, ...) are never written over the live settings. Camel case, as the engine sees them.
UNOWNED = (
    "allowAutoMerge", "allowForking", "allowMergeCommit", "allowRebaseMerge", "allowSquashMerge", "allowUpdateBranch",
    "archived", "autoInit", "defaultBranch", "deleteBranchOnMerge", "description", "gitignoreTemplate",
    "hasDiscussions", "hasDownloads", "hasIssues", "hasProjects", "hasWiki", "homepageUrl", "isTemplate",
    "licenseTemplate", "mergeCommitMessage", "mergeCommitTitle", "pages", "squashMergeCommitMessage",
    "squashMergeCommitTitle", "template", "topics", "webCommitSignoffRequired",
)


@dataclass(frozen=True, kw_only=True)
class RepositorySecurity:
    visibility: str = "private"
    secret_protection: bool = False
    """The plan includes secret scanning for this repository: always true of public repositories; private and
    internal ones need GitHub Secret Protection (Advanced Security). Asking for it without the plan fails the
    update, so it is off unless the stack says the plan has it."""

    @property
    def secret_scanning(self) -> bool:
        return self.visibility == "public" or self.secret_protection


@dataclass(frozen=True, kw_only=True)
class GithubRepositorySecurityArgs:
    github: GithubRepositorySettings
    security: RepositorySecurity = RepositorySecurity()


def _validate(args: GithubRepositorySecurityArgs) -> None:
    validate_github(args.github, "GithubRepositorySecurityArgs.github")
    if not isinstance(args.security, RepositorySecurity):
        raise ValueError(
            f"GithubRepositorySecurityArgs.security: expected a RepositorySecurity, got {type(args.security).__name__}"
        )
    if args.security.visibility not in VISIBILITIES:
        raise ValueError(f"GithubRepositorySecurityArgs.security.visibility: expected one of {', '.join(VISIBILITIES)},"
                         f" got {args.security.visibility!r}")


def security_and_analysis(security: RepositorySecurity) -> github.RepositorySecurityAndAnalysisArgs | None:
    if not security.secret_scanning:
        return None
    enabled = "enabled"
    return github.RepositorySecurityAndAnalysisArgs(
        secret_scanning=github.RepositorySecurityAndAnalysisSecretScanningArgs(status=enabled),
        # Push protection blocks a push that contains a secret, before it is in history: the scan only reports.
        secret_scanning_push_protection=github.RepositorySecurityAndAnalysisSecretScanningPushProtectionArgs(
            status=enabled),
    )


class GithubRepositorySecurity(pulumi.ComponentResource):
    """Secret scanning and push protection (where the plan allows) and Dependabot alerts on the stack's repository.

    The repository already exists: adopt it once before the first `up` that declares this, or Pulumi tries to
    create it (`pulumi import github:index/repository:Repository <name>-repository <repo> --parent <component urn>`).
    It is protected and retained on delete: removing the component never deletes the repository."""

    repository_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: GithubRepositorySecurityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rampart:index:GithubRepositorySecurity", name, None, opts)
        _validate(args)
        repository = github.Repository(
            f"{name}-repository",
            name=args.github.name,
            visibility=args.security.visibility,
            vulnerability_alerts=True,
            security_and_analysis=security_and_analysis(args.security),
            archive_on_destroy=True,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True, ignore_changes=list(UNOWNED)),
        )
        self.repository_name = repository.name
        self.register_outputs({"repository_name": self.repository_name})
