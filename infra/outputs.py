"""The stack's public contract: export keys and the GitHub variables workflows read.

`rampart deploy/migrate/verify/snapshot` read `pulumi stack output --json --show-secrets=false` (or the same
JSON written by `rampart check --outputs-dir`), and the workflows read the GitHub environment variables, so
both shapes are pinned here and nowhere else.

Stack outputs (JSON, camelCase):

    {
      "environment": "production",
      "region": "us-east-1",
      "clusterName": "...",
      "notificationTopicArn": "...",
      "services": {
        "<service>": {
          "serviceName": "...", "taskDefinitionArn": "...",
          "taskDefinitionFamily": "...", "containerName": "...", "containerPort": 8080,
          "trafficControl": "CODE_DEPLOY",
          "codedeployApplication": "...", "deploymentGroup": "...",   (null under trafficControl ECS)
          "productionTargetGroup": "...", "testTargetGroup": "...",
          "productionListenerArn": "...", "testListenerArn": "...", "testListenerPort": 8443,
          "subnetIds": ["..."], "securityGroupIds": ["..."], "logGroupName": "...",
          "repositoryUrl": "...", "alarmNames": ["..."], "detectionSeconds": 240,
          "healthCheckPath": "/health", "migrationCommand": ["..."],
          "deployment": {"untilShiftedSeconds": 3000, "withBakeSeconds": 6420, "alarmWatchSeconds": 240}
        }
      },
      "awaitingImage": {"<service>": {"repositoryUrl": "..."}},
      "database": {"instanceIdentifier": "...", "endpoint": "...", "port": 5432, "rpoMinutes": 5},
      "loadBalancerDnsName": "...",
      "smokeTask": {"family": "...", "containerName": "smoke", "subnetIds": ["..."], "securityGroupIds": ["..."],
                    "logGroupName": "..."},
      "recovery": {"rtoMinutes": 5, "rpoMinutes": 15, "worstCaseDetectionSeconds": 240, "worstCaseRpoMinutes": 5,
                   "worstCaseDeploySeconds": 3000, "worstCaseDeployWithBakeSeconds": 6420,
                   "worstCaseManualRollbackSeconds": 780,
                   "paths": [{"path": "restore", "objective": "RTO", "targetMinutes": 90, "worstCaseMinutes": 80,
                              "basis": "modelled restore"}, ...]},
      "github": {"deployRoleArn": "...", "infrastructureRoleArn": "...", "previewRoleArn": "...",
                 "rollbackRoleArn": "..."}
    }
"""

from __future__ import annotations

ENVIRONMENT = "environment"
REGION = "region"
CLUSTER_NAME = "clusterName"
NOTIFICATION_TOPIC_ARN = "notificationTopicArn"
SERVICES = "services"
DATABASE = "database"
LOAD_BALANCER_DNS_NAME = "loadBalancerDnsName"
RECOVERY = "recovery"
AWAITING_IMAGE = "awaitingImage"
"""Services declared `awaitingImage: true` (a new stack's first `up`): not under `services` (nothing there to deploy,
verify or roll back yet); each names the repository its first image is pushed to."""
GITHUB = "github"
SMOKE_TASK = "smokeTask"
"""The smoke task (components/smoke_runner.py) and where `rampart deploy --smoke-task` runs it: the private
subnets, no public IP, its own security group."""
SMOKE_TASK_KEYS = ("family", "containerName", "subnetIds", "securityGroupIds", "logGroupName")

# Keys inside services.<name>
SERVICE_KEYS = (
    "serviceName",
    "taskDefinitionArn",
    "taskDefinitionFamily",
    "containerName",
    "containerPort",
    "codedeployApplication",
    "deploymentGroup",
    "productionTargetGroup",
    "testTargetGroup",
    "productionListenerArn",
    "testListenerArn",
    "testListenerPort",
    "subnetIds",
    "securityGroupIds",
    "logGroupName",
    "repositoryUrl",
    "alarmNames",
    "detectionSeconds",
    "healthCheckPath",
    "migrationCommand",
    "trafficControl",
    "deployment",
)
# Keys inside services.<name>.deployment: worst cases of one healthy deployment (infra/timing.py); the first is
# `rampart deploy`'s default --timeout, the second its default with --wait-for-bake.
DEPLOYMENT_KEYS = ("untilShiftedSeconds", "withBakeSeconds", "alarmWatchSeconds")

# Keys inside awaitingImage.<name>
AWAITING_IMAGE_KEYS = ("repositoryUrl",)

# Keys inside database
DATABASE_KEYS = ("instanceIdentifier", "endpoint", "port", "rpoMinutes")

# GitHub environment variables the GitHub component creates and the workflows read (vars.<NAME>).
GITHUB_ENVIRONMENT_VARIABLES = (
    "AWS_REGION",
    "PULUMI_BACKEND_URL",  # only when github.stateBackendUrl is set
    "RAMPART_STACK",
    "RAMPART_DEPLOY_ROLE_ARN",
    "RAMPART_INFRA_ROLE_ARN",
    "RAMPART_ROLLBACK_ROLE_ARN",  # in the `<stack>-rollback` environment only
    "RAMPART_GITHUB_APP_SECRET_ARN",  # only when github.appSecretArn is set
    "RAMPART_CLUSTER",
    # JSON: {"<service>": {"service", "trafficControl", "deploymentGroup", "application" (null under ECS),
    #                      "containerName", "containerPort",
    #                      "deployTimeoutSeconds"}}
    "RAMPART_SERVICES",
    # JSON: {"dbInstance", "restoreRtoMinutes", "rpoMinutes"} (restore-rehearsal.yml)
    "RAMPART_RESTORE",
    # The stack's notifications topic: `rampart notify` in deploy-stack.yml and rollback.yml publishes to it.
    "RAMPART_NOTIFICATION_TOPIC_ARN",
)
# Repository-level variables, one set per stack (pull-request previews and drift checks run outside any
# environment; each stack owns its own names so two stacks never manage the same variable).
GITHUB_REPOSITORY_VARIABLE_FORMATS = (
    "RAMPART_PREVIEW_ROLE_ARN_{STACK}",
    "RAMPART_GITHUB_READER_APP_SECRET_ARN_{STACK}",  # only when github.readerAppSecretArn is set
    "RAMPART_AWS_REGION_{STACK}",
    # deploy-stack.yml's timeout-minutes (infra/timing.deploy_job_minutes). A repository variable, not an
    # environment one: GitHub evaluates timeout-minutes before the job enters its environment, where environment
    # variables read empty (actions/runner#2472).
    "RAMPART_DEPLOY_JOB_TIMEOUT_MINUTES_{STACK}",
    "RAMPART_STATE_BACKEND_{STACK}",  # only when github.stateBackendUrl is set
)


def repository_variable(name_format: str, stack: str) -> str:
    return name_format.format(STACK=stack.upper().replace("-", "_"))
