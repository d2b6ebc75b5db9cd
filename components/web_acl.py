"""A regional WAFv2 web ACL in front of the public load balancer: AWS managed rule groups for common exploits,
known bad inputs and IP reputation, a per-client rate limit, and logging to a KMS-encrypted log group.

The managed groups run in their own (blocking) mode; the rate rule blocks a client address that sends more than
`rate_limit_per_five_minutes` requests in five minutes, which bounds a single scanner without touching real users.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

MANAGED_RULE_GROUPS: tuple[str, ...] = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
# WAF delivers logs only to log groups whose names start with this prefix.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"


@dataclass(frozen=True, kw_only=True)
class WebAclArgs:
    name_prefix: str
    """Physical name prefix, e.g. `rampart-production`."""
    resource_arn: pulumi.Input[str]
    """The load balancer the web ACL protects."""
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int = 365
    rate_limit_per_five_minutes: int = 2000


def _visibility(metric: str) -> dict[str, object]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


class WebAcl(pulumi.ComponentResource):
    web_acl_arn: pulumi.Output[str]
    """ARN of the web ACL."""
    log_group_name: pulumi.Output[str]
    """Where WAF writes its request logs."""

    def __init__(self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("rampart:index:WebAcl", name, None, opts)
        web_acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=f"{args.name_prefix}-alb",
            description="Protects the public load balancer: managed exploit rules, IP reputation, rate limit",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=_rules(args),
            visibility_config=_visibility(f"{args.name_prefix}-alb"),
            # A fixed name (its CloudWatch metrics carry it) that forces replacement: created before the old one
            # is deleted, the replacement would collide with it.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-association",
            resource_arn=args.resource_arn,
            web_acl_arn=web_acl.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        log_group = self._logging(name, args, web_acl)

        self.web_acl_arn = web_acl.arn
        self.log_group_name = log_group.name
        self.register_outputs({"webAclArn": self.web_acl_arn, "logGroupName": self.log_group_name})

    def _logging(self, name: str, args: WebAclArgs, web_acl: aws.wafv2.WebAcl) -> aws.cloudwatch.LogGroup:
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"{WAF_LOG_GROUP_PREFIX}{args.name_prefix}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            # Fixed name (WAF requires the aws-waf-logs- prefix; operators find the logs by it): see the ACL.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=web_acl.arn,
            log_destination_configs=[log_group.arn],
            # Credentials and session tokens never reach the logs.
            redacted_fields=[
                {"single_header": {"name": "authorization"}},
                {"single_header": {"name": "cookie"}},
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return log_group


def _validate(args: WebAclArgs) -> None:
    if not 100 <= args.rate_limit_per_five_minutes <= 2_000_000_000:
        raise ValueError(
            f"WebAclArgs.rate_limit_per_five_minutes: expected 100..2000000000 (WAF's range), got "
            f"{args.rate_limit_per_five_minutes}"
        )
    if args.log_retention_days < 1:
        raise ValueError(f"WebAclArgs.log_retention_days: expected at least 1, got {args.log_retention_days}")


def _rules(args: WebAclArgs) -> list[dict[str, object]]:
    """The managed rule groups in their own (blocking) mode, then the per-client rate limit."""
    managed = [
        {
            "name": group,
            "priority": priority,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
            "visibility_config": _visibility(group),
        }
        for priority, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    rate_limit = {
        "name": "rate-limit-per-client",
        "priority": len(MANAGED_RULE_GROUPS),
        "action": {"block": {}},
        "statement": {
            "rate_based_statement": {
                "limit": args.rate_limit_per_five_minutes,
                "aggregate_key_type": "IP",
            }
        },
        "visibility_config": _visibility("rate-limit-per-client"),
    }
    return [*managed, rate_limit]
