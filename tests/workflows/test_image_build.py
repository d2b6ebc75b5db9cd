"""The deploy job builds the image from the commit, pushes it to the services' repositories under the deploy role,
and deploys that digest; the image and the CodeDeploy deployment both name the commit. The role side of this
contract (the ECR calls a push makes, allowed on exactly the stack's repositories) is replayed in
tests/contracts/test_iam_contract.py; here: the workflow wiring, and the deploy role's ECR grant as written."""

from __future__ import annotations

import re

import pytest

from components.deploy_policy import deploy_policy
from tests.contracts.scenarios import IMAGE_BUILD, Explicit
from tests.support.aws_calls_deploy import ECR_PUSH_OPERATIONS
from tests.support.stacks import STACKS, stack_config
from tests.support.workflows import PLACEHOLDER, load_all, rampart_invocations

_PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


def _deploy_steps() -> list[dict]:
    return dict(load_all()["deploy-stack.yml"].jobs())["deploy"]["steps"]


def _index(steps: list[dict], predicate) -> int:
    found = [i for i, step in enumerate(steps) if predicate(step)]
    assert len(found) == 1, found
    return found[0]


def _uses(prefix: str):
    return lambda step: str(step.get("uses", "")).startswith(prefix)


def test_the_image_is_built_from_the_commit_and_pushed_under_the_deploy_role():
    steps = _deploy_steps()
    deploy_role = _index(steps, lambda s: s.get("name") == "Assume the application deploy role")
    login = _index(steps, _uses("aws-actions/amazon-ecr-login@"))
    build = _index(steps, _uses("docker/build-push-action@"))
    loop = _index(steps, lambda s: "rampart deploy" in str(s.get("run", "")))
    # The push needs the deploy role's ECR grant: after that role is assumed, before anything deploys.
    assert deploy_role < login < build < loop
    for index in (login, build, _index(steps, _uses("docker/setup-buildx-action@"))):
        assert _PINNED.match(steps[index]["uses"]), steps[index]["uses"]
    with_ = steps[build]["with"]
    assert with_["context"] == "." and with_["push"] is True
    assert "org.opencontainers.image.revision=${{ github.sha }}" in with_["labels"].splitlines()
    assert with_["tags"] == "${{ steps.image.outputs.tags }}"
    assert steps[build]["id"] == "build"
    assert steps[loop]["env"]["IMAGE_DIGEST"] == "${{ steps.build.outputs.digest }}"


def test_the_digest_is_registered_on_pulumis_revision_and_the_deployment_names_the_commit():
    deploys = [inv for inv in rampart_invocations({"deploy-stack.yml": load_all()["deploy-stack.yml"]})
               if inv.argv[:1] == ["deploy"]]
    register = [inv for inv in deploys if "--register-only" in inv.argv]
    assert len(register) == 1
    assert register[0].argv[register[0].argv.index("--image") + 1].endswith("@" + PLACEHOLDER)
    text = " ".join(register[0].line.text.split())
    # By digest (what runs is what was built), on the revision `pulumi up` registered (the stack's settings).
    assert '--image "$repository@$IMAGE_DIGEST"' in text
    assert '--from-task-definition "$revision"' in text
    shipped = [inv for inv in deploys if "--task-definition" in inv.argv]
    assert len(shipped) == 1
    assert '--description "commit $GITHUB_SHA ' in " ".join(shipped[0].line.text.split())


@pytest.mark.parametrize("stack", STACKS)
def test_every_action_the_workflows_use_is_allowed_by_the_repository(stack):
    patterns = stack_config(stack).github.allowed_actions
    used = {str(step["uses"]).split("@", 1)[0] for workflow in load_all().values() for _, job in workflow.jobs()
            for step in job.get("steps") or [] if "uses" in step and not str(step["uses"]).startswith("./")}
    assert {"docker/build-push-action", "aws-actions/amazon-ecr-login"} <= used

    def allowed(action: str) -> bool:
        # GitHub's forms: `owner/*`, `owner/repo/*` (actions in a repo's folders), `owner/repo@*`; GitHub-owned
        # actions (actions/*, github/*) are allowed by githubOwnedAllowed.
        return any(action == p.removesuffix("@*") or (p.endswith("/*") and action.startswith(p[:-1]))
                   for p in patterns) or action.startswith(("actions/", "github/"))

    assert [action for action in sorted(used) if not allowed(action)] == []


def test_the_deploy_role_may_push_exactly_to_the_stacks_repositories():
    repositories = ["arn:aws:ecr:us-east-1:123456789012:repository/rampart-dev-web",
                    "arn:aws:ecr:us-east-1:123456789012:repository/rampart-dev-api"]
    policy = deploy_policy(partition="aws", region="us-east-1", account_id="123456789012",
                           cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/c", service_arns=[], families=[],
                           pass_role_arns=[], applications=[], groups=[], repository_arns=repositories,
                           db_instance_arns=[], log_group_arns=[])
    ecr = [s for s in policy["Statement"] if any(a.startswith("ecr:") for a in _actions(s))]
    on_repositories = [s for s in ecr if s["Resource"] != "*"]
    assert len(on_repositories) == 1 and on_repositories[0]["Resource"] == repositories
    assert sorted(_actions(on_repositories[0])) == sorted(f"ecr:{op}" for op in ECR_PUSH_OPERATIONS)
    assert [_actions(s) for s in ecr if s["Resource"] == "*"] == [["ecr:GetAuthorizationToken"]]
    # The replayed job makes exactly these calls (IMAGE_BUILD in the IAM contract scenarios).
    replayed = {step.operation for step in IMAGE_BUILD if isinstance(step, Explicit) and step.service == "ecr"}
    assert replayed == {"GetAuthorizationToken", *ECR_PUSH_OPERATIONS}


def _actions(statement: dict) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)
