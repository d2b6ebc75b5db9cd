"""The AWS partition of a region: ARNs built by hand must name it (`arn:aws-cn:...` in China, GovCloud's own)."""

from __future__ import annotations


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
