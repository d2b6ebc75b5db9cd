"""What each CI job runs against AWS, as scenarios the IAM contract replays on moto's server.

A job is a list of steps: `Rampart` command lines (run through the real CLI, every boto3 call recorded) and
`Explicit` calls (made outside a replayed command, e.g. an `aws ...` line in a workflow's bash). Placeholders in braces
are filled from the world, which is built from the stack's own recorded outputs, so every name (cluster, services,
families, CodeDeploy application and group, DB, log groups, alarms) is the one the stack registers.
To follow a workflow change, edit its list in JOBS; to add a role, add its jobs and name its role in ROLE_JOBS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rampart.engine.recorder import Recording, unwrap_secrets
from tests.ops import world as w
from tests.support.aws_calls import Recorded
from tests.support.aws_calls_account import STACK_ARN_TAG

# Only what keeps a replay fast: polling and waits. Never a flag that changes which calls are made.
SPEED = {"deploy": ("--poll", "0.01", "--timeout", "60"), "migrate": ("--wait-delay", "0.05", "--timeout", "30"),
         "restore": ("--wait-delay", "0.05", "--wait-timeout", "30")}
SMOKE_SPEED = ("--smoke-attempts", "1")


@dataclass(frozen=True)
class Rampart:
    line: str
    """The command line after `rampart`, as the workflow writes it, with {placeholders}."""
    per_service: bool = False
    variant: str = ""
    """How the world answers: "" all goes well; "smoke-fails" the test listener answers 503 (stop with rollback)."""
    expect_exit: int = 0


@dataclass(frozen=True)
class Explicit:
    """An AWS call a job makes outside a replayed rampart command, evaluated as the request it makes."""

    line: str
    """What makes it (the workflow's `aws` line, or the command whose calls it stands for), for messages."""
    service: str
    operation: str
    params: dict[str, Any]
    per_service: bool = True


Step = Rampart | Explicit

# deploy-stack.yml's and rollback.yml's events (start, per step, outcome): the same publish whatever the event.
NOTIFY = Rampart("notify --stack {stack} --topic-arn {topic} --step deploy --outcome failure --service {service} "
                 "--revision {revision}")

# deploy-stack.yml's image build: amazon-ecr-login, then docker/build-push-action pushing the commit's image to
# every service's repository (the registry API calls a push is authorised as), then a revision of it registered on
# top of the one `pulumi up` registered.
_ECR_LOGIN = "aws-actions/amazon-ecr-login"
_PUSH = "docker/build-push-action (the push to each service's repository)"
IMAGE_BUILD: list[Step] = [
    Explicit(_ECR_LOGIN, "ecr", "GetAuthorizationToken", {}, per_service=False),
    *(Explicit(_PUSH, "ecr", operation, {"repositoryName": "{repository}"}) for operation in (
        "BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "PutImage",
        "BatchGetImage")),
    Rampart("deploy --stack {stack} --outputs {outputs} --service {service} --register-only --image {image} "
            "--from-task-definition {revision} --format json", per_service=True),
]

DEPLOY_JOB: list[Step] = [
    NOTIFY,
    *IMAGE_BUILD,
    Rampart("snapshot --db-instance {db} --keep 10"),
    Rampart("migrate --stack {stack} --outputs {outputs} --service {service} --command 'python manage.py migrate' "
            "--task-definition {revision}", per_service=True),
    Rampart("deploy --stack {stack} --outputs {outputs} --service {service} --task-definition {revision} "
            "--smoke-url {smoke_url} --smoke-path {health} --insecure", per_service=True),
    # The same line when green fails its smoke check: the deployment is stopped with rollback.
    Rampart("deploy --stack {stack} --outputs {outputs} --service {service} --task-definition {revision} "
            "--smoke-url {failing_smoke_url} --smoke-path {health} --insecure", per_service=True,
            variant="smoke-fails", expect_exit=1),
    # deploy-stack.yml's line: the smoke checks run as the stack's smoke task inside the VPC (RunTask, PassRole of
    # its roles, DescribeTasks, GetLogEvents on its log group). moto's task exits 0: the checks pass.
    Rampart("deploy --stack {stack} --outputs {outputs} --service {service} --task-definition {revision} "
            "--smoke-url {smoke_url} --smoke-path {health} --insecure --smoke-task", per_service=True),
    Rampart("verify --stack {stack} --outputs {outputs}"),
]

# rollback.yml runs `rampart rollback`; until its moto replay exists (it needs a deployment history arranged in
# moto's backends, see tests/ops/rollback_support.py), these are the calls rampart/ops/rollback.py makes, both paths.
_ROLLBACK = "rampart rollback (rampart/ops/rollback.py)"
ROLLBACK_JOB: list[Step] = [
    Explicit(_ROLLBACK, "codedeploy", "GetDeploymentGroup",
             {"applicationName": "{application}", "deploymentGroupName": "{group}"}),
    Explicit(_ROLLBACK, "codedeploy", "GetDeploymentConfig",
             {"deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes"}),
    Explicit(_ROLLBACK, "codedeploy", "ListDeployments",
             {"applicationName": "{application}", "deploymentGroupName": "{group}",
              "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Ready", "Baking"]}),
    Explicit(_ROLLBACK, "codedeploy", "GetDeployment", {"deploymentId": "{running}"}),
    Explicit(_ROLLBACK, "codedeploy", "StopDeployment", {"deploymentId": "{running}", "autoRollbackEnabled": True}),
    Explicit(_ROLLBACK, "codedeploy", "CreateDeployment",
             {"applicationName": "{application}", "deploymentGroupName": "{group}"}),
    Explicit(_ROLLBACK, "codedeploy", "ContinueDeployment",
             {"deploymentId": "{running}", "deploymentWaitType": "READY_WAIT"}),
    Explicit(_ROLLBACK, "ecs", "DescribeServices", {"cluster": "{cluster}", "services": ["{ecs_service}"]}),
    Explicit(_ROLLBACK, "cloudwatch", "DescribeAlarms", {"AlarmNames": ["{alarm}"]}),
    NOTIFY,
]

# restore-rehearsal.yml: a point-in-time copy of the stack's instance, measured, verified and deleted again.
RESTORE_JOB: list[Step] = [
    Rampart("restore --db-instance {db} --latest-restorable --discard --rto-target 45 --rpo-target 60"),
]

JOBS: dict[str, list[Step]] = {
    "deploy-stack.yml deploy": DEPLOY_JOB,
    "rollback.yml rollback": ROLLBACK_JOB,
    "restore-rehearsal.yml rehearse": RESTORE_JOB,
}
ROLE_JOBS: dict[str, tuple[str, ...]] = {
    "-github-deploy": ("deploy-stack.yml deploy", "restore-rehearsal.yml rehearse"),
    "-github-rollback": ("rollback.yml rollback",),
}
"""Role name suffix -> the jobs that assume it (deploy-stack.yml's application steps; rollback.yml)."""


# --- the world, from the recorded stack -----------------------------------------------------------------------


def _task_definitions(recording: Recording) -> dict[str, dict[str, Any]]:
    found = {}
    for registration in recording.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        inputs = registration.plain_inputs()
        found[str(inputs["family"])] = inputs
    return found


def _service_spec(key: str, declared: dict[str, Any], definition: dict[str, Any]) -> w.ServiceSpec:
    containers = definition["containerDefinitions"]
    containers = json.loads(containers) if isinstance(containers, str) else containers
    main = next(c for c in containers if c["name"] == declared["containerName"])
    options = (main.get("logConfiguration") or {}).get("options") or {}
    return w.ServiceSpec(
        key=key, ecs_service=declared["serviceName"], family=declared["taskDefinitionFamily"],
        container=declared["containerName"], port=int(declared["containerPort"]),
        application=declared["codedeployApplication"], group=declared["deploymentGroup"],
        log_group=declared["logGroupName"], stream_prefix=options.get("awslogs-stream-prefix", key),
        alarms=tuple(declared["alarmNames"]), image=main["image"],
        task_role_arn=definition["taskRoleArn"], execution_role_arn=definition["executionRoleArn"],
    )


def world_spec(recording: Recording) -> w.WorldSpec:
    """The moto world named exactly as the stack registers it, with the ARN shapes AWS gives (long ECS ARNs)."""
    outputs = unwrap_secrets(recording.outputs)
    definitions = _task_definitions(recording)
    services = tuple(_service_spec(key, declared, definitions[declared["taskDefinitionFamily"]])
                     for key, declared in outputs["services"].items())
    return w.WorldSpec(region=outputs["region"], environment=outputs["environment"], cluster=outputs["clusterName"],
                       db=outputs["database"]["instanceIdentifier"], services=services, long_arns=True)


def harden_database(client: Callable[[str], Any], recording: Recording, spec: w.WorldSpec,
                    world: w.World) -> None:
    """The world's instance as the stack declares it (components/database.py): its recorded subnet and parameter
    group names, encrypted with a key, an RDS-managed master secret. What `rampart restore` copies from it."""
    (declared,) = [r.plain_inputs() for r in recording.by_type("aws:rds/instance:Instance")]
    rds = client("rds")
    rds.modify_db_instance(DBInstanceIdentifier=spec.db, DeletionProtection=False, ApplyImmediately=True)
    rds.delete_db_instance(DBInstanceIdentifier=spec.db, SkipFinalSnapshot=True)
    rds.create_db_subnet_group(DBSubnetGroupName=declared["dbSubnetGroupName"], SubnetIds=[world.subnet_id],
                               DBSubnetGroupDescription="db")
    rds.create_db_parameter_group(DBParameterGroupName=declared["parameterGroupName"],
                                  DBParameterGroupFamily="postgres16", Description="db")
    # moto names keys itself: the tag carries the ARN the stack declares, which the roles' grants name.
    key = client("kms").create_key(Description="stack key", Tags=[
        {"TagKey": STACK_ARN_TAG, "TagValue": str(declared["kmsKeyId"])}])["KeyMetadata"]["Arn"]
    rds.create_db_instance(
        DBInstanceIdentifier=spec.db, DBInstanceClass="db.t4g.medium", Engine="postgres", MasterUsername="admin_user",
        ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=key, AllocatedStorage=20, BackupRetentionPeriod=14,
        StorageEncrypted=True, KmsKeyId=key, DeletionProtection=True, VpcSecurityGroupIds=[world.security_group_id],
        DBSubnetGroupName=declared["dbSubnetGroupName"], DBParameterGroupName=declared["parameterGroupName"],
        EnableIAMDatabaseAuthentication=True)


def create_topic(client: Callable[[str], Any], recording: Recording) -> None:
    """The stack's notifications topic (components/notifications.py) under its recorded ARN, encrypted with the
    stack key as declared: a publish to it makes SNS use that key as the caller."""
    (declared,) = [r.plain_inputs() for r in recording.by_type("aws:sns/topic:Topic")]
    name = unwrap_secrets(recording.outputs)["notificationTopicArn"].rsplit(":", 1)[-1]
    client("sns").create_topic(Name=name, Attributes={"KmsMasterKeyId": str(declared["kmsMasterKeyId"])})


def outputs_file(recording: Recording, world: w.World, path: Path) -> dict[str, Any]:
    """The stack's own outputs (what `pulumi stack output --json` prints), with moto's network ids."""
    outputs = unwrap_secrets(recording.outputs)
    _register_smoke_task(recording, outputs["region"])
    outputs["smokeTask"]["subnetIds"] = [world.subnet_id]
    outputs["smokeTask"]["securityGroupIds"] = [world.security_group_id]
    for declared in outputs["services"].values():
        declared["subnetIds"] = [world.subnet_id]
        declared["securityGroupIds"] = [world.security_group_id]
        if isinstance(declared.get("deployment"), dict):
            declared["deployment"]["alarmWatchSeconds"] = 0  # speed only: the alarm reads happen either way
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return outputs


def _register_smoke_task(recording: Recording, region: str) -> None:
    """The smoke task definition as the stack registers it (components/smoke_runner.py), in moto's ECS."""
    import boto3

    (registration,) = [r for r in recording.by_type("aws:ecs/taskDefinition:TaskDefinition")
                       if str(r.plain_inputs()["family"]) == unwrap_secrets(recording.outputs)["smokeTask"]["family"]]
    inputs = registration.plain_inputs()
    containers = inputs["containerDefinitions"]
    containers = json.loads(containers) if isinstance(containers, str) else containers
    # Container cpu/memory only because moto's RunTask adds them up (Fargate needs just the task's).
    containers = [{**c, "cpu": 256, "memory": 512} for c in containers]
    boto3.client("ecs", region_name=region).register_task_definition(
        family=inputs["family"], networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu=inputs["cpu"],
        memory=inputs["memory"], containerDefinitions=containers, executionRoleArn=inputs["executionRoleArn"],
        taskRoleArn=inputs["taskRoleArn"])


# --- running a job --------------------------------------------------------------------------------------------


class _Green(BaseHTTPRequestHandler):
    """200 everywhere, except under /failing (the failing_smoke_url)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(503 if self.path.startswith("/failing") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def smoke_listener() -> Iterator[str]:
    """Green on the test listener (the smoke gate itself makes no AWS call)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Green)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def placeholders(outputs: dict[str, Any], outputs_path: Path, stack: str) -> list[dict[str, str]]:
    """One mapping per service (a step without per_service uses the first)."""
    shared = {"stack": stack, "outputs": str(outputs_path), "db": outputs["database"]["instanceIdentifier"],
              "cluster": outputs["clusterName"], "topic": outputs["notificationTopicArn"]}
    return [{**shared, "service": key, "revision": s["taskDefinitionArn"], "health": s.get("healthCheckPath", "/"),
             "ecs_service": s["serviceName"], "application": s["codedeployApplication"], "group": s["deploymentGroup"],
             "family": s["taskDefinitionFamily"], "container": s["containerName"], "port": str(int(s["containerPort"])),
             "alarm": s["alarmNames"][0], "repository": s["repositoryUrl"].split("/", 1)[1],
             "image": f"{s['repositoryUrl']}@sha256:{'0' * 64}"}
            for key, s in outputs["services"].items()]


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


def run_steps(steps: list[Step], names_per_service: list[dict[str, str]], recorded: Recorded,
              run_rampart: Callable[[Rampart, list[str], dict[str, str]], int]) -> list[tuple[str, int, int]]:
    """Run each step (per service where it says so); (command line, exit code, expected) of each rampart run."""
    import shlex

    ran: list[tuple[str, int, int]] = []
    for step in steps:
        for names in names_per_service if step.per_service else names_per_service[:1]:
            if isinstance(step, Explicit):
                recorded.add(step.service, step.operation, fill(step.params, names))
                continue
            argv = shlex.split(fill(step.line, names))
            argv += SPEED.get(argv[0], ())
            if "--smoke-url" in argv:
                argv += SMOKE_SPEED
            ran.append((" ".join(argv), run_rampart(step, argv, names), step.expect_exit))
    return ran
