import sys
from pathlib import Path

# Rampart's own adapter, which names a rule that raises (policies/guardrails/adapter.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "policies"))

from guardrails.adapter import build_policies  # noqa: E402
from guardrails.rule import Framework, Rule  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402


def quotes_a_value(resource, context):
    raise ValueError("s3ntinel-Secret-7f2c9a")  # the message may quote a secret input: never shown


PolicyPack(name="named-crash-pack", enforcement_level=EnforcementLevel.MANDATORY, policies=build_policies([
    Rule(name="rds-raises", description="Raises (fixture).", enforcement="M", severity="high",
         framework=Framework(name="fixture", reference="x"), remediation="none", url="https://example.com",
         resource_types=("aws:rds/instance:Instance",), check=quotes_a_value),
]))
