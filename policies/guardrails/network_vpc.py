"""VPC rules (catalogue 53-56): the default security group adopted and closed, VPC flow logs, no public IPs
assigned on launch, and the VPC endpoints (or NAT gateway) private tasks need.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guardrails.network_model import (
    DEFAULT_SECURITY_GROUP,
    ECS_SERVICE,
    FLOW_LOG,
    FSBP,
    NAT_GATEWAY,
    SH_EC2_URL,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
    names_of,
    network_rule,
    referenced,
)
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import of_type

# --- 53 vpc-default-sg-closed ------------------------------------------------------------------------------


def check_default_sg_closed(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    defaults = of_type(resources, DEFAULT_SECURITY_GROUP)
    for vpc in of_type(resources, VPC):
        adopted = [d for d in defaults if referenced(d, "vpcId", [vpc], name_key="")]
        if not adopted:
            yield Finding("VPC has no aws.ec2.DefaultSecurityGroup; expected one with no ingress or egress (the "
                          "default group lets members talk to each other and reach the internet)", vpc.urn)
        elif len(adopted) > 1:
            yield Finding(f"VPC has {len(adopted)} DefaultSecurityGroup resources ({names_of(adopted)}); expected "
                          "exactly one", vpc.urn)
    for default in defaults:
        for key in ("ingress", "egress"):
            if default.get(key):
                yield Finding(f"DefaultSecurityGroup {key} has {len(default.get(key))} rule(s); expected none",
                              default.urn)


# --- 54 vpc-flow-logs --------------------------------------------------------------------------------------


def check_flow_logs(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    flow_logs = of_type(resources, FLOW_LOG)
    traffic_types = list(context.threshold("trafficTypes"))
    for vpc in of_type(resources, VPC):
        logs = [f for f in flow_logs if referenced(f, "vpcId", [vpc], name_key="")]
        if not logs:
            yield Finding("VPC has no aws.ec2.FlowLog (vpc_id = this VPC); expected flow logs", vpc.urn)
        elif not any(f.get("trafficType") in traffic_types for f in logs):
            found = ", ".join(repr(f.get("trafficType")) for f in logs)
            yield Finding(f"VPC flow logs record trafficType {found}; expected one of {', '.join(traffic_types)}",
                          vpc.urn)


# --- 55 subnet-no-auto-public-ip ---------------------------------------------------------------------------


def check_subnet_no_auto_public_ip(resource: Resource, context: Context) -> Iterator[str]:
    if resource.get("mapPublicIpOnLaunch") is True:
        yield "mapPublicIpOnLaunch is true; expected false (load balancers and NAT gateways do not need it)"


# --- 56 vpc-endpoints-for-private-tasks --------------------------------------------------------------------


def check_endpoints_for_private_tasks(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    private_services = [s for s in of_type(resources, ECS_SERVICE)
                        if (s.get("networkConfiguration", {}) or {}).get("assignPublicIp") is not True]
    if not private_services or of_type(resources, NAT_GATEWAY):
        return
    present = [str(e.get("serviceName", "")) for e in of_type(resources, VPC_ENDPOINT)]
    missing = [svc for svc in context.threshold("requiredEndpoints")
               if not any(name.endswith(f".{svc}") for name in present)]
    if missing:
        for service in private_services:
            yield Finding(f"private tasks have no NAT gateway and no VPC endpoint for {', '.join(missing)}; "
                          "expected endpoints (or a NAT gateway) so tasks can pull images, write logs and read "
                          "secrets", service.urn)


RULES: list[Rule] = [
    network_rule(
        53, name="vpc-default-sg-closed",
        description="Each VPC adopts its default security group once and leaves it without rules.",
        enforcement="M", severity="high", framework=Framework(FSBP, "EC2.2"),
        remediation="Add one `aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id)` per VPC with no `ingress` or `egress`.",
        url=f"{SH_EC2_URL}#ec2-2", stack_check=check_default_sg_closed,
    ),
    network_rule(
        54, name="vpc-flow-logs",
        description="Every VPC has flow logs.",
        enforcement="M", severity="medium", framework=Framework(FSBP, "EC2.6"),
        remediation="Add an `aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type=\"ALL\", log_destination=...)` per VPC.",
        url=f"{SH_EC2_URL}#ec2-6", stack_check=check_flow_logs, thresholds={"trafficTypes": ["ALL", "REJECT"]},
    ),
    network_rule(
        55, name="subnet-no-auto-public-ip",
        description="Subnets do not assign public IPs on launch.",
        enforcement="M", severity="medium", framework=Framework(FSBP, "EC2.15"),
        remediation="Set `map_public_ip_on_launch=False` (the default).",
        url=f"{SH_EC2_URL}#ec2-15", resource_types=(SUBNET,), check=check_subnet_no_auto_public_ip,
    ),
    network_rule(
        56, name="vpc-endpoints-for-private-tasks",
        description="Private tasks reach ECR, CloudWatch Logs, Secrets Manager and S3 through VPC endpoints or a "
                    "NAT gateway.",
        enforcement="A", severity="low", framework=Framework(FSBP, "EC2.55, EC2.56"),
        remediation="Add `aws.ec2.VpcEndpoint`s for ecr.api, ecr.dkr, logs, secretsmanager (Interface, private "
                    "DNS) and s3 (Gateway), or a NAT gateway.",
        url=f"{SH_EC2_URL}#ec2-55", stack_check=check_endpoints_for_private_tasks,
        thresholds={"requiredEndpoints": ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "s3"]},
    ),
]
