"""How the ECS, CodeDeploy and ECR calls a deployment, rollback, smoke task or image push makes are authorised, for
the recorder in tests/support/aws_calls.py: each call's IAM action, resource ARN(s) and condition keys, and the
implicit `iam:PassRole` and tag-on-create authorisations AWS makes on the caller's behalf."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.support.aws_calls_account import Account, Translator, _tag_context, _wildcard
from tests.support.iam import Request

ECS_TASKS = "ecs-tasks.amazonaws.com"


# --- ECS ------------------------------------------------------------------------------------------------------


def _service_arn(account: Account, cluster: str | None, service: str) -> str:
    if service.startswith("arn:"):
        return service
    # Every service created since 2021 has the long ARN, with the cluster name in it.
    return account.arn("ecs", f"service/{account.cluster_arn(cluster).rsplit('/', 1)[-1]}/{service}")


def _describe_services(account: Account, p: Mapping[str, Any]) -> list[Request]:
    cluster = account.cluster_arn(p.get("cluster"))
    return [Request("ecs:DescribeServices", _service_arn(account, cluster, s), {"ecs:cluster": cluster})
            for s in p["services"]]


def _update_service(account: Account, p: Mapping[str, Any]) -> list[Request]:
    cluster = account.cluster_arn(p.get("cluster"))
    return [Request("ecs:UpdateService", _service_arn(account, cluster, p["service"]), {"ecs:cluster": cluster})]


def _task_definition_arn(account: Account, reference: str) -> str:
    """family, family:revision or ARN -> the revision's ARN (the latest ACTIVE one for a bare family)."""
    if reference.startswith("arn:"):
        return reference
    if ":" in reference:
        return account.arn("ecs", f"task-definition/{reference}")
    described = account.lookup("ecs").describe_task_definition(taskDefinition=reference)
    return str(described["taskDefinition"]["taskDefinitionArn"])


def _pass_roles(account: Account, roles: list[str | None], origin: str) -> list[Request]:
    return [Request("iam:PassRole", role, {"iam:PassedToService": ECS_TASKS}, origin=f"implicit for {origin}")
            for role in dict.fromkeys(r for r in roles if r)]


def _register_task_definition(account: Account, p: Mapping[str, Any]) -> list[Request]:
    family = p["family"]
    existing = account.lookup("ecs").list_task_definitions(familyPrefix=family, sort="DESC")["taskDefinitionArns"]
    revisions = [int(a.rsplit(":", 1)[1]) for a in existing if a.rsplit(":", 1)[0].endswith(f"/{family}")]
    arn = account.arn("ecs", f"task-definition/{family}:{max(revisions, default=0) + 1}")
    tags = _tag_context(p.get("tags"), "key", "value")
    found = [Request("ecs:RegisterTaskDefinition", arn, tags)]
    found += _pass_roles(account, [p.get("taskRoleArn"), p.get("executionRoleArn")], "ecs.RegisterTaskDefinition")
    if tags:
        found.append(Request("ecs:TagResource", arn, {**tags, "ecs:CreateAction": "RegisterTaskDefinition"},
                             origin="tag on create for ecs.RegisterTaskDefinition"))
    return found


def _run_task(account: Account, p: Mapping[str, Any]) -> list[Request]:
    cluster = account.cluster_arn(p.get("cluster"))
    arn = _task_definition_arn(account, p["taskDefinition"])
    tags = _tag_context(p.get("tags"), "key", "value")
    found = [Request("ecs:RunTask", arn, {"ecs:cluster": cluster, **tags})]
    # The task runs with the roles its definition names (or the overrides): the caller must be able to pass them.
    definition = account.lookup("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    overrides = p.get("overrides") or {}
    roles = [overrides.get("taskRoleArn") or definition.get("taskRoleArn"),
             overrides.get("executionRoleArn") or definition.get("executionRoleArn")]
    found += _pass_roles(account, roles, "ecs.RunTask")
    if tags:
        tasks = account.arn("ecs", f"task/{cluster.rsplit('/', 1)[-1]}/*")
        found.append(Request("ecs:TagResource", tasks, {**tags, "ecs:CreateAction": "RunTask"},
                             origin="tag on create for ecs.RunTask"))
    return found


def _list_service_deployments(account: Account, p: Mapping[str, Any]) -> list[Request]:
    cluster = account.cluster_arn(p.get("cluster"))
    service = _service_arn(account, cluster, p["service"])
    return [Request("ecs:ListServiceDeployments", service, {"ecs:cluster": cluster})]


def _on_each(action: str, key: str) -> Translator:
    """Actions on service deployments or revisions by ARN (`.../<cluster>/<service>/<id>`), in the cluster named
    inside it."""
    def translate(account: Account, p: Mapping[str, Any]) -> list[Request]:
        arns = p[key] if isinstance(p[key], list) else [p[key]]
        return [Request(action, arn, {"ecs:cluster": account.cluster_arn(arn.split("/")[1])}) for arn in arns]

    return translate


def _describe_tasks(account: Account, p: Mapping[str, Any]) -> list[Request]:
    cluster = account.cluster_arn(p.get("cluster"))
    name = cluster.rsplit("/", 1)[-1]
    arns = [t if t.startswith("arn:") else account.arn("ecs", f"task/{name}/{t}") for t in p["tasks"]]
    return [Request("ecs:DescribeTasks", arn, {"ecs:cluster": cluster}) for arn in arns]


# --- CodeDeploy -----------------------------------------------------------------------------------------------


def _group_arn(account: Account, application: str, group: str) -> str:
    return account.arn("codedeploy", f"deploymentgroup:{application}/{group}")


def _on_group(action: str) -> Translator:
    return lambda account, p: [Request(action, _group_arn(account, p["applicationName"], p["deploymentGroupName"]))]


def _get_deployment(account: Account, p: Mapping[str, Any]) -> list[Request]:
    # Authorised on the deployment's group, which AWS knows from the id.
    info = account.lookup("codedeploy").get_deployment(deploymentId=p["deploymentId"])["deploymentInfo"]
    return [Request("codedeploy:GetDeployment",
                    _group_arn(account, info["applicationName"], info["deploymentGroupName"]))]


def _batch_get_deployments(account: Account, p: Mapping[str, Any]) -> list[Request]:
    # Authorised per deployment on its group, as GetDeployment is.
    return [Request("codedeploy:BatchGetDeployments", found.resource) for deployment_id in p["deploymentIds"]
            for found in _get_deployment(account, {"deploymentId": deployment_id})]


# --- ECR ------------------------------------------------------------------------------------------------------


ECR_PUSH_OPERATIONS = ("BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload",
                       "PutImage", "BatchGetImage")
"""What a registry push of layers and a manifest is authorised as (ECR user guide, image-push-iam)."""


def _repository(action: str) -> Translator:
    return lambda account, p: [Request(action, account.arn("ecr", f"repository/{p['repositoryName']}"))]


# Each entry checked against the Service Authorization Reference (the data iam-simulate validates with).
TABLE: dict[tuple[str, str], Translator] = {
    ("ecs", "DescribeServices"): _describe_services,
    ("ecs", "UpdateService"): _update_service,
    ("ecs", "DescribeTaskDefinition"): _wildcard("ecs:DescribeTaskDefinition"),
    ("ecs", "ListTaskDefinitions"): _wildcard("ecs:ListTaskDefinitions"),
    ("ecs", "RegisterTaskDefinition"): _register_task_definition,
    ("ecs", "RunTask"): _run_task,
    ("ecs", "DescribeTasks"): _describe_tasks,
    ("ecs", "ListServiceDeployments"): _list_service_deployments,
    ("ecs", "DescribeServiceDeployments"): _on_each("ecs:DescribeServiceDeployments", "serviceDeploymentArns"),
    ("ecs", "ContinueServiceDeployment"): _on_each("ecs:ContinueServiceDeployment", "serviceDeploymentArn"),
    ("ecs", "StopServiceDeployment"): _on_each("ecs:StopServiceDeployment", "serviceDeploymentArn"),
    ("ecs", "DescribeServiceRevisions"): _on_each("ecs:DescribeServiceRevisions", "serviceRevisionArns"),
    ("codedeploy", "GetDeploymentGroup"): _on_group("codedeploy:GetDeploymentGroup"),
    ("codedeploy", "CreateDeployment"): _on_group("codedeploy:CreateDeployment"),
    ("codedeploy", "ListDeployments"): _on_group("codedeploy:ListDeployments"),
    ("codedeploy", "GetDeployment"): _get_deployment,
    ("codedeploy", "BatchGetDeployments"): _batch_get_deployments,
    ("codedeploy", "GetDeploymentConfig"): lambda account, p: [Request(
        "codedeploy:GetDeploymentConfig", account.arn("codedeploy", f"deploymentconfig:{p['deploymentConfigName']}"))],
    ("codedeploy", "ContinueDeployment"): _wildcard("codedeploy:ContinueDeployment"),
    ("codedeploy", "StopDeployment"): _wildcard("codedeploy:StopDeployment"),
    ("ecr", "GetAuthorizationToken"): _wildcard("ecr:GetAuthorizationToken"),
    **{("ecr", operation): _repository(f"ecr:{operation}") for operation in ECR_PUSH_OPERATIONS},
}
