"""What a policy pack says about itself and what it reports, as Rampart keeps them: plain data, free of gRPC and
the Pulumi SDK, so reports and `rampart check`'s start-up can use them before either is loaded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_POLICY_TIMEOUT_SECONDS = 120.0
"""Bound on each analyzer call (GetAnalyzerInfo, Configure, Analyze, AnalyzeStack): a policy that loops would
otherwise hold `rampart check` forever. Generous: the whole production stack's AnalyzeStack takes about a second."""


@dataclass(frozen=True)
class PolicyMetadata:
    name: str
    description: str
    enforcement: str
    severity: str
    framework_name: str
    framework_reference: str
    remediation: str
    url: str
    tags: tuple[str, ...]
    config_schema: Mapping[str, Any]
    """JSON schema of the policy's config (properties + required), as the pack declares it."""


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    policies: Mapping[str, PolicyMetadata]


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    message: str
    enforcement: str
    severity: str
    urn: str
    analyzed_urn: str = ""
    """The resource whose Analyze call produced this (empty for AnalyzeStack)."""
