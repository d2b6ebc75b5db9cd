"""The only place that builds the PolicyPack. Run by the Pulumi CLI (`--policy-pack policies`) or by
`rampart check`, both through `python -m pulumi.policy <engine> <this dir>`; it serves gRPC until killed."""

import sys
from pathlib import Path

# The CLI runs this file by path; make `guardrails` importable without installing the pack.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guardrails import all_rules  # noqa: E402
from guardrails.adapter import build_policies  # noqa: E402
from guardrails.speedups import install as install_speedups  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

install_speedups()
PolicyPack(
    name="rampart-guardrails",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=build_policies(all_rules()),
    description="Rampart hardening and deployment-safety rules for ECS blue/green on AWS and GitHub.",
    display_name="Rampart guardrails",
    provider="aws",
    tags=["aws", "github", "ecs", "codedeploy", "rds"],
)
