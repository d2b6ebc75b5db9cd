"""`build_stack(cfg)`: wiring only. Components own every resource; this module connects their outputs.

Order matters only through data: key -> network -> notifications -> secrets -> cluster/load balancer ->
services (with their alarms) -> database (which admits the services' security groups) -> backup ->
GitHub (which scopes deploy roles to the services).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws_partition import partition_of
from components.backup_plan import BackupCopyVault, BackupCopyVaultArgs, BackupPlan, BackupPlanArgs
from components.blue_green_service import BlueGreenService, BlueGreenServiceArgs
from components.chat_notifications import ChatNotifications, ChatNotificationsArgs, SlackChannel, TeamsChannel
from components.cluster import Cluster, ClusterArgs
from components.database import Database, DatabaseArgs
from components.github_oidc import GithubOidc
from components.keys import StackKey, StackKeyArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.notifications import Notifications, NotificationsArgs
from components.secrets import ApplicationSecrets, ApplicationSecretsArgs
from components.smoke_runner import SmokeRunner, SmokeRunnerArgs
from components.web_acl import WebAcl, WebAclArgs
from infra import naming, outputs
from infra.ci_access import build_ci_access
from infra.component_args import (
    alarm_thresholds,
    backup_schedule,
    database_settings,
    deployment_strategy,
    secret_specs,
    service_spec,
)
from infra.config import StackConfig
from infra.recovery import recovery_summary
from infra.timing import deployment_timing


@dataclass(frozen=True)
class _Platform:
    """What every concern builds on: the stack's settings and name prefix, its AWS provider and account, its key."""

    cfg: StackConfig
    prefix: str
    on_aws: pulumi.ResourceOptions
    account_id: pulumi.Output[str]
    key: StackKey


def build_stack(cfg: StackConfig) -> None:
    platform = _platform(cfg)
    network = _network(platform)
    notifications = _notifications(platform)
    secrets = _secrets(platform)
    cluster = Cluster(f"{platform.prefix}-cluster", ClusterArgs(), opts=platform.on_aws)
    load_balancer = _load_balancer(platform, network)
    smoke = _smoke_runner(platform, network)
    WebAcl(
        f"{platform.prefix}-waf",
        WebAclArgs(name_prefix=platform.prefix, resource_arn=load_balancer.arn, kms_key_arn=platform.key.key_arn),
        opts=platform.on_aws,
    )
    services = {
        service.name: _service(platform, service, network, cluster, load_balancer, notifications, secrets)
        for service in cfg.services
    }
    database = _database(platform, network, services, notifications)
    _backup(platform, database)
    oidc = build_ci_access(
        cfg, on_aws=platform.on_aws, account_id=platform.account_id, key=platform.key, cluster=cluster,
        services=services, smoke=smoke, database=database, notification_topic_arn=notifications.topic_arn,
    )
    _export_release_targets(cfg, network, load_balancer, smoke, services)
    _export_stack(cfg, cluster, notifications, load_balancer, database, oidc)


def _platform(cfg: StackConfig) -> _Platform:
    prefix = naming.prefix(cfg)
    aws_provider = aws.Provider("aws", region=cfg.region, default_tags={"tags": dict(naming.default_tags(cfg))})
    on_aws = pulumi.ResourceOptions(provider=aws_provider)
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=aws_provider)).account_id
    key = StackKey(
        f"{prefix}-key",
        StackKeyArgs(
            description=f"Encrypts every resource of the {cfg.stack} stack",
            account_id=account_id,
            region=cfg.region,
            alias=f"alias/{prefix}",
            protect=cfg.is_production,
            eventbridge_publishes=_ecs_native(cfg),
        ),
        opts=on_aws,
    )
    return _Platform(cfg=cfg, prefix=prefix, on_aws=on_aws, account_id=account_id, key=key)


def _network(platform: _Platform) -> Network:
    network = platform.cfg.network
    return Network(
        f"{platform.prefix}-network",
        NetworkArgs(
            cidr=network.cidr,
            az_count=network.az_count,
            nat_gateways=network.nat_gateways,
            flow_log_retention_days=network.flow_log_retention_days,
            kms_key_arn=platform.key.key_arn,
        ),
        opts=platform.on_aws,
    )


def _notifications(platform: _Platform) -> Notifications:
    cfg, prefix = platform.cfg, platform.prefix
    notifications = Notifications(
        f"{prefix}-notifications",
        NotificationsArgs(kms_key_arn=platform.key.key_arn, emails=cfg.notifications.emails,
                          eventbridge_publishes=_ecs_native(cfg)),
        opts=platform.on_aws,
    )
    chat = cfg.notifications
    if chat.slack is not None or chat.teams is not None:
        ChatNotifications(
            f"{prefix}-chat",
            ChatNotificationsArgs(
                name_prefix=prefix, topic_arn=notifications.topic_arn, partition=partition_of(cfg.region),
                region=cfg.region, account_id=platform.account_id,
                slack=SlackChannel(team_id=chat.slack.team_id, channel_id=chat.slack.channel_id)
                if chat.slack else None,
                teams=TeamsChannel(tenant_id=chat.teams.tenant_id, team_id=chat.teams.team_id,
                                   channel_id=chat.teams.channel_id) if chat.teams else None,
            ),
            opts=platform.on_aws,
        )
    return notifications


def _secrets(platform: _Platform) -> ApplicationSecrets:
    cfg = platform.cfg
    return ApplicationSecrets(
        f"{platform.prefix}-secrets",
        ApplicationSecretsArgs(
            secrets=secret_specs(cfg.application_secrets),
            values=cfg.secret_values,
            kms_key_arn=platform.key.key_arn,
            name_prefix=platform.prefix,
            protect=cfg.is_production,
        ),
        opts=platform.on_aws,
    )


def _load_balancer(platform: _Platform, network: Network) -> LoadBalancer:
    cfg = platform.cfg
    return LoadBalancer(
        f"{platform.prefix}-alb",
        LoadBalancerArgs(
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            certificate_arn=cfg.load_balancer.certificate_arn,
            ssl_policy=cfg.load_balancer.ssl_policy,
            test_listener_port=cfg.load_balancer.test_listener_port,
            access_log_retention_days=cfg.load_balancer.access_log_retention_days,
            idle_timeout_seconds=cfg.load_balancer.idle_timeout_seconds,
            deletion_protection=cfg.is_production,
            vpc_cidr=cfg.network.cidr,
            test_ingress_cidrs=cfg.load_balancer.test_ingress_cidrs,
            # The smoke task (and anything in the VPC) reaches the internet-facing ALB through the NAT gateways.
            test_source_ips=network.nat_public_ips,
        ),
        opts=platform.on_aws,
    )


def _smoke_runner(platform: _Platform, network: Network) -> SmokeRunner:
    cfg = platform.cfg
    return SmokeRunner(
        f"{platform.prefix}-smoke",
        SmokeRunnerArgs(
            name_prefix=platform.prefix,
            account_id=platform.account_id,
            region=cfg.region,
            vpc_id=network.vpc_id,
            kms_key_arn=platform.key.key_arn,
            # A release's gate evidence is kept as long as the network's own record of who connected.
            log_retention_days=cfg.network.flow_log_retention_days,
            test_listener_port=cfg.load_balancer.test_listener_port,
        ),
        opts=platform.on_aws,
    )


def _service(
    platform: _Platform, service, network: Network, cluster: Cluster, load_balancer: LoadBalancer,
    notifications: Notifications, secrets: ApplicationSecrets,
) -> BlueGreenService:
    cfg = platform.cfg
    return BlueGreenService(
        f"{platform.prefix}-{service.name}",
        BlueGreenServiceArgs(
            service=service_spec(service),
            deployment=deployment_strategy(cfg.deployment),
            alarms=alarm_thresholds(cfg.alarms),
            environment=cfg.environment,
            name_prefix=platform.prefix,
            cluster_arn=cluster.arn,
            cluster_name=cluster.cluster_name,
            vpc_id=network.vpc_id,
            vpc_cidr=cfg.network.cidr,
            private_subnet_ids=network.private_subnet_ids,
            load_balancer_security_group_id=load_balancer.security_group_id,
            load_balancer_arn_suffix=load_balancer.arn_suffix,
            production_listener_arn=load_balancer.production_listener_arn,
            test_listener_arn=load_balancer.test_listener_arn,
            notification_topic_arn=notifications.topic_arn,
            kms_key_arn=platform.key.key_arn,
            log_retention_days=service.log_retention_days,
            secrets={secrets.environment_variable_names[name]: secrets.value_from[name] for name in service.secrets},
            secret_arns=[secrets.arns[name] for name in service.secrets],
            region=cfg.region,
            traffic_control=service.traffic_control,
        ),
        opts=platform.on_aws,
    )


def _database(
    platform: _Platform, network: Network, services: dict[str, BlueGreenService], notifications: Notifications,
) -> Database:
    cfg = platform.cfg
    return Database(
        f"{platform.prefix}-db",
        DatabaseArgs(
            database=database_settings(cfg.database),
            environment=cfg.environment,
            identifier=f"{platform.prefix}-db",
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            allowed_security_group_ids=[s.security_group_id for s in services.values()],
            kms_key_arn=platform.key.key_arn,
            notification_topic_arn=notifications.topic_arn,
            protect=cfg.is_production,
        ),
        opts=platform.on_aws,
    )


def _backup(platform: _Platform, database: Database) -> None:
    cfg, prefix = platform.cfg, platform.prefix
    copy_vault_arn = None
    if cfg.backup.copy_region:
        copy_provider = aws.Provider(
            "aws-backup-copy",
            region=cfg.backup.copy_region,
            default_tags={"tags": dict(naming.default_tags(cfg))},
        )
        copy_vault = BackupCopyVault(
            f"{prefix}-backup-copy",
            BackupCopyVaultArgs(name_prefix=prefix, account_id=platform.account_id, region=cfg.backup.copy_region),
            opts=pulumi.ResourceOptions(provider=copy_provider),
        )
        copy_vault_arn = copy_vault.vault_arn
    BackupPlan(
        f"{prefix}-backup",
        BackupPlanArgs(
            backup=backup_schedule(cfg.backup),
            kms_key_arn=platform.key.key_arn,
            resource_arns=[database.arn],
            copy_vault_arn=copy_vault_arn,
            name_prefix=prefix,
        ),
        opts=platform.on_aws,
    )


def _export_release_targets(
    cfg: StackConfig, network: Network, load_balancer: LoadBalancer, smoke: SmokeRunner,
    services: dict[str, BlueGreenService],
) -> None:
    """What `rampart deploy` and `rampart smoke` act on: the smoke task, the deployable services, and the
    repositories of services still awaiting their first image."""
    pulumi.export(
        outputs.SMOKE_TASK,
        {
            "family": smoke.family,
            "containerName": smoke.container_name,
            "subnetIds": network.private_subnet_ids,
            "securityGroupIds": [smoke.security_group_id],
            "logGroupName": smoke.log_group_name,
        },
    )
    pulumi.export(
        outputs.SERVICES,
        {
            service.name: _service_outputs(services[service.name], service, cfg, load_balancer, network)
            for service in cfg.services
            if not service.awaiting_image
        },
    )
    pulumi.export(
        outputs.AWAITING_IMAGE,
        {
            service.name: {"repositoryUrl": services[service.name].repository_url}
            for service in cfg.services
            if service.awaiting_image
        },
    )


def _export_stack(
    cfg: StackConfig, cluster: Cluster, notifications: Notifications, load_balancer: LoadBalancer,
    database: Database, oidc: GithubOidc,
) -> None:
    pulumi.export(outputs.ENVIRONMENT, cfg.environment)
    pulumi.export(outputs.REGION, cfg.region)
    pulumi.export(outputs.CLUSTER_NAME, cluster.cluster_name)
    pulumi.export(outputs.NOTIFICATION_TOPIC_ARN, notifications.topic_arn)
    pulumi.export(outputs.LOAD_BALANCER_DNS_NAME, load_balancer.dns_name)
    pulumi.export(
        outputs.DATABASE,
        {
            "instanceIdentifier": database.instance_identifier,
            "endpoint": database.endpoint,
            "port": database.port,
            "rpoMinutes": database.rpo_minutes,
        },
    )
    pulumi.export(outputs.RECOVERY, recovery_summary(cfg))
    pulumi.export(
        outputs.GITHUB,
        {
            "deployRoleArn": oidc.deploy_role_arn,
            "infrastructureRoleArn": oidc.infrastructure_role_arn,
            "previewRoleArn": oidc.preview_role_arn,
            "rollbackRoleArn": oidc.rollback_role_arn,
        },
    )


def _ecs_native(cfg: StackConfig) -> bool:
    """Some service deploys ECS-native blue/green: its deployment events reach the topic through EventBridge."""
    return any(service.traffic_control == "ECS" for service in cfg.services)


def _service_outputs(
    component: BlueGreenService, service, cfg: StackConfig, load_balancer: LoadBalancer, network: Network
) -> dict[str, object]:
    values = {
        "serviceName": component.service_name,
        "taskDefinitionArn": component.task_definition_arn,
        "taskDefinitionFamily": component.task_definition_family,
        "containerName": component.container_name,
        "containerPort": component.container_port,
        "codedeployApplication": component.codedeploy_application_name,
        "deploymentGroup": component.deployment_group_name,
        "productionTargetGroup": component.production_target_group_name,
        "testTargetGroup": component.test_target_group_name,
        "productionListenerArn": load_balancer.production_listener_arn,
        "testListenerArn": load_balancer.test_listener_arn,
        "testListenerPort": cfg.load_balancer.test_listener_port,
        "subnetIds": network.private_subnet_ids,
        "securityGroupIds": [component.security_group_id],
        "logGroupName": component.log_group_name,
        "repositoryUrl": component.repository_url,
        "alarmNames": component.alarm_names,
        "detectionSeconds": component.detection_seconds,
        "healthCheckPath": service.health_check_path,
        "migrationCommand": list(service.migration_command),
        "trafficControl": component.traffic_control,
        "deployment": deployment_timing(cfg.deployment, cfg.alarms).as_output(),
    }
    assert set(values) == set(outputs.SERVICE_KEYS), "infra/outputs.py pins the service output keys"
    return values

