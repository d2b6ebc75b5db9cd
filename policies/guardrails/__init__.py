"""The Rampart hardening rules, one module per service group, each exporting `POLICIES` (a list of Rule).

Nothing registers on import: `policies/__main__.py` is the only place that builds the PolicyPack.
This package never imports `infra` or `components`: the pack judges any program, not just ours.
"""

from __future__ import annotations

import importlib

from guardrails.rule import Rule

GROUPS: tuple[str, ...] = (
    "ecs",
    "codedeploy",
    "alarms",
    "logs",
    "rds",
    "backup",
    "alb",
    "network",
    "ecr",
    "kms",
    "secrets",
    "iam",
    "github",
    "lifecycle",
    "s3",
    "ec2",
    "lambda_",
    "apigateway",
    "messaging",
    "dynamodb",
    "elasticache",
    "eks",
    "cloudfront",
    "redshift",
    "recovery",
)


def all_rules() -> list[Rule]:
    rules: list[Rule] = []
    for group in GROUPS:
        module = importlib.import_module(f"guardrails.{group}")
        rules.extend(module.POLICIES)
    return rules
