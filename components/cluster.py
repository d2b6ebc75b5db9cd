"""Cluster: the ECS cluster every service of the stack runs in, with Container Insights on."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# "disabled" is not offered: without Container Insights there are no task-level CPU and memory metrics,
# which the deployment alarms and any incident review depend on.
CONTAINER_INSIGHTS = ("enhanced", "enabled")
CAPACITY_PROVIDERS = ["FARGATE", "FARGATE_SPOT"]


@dataclass(frozen=True, kw_only=True)
class ClusterArgs:
    container_insights: str = "enhanced"
    """`enhanced` (per-task and per-container metrics) or `enabled` (cluster and service level)."""


class Cluster(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    """Cluster ARN."""
    cluster_name: pulumi.Output[str]
    """Cluster name (what services, CodeDeploy and alarm dimensions refer to)."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.container_insights not in CONTAINER_INSIGHTS:
            raise ValueError(
                f"ClusterArgs.container_insights: expected one of {', '.join(CONTAINER_INSIGHTS)}, "
                f"got {args.container_insights!r}"
            )
        super().__init__("rampart:index:Cluster", name, None, opts)

        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=args.container_insights)],
            tags={"Name": f"{name}-cluster"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Fargate only: no EC2 container instances to patch. The default strategy keeps everything on
        # on-demand FARGATE; a service must opt in to FARGATE_SPOT (interruptible) explicitly.
        aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity-providers",
            cluster_name=cluster.name,
            capacity_providers=CAPACITY_PROVIDERS,
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider="FARGATE", weight=1, base=0
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.arn = cluster.arn
        self.cluster_name = cluster.name
        self.register_outputs({"arn": self.arn, "clusterName": self.cluster_name})
