"""The table of broken stack files: each case is one stack of the real project, broken in one way.

A case names the key its message must name (`fragment`); every message must also name the stack file, and never
carry the sentinel secret that every case plants (as the `secure:` ciphertext, and as rejected values).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "s3ntinel-Secret-7f2c9a"
"""Planted in every case where a secret could leak from; no message may ever contain it."""


@dataclass(frozen=True)
class StackCase:
    id: str
    fragment: str
    """What the one message must name: the key (rampart:path) or the file problem."""
    change: tuple[str, Any] | None = None
    """(key path under `rampart:`, new value); value DELETE removes the key."""
    base: str = "staging"
    raw: bytes | None = None
    """The stack file's bytes, for cases that are not YAML of the right shape."""


DELETE = object()


def base_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    for key, value in document["config"].items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            document["config"][key] = {"secure": SENTINEL}
    return document


def apply(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    first, *tokens = re.findall(r"[^.\[\]]+", path)
    target: Any = document["config"]
    tokens = [first if ":" in first else f"rampart:{first}", *tokens]
    for token in tokens[:-1]:
        target = target[int(token)] if token.isdigit() else target.setdefault(token, {})
    last: Any = int(tokens[-1]) if tokens[-1].isdigit() else tokens[-1]
    if value is DELETE:
        target.pop(last, None)
    else:
        target[last] = value
    return document


def render(case: StackCase) -> bytes:
    if case.raw is not None:
        return case.raw
    document = base_config(case.base)
    if case.change is not None:
        document = apply(document, *case.change)
    return yaml.safe_dump(document, sort_keys=False).encode("utf-8")


S = SENTINEL
# (key path, bad value[, key the message names when it differs from the path]); on the staging stack.
CHANGES: list[tuple[Any, ...]] = [
    ("environment", 5), ("environment", "prod"), ("environment", ["staging"]), ("environment", DELETE),
    ("network", "big"), ("network.cidr", 10), ("network.cidr", "10.0.0.0/33"), ("network.cidr", "10.0.0.1/16"),
    ("network.cidr", f"{S}/16"), ("network.cidr", "fe80::/64"), ("network.cidr", "10.0.0.0/8"),
    ("network.azCount", "three"), ("network.azCount", 1), ("network.azCount", 5), ("network.azCount", 2.5),
    ("network.natGateways", 0), ("network.natGateways", 9), ("network.flowLogRetentionDays", 2),
    ("network.colour", "blue"),
    ("loadBalancer", DELETE), ("loadBalancer.certificateArn", "arn:aws:acm:bad"), ("loadBalancer.certificateArn", S),
    ("loadBalancer.certificateArn", 123), ("loadBalancer.sslPolicy", "TLS1.0"), ("loadBalancer.testListenerPort", 80),
    ("loadBalancer.testListenerPort", 443), ("loadBalancer.testListenerPort", 70000),
    ("loadBalancer.testListenerPort", "8443x"), ("loadBalancer.testIngressCidrs", []),
    ("loadBalancer.testIngressCidrs", ["0.0.0.0/0"]), ("loadBalancer.testIngressCidrs", [S]),
    ("loadBalancer.testIngressCidrs", "10.0.0.0/16"), ("loadBalancer.testIngressCidrs", ["10.0.0.1/16"]),
    ("loadBalancer.idleTimeoutSeconds", 0), ("loadBalancer.colour", "blue"),
    ("services", []), ("services", "web"), ("services", DELETE), ("services[0].name", "Web_1"),
    ("services[0].name", "-x"), ("services[0].name", 5), ("services[0].image", "nginx"),
    ("services[0].image", "nginx:latest"), ("services[0].image", "UPPER/case:1"), ("services[0].image", f"{S} x"),
    ("services[0].image", "repo@sha256:abc"), ("services[0].image", 42), ("services[0].cpu", 300),
    ("services[0].cpu", "lots"), ("services[0].memory", 100), ("services[0].memory", 99999),
    ("services[0].desiredCount", 0), ("services[0].desiredCount", 101), ("services[0].containerPort", 80),
    ("services[0].healthCheckPath", "health"), ("services[0].pathPatterns", ["api"]),
    ("services[0].listenerRulePriority", 0), ("services[0].user", "root"), ("services[0].secrets", ["undeclared"]),
    ("services[0].environment", {"lower": "x"}), ("services[0].environment", {"TOKEN": {"nested": S}}),
    ("services[0].autoscaling", {"minCount": 5, "maxCount": 2}), ("services[0].logRetentionDays", 2),
    ("services[0].containerHealthCheck", ["curl"]), ("services[0].containerHealthCheck", ["CURL", "x"]),
    ("services[0].migrationCommand", [""]), ("services[0].awaitingImage", True), ("services[0].colour", "x"),
    ("deployment", DELETE), ("deployment.strategy", "yolo"), ("deployment.strategy", DELETE),
    ("deployment.trafficPercent", 0), ("deployment.trafficPercent", 100), ("deployment.intervalMinutes", 0),
    ("deployment.terminationWaitMinutes", 1), ("deployment.readyWaitMinutes", -1),
    ("deployment.readyWaitMinutes", 3000), ("deployment.timeoutMinutes", 30),
    ("alarms.periodSeconds", 45), ("alarms.evaluationPeriods", 0), ("alarms.datapointsToAlarm", 9),
    ("alarms.serverErrorRatePercent", 0), ("alarms.p95LatencyMs", 5), ("alarms", [1, 2]),
    ("database.engineVersion", "9.6"), ("database.instanceClass", "m5.large"), ("database.allocatedStorageGb", 10),
    ("database.maxAllocatedStorageGb", 10), ("database.port", 80), ("database.backupRetentionDays", 0),
    ("database.backupRetentionDays", 36), ("database.backupWindow", "2am"), ("database.maintenanceWindow", "sunday"),
    ("database.monitoringIntervalSeconds", 7), ("database.multiAz", "maybe"), ("database.masterPassword", S),
    ("backup.schedule", "daily"), ("backup.retentionDays", 0), ("backup.copyRegion", "mars-1"),
    ("backup.schedule", "cron(30 2 * * ? *)"),
    ("applicationSecrets", [{"name": "x"}]), ("applicationSecrets", "session-key"),
    ("notifications.emails", ["nope"]), ("notifications.emails", "ops@example.com"),
    ("github", DELETE), ("github.repository", "shop"), ("github.ownerId", -1), ("github.reviewers", {"users": [-1]}),
    ("github.deploymentBranches", ["*"]), ("github.deploymentBranches", ["?**"]),
    ("github.deploymentBranches", ["**/*"]), ("github.deploymentBranches", []),
    ("github.requiredStatusChecks", []), ("github.waitTimerMinutes", -1),
    ("github.oidcProviderArn", "arn:aws:iam::1:oidc-provider/x"), ("github.oidcProviderArn", DELETE),
    ("github.stateBackendUrl", "file:///tmp/state"), ("github.secretsProviderKeyArn", S),
    ("github.appSecretArn", "arn:aws:s3:::bucket"), ("github.repositoryId", DELETE),
    ("recovery", DELETE), ("recovery.rtoMinutes", 0), ("recovery.rpoMinutes", DELETE), ("recovery.rtoMinutes", "5m"),
    ("tags", "team=platform"), ("tags", {"": "x"}), ("tags", {"team": {"secure": S}}, "rampart:tags"),
    ("databse", {"port": 5432}), ("environment", {"secure": S}, "rampart:environment"),
    ("network", {"secure": S}, "rampart:network"),
]

# Dangerous in production, harmless-looking: each must be refused (these run on the production stack file).
PRODUCTION_CHANGES: list[tuple[Any, ...]] = [
    ("deployment.readyWaitMinutes", 0), ("backup.copyRegion", DELETE), ("backup.copyRegion", "us-east-1"),
    ("loadBalancer.testIngressCidrs", ["11.0.0.0/8"]), ("loadBalancer.testIngressCidrs", ["10.0.0.0/16", "8.0.0.0/9"],
                                                        "rampart:loadBalancer.testIngressCidrs[1]"),
    ("github.deploymentBranches", ["?**"]), ("github.deploymentBranches", ["main", "*"]),
    ("services[0].image", "repo/web:1.2.3"), ("services[0].image", "nginx"), ("github.reviewers", {}),
    ("github.canAdminsBypass", True), ("github.waitTimerMinutes", 1), ("database.backupRetentionDays", 7),
    ("sessionKey", S, "rampart:sessionKey"), ("paymentsApiKey", DELETE, "rampart:paymentsApiKey"),
]

VALID_HEAD = b"config:\n  rampart:environment: staging\n"
RAW_CASES: list[tuple[str, bytes, str]] = [
    ("latin1", "config:\n  rampart:tags:\n    team: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("utf16", "config:\n  rampart:environment: staging\n".encode("utf-16"), "not UTF-8"),
    ("nul-byte", b"config:\n  rampart:environment: \x00\n", "not valid YAML"),
    ("empty", b"", "rampart:environment: Field required"),
    ("comment-only", b"# nothing here\n", "rampart:environment: Field required"),
    ("tab-indent", b"config:\n\trampart:environment: staging\n", "not valid YAML"),
    ("unclosed-flow", b"config: {rampart:environment: staging\n", "not valid YAML"),
    ("bad-indent", b"config:\n  rampart:environment: staging\n rampart:tags: {}\n", "not valid YAML"),
    ("unclosed-quote", b"config:\n  rampart:environment: \"staging\n", "not valid YAML"),
    ("top-level-list", b"- config\n", "expected a mapping"),
    ("config-list", b"config:\n  - rampart:environment\n", "`config` must be a mapping"),
    ("config-string", b"config: staging\n", "`config` must be a mapping"),
    ("dup-top", VALID_HEAD + b"config:\n  rampart:tags: {}\n", "duplicate key 'config'"),
    ("dup-key", VALID_HEAD + b"  rampart:environment: production\n", "duplicate key 'rampart:environment'"),
    ("dup-nested", VALID_HEAD + b"  rampart:tags:\n    team: a\n    team: b\n", "duplicate key 'team'"),
    ("python-tag", b"config:\n  rampart:environment: !!python/object:os.system x\n", "not valid YAML"),
    ("anchor-missing", b"config:\n  rampart:environment: *nope\n", "not valid YAML"),
]


def _case_id(prefix: str, index: int) -> str:
    return f"{prefix}{index:03d}"


def stack_cases() -> list[StackCase]:
    cases = []
    for index, (path, value, *named) in enumerate(CHANGES):
        cases.append(StackCase(_case_id("s", index), named[0] if named else f"rampart:{path.split('.')[0]}",
                               change=(path, value)))
    for index, (path, value, *named) in enumerate(PRODUCTION_CHANGES):
        cases.append(StackCase(_case_id("p", index), named[0] if named else f"rampart:{path}",
                               change=(path, value), base="production"))
    for index, (name, raw, fragment) in enumerate(RAW_CASES):
        cases.append(StackCase(f"r{index:03d}-{name}", fragment, raw=raw))
    return cases
