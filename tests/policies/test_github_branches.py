"""GitHub branch protection and rulesets: the merge gate, integrity and hygiene rules. A protected main passes,
through BranchProtection and through repository and organization rulesets; each weakened field fails with the
rule's message."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import github

from tests.policies.github_support import BRANCH_RULES, RULESET, messages, without

# --- gh-branch-merge-gate / gh-branch-integrity / gh-branch-hygiene ---------------------------------------------------

PROTECTION: dict[str, Any] = {
    "repositoryId": "shop",
    "pattern": "main",
    "enforceAdmins": True,
    "allowsForcePushes": False,
    "allowsDeletions": False,
    "requireSignedCommits": True,
    "requiredLinearHistory": True,
    "requireConversationResolution": True,
    "requiredPullRequestReviews": [{"requiredApprovingReviewCount": 2.0, "requireCodeOwnerReviews": True,
                                    "dismissStaleReviews": True}],
    "requiredStatusChecks": [{"strict": True, "contexts": ["rampart check", "pulumi preview (production)"]}],
}


def ruleset(**rules: Any) -> dict[str, Any]:
    merged = {k: v for k, v in {**RULESET["rules"], **rules}.items() if v is not None}
    return {**RULESET, "rules": merged}


@pytest.mark.parametrize("rule", BRANCH_RULES)
def test_protected_branches_pass(rule):
    assert messages(rule, github.BRANCH_PROTECTION, PROTECTION) == []
    for type_token in (github.REPO_RULESET, github.ORG_RULESET):
        assert messages(rule, type_token, RULESET) == []
        assert messages(rule, type_token, {**RULESET, "target": "tag", "rules": {}}) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"requiredPullRequestReviews": None}, "requiredPullRequestReviews is not set"),
        ({"requiredPullRequestReviews": [{"requiredApprovingReviewCount": 0.0, "requireCodeOwnerReviews": True,
                                          "dismissStaleReviews": True}]},
         "requiredPullRequestReviews.requiredApprovingReviewCount is 0, expected at least 1"),
        ({"requiredPullRequestReviews": [{"dismissStaleReviews": True}]},
         "requiredPullRequestReviews.requireCodeOwnerReviews is not true"),
        ({"requiredPullRequestReviews": [{"requireCodeOwnerReviews": True}]},
         "requiredPullRequestReviews.dismissStaleReviews is not true"),
        ({"requiredStatusChecks": None}, "requiredStatusChecks is not set; expected required status checks including "
                                         "rampart check"),
        ({"requiredStatusChecks": [{"strict": False, "contexts": ["rampart check"]}]},
         "requiredStatusChecks is not strict"),
        ({"requiredStatusChecks": [{"strict": True, "contexts": ["lint"]}]},
         "requiredStatusChecks does not require rampart check; expected the policy check to gate merges"),
    ],
)
def test_weak_branch_protection_merge_gate_fails(changes, expected):
    props = {k: v for k, v in {**PROTECTION, **changes}.items() if v is not None}
    [message] = messages("gh-branch-merge-gate", github.BRANCH_PROTECTION, props)
    assert message.startswith(expected)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**RULESET, "enforcement": "evaluate"}, "enforcement is evaluate, expected active"),
        (ruleset(pullRequest=None), "rules.pullRequest is not set"),
        (ruleset(pullRequest={"requireCodeOwnerReview": True, "dismissStaleReviewsOnPush": True}),
         "rules.pullRequest.requiredApprovingReviewCount is 0, expected at least 1"),
        (ruleset(pullRequest={"requiredApprovingReviewCount": 1.0, "dismissStaleReviewsOnPush": True}),
         "rules.pullRequest.requireCodeOwnerReview is not true"),
        (ruleset(pullRequest={"requiredApprovingReviewCount": 1.0, "requireCodeOwnerReview": True}),
         "rules.pullRequest.dismissStaleReviewsOnPush is not true"),
        (ruleset(requiredStatusChecks=None), "rules.requiredStatusChecks is not set"),
        (ruleset(requiredStatusChecks={"requiredChecks": [{"context": "rampart check"}]}),
         "rules.requiredStatusChecks is not strict"),
        (ruleset(requiredStatusChecks={"strictRequiredStatusChecksPolicy": True, "requiredChecks": []}),
         "rules.requiredStatusChecks does not require rampart check"),
    ],
)
def test_weak_ruleset_merge_gate_fails(props, expected):
    [message] = messages("gh-branch-merge-gate", github.REPO_RULESET, props)
    assert message.startswith(expected)


def test_required_checks_are_configurable():
    props = ruleset(requiredStatusChecks={"strictRequiredStatusChecksPolicy": True,
                                          "requiredChecks": [{"context": "policy"}]})
    assert messages("gh-branch-merge-gate", github.REPO_RULESET, props, requiredStatusChecks=["policy"]) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"allowsForcePushes": True}, "allowsForcePushes is true; expected false"),
        ({"forcePushBypassers": ["/octocat"]}, "forcePushBypassers is not empty; expected nobody may force push"),
        ({"allowsDeletions": True}, "allowsDeletions is true; expected false"),
        ({"enforceAdmins": False}, "enforceAdmins is not true; expected the rules to bind administrators too"),
        ({"enforceAdmins": None}, "enforceAdmins is not true; expected the rules to bind administrators too"),
    ],
)
def test_branch_protection_integrity_fails(changes, expected):
    props = {k: v for k, v in {**PROTECTION, **changes}.items() if v is not None}
    assert messages("gh-branch-integrity", github.BRANCH_PROTECTION, props) == [expected]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**RULESET, "enforcement": "disabled"}, "enforcement is disabled, expected active"),
        (ruleset(nonFastForward=None), "rules.nonFastForward is not true; expected force pushes blocked"),
        (ruleset(deletion=False), "rules.deletion is not true; expected branch deletion blocked"),
        ({**RULESET, "bypassActors": [{"actorId": 5.0, "actorType": "RepositoryRole", "bypassMode": "always"}]},
         "bypassActors[0] (RepositoryRole) may always bypass"),
    ],
)
def test_ruleset_integrity_fails(props, expected):
    [message] = messages("gh-branch-integrity", github.REPO_RULESET, props)
    assert message.startswith(expected)


def test_pull_request_bypass_is_allowed():
    props = {**RULESET, "bypassActors": [{"actorType": "Integration", "bypassMode": "pull_request"}]}
    assert messages("gh-branch-integrity", github.REPO_RULESET, props) == []


@pytest.mark.parametrize("field", ["requireSignedCommits", "requiredLinearHistory", "requireConversationResolution"])
def test_branch_protection_hygiene_fails(field):
    assert messages("gh-branch-hygiene", github.BRANCH_PROTECTION, without(PROTECTION, field)) == [
        f"{field} is not true; expected true"
    ]


@pytest.mark.parametrize(
    ("props", "field"),
    [
        (ruleset(requiredSignatures=None), "rules.requiredSignatures"),
        (ruleset(requiredLinearHistory=False), "rules.requiredLinearHistory"),
        (ruleset(pullRequest={**RULESET["rules"]["pullRequest"], "requiredReviewThreadResolution": False}),
         "rules.pullRequest.requiredReviewThreadResolution"),
    ],
)
def test_ruleset_hygiene_fails(props, field):
    assert messages("gh-branch-hygiene", github.REPO_RULESET, props) == [f"{field} is not true; expected true"]
