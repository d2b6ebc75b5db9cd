"""Network: a VPC with public and private subnets across AZs, NAT egress, flow logs and private AWS endpoints.

Tasks run in the private subnets only. Public subnets hold the ALB and the NAT gateways, nothing else, so no
subnet hands out public IPs on launch. The default security group is closed (anything that lands in it by
accident can talk to nothing), every packet decision is logged to an encrypted log group, and the AWS APIs the
tasks need at start (ECR, logs, Secrets Manager, S3 for image layers) are reached through endpoints, so a NAT
outage or an egress restriction does not stop deployments.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.log_retention import CLOUDWATCH_LOG_RETENTION_DAYS
from components.service_trust import service_trust

# CloudWatch Logs accepts only these retention periods; anything else fails inside `pulumi up`.
LOG_RETENTION_DAYS = frozenset(CLOUDWATCH_LOG_RETENTION_DAYS)

# The services an ECS Fargate task needs before its own code runs: pull the image (ecr.api, ecr.dkr, and S3
# for the layers, which is the gateway endpoint), ship logs, and read its secrets.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")

# The smallest subnet worth creating: a /26 leaves 59 usable addresses after AWS reserves five, which is
# room for a rolling blue/green deployment of a few services (each task takes one ENI address).
MAX_SUBNET_PREFIX = 26


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    cidr: str
    """IPv4 CIDR of the VPC (private range, /16 to /24)."""
    az_count: int
    """How many availability zones to span (at least 2: the ALB and a multi-AZ database need it)."""
    nat_gateways: int
    """NAT gateways, 1..az_count: one per AZ survives an AZ loss; one in total is cheaper for staging."""
    flow_log_retention_days: int
    kms_key_arn: pulumi.Input[str]
    """Key that encrypts the flow log group (its key policy must admit the logs service)."""
    availability_zones: Sequence[str] | None = None
    """Explicit zone names; None asks the provider for the region's available zones."""


def _validate(args: NetworkArgs) -> list[ipaddress.IPv4Network]:
    """Check the args and return the 2 * az_count subnet CIDRs (private first, then public)."""
    if isinstance(args.az_count, bool) or not isinstance(args.az_count, int) or args.az_count < 2:
        raise ValueError(f"NetworkArgs.az_count: expected an integer >= 2, got {args.az_count!r}")
    if (
        isinstance(args.nat_gateways, bool)
        or not isinstance(args.nat_gateways, int)
        or not 1 <= args.nat_gateways <= args.az_count
    ):
        raise ValueError(
            f"NetworkArgs.nat_gateways: expected an integer between 1 and az_count ({args.az_count}), "
            f"got {args.nat_gateways!r}"
        )
    if args.flow_log_retention_days not in LOG_RETENTION_DAYS:
        raise ValueError(
            "NetworkArgs.flow_log_retention_days: expected a CloudWatch Logs retention period "
            f"({', '.join(str(d) for d in sorted(LOG_RETENTION_DAYS))}), got {args.flow_log_retention_days!r}"
        )
    if args.availability_zones is not None:
        zones = list(args.availability_zones)
        if isinstance(args.availability_zones, str) or len(set(zones)) != len(zones) or len(zones) < args.az_count:
            raise ValueError(
                f"NetworkArgs.availability_zones: expected at least az_count ({args.az_count}) distinct zone "
                f"names, got {args.availability_zones!r}"
            )
    try:
        network = ipaddress.ip_network(args.cidr, strict=True)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"NetworkArgs.cidr: expected an IPv4 network such as 10.0.0.0/16, got {args.cidr!r}"
        ) from error
    if not isinstance(network, ipaddress.IPv4Network) or not network.is_private:
        raise ValueError(f"NetworkArgs.cidr: expected a private IPv4 range (RFC 1918), got {args.cidr!r}")
    if not 16 <= network.prefixlen <= 24:
        raise ValueError(f"NetworkArgs.cidr: expected a prefix between /16 and /24, got {args.cidr!r}")
    subnet_count = 2 * args.az_count
    new_prefix = network.prefixlen + math.ceil(math.log2(subnet_count))
    if new_prefix > MAX_SUBNET_PREFIX:
        raise ValueError(
            f"NetworkArgs.cidr: expected room for {subnet_count} subnets of at least /{MAX_SUBNET_PREFIX}, "
            f"got {args.cidr!r} (would need /{new_prefix} subnets)"
        )
    return list(network.subnets(new_prefix=new_prefix))[:subnet_count]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    """The VPC id."""
    vpc_cidr: str
    """The VPC's CIDR (plain: known before deployment)."""
    public_subnet_ids: list[pulumi.Output[str]]
    """Public subnets (ALB, NAT gateways), one per AZ, in AZ order."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets (tasks, database), one per AZ, in AZ order."""
    nat_public_ips: list[pulumi.Output[str]]
    """The NAT gateways' Elastic IPs: the source address of anything in the private subnets that reaches a public
    address, the internet-facing ALB included."""
    private_route_table_ids: list[pulumi.Output[str]]
    """One private route table per AZ."""
    endpoint_security_group_id: pulumi.Output[str]
    """Security group of the interface endpoints (443 from the VPC CIDR only)."""
    availability_zones: pulumi.Output[list[str]]
    """The zones the subnets are in, in order."""
    flow_log_group_name: pulumi.Output[str]
    """CloudWatch log group receiving the VPC flow log."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        subnet_cidrs = _validate(args)
        super().__init__("rampart:index:Network", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._invoke = pulumi.InvokeOptions(parent=self)
        zone_names = self._zone_names()
        vpc, igw = self._vpc()
        private_cidrs, public_cidrs = subnet_cidrs[: args.az_count], subnet_cidrs[args.az_count :]
        public_subnets = self._subnets("public", vpc, public_cidrs, zone_names)
        private_subnets = self._subnets("private", vpc, private_cidrs, zone_names)
        self._public_routes(vpc, igw, public_subnets)
        nat_gateways = self._nat_gateways(igw, public_subnets)
        private_rts = self._private_routes(vpc, private_subnets, nat_gateways)
        self._flow_logs(name, args, vpc, self._invoke)
        endpoint_sg = self._endpoints(vpc, private_subnets, private_rts)

        self.vpc_id = vpc.id
        self.vpc_cidr = args.cidr
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.private_route_table_ids = [rt.id for rt in private_rts]
        self.endpoint_security_group_id = endpoint_sg.id
        self.availability_zones = pulumi.Output.all(*zone_names).apply(list)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "natPublicIps": self.nat_public_ips,
                "privateRouteTableIds": self.private_route_table_ids,
                "endpointSecurityGroupId": self.endpoint_security_group_id,
                "availabilityZones": self.availability_zones,
                "flowLogGroupName": self.flow_log_group_name,
            }
        )

    def _zone_names(self) -> list[pulumi.Input[str]]:
        az_count = self._args.az_count
        if self._args.availability_zones is not None:
            return list(self._args.availability_zones)[:az_count]
        available = aws.get_availability_zones_output(state="available", opts=self._invoke)

        def _zone(index: int) -> pulumi.Output[str]:
            def pick(names: list[str]) -> str:
                if len(names) < az_count:
                    raise ValueError(
                        f"NetworkArgs.az_count: expected at most the {len(names)} available zones, got {az_count}"
                    )
                return names[index]

            return available.names.apply(pick)

        return [_zone(i) for i in range(az_count)]

    def _vpc(self) -> tuple[aws.ec2.Vpc, aws.ec2.InternetGateway]:
        name, child = self._name, self._child
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=self._args.cidr,
            # Interface endpoints with private DNS need both, or tasks resolve the public API addresses.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        # Anything left in the default group (by a console click or a resource without an explicit group)
        # must reach nothing: managing it with no rules strips the allow-all rules AWS creates.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name}-default-closed"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=child)
        return vpc, igw

    def _subnets(
        self, tier: str, vpc: aws.ec2.Vpc, cidrs: Sequence[ipaddress.IPv4Network], zone_names: list[pulumi.Input[str]]
    ) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(
                f"{self._name}-{tier}-{i}",
                vpc_id=vpc.id,
                cidr_block=str(cidr),
                availability_zone=zone_names[i],
                # The ALB and NAT gateways bring their own addresses; nothing else may get a public IP.
                map_public_ip_on_launch=False,
                tags={"Name": f"{self._name}-{tier}-{i}", "rampart:tier": tier},
                opts=self._child,
            )
            for i, cidr in enumerate(cidrs)
        ]

    def _public_routes(
        self, vpc: aws.ec2.Vpc, igw: aws.ec2.InternetGateway, public_subnets: list[aws.ec2.Subnet]
    ) -> None:
        name, child = self._name, self._child
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=child)
        aws.ec2.Route(
            f"{name}-public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for i, subnet in enumerate(public_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{i}", route_table_id=public_rt.id, subnet_id=subnet.id, opts=child
            )

    def _nat_gateways(
        self, igw: aws.ec2.InternetGateway, public_subnets: list[aws.ec2.Subnet]
    ) -> list[aws.ec2.NatGateway]:
        name = self._name
        nat_gateways = []
        self.nat_public_ips = []
        for i in range(self._args.nat_gateways):
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", tags={"Name": f"{name}-nat-{i}"}, opts=self._child)
            self.nat_public_ips.append(eip.public_ip)
            nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=public_subnets[i].id,
                    connectivity_type="public",
                    tags={"Name": f"{name}-nat-{i}"},
                    # A NAT gateway created before the IGW is attached never comes up.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )
        return nat_gateways

    def _private_routes(
        self, vpc: aws.ec2.Vpc, private_subnets: list[aws.ec2.Subnet], nat_gateways: list[aws.ec2.NatGateway]
    ) -> list[aws.ec2.RouteTable]:
        name, child = self._name, self._child
        private_rts = []
        for i, subnet in enumerate(private_subnets):
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}", vpc_id=vpc.id, tags={"Name": f"{name}-private-{i}"}, opts=child
            )
            aws.ec2.Route(
                f"{name}-private-default-route-{i}",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                # Round-robin: with one NAT per AZ each AZ egresses through its own (no cross-AZ dependency).
                nat_gateway_id=nat_gateways[i % len(nat_gateways)].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{i}", route_table_id=rt.id, subnet_id=subnet.id, opts=child
            )
            private_rts.append(rt)
        return private_rts

    def _endpoints(
        self, vpc: aws.ec2.Vpc, private_subnets: list[aws.ec2.Subnet], private_rts: list[aws.ec2.RouteTable]
    ) -> aws.ec2.SecurityGroup:
        name, child = self._name, self._child
        region = aws.get_region_output(opts=self._invoke).region
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc.id,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            tags={"Name": f"{name}-endpoints"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https-in",
            security_group_id=endpoint_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=self._args.cidr,
            description="HTTPS to AWS APIs from resources in this VPC",
            opts=child,
        )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=region.apply(lambda r, s=service: f"com.amazonaws.{r}.{s}"),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private_subnets],
                security_group_ids=[endpoint_sg.id],
                tags={"Name": f"{name}-{service}"},
                opts=child,
            )
        aws.ec2.VpcEndpoint(
            f"{name}-endpoint-s3",
            vpc_id=vpc.id,
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )
        return endpoint_sg

    def _flow_logs(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, invoke: pulumi.InvokeOptions) -> None:
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=args.flow_log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags={"Name": f"{name}-flow-logs"},
            opts=child,
        )
        # Trust only the flow-logs service acting for this account (confused-deputy guard).
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            description="VPC flow logs delivery to its own log group",
            assume_role_policy=account_id.apply(lambda account: service_trust("vpc-flow-logs.amazonaws.com", account)),
            opts=child,
        )
        # Least privilege: write to this one log group; no logs:CreateLogGroup (the group exists) and no "*".
        policy = aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=log_group.arn.apply(_flow_logs_policy),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            # One-minute aggregation: incident timelines need better than the 10-minute default.
            max_aggregation_interval=60,
            tags={"Name": f"{name}-flow-log"},
            # Without the policy in place the first delivery fails and the flow log sits in an error state.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.flow_log_group_name = log_group.name


def _flow_logs_policy(arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [arn, f"{arn}:*"],
                }
            ],
        }
    )
