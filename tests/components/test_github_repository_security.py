"""GithubRepositorySecurity: secret scanning and push protection where the plan allows, Dependabot alerts always,
judged by the pack's own gh-repo-security-settings rule on the recorded registration."""

from __future__ import annotations

import dataclasses

import pytest
from guardrails import github as github_rules

from components.github_repository_security import (
    UNOWNED,
    GithubRepositorySecurity,
    GithubRepositorySecurityArgs,
    RepositorySecurity,
)
from infra.component_args import github_settings, repository_security
from tests.support.rules import resource_messages
from tests.support.stacks import record_program, stack_config

REPOSITORY = "github:index/repository:Repository"
RULE = next(rule for rule in github_rules.POLICIES if rule.name == "gh-repo-security-settings")


def record(security: RepositorySecurity):
    settings = github_settings(stack_config("production").github)
    return record_program(lambda: GithubRepositorySecurity(
        "repo", GithubRepositorySecurityArgs(github=settings, security=security))).one(REPOSITORY)


def test_production_turns_on_secret_scanning_and_push_protection_and_passes_the_pack():
    security = repository_security(stack_config("production").github.security)
    assert security.secret_protection and security.visibility == "private"
    repository = record(security)
    inputs = repository.plain_inputs()
    assert inputs["name"] == "shop" and inputs["vulnerabilityAlerts"] is True
    assert inputs["securityAndAnalysis"] == {"secretScanning": {"status": "enabled"},
                                             "secretScanningPushProtection": {"status": "enabled"}}
    assert resource_messages(RULE, REPOSITORY, inputs) == []


def test_it_owns_only_its_settings_and_never_deletes_the_repository():
    repository = record(RepositorySecurity(visibility="private", secret_protection=True))
    assert repository.protect is True
    # Everything else stays as the organisation set it: the provider's defaults would switch features off.
    assert set(repository.ignore_changes) == set(UNOWNED)
    assert {"visibility", "vulnerabilityAlerts", "securityAndAnalysis"}.isdisjoint(UNOWNED)
    assert {"hasIssues", "allowMergeCommit", "description"} <= set(UNOWNED)


def test_without_the_plan_a_private_repository_gets_alerts_only_and_the_pack_says_what_is_off():
    inputs = record(RepositorySecurity(visibility="private", secret_protection=False)).plain_inputs()
    assert inputs["vulnerabilityAlerts"] is True and inputs.get("securityAndAnalysis") is None
    assert resource_messages(RULE, REPOSITORY, inputs) == [
        "securityAndAnalysis.secretScanning.status is not set, expected enabled",
        "securityAndAnalysis.secretScanningPushProtection.status is not set, expected enabled",
    ]


def test_a_public_repository_always_has_the_scan_and_the_pack_still_wants_it_private():
    inputs = record(RepositorySecurity(visibility="public")).plain_inputs()
    assert inputs["securityAndAnalysis"]["secretScanningPushProtection"] == {"status": "enabled"}
    assert resource_messages(RULE, REPOSITORY, inputs) == ["visibility is public, expected private or internal"]


@pytest.mark.parametrize("visibility", ["secret", ""])
def test_an_unknown_visibility_is_refused_naming_the_field(visibility):
    with pytest.raises(ValueError, match=r"GithubRepositorySecurityArgs\.security\.visibility: expected one of"):
        record(dataclasses.replace(RepositorySecurity(), visibility=visibility))
