"""gh-repo-security-managed: a stack that manages a repository's rules also manages its secret scanning and push
protection (gh-repo-security-settings then judges how). Break and pass on plain resources."""

from __future__ import annotations

from guardrails import github
from guardrails.rule import Resource

from tests.support.rules import stack_findings, urn

RULE = next(rule for rule in github.POLICIES if rule.name == "gh-repo-security-managed")


def resource(type_token: str, logical: str, **props) -> Resource:
    return Resource(type=type_token, props=props, urn=urn(type_token, logical), name=logical)


RULESET = resource(github.REPO_RULESET, "main", repository="shop", name="rampart-main")
REPOSITORY = resource(github.REPOSITORY, "repo", name="shop", visibility="private")


def test_a_ruleset_with_its_repository_declared_passes():
    assert stack_findings(RULE, [RULESET, REPOSITORY]) == []


def test_a_ruleset_without_its_repository_fails_naming_the_repository():
    [finding] = stack_findings(RULE, [RULESET])
    assert finding.urn == RULESET.urn
    assert "repository 'shop'" in finding.message and "secret scanning" in finding.message


def test_another_repository_does_not_count():
    other = resource(github.REPOSITORY, "other", name="not-shop")
    assert len(stack_findings(RULE, [RULESET, other])) == 1


def test_a_stack_that_manages_no_repository_settings_is_not_judged():
    assert stack_findings(RULE, [REPOSITORY]) == []
    unknown = resource(github.REPO_RULESET, "later", name="rampart-main")  # repository unknown at preview
    assert stack_findings(RULE, [unknown]) == []
