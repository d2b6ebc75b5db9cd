"""The stack config's building blocks: the error type, the strict base model, shared field types and
the value checks that never echo a rejected value."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
)
from pydantic.alias_generators import to_camel

from components.log_retention import CLOUDWATCH_LOG_RETENTION_DAYS


class ConfigError(pulumi.RunError):
    """A stack configuration problem: names the stack file, the key path and what is expected."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )


Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")]
ConfigKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
TimeWindow = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")]
WeeklyWindow = Annotated[
    str,
    StringConstraints(
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
    ),
]

# Fargate's valid CPU units and, per CPU size, the memory (MiB) it accepts.
FARGATE_MEMORY_BY_CPU: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        # Never the rejected value itself (ipaddress quotes it): under a real preview it may be a decrypted secret.
        raise ValueError("expected an IPv4 CIDR block such as 10.0.0.0/16 (network address, no host bits)") from None
    if network.version != 4 or not 16 <= network.prefixlen <= 24:
        raise ValueError("expected an IPv4 CIDR block with a prefix between /16 and /24")
    return value


def _log_retention(value: int) -> int:
    if value not in CLOUDWATCH_LOG_RETENTION_DAYS:
        raise ValueError(
            f"expected one of the retention periods CloudWatch Logs accepts "
            f"({', '.join(str(d) for d in CLOUDWATCH_LOG_RETENTION_DAYS)})"
        )
    return value


LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]


def _source_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected a CIDR block such as 203.0.113.0/28 (network address, no host bits)") from None
    if network.prefixlen < 8:
        raise ValueError("expected a narrow source range (prefix /8 or longer), not the internet")
    return value


def _image_reference(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*(@sha256:[a-f0-9]{64})?", value):
        raise ValueError("expected a container image reference such as REPO@sha256:<64 hex digits>")
    if value.endswith(":latest"):
        raise ValueError("expected an image pinned by digest or version tag, never ':latest'")
    if "@sha256:" not in value and ":" not in value.rsplit("/", 1)[-1]:
        # `nginx` is `nginx:latest`: whatever the registry points the tag at on the day of the deploy.
        raise ValueError("expected an image pinned by digest or version tag (REPO:1.2.3 or REPO@sha256:<digest>), "
                         "not a bare name (an implicit ':latest')")
    return value


def _acm_certificate_arn(value: str) -> str:
    if not re.fullmatch(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+", value):
        raise ValueError("expected an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)")
    return value
