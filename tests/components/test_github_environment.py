"""GithubEnvironment: the production approval gate, branch policy, variables and secrets, on recorded registrations."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from components.github_environment import GithubEnvironment, GithubEnvironmentArgs
from components.github_settings import GithubReviewers
from infra.component_args import github_settings
from rampart.engine.recorder import SECRET_SIG, SECRET_SIG_KEY, contains_secret
from tests.support.stacks import record_program, stack_config

ENV = "github:index/repositoryEnvironment:RepositoryEnvironment"
POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
SECRET_VALUE = "s3cr3t-value-never-plain"


def gh(**update):
    return dataclasses.replace(github_settings(stack_config("production").github), **update)


def record_env(environment="production", github=None, variables=None, secrets=None):
    def program():
        GithubEnvironment(
            "deploy",
            GithubEnvironmentArgs(
                github=github or gh(),
                environment=environment,
                variables=variables if variables is not None else {"AWS_REGION": "us-east-1"},
                # Outputs need the running program's event loop: callers pass a factory.
                secrets=secrets() if callable(secrets) else (secrets or {}),
            ),
        )

    return record_program(program)


def test_production_environment_gate():
    cfg = gh()
    rec = record_env()
    env = rec.one(ENV)
    inputs = env.plain_inputs()
    assert inputs["repository"] == "shop"
    assert inputs["environment"] == "production"
    assert inputs["reviewers"] == [{"users": list(cfg.reviewers.users), "teams": list(cfg.reviewers.teams)}]
    assert inputs["preventSelfReview"] is True
    assert inputs["canAdminsBypass"] is False
    assert inputs["waitTimer"] == cfg.wait_timer_minutes == 10
    assert env.parent.endswith("rampart:index:GithubEnvironment::deploy")
    assert env.name == "deploy-environment"


def test_can_admins_bypass_is_set_explicitly_false():
    # The provider defaults to true: absent is as bad as true.
    for environment in ("production", "staging"):
        inputs = record_env(environment).one(ENV).plain_inputs()
        assert "canAdminsBypass" in inputs
        assert inputs["canAdminsBypass"] is False


def test_branch_policy_flags_differ_and_one_policy_per_named_branch():
    rec = record_env(github=gh(deployment_branches=("main", "release/*")))
    policy = rec.one(ENV).plain_inputs()["deploymentBranchPolicy"]
    assert policy == {"protectedBranches": False, "customBranchPolicies": True}
    patterns = sorted(r.plain_inputs()["branchPattern"] for r in rec.by_type(POLICY))
    assert patterns == ["main", "release/*"]
    for reg in rec.by_type(POLICY):
        assert reg.plain_inputs()["repository"] == "shop"
        assert reg.plain_inputs()["environment"] == "production"


def test_protected_branches_only_uses_no_named_policies():
    rec = record_env(github=gh(protected_branches_only=True))
    assert rec.one(ENV).plain_inputs()["deploymentBranchPolicy"] == {
        "protectedBranches": True,
        "customBranchPolicies": False,
    }
    assert rec.by_type(POLICY) == []


def test_staging_same_branch_policy_one_reviewer_no_wait():
    # Graded strictness: staging waits for a person (the stack's reviewers), never for a timer.
    cfg = stack_config("staging").github
    rec = record_env("staging", github=github_settings(cfg))
    inputs = rec.one(ENV).plain_inputs()
    assert inputs["environment"] == "staging"
    assert inputs["waitTimer"] == 0
    assert inputs["reviewers"] == [{"users": [], "teams": list(cfg.reviewers.teams)}]
    assert len(cfg.reviewers.teams) + len(cfg.reviewers.users) >= 1
    assert inputs["preventSelfReview"] is True
    assert inputs["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}
    assert [r.plain_inputs()["branchPattern"] for r in rec.by_type(POLICY)] == ["main"]


@pytest.mark.parametrize("reviewers", [GithubReviewers(), GithubReviewers(users=(), teams=())])
def test_production_without_reviewers_raises(reviewers):
    with pytest.raises(ValueError, match=r"GithubEnvironmentArgs.github: expected at least one production reviewer"):
        record_env(github=gh(reviewers=reviewers))


def test_dev_stack_deploys_unattended():
    rec = record_env("dev", github=github_settings(stack_config("dev").github))
    inputs = rec.one(ENV).plain_inputs()
    assert inputs["environment"] == "dev"
    assert inputs.get("reviewers", []) == []
    assert inputs["waitTimer"] == 0
    assert [r.plain_inputs()["branchPattern"] for r in rec.by_type(POLICY)] == ["main"]


def test_too_many_reviewers_raises():
    many = GithubReviewers(users=tuple(range(1, 5)), teams=tuple(range(10, 13)))
    with pytest.raises(ValueError, match="at most 6 reviewers"):
        record_env(github=gh(reviewers=many))


@pytest.mark.parametrize("minutes", [0, 4])
def test_production_wait_under_five_minutes_raises(minutes):
    with pytest.raises(ValueError, match="wait_timer_minutes >= 5"):
        record_env(github=gh(wait_timer_minutes=minutes))


def test_production_wait_of_five_minutes_is_accepted():
    assert record_env(github=gh(wait_timer_minutes=5)).one(ENV).plain_inputs()["waitTimer"] == 5


def test_production_admin_bypass_raises():
    with pytest.raises(ValueError, match="can_admins_bypass false"):
        record_env(github=gh(can_admins_bypass=True))


def test_production_self_review_raises():
    with pytest.raises(ValueError, match="prevent_self_review true"):
        record_env(github=gh(prevent_self_review=False))


@pytest.mark.parametrize("pattern", ["*", "**", "*/*", "**/**"])
def test_any_branch_pattern_rejected(pattern):
    with pytest.raises(ValueError, match="any branch could deploy"):
        record_env(github=gh(deployment_branches=("main", pattern)))


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_no_branch_at_all_rejected(environment):
    with pytest.raises(ValueError, match="expected deployment_branches"):
        record_env(environment, github=gh(deployment_branches=(), protected_branches_only=False))


def test_variables_one_resource_each():
    rec = record_env(variables={"AWS_REGION": "eu-west-1", "ECS_CLUSTER": "shop"})
    found = {r.plain_inputs()["variableName"]: r.plain_inputs() for r in rec.by_type(VARIABLE)}
    assert set(found) == {"AWS_REGION", "ECS_CLUSTER"}
    assert found["AWS_REGION"]["value"] == "eu-west-1"
    assert all(v["environment"] == "production" and v["repository"] == "shop" for v in found.values())


def test_secret_value_stays_wrapped_as_a_secret():
    rec = record_env(secrets=lambda: {"DEPLOY_TOKEN": pulumi.Output.secret(SECRET_VALUE)})
    reg = rec.one(SECRET)
    value = reg.inputs["value"]
    assert isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG
    assert value["value"] == SECRET_VALUE
    assert "plaintextValue" not in reg.inputs
    assert reg.plain_inputs()["secretName"] == "DEPLOY_TOKEN"
    assert reg.plain_inputs()["environment"] == "production"
    # Nothing else in the recording carries the value unwrapped.
    for other in rec.registrations:
        assert SECRET_VALUE not in str(other.redacted_inputs())


def test_unmarked_output_is_wrapped_as_a_secret():
    rec = record_env(secrets=lambda: {"DEPLOY_TOKEN": pulumi.Output.from_input(SECRET_VALUE)})
    assert contains_secret(rec.one(SECRET).inputs["value"])


def test_literal_secret_value_rejected():
    with pytest.raises(ValueError, match="GithubEnvironmentArgs.secrets: expected a pulumi Output"):
        record_env(secrets={"DEPLOY_TOKEN": SECRET_VALUE})


@pytest.mark.parametrize("bad", ["GITHUB_TOKEN", "1ABC", "with-dash"])
def test_bad_actions_names_rejected(bad):
    with pytest.raises(ValueError, match="GithubEnvironmentArgs.variables"):
        record_env(variables={bad: "x"})


def test_environment_name_output():
    def program():
        env = GithubEnvironment(
            "deploy", GithubEnvironmentArgs(github=gh(), environment="production", variables={})
        )
        pulumi.export("environment", env.environment_name)

    assert record_program(program).outputs["environment"] == "production"
