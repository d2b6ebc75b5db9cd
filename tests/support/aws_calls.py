"""Record every boto3 call a block makes, and turn each into the IAM requests AWS would authorise for it.

The patch sits on `BaseClient._make_api_call`, below waiters, paginators and botocore's Stubber (whose hook runs
inside it), so calls a test serves from a Stubber are recorded like calls that reach moto. Each call becomes:
the IAM action; the resource ARN(s) the Service Authorization Reference lists for it (`*` for actions without
resource-level permissions); the condition keys AWS puts in the request context (request tags on create,
`ecs:cluster`, resource tags on delete, read from moto by an unrecorded client); and the implicit authorisations
AWS makes on the caller's behalf (`iam:PassRole`, tag-on-create). TABLE is keyed by botocore service name and
each entry spells out its IAM action, since the two namings differ (botocore `elbv2` is IAM
`elasticloadbalancing`, `cloudwatch` signs as `monitoring`). An operation missing from the table fails the test:
a new call cannot slip past the contract.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import botocore.client

from tests.support.iam import Request

ECS_TASKS = "ecs-tasks.amazonaws.com"


@dataclass(frozen=True)
class Call:
    service: str
    """botocore's service name (`ecs`, `codedeploy`, `cloudwatch`...)."""
    operation: str
    params: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class Account:
    """Where the calls land: ARNs are built as AWS builds them for this account and region."""

    account_id: str
    region: str
    lookup: Callable[[str], Any] = field(repr=False, default=None)  # type: ignore[assignment]
    """An unrecorded client (moto) for facts AWS knows at authorisation time: tags, a deployment's group."""

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id}:{resource}"

    def cluster_arn(self, cluster: str | None) -> str:
        cluster = cluster or "default"
        return cluster if cluster.startswith("arn:") else self.arn("ecs", f"cluster/{cluster}")


Translator = Callable[[Account, Mapping[str, Any]], list[Request]]

STACK_ARN_TAG = "world:stack-arn"
"""moto names KMS keys itself; a world key tagged with this carries the ARN the stack declares for it."""


def _key_as_declared(account: Account, key: str) -> str:
    """The ARN the stack's policies name for a world key (its `STACK_ARN_TAG`), else the key as AWS names it."""
    tags = account.lookup("kms").list_resource_tags(KeyId=key).get("Tags", [])
    return next((t["TagValue"] for t in tags if t["TagKey"] == STACK_ARN_TAG), key)


def _tag_context(tags: list[Mapping[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, Any]:
    if not tags:
        return {}
    context: dict[str, Any] = {f"aws:RequestTag/{t[key]}": t[value] for t in tags}
    context["aws:TagKeys"] = [t[key] for t in tags]
    return context


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


def _wildcard(action: str) -> Translator:
    """An action with no resource-level permissions: AWS authorises it on `*` only."""
    return lambda account, p: [Request(action, "*")]


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


# --- RDS ------------------------------------------------------------------------------------------------------


def _db(account: Account, identifier: str) -> str:
    return account.arn("rds", f"db:{identifier}")


def _snapshot(account: Account, identifier: str) -> str:
    return identifier if identifier.startswith("arn:") else account.arn("rds", f"snapshot:{identifier}")


def _describe_db_instances(account: Account, p: Mapping[str, Any]) -> list[Request]:
    identifier = p.get("DBInstanceIdentifier")
    if not identifier:
        raise KeyError("rds.DescribeDBInstances without DBInstanceIdentifier: add the listing form to the table")
    return [Request("rds:DescribeDBInstances", _db(account, identifier))]


def _create_db_snapshot(account: Account, p: Mapping[str, Any]) -> list[Request]:
    tags = _tag_context(p.get("Tags"))
    snapshot = _snapshot(account, p["DBSnapshotIdentifier"])
    found = [Request("rds:CreateDBSnapshot", _db(account, p["DBInstanceIdentifier"]), tags),
             Request("rds:CreateDBSnapshot", snapshot, tags)]
    if tags:
        found.append(Request("rds:AddTagsToResource", snapshot, tags,
                             origin="tag on create for rds.CreateDBSnapshot"))
    return found


def _describe_db_snapshots(account: Account, p: Mapping[str, Any]) -> list[Request]:
    if p.get("DBSnapshotIdentifier"):
        return [Request("rds:DescribeDBSnapshots", _snapshot(account, p["DBSnapshotIdentifier"]))]
    if p.get("DBInstanceIdentifier"):
        return [Request("rds:DescribeDBSnapshots", _db(account, p["DBInstanceIdentifier"]))]
    raise KeyError("rds.DescribeDBSnapshots without an instance or snapshot: add the listing form to the table")


def _delete_db_snapshot(account: Account, p: Mapping[str, Any]) -> list[Request]:
    snapshot = _snapshot(account, p["DBSnapshotIdentifier"])
    tags = account.lookup("rds").list_tags_for_resource(ResourceName=snapshot).get("TagList", [])
    return [Request("rds:DeleteDBSnapshot", snapshot, {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in tags})]


def _resource_tags(account: Account, arn: str) -> dict[str, Any]:
    tags = account.lookup("rds").list_tags_for_resource(ResourceName=arn).get("TagList", [])
    return {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in tags}


_MANAGED_SECRET = "secret:rds!db-00000000-0000-0000-0000-000000000000-AbCdEf"
"""The copy's RDS-managed master secret: RDS names it `rds!db-<uuid>` when it creates it, after authorisation."""


def _restore_to_point_in_time(account: Account, p: Mapping[str, Any]) -> list[Request]:
    """The source, the new instance (with its tags), the subnet, parameter and option groups it is placed in;
    then what RDS does as the caller: tag on create, a grant on the source's storage key (encrypted copies), and
    the copy's own master secret when ManageMasterUserPassword (Secrets Manager encrypts it with the given key)."""
    action, source_id = "rds:RestoreDBInstanceToPointInTime", p["SourceDBInstanceIdentifier"]
    source = account.lookup("rds").describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"][0]
    target, tags = _db(account, p["TargetDBInstanceIdentifier"]), _tag_context(p.get("Tags"))
    found = [Request(action, _db(account, source_id)), Request(action, target, tags)]
    for key, kind in (("DBSubnetGroupName", "subgrp"), ("DBParameterGroupName", "pg"), ("OptionGroupName", "og")):
        if p.get(key):
            found.append(Request(action, account.arn("rds", f"{kind}:{p[key]}")))
    if tags:
        found.append(Request("rds:AddTagsToResource", target, tags, origin=f"tag on create for {action}"))
    key_policy = _stack_key_policy(account)
    caller = {"kms:CallerAccount": account.account_id}
    if source.get("StorageEncrypted") and source.get("KmsKeyId"):
        via_rds = {**caller, "kms:ViaService": f"rds.{account.region}.amazonaws.com"}
        storage_key = _key_as_declared(account, source["KmsKeyId"])
        found += [Request("kms:CreateGrant", storage_key, {**via_rds, "kms:GrantIsForAWSResource": "true"},
                          origin=f"RDS as the caller for {action}", resource_policy=key_policy),
                  Request("kms:DescribeKey", storage_key, via_rds, origin=f"RDS as the caller for {action}",
                          resource_policy=key_policy)]
    if p.get("ManageMasterUserPassword"):
        secret = account.arn("secretsmanager", _MANAGED_SECRET)
        found += [Request(a, secret, origin=f"RDS as the caller for {action}")
                  for a in ("secretsmanager:CreateSecret", "secretsmanager:TagResource")]
        found.append(Request("kms:GenerateDataKey", _key_as_declared(account, p["MasterUserSecretKmsKeyId"]),
                             {**caller, "kms:ViaService": f"secretsmanager.{account.region}.amazonaws.com"},
                             origin=f"Secrets Manager as the caller for {action}", resource_policy=key_policy))
    return found


def _stack_key_policy(account: Account) -> dict[str, Any]:
    """KMS decides with the key's own policy too: the stack key's, as components/keys.py writes it."""
    import json

    from components.keys import key_policy

    return json.loads(key_policy(account.account_id, account.region))


def _on_instance(action: str) -> Translator:
    """Modify or delete an instance, with its tags in the context (what a tag-conditioned grant reads)."""
    def translate(account: Account, p: Mapping[str, Any]) -> list[Request]:
        arn = _db(account, p["DBInstanceIdentifier"])
        found = [Request(action, arn, _resource_tags(account, arn))]
        if p.get("NewDBInstanceIdentifier"):
            found.append(Request(action, _db(account, p["NewDBInstanceIdentifier"])))
        return found
    return translate


# --- CloudWatch and Logs --------------------------------------------------------------------------------------


def _describe_alarms(account: Account, p: Mapping[str, Any]) -> list[Request]:
    names = p.get("AlarmNames") or []
    if not names:
        raise KeyError("cloudwatch.DescribeAlarms without AlarmNames: add the listing form to the table")
    return [Request("cloudwatch:DescribeAlarms", account.arn("cloudwatch", f"alarm:{n}")) for n in names]


ECR_PUSH_OPERATIONS = ("BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload",
                       "PutImage", "BatchGetImage")
"""What a registry push of layers and a manifest is authorised as (ECR user guide, image-push-iam)."""


def _repository(action: str) -> Translator:
    return lambda account, p: [Request(action, account.arn("ecr", f"repository/{p['repositoryName']}"))]


def _log_group(action: str) -> Translator:
    return lambda account, p: [Request(action, account.arn("logs", f"log-group:{p['logGroupName']}"))]


def _get_log_events(account: Account, p: Mapping[str, Any]) -> list[Request]:
    group, stream = p["logGroupName"], p["logStreamName"]
    return [Request("logs:GetLogEvents", account.arn("logs", f"log-group:{group}:log-stream:{stream}"))]


# --- SNS -------------------------------------------------------------------------------------------------------


def _publish(account: Account, p: Mapping[str, Any]) -> list[Request]:
    """Publish on the topic; to an encrypted topic SNS also asks KMS, with the publisher's permissions, for a data
    key (GenerateDataKey, and Decrypt of a cached one), through SNS."""
    topic = p["TopicArn"]
    found = [Request("sns:Publish", topic)]
    key = account.lookup("sns").get_topic_attributes(TopicArn=topic)["Attributes"].get("KmsMasterKeyId")
    if key:
        via_sns = {"kms:CallerAccount": account.account_id, "kms:ViaService": f"sns.{account.region}.amazonaws.com"}
        found += [Request(action, key, via_sns, origin="SNS as the caller for sns.Publish",
                          resource_policy=_stack_key_policy(account))
                  for action in ("kms:GenerateDataKey", "kms:Decrypt")]
    return found


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
    ("rds", "DescribeDBInstances"): _describe_db_instances,
    ("rds", "CreateDBSnapshot"): _create_db_snapshot,
    ("rds", "DescribeDBSnapshots"): _describe_db_snapshots,
    ("rds", "DeleteDBSnapshot"): _delete_db_snapshot,
    ("rds", "RestoreDBInstanceToPointInTime"): _restore_to_point_in_time,
    ("rds", "ModifyDBInstance"): _on_instance("rds:ModifyDBInstance"),
    ("rds", "DeleteDBInstance"): _on_instance("rds:DeleteDBInstance"),
    ("cloudwatch", "DescribeAlarms"): _describe_alarms,
    ("logs", "GetLogEvents"): _get_log_events,
    ("logs", "DescribeLogStreams"): _log_group("logs:DescribeLogStreams"),
    ("logs", "FilterLogEvents"): _log_group("logs:FilterLogEvents"),
    ("ecr", "GetAuthorizationToken"): _wildcard("ecr:GetAuthorizationToken"),
    **{("ecr", operation): _repository(f"ecr:{operation}") for operation in ECR_PUSH_OPERATIONS},
    ("sns", "Publish"): _publish,
}


class UnknownOperation(AssertionError):
    pass


def translate(account: Account, call: Call) -> list[Request]:
    translator = TABLE.get((call.service, call.operation))
    if translator is None:
        raise UnknownOperation(
            f"{call.label}: no IAM translation in tests/support/aws_calls.py TABLE; add its action, resource ARN "
            "and context keys from the Service Authorization Reference"
        )
    # The resource's own policy (a KMS key's) travels with the request: without it KMS denies everything.
    return [Request(r.action, r.resource, r.context, r.origin or call.label, resource_policy=r.resource_policy)
            for r in translator(account, call.params)]


@dataclass
class Recorded:
    account: Account
    calls: list[Call] = field(default_factory=list)
    iam: list[Request] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def requests(self) -> list[Request]:
        """The IAM requests of every call; an operation the table does not know fails here, loudly."""
        if self.unknown:
            raise UnknownOperation("\n".join(dict.fromkeys(self.unknown)))
        return list(self.iam)

    def add(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """A call made outside boto3 (an `aws` CLI line in a workflow), evaluated like a recorded one."""
        call = Call(service, operation, dict(params))
        self.calls.append(call)
        try:
            self.iam += translate(self.account, call)
        except UnknownOperation as exc:
            self.unknown.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - never break the command under test; fail at requests()
            self.unknown.append(f"{call.label}: cannot translate {dict(params)}: {type(exc).__name__}: {exc}")


_state = threading.local()


@contextmanager
def recording(account_id: str, region: str, endpoint_url: str | None = None) -> Iterator[Recorded]:
    """Record the block's boto3 calls (any client, any thread) as IAM requests for this account and region."""
    lookups: dict[str, Any] = {}

    def lookup(service: str) -> Any:
        if service not in lookups:
            lookups[service] = boto3.client(service, region_name=region, endpoint_url=endpoint_url)
        return lookups[service]

    recorded = Recorded(Account(account_id, region, lookup))
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(client: Any, operation_name: str, api_params: Mapping[str, Any]) -> Any:
        if not getattr(_state, "looking_up", False):
            _state.looking_up = True  # the lookups' own calls are facts about AWS, not calls of the command
            try:
                recorded.add(client.meta.service_model.service_name, operation_name, api_params)
            finally:
                _state.looking_up = False
        return original(client, operation_name, api_params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", make_api_call):
        yield recorded
