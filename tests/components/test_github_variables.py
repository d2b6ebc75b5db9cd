"""GithubRepositoryVariables: each stack publishes its own repository variables, named with the stack."""

from __future__ import annotations

import pytest

from components.github_variables import GithubRepositoryVariables, GithubRepositoryVariablesArgs
from infra.component_args import github_settings
from tests.support.stacks import record_program, stack_config

VARIABLE = "github:index/actionsVariable:ActionsVariable"
PREVIEW_ARN = "arn:aws:iam::123456789012:role/shop-gh-preview"


def record(variables):
    github = github_settings(stack_config("staging").github)
    return record_program(
        lambda: GithubRepositoryVariables("vars", GithubRepositoryVariablesArgs(github=github, variables=variables))
    )


def test_one_variable_per_entry_in_the_repository_under_the_component():
    rec = record({"RAMPART_PREVIEW_ROLE_ARN_STAGING": PREVIEW_ARN, "RAMPART_AWS_REGION_STAGING": "us-east-1"})
    [component] = rec.by_type("rampart:index:GithubRepositoryVariables")
    inputs = {r.plain_inputs()["variableName"]: r.plain_inputs() for r in rec.by_type(VARIABLE)}
    assert inputs == {
        "RAMPART_PREVIEW_ROLE_ARN_STAGING": {"repository": "shop", "variableName": "RAMPART_PREVIEW_ROLE_ARN_STAGING",
                                             "value": PREVIEW_ARN},
        "RAMPART_AWS_REGION_STAGING": {"repository": "shop", "variableName": "RAMPART_AWS_REGION_STAGING",
                                       "value": "us-east-1"},
    }
    assert {r.parent for r in rec.by_type(VARIABLE)} == {component.urn}


@pytest.mark.parametrize("name", ["lower_case", "GITHUB_TOKEN", "1ST"])
def test_names_actions_refuses_are_rejected_before_any_resource(name):
    with pytest.raises(ValueError, match="GithubRepositoryVariablesArgs.variables: expected UPPER_SNAKE"):
        GithubRepositoryVariables(
            "vars",
            GithubRepositoryVariablesArgs(
                github=github_settings(stack_config("staging").github), variables={name: "x"}
            ),
        )
