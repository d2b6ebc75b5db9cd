"""ECS rules (catalogue rules 1-14): task definitions that cannot reach the host, run read-only and non-root,
take secrets by reference, log to the stack and run pinned images from the stack's registry; services that are
private, on current Fargate, deployed blue/green by CodeDeploy without Pulumi fighting CodeDeploy, sized to
survive losing a task or a zone, and shelled into only under governance; clusters with Container Insights.

Never waivable, because a waiver would hand out host root, a public address or a credential:
`ecs-taskdef-no-host-privileges` (privileged containers and host namespaces are root on the host),
`ecs-taskdef-no-secrets-in-environment` (plain-text credentials are readable by anyone who can describe the task
definition) and `ecs-service-no-public-ip` (a public IP bypasses the load balancer, WAF and security layering).

The rules live by concern: task definitions in guardrails.ecs_task_definitions (1-7), services in
guardrails.ecs_services (8-12), cluster-side governance in guardrails.ecs_clusters (13-14). This module is the
group the pack and the rule catalogue read (`POLICIES`, in catalogue order).
"""

from __future__ import annotations

from guardrails import ecs_clusters, ecs_services, ecs_task_definitions
from guardrails.ecs_services import CLUSTER, SCALING_TARGET, SUBNET
from guardrails.ecs_task_definitions import ECR_REPOSITORY, LOG_GROUP, TASK_DEFINITION
from guardrails.rule import Rule

# The type tokens the tests build resources with.
__all__ = ["CLUSTER", "ECR_REPOSITORY", "LOG_GROUP", "POLICIES", "SCALING_TARGET", "SUBNET", "TASK_DEFINITION"]

POLICIES: list[Rule] = [*ecs_task_definitions.RULES, *ecs_services.RULES, *ecs_clusters.RULES]
