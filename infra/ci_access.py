"""The stack's CI access, wired from its components: one role per job (GithubOidc), the GitHub environments whose
jobs may assume them, and the variables the workflows read. Wiring only, like infra/stack.py."""

from __future__ import annotations

import json

import pulumi
import pulumi_github as github

from components.aws_partition import partition_of
from components.blue_green_service import BlueGreenService
from components.cluster import Cluster
from components.database import Database
from components.github_environment import GithubEnvironment, GithubEnvironmentArgs
from components.github_oidc import GithubOidc, GithubOidcArgs
from components.github_repository import GithubRepositoryRules, GithubRepositoryRulesArgs
from components.github_repository_security import GithubRepositorySecurity, GithubRepositorySecurityArgs
from components.github_variables import GithubRepositoryVariables, GithubRepositoryVariablesArgs
from components.keys import StackKey
from components.smoke_runner import SmokeRunner
from infra import naming, outputs
from infra.component_args import github_settings, repository_security
from infra.config import StackConfig
from infra.timing import deploy_job_minutes, deployment_timing

STACK_MANAGED_POLICIES = (
    "policy/AWSCodeDeployRoleForECS",
    "policy/service-role/AmazonRDSEnhancedMonitoringRole",
    "policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "policy/service-role/AWSBackupServiceRolePolicyForRestores",
)
"""AWS-managed policies the components attach to the stack's own roles: the only ones the infrastructure role may
attach (a test compares this with every attachment the stack registers)."""


ECS_NATIVE_MANAGED_POLICIES = ("policy/AmazonECSInfrastructureRolePolicyForLoadBalancers",)
"""Attached only in stacks with an ECS-native blue/green service (its ECS infrastructure role)."""


def stack_managed_policies(cfg: StackConfig) -> tuple[str, ...]:
    native = any(service.traffic_control == "ECS" for service in cfg.services)
    return STACK_MANAGED_POLICIES + (ECS_NATIVE_MANAGED_POLICIES if native else ())


def rollback_environment(cfg: StackConfig) -> str | None:
    return f"{cfg.environment}-rollback" if cfg.github.rollback_environment else None


def build_ci_access(
    cfg: StackConfig, *, on_aws: pulumi.ResourceOptions, account_id: pulumi.Input[str], key: StackKey,
    cluster: Cluster, services: dict[str, BlueGreenService], smoke: SmokeRunner, database: Database,
    notification_topic_arn: pulumi.Input[str] | None = None,
) -> GithubOidc:
    oidc = _oidc_roles(
        cfg, on_aws=on_aws, account_id=account_id, key=key, cluster=cluster, services=services, smoke=smoke,
        database=database, notification_topic_arn=notification_topic_arn,
    )
    on_github = pulumi.ResourceOptions(provider=github.Provider("github", owner=cfg.github.owner))
    environment_variables = _environment_variables(cfg, oidc, cluster, services, database, notification_topic_arn)
    _github_environments(cfg, oidc, environment_variables, on_github)
    GithubRepositoryVariables(
        f"{naming.prefix(cfg)}-github-variables",
        GithubRepositoryVariablesArgs(github=github_settings(cfg.github), variables=_repository_variables(cfg, oidc)),
        opts=on_github,
    )
    if cfg.github.manage_repository_settings:
        _repository_settings(cfg, on_github)
    return oidc


def _oidc_roles(
    cfg: StackConfig, *, on_aws: pulumi.ResourceOptions, account_id: pulumi.Input[str], key: StackKey,
    cluster: Cluster, services: dict[str, BlueGreenService], smoke: SmokeRunner, database: Database,
    notification_topic_arn: pulumi.Input[str] | None,
) -> GithubOidc:
    """One role per CI job, each scoped to exactly the stack's resources that job acts on."""
    prefix = naming.prefix(cfg)
    return GithubOidc(
        f"{prefix}-github-oidc",
        GithubOidcArgs(
            github=github_settings(cfg.github),
            environment=cfg.environment,
            name_prefix=prefix,
            account_id=account_id,
            region=cfg.region,
            # The account's provider, created once by `rampart bootstrap`: a second stack creating it would fail.
            create_provider=False,
            provider_arn=cfg.github.oidc_provider_arn,
            cluster_arn=cluster.arn,
            # Services awaiting their first image are included by the names they will have: the role is exact
            # and non-empty from the first `up`, and unchanged by the second.
            service_arns=[s.service_arn for s in services.values()],
            task_definition_families=[*(f"{prefix}-{name}" for name in services), smoke.family],
            pass_role_arns=[*(arn for s in services.values() for arn in (s.task_role_arn, s.execution_role_arn)),
                            smoke.task_role_arn, smoke.execution_role_arn],
            # ECS-native services have no CodeDeploy group: the role gets no CodeDeploy grant for them.
            codedeploy_application_names=[s.codedeploy_application_name for s in services.values()
                                          if s.codedeploy_application_name is not None],
            deployment_group_names=[s.deployment_group_name for s in services.values()
                                    if s.deployment_group_name is not None],
            ecs_native_service_arns=[s.service_arn for s in services.values() if s.traffic_control == "ECS"],
            repository_arns=[s.repository_arn for s in services.values()],
            db_instance_arns=[database.arn],
            log_group_arns=[*(s.log_group_arn for s in services.values()), smoke.log_group_arn],
            state_backend_url=str(cfg.github.state_backend_url),
            secrets_provider_key_arn=str(cfg.github.secrets_provider_key_arn),
            stack_key_arn=key.key_arn,
            stack_secret_names=[f"{prefix}/{secret.name}" for secret in cfg.application_secrets],
            managed_policy_arns=[f"arn:{partition_of(cfg.region)}:iam::aws:{p}" for p in stack_managed_policies(cfg)],
            rollback_environment=rollback_environment(cfg),
            github_app_secret_arn=cfg.github.app_secret_arn,
            github_reader_app_secret_arn=cfg.github.reader_app_secret_arn,
            notification_topic_arn=notification_topic_arn,
        ),
        opts=on_aws,
    )


def _services_variable(cfg: StackConfig, services: dict[str, BlueGreenService]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            name: {
                "service": s.service_name,
                "trafficControl": s.traffic_control,
                "deploymentGroup": s.deployment_group_name,
                "application": s.codedeploy_application_name,
                "containerName": s.container_name,
                "containerPort": s.container_port,
                # rollback.yml has no outputs file: its `rampart deploy --timeout` comes from here.
                "deployTimeoutSeconds": deployment_timing(cfg.deployment, cfg.alarms).until_shifted_seconds,
            }
            for name, s in services.items()
            if not s.awaiting_image  # nothing to roll back before the first image
        }
    )


def _environment_variables(
    cfg: StackConfig, oidc: GithubOidc, cluster: Cluster, services: dict[str, BlueGreenService],
    database: Database, notification_topic_arn: pulumi.Input[str] | None,
) -> dict[str, pulumi.Input[str]]:
    """What the deploy environment's jobs read: the stack, its roles and the targets of a release."""
    variables: dict[str, pulumi.Input[str]] = {
        "AWS_REGION": cfg.region,
        "RAMPART_STACK": cfg.stack,
        "RAMPART_DEPLOY_ROLE_ARN": oidc.deploy_role_arn,
        "RAMPART_INFRA_ROLE_ARN": oidc.infrastructure_role_arn,
        **({"RAMPART_GITHUB_APP_SECRET_ARN": cfg.github.app_secret_arn} if cfg.github.app_secret_arn else {}),
        "RAMPART_CLUSTER": cluster.cluster_name,
        "RAMPART_SERVICES": _services_variable(cfg, services),
        "RAMPART_RESTORE": restore_variable(cfg, database),
        **({"RAMPART_NOTIFICATION_TOPIC_ARN": notification_topic_arn} if notification_topic_arn is not None else {}),
    }
    if cfg.github.state_backend_url:
        variables["PULUMI_BACKEND_URL"] = cfg.github.state_backend_url
    return variables


def _repository_variables(cfg: StackConfig, oidc: GithubOidc) -> dict[str, pulumi.Input[str]]:
    """What jobs outside the stack's environments read (pull-request previews), one name per stack."""
    variables: dict[str, pulumi.Input[str]] = {
        outputs.repository_variable("RAMPART_PREVIEW_ROLE_ARN_{STACK}", cfg.stack): oidc.preview_role_arn,
        outputs.repository_variable("RAMPART_AWS_REGION_{STACK}", cfg.stack): cfg.region,
        outputs.repository_variable("RAMPART_DEPLOY_JOB_TIMEOUT_MINUTES_{STACK}", cfg.stack): str(
            deploy_job_minutes(cfg)),
    }
    if cfg.github.reader_app_secret_arn:
        variables[outputs.repository_variable("RAMPART_GITHUB_READER_APP_SECRET_ARN_{STACK}", cfg.stack)] = (
            cfg.github.reader_app_secret_arn
        )
    if cfg.github.state_backend_url:
        variables[outputs.repository_variable("RAMPART_STATE_BACKEND_{STACK}", cfg.stack)] = (
            cfg.github.state_backend_url
        )
    return variables


def _github_environments(
    cfg: StackConfig, oidc: GithubOidc, environment_variables: dict[str, pulumi.Input[str]],
    on_github: pulumi.ResourceOptions,
) -> None:
    GithubEnvironment(
        f"{naming.prefix(cfg)}-github-environment",
        GithubEnvironmentArgs(
            github=github_settings(cfg.github), environment=cfg.environment, variables=environment_variables
        ),
        opts=on_github,
    )
    if oidc.rollback_role_arn is not None:
        _rollback_environment(cfg, oidc.rollback_role_arn, environment_variables, on_github)


def _repository_settings(cfg: StackConfig, on_github: pulumi.ResourceOptions) -> None:
    prefix = naming.prefix(cfg)
    GithubRepositoryRules(
        f"{prefix}-github-repository", GithubRepositoryRulesArgs(github=github_settings(cfg.github)), opts=on_github
    )
    GithubRepositorySecurity(
        f"{prefix}-github-repository-security",
        GithubRepositorySecurityArgs(
            github=github_settings(cfg.github), security=repository_security(cfg.github.security)
        ),
        opts=on_github,
    )


def restore_variable(cfg: StackConfig, database: Database) -> pulumi.Output[str]:
    """What restore-rehearsal.yml restores and measures against: the instance and the stack's recovery targets
    for the restore and data-loss paths (infra/recovery.py recovery_paths)."""
    recovery = cfg.recovery
    return database.instance_identifier.apply(lambda instance: json.dumps({
        "dbInstance": instance,
        "restoreRtoMinutes": recovery.restore_rto_minutes or recovery.rto_minutes,
        "rpoMinutes": recovery.rpo_minutes,
    }))


def _rollback_environment(
    cfg: StackConfig, role_arn: pulumi.Output[str], deploy_variables: dict[str, pulumi.Input[str]],
    on_github: pulumi.ResourceOptions,
) -> None:
    """The emergency rollback gate: the deploy environment's reviewers and branch policy, one approval and no wait
    timer, so a manual rollback fits inside the RTO; its role cannot ship new code (components/ci_policies.py)."""
    shared = ("AWS_REGION", "RAMPART_STACK", "RAMPART_CLUSTER", "RAMPART_SERVICES", "RAMPART_NOTIFICATION_TOPIC_ARN")
    variables = {name: deploy_variables[name] for name in shared if name in deploy_variables}
    variables["RAMPART_ROLLBACK_ROLE_ARN"] = role_arn
    GithubEnvironment(
        f"{naming.prefix(cfg)}-github-rollback-environment",
        GithubEnvironmentArgs(
            github=github_settings(cfg.github, wait_timer_minutes=0),
            environment=str(rollback_environment(cfg)),
            variables=variables,
        ),
        opts=on_github,
    )
