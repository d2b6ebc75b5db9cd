"""GithubRepositoryRules: merge gate on the default branch, actions allow-list, read-only token."""

from __future__ import annotations

import dataclasses

import pytest

from components.github_repository import GithubRepositoryRules, GithubRepositoryRulesArgs
from infra.component_args import github_settings
from tests.support.stacks import record_program, stack_config

RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
ACTIONS = "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions"
WORKFLOW = "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions"


def gh(**update):
    return dataclasses.replace(github_settings(stack_config("production").github), **update)


def record_rules(github=None):
    return record_program(lambda: GithubRepositoryRules("repo", GithubRepositoryRulesArgs(github=github or gh())))


@pytest.fixture(scope="module")
def rec():
    return record_rules()


def test_ruleset_targets_the_default_branch_and_is_active(rec):
    inputs = rec.one(RULESET).plain_inputs()
    assert inputs["repository"] == "shop"
    assert inputs["target"] == "branch"
    assert inputs["enforcement"] == "active"
    includes = inputs["conditions"]["refName"]["includes"]
    assert includes in (["~DEFAULT_BRANCH"], ["refs/heads/main"])
    assert inputs["conditions"]["refName"]["excludes"] == []


def test_nobody_bypasses_the_ruleset(rec):
    assert rec.one(RULESET).plain_inputs().get("bypassActors", []) == []


def test_pull_request_rule(rec):
    pull_request = rec.one(RULESET).plain_inputs()["rules"]["pullRequest"]
    assert pull_request["requiredApprovingReviewCount"] == gh().required_approving_reviews == 2
    assert pull_request["requireCodeOwnerReview"] is True
    assert pull_request["dismissStaleReviewsOnPush"] is True
    assert pull_request["requireLastPushApproval"] is True
    assert pull_request["requiredReviewThreadResolution"] is True
    assert "merge" not in pull_request["allowedMergeMethods"]


def test_strict_status_checks_include_the_policy_gate(rec):
    checks = rec.one(RULESET).plain_inputs()["rules"]["requiredStatusChecks"]
    assert checks["strictRequiredStatusChecksPolicy"] is True
    contexts = [c["context"] for c in checks["requiredChecks"]]
    assert contexts == list(gh().required_status_checks)
    assert "rampart check" in contexts


def test_integrity_rules(rec):
    rules = rec.one(RULESET).plain_inputs()["rules"]
    assert rules["nonFastForward"] is True
    assert rules["deletion"] is True
    assert rules["requiredLinearHistory"] is True


def test_actions_allow_list_and_sha_pinning(rec):
    inputs = rec.one(ACTIONS).plain_inputs()
    assert inputs["repository"] == "shop"
    assert inputs["enabled"] is True
    assert inputs["allowedActions"] == "selected"
    config = inputs["allowedActionsConfig"]
    assert config["githubOwnedAllowed"] is True
    assert config["verifiedAllowed"] is False
    assert config["patternsAlloweds"] == list(gh().allowed_actions)
    assert inputs["shaPinningRequired"] is True


def test_workflow_token_read_only(rec):
    inputs = rec.one(WORKFLOW).plain_inputs()
    assert inputs["repository"] == "shop"
    assert inputs["defaultWorkflowPermissions"] == "read"
    assert inputs["canApprovePullRequestReviews"] is False


def test_children_parented_and_named(rec):
    component = [r for r in rec.registrations if r.type == "rampart:index:GithubRepositoryRules"]
    assert len(component) == 1
    children = rec.children_of(component[0].urn)
    assert sorted(c.name for c in children) == [
        "repo-actions",
        "repo-main",
        "repo-workflow-token",
    ]


def test_missing_policy_check_raises():
    with pytest.raises(ValueError, match="GithubRepositoryRulesArgs.github: expected required_status_checks"):
        record_rules(github=gh(required_status_checks=("pulumi preview (production)",)))


def test_zero_approvals_raises():
    with pytest.raises(ValueError, match="required_approving_reviews >= 1"):
        record_rules(github=gh(required_approving_reviews=0))


@pytest.mark.parametrize("pattern", ["*", "*/*"])
def test_allow_everything_pattern_raises(pattern):
    with pytest.raises(ValueError, match="allowed_actions"):
        record_rules(github=gh(allowed_actions=("actions/*", pattern)))
