"""LoadBalancer: the internet-facing ALB, its TLS listeners and its access-log bucket.

Two HTTPS listeners (production on 443, test on `test_listener_port`) answer 404 until services add listener
rules; CodeDeploy then swaps the target groups behind them, which is why both listeners ignore changes to their
default actions (DESIGN.md trap 2). Port 80 only ever redirects to HTTPS. Every request is logged to a bucket
that nobody outside the account can read. The WAF web ACL in front of it is its own component
(components/web_acl.py), associated by the stack: an ALB takes exactly one web ACL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alb_access_logs import ACCESS_LOG_PREFIX, build_access_log_bucket

HTTPS_PORT = 443
HTTP_PORT = 80
HSTS = "max-age=31536000; includeSubDomains"

# CodeDeploy rewrites the forward action of both listeners on every deployment; a `pulumi up` that restores
# the declared action would send live traffic back to the old (blue) target group.
LISTENER_IGNORE_CHANGES = ["defaultActions"]

_NOT_FOUND = aws.lb.ListenerDefaultActionArgs(
    type="fixed-response",
    fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
        content_type="text/plain", message_body="Not Found", status_code="404"
    ),
)


@dataclass(frozen=True, kw_only=True)
class LoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    """At least two, in distinct AZs (an ALB requires two)."""
    certificate_arn: str
    """ACM certificate for both HTTPS listeners."""
    ssl_policy: str
    """A TLS 1.3 policy (`ELBSecurityPolicy-TLS13-*`)."""
    test_listener_port: int
    """Port of the HTTPS listener CodeDeploy routes test traffic through before the switch."""
    access_log_retention_days: int
    idle_timeout_seconds: int
    deletion_protection: bool
    ingress_cidrs: Sequence[str] = ("0.0.0.0/0",)
    """Who may reach the production (443) and redirect (80) listeners."""
    test_ingress_cidrs: Sequence[str] | None = None
    """Who else may reach the test listener (narrow ranges, e.g. a self-hosted runner's). None: nobody else."""
    test_source_ips: Sequence[pulumi.Input[str]] = ()
    """Public IPv4 addresses admitted to the test listener as /32 each: the NAT gateways' Elastic IPs, the source
    of the smoke task (components/smoke_runner.py) and of anything else inside the VPC."""
    vpc_cidr: pulumi.Input[str] | None = None
    """Where the ALB may send traffic (its targets). None looks the VPC's CIDR up from `vpc_id`."""


def _validate(args: LoadBalancerArgs) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if not isinstance(args.ssl_policy, str) or not args.ssl_policy.startswith("ELBSecurityPolicy-TLS13"):
        raise ValueError(
            "LoadBalancerArgs.ssl_policy: expected a TLS 1.3 policy (ELBSecurityPolicy-TLS13-*), "
            f"got {args.ssl_policy!r}"
        )
    if (
        not isinstance(args.certificate_arn, str)
        or not args.certificate_arn.startswith("arn:aws")
        or (":acm:" not in args.certificate_arn)
    ):
        raise ValueError(
            f"LoadBalancerArgs.certificate_arn: expected an ACM certificate ARN, got {args.certificate_arn!r}"
        )
    port = args.test_listener_port
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535 or port in (HTTP_PORT, HTTPS_PORT):
        raise ValueError(
            f"LoadBalancerArgs.test_listener_port: expected a port in 1..65535 other than 80 and 443, got {port!r}"
        )
    days = args.access_log_retention_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"LoadBalancerArgs.access_log_retention_days: expected an integer >= 1, got {days!r}")
    idle = args.idle_timeout_seconds
    if isinstance(idle, bool) or not isinstance(idle, int) or not 1 <= idle <= 4000:
        raise ValueError(f"LoadBalancerArgs.idle_timeout_seconds: expected an integer in 1..4000, got {idle!r}")
    if not isinstance(args.deletion_protection, bool):
        raise ValueError(f"LoadBalancerArgs.deletion_protection: expected a bool, got {args.deletion_protection!r}")
    if isinstance(args.public_subnet_ids, str) or len(args.public_subnet_ids) < 2:
        raise ValueError(
            f"LoadBalancerArgs.public_subnet_ids: expected at least two subnets, got {args.public_subnet_ids!r}"
        )
    if isinstance(args.ingress_cidrs, str) or not args.ingress_cidrs:
        raise ValueError(
            f"LoadBalancerArgs.ingress_cidrs: expected a non-empty list of CIDRs, got {args.ingress_cidrs!r}"
        )
    if args.test_ingress_cidrs is not None and (
        isinstance(args.test_ingress_cidrs, str) or not args.test_ingress_cidrs
    ):
        raise ValueError(
            f"LoadBalancerArgs.test_ingress_cidrs: expected None or a non-empty list of CIDRs, "
            f"got {args.test_ingress_cidrs!r}"
        )
    _networks("test_ingress_cidrs", args.test_ingress_cidrs or ())
    if isinstance(args.test_source_ips, str) or any(
        isinstance(ip, str) and not _is_ipv4_address(ip) for ip in args.test_source_ips
    ):
        raise ValueError(
            f"LoadBalancerArgs.test_source_ips: expected a list of IPv4 addresses, got {args.test_source_ips!r}"
        )
    return _networks("ingress_cidrs", args.ingress_cidrs)


def _networks(field: str, cidrs: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=True))
        except (TypeError, ValueError) as error:
            raise ValueError(f"LoadBalancerArgs.{field}: expected CIDR blocks, got {cidr!r}") from error
    return networks


def _is_ipv4_address(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False


def _cidr_family(cidr: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    if isinstance(cidr, str) and ipaddress.ip_network(cidr).version == 6:
        return {"cidr_ipv6": cidr}
    return {"cidr_ipv4": cidr}


class LoadBalancer(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    """ALB ARN."""
    arn_suffix: pulumi.Output[str]
    """`app/<name>/<id>`: the CloudWatch `LoadBalancer` dimension."""
    dns_name: pulumi.Output[str]
    """Public DNS name (point the domain's alias record here)."""
    zone_id: pulumi.Output[str]
    """Hosted zone of the ALB's DNS name (for alias records)."""
    security_group_id: pulumi.Output[str]
    """The ALB's security group: services admit traffic from it by reference."""
    production_listener_arn: pulumi.Output[str]
    """HTTPS :443, the listener CodeDeploy shifts live traffic on."""
    test_listener_arn: pulumi.Output[str]
    """HTTPS :test_listener_port, where the new (green) version is smoke-tested before the switch."""
    http_listener_arn: pulumi.Output[str]
    """HTTP :80, redirect to HTTPS only."""
    access_logs_bucket: pulumi.Output[str]
    """Name of the access-log bucket."""

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        ingress_networks = _validate(args)
        super().__init__("rampart:index:LoadBalancer", name, None, opts)
        bucket, bucket_ready = build_access_log_bucket(self, name, args.access_log_retention_days)

        security_group = self._security_group(name, args, ingress_networks)
        alb = self._alb(name, args, security_group, bucket, bucket_ready)
        production, test, http = self._listeners(name, args, alb)

        self.arn = alb.arn
        self.arn_suffix = alb.arn_suffix
        self.dns_name = alb.dns_name
        self.zone_id = alb.zone_id
        self.security_group_id = security_group.id
        self.production_listener_arn = production.arn
        self.test_listener_arn = test.arn
        self.http_listener_arn = http.arn
        self.access_logs_bucket = bucket.bucket
        self.register_outputs(
            {
                "arn": self.arn,
                "arnSuffix": self.arn_suffix,
                "dnsName": self.dns_name,
                "zoneId": self.zone_id,
                "securityGroupId": self.security_group_id,
                "productionListenerArn": self.production_listener_arn,
                "testListenerArn": self.test_listener_arn,
                "httpListenerArn": self.http_listener_arn,
                "accessLogsBucket": self.access_logs_bucket,
            }
        )

    def _security_group(
        self,
        name: str,
        args: LoadBalancerArgs,
        ingress_networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
    ) -> aws.ec2.SecurityGroup:
        child = pulumi.ResourceOptions(parent=self)
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Public ALB: HTTPS (and HTTP redirect) in, targets in the VPC out",
            tags={"Name": f"{name}-alb"},
            opts=child,
        )
        vpc_cidr = args.vpc_cidr
        if vpc_cidr is None:
            vpc_cidr = aws.ec2.get_vpc_output(id=args.vpc_id, opts=pulumi.InvokeOptions(parent=self)).cidr_block
        # The test listener serves the new (green) version before any real user sees it: only pre-traffic
        # checks have business there. They run inside the VPC (the smoke task), but the ALB is internet-facing:
        # its DNS name resolves to public addresses, so a client in the VPC arrives through a NAT gateway with
        # the NAT's Elastic IP as its source. A VPC CIDR rule would admit nothing, so there is none; the NAT
        # addresses are admitted one by one, plus any narrow ranges configured (never the internet: the pack
        # admits only 443 and 80 from 0.0.0.0/0).
        test_sources: list[pulumi.Input[str]] = [
            pulumi.Output.from_input(ip).apply(lambda address: f"{address}/32") for ip in args.test_source_ips
        ] + [str(ipaddress.ip_network(c)) for c in args.test_ingress_cidrs or ()]
        listener_sources: list[tuple[str, int, str, list[pulumi.Input[str]]]] = [
            ("https", HTTPS_PORT, "HTTPS to the production listener", [str(n) for n in ingress_networks]),
            ("http", HTTP_PORT, "HTTP, answered only with a redirect to HTTPS", [str(n) for n in ingress_networks]),
            ("test", args.test_listener_port, "HTTPS to the test listener (pre-traffic checks)", test_sources),
        ]
        # Rules live in their own resources: inline rules and rule resources on one group fight each other,
        # and services add their own rules without owning the group.
        for role, port, description, sources in listener_sources:
            for index, source in enumerate(sources):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{role}-in-{index}",
                    security_group_id=security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=description,
                    **_cidr_family(source),
                    opts=child,
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-targets-out",
            security_group_id=security_group.id,
            ip_protocol="tcp",
            from_port=0,
            to_port=65535,
            cidr_ipv4=vpc_cidr,
            # Targets (awsvpc tasks) and their health checks are all inside the VPC; the ALB never needs to
            # open connections to the internet.
            description="Forwarding and health checks to targets inside the VPC",
            opts=child,
        )
        return security_group

    def _alb(
        self,
        name: str,
        args: LoadBalancerArgs,
        security_group: aws.ec2.SecurityGroup,
        bucket: aws.s3.Bucket,
        bucket_ready: list[pulumi.Resource],
    ) -> aws.lb.LoadBalancer:
        return aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            security_groups=[security_group.id],
            subnets=list(args.public_subnet_ids),
            # Malformed headers are a request-smuggling vector; drop them instead of passing them to the app.
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_http2=True,
            enable_deletion_protection=args.deletion_protection,
            idle_timeout=args.idle_timeout_seconds,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True),
            tags={"Name": f"{name}-alb"},
            # The ALB checks write access to the bucket when logging is switched on: the policy comes first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=bucket_ready),
        )

    def _listeners(
        self, name: str, args: LoadBalancerArgs, alb: aws.lb.LoadBalancer
    ) -> tuple[aws.lb.Listener, aws.lb.Listener, aws.lb.Listener]:
        child = pulumi.ResourceOptions(parent=self)

        def https_listener(role: str, port: int) -> aws.lb.Listener:
            return aws.lb.Listener(
                f"{name}-{role}",
                load_balancer_arn=alb.arn,
                port=port,
                protocol="HTTPS",
                ssl_policy=args.ssl_policy,
                certificate_arn=args.certificate_arn,
                # Services add listener rules; anything they do not claim is a 404, never a default backend.
                default_actions=[_NOT_FOUND],
                # HSTS from the edge: browsers never try plain HTTP again, whatever the app forgets to send.
                routing_http_response_strict_transport_security_header_value=HSTS,
                routing_http_response_x_content_type_options_header_value="nosniff",
                tags={"Name": f"{name}-{role}"},
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=LISTENER_IGNORE_CHANGES),
            )

        production = https_listener("https", HTTPS_PORT)
        test = https_listener("test", args.test_listener_port)
        http = aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=HTTP_PORT,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port=str(HTTPS_PORT), status_code="HTTP_301"
                    ),
                )
            ],
            tags={"Name": f"{name}-http"},
            opts=child,
        )
        return production, test, http


