"""The pack's faster Analyze / AnalyzeStack (guardrails.speedups) answer exactly as pulumi_policy's own do: the same
diagnostics, in the same order, for the project's stacks (known and unknown values, waivers) and for the policy
shapes our rules never take (remediation-only, not applicable, async, disabled, remediate levels)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from google.protobuf import struct_pb2
from guardrails import all_rules
from guardrails.adapter import build_policies
from guardrails.speedups import fast_methods
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy import policy as pp
from pulumi_policy.policy import _PolicyAnalyzerServicer

from rampart.engine.analyzer import _ENFORCEMENT_VALUES, _analyze_request, _options, _to_struct
from rampart.engine.recorder import FIRST_PREVIEW, Registration, record
from tests.support.pack import PACK_DIR, registration
from tests.support.stacks import PROJECT, stack_settings

Fast = type("Fast", (_PolicyAnalyzerServicer,), fast_methods(pp))


def servicers(policies: list[Any], config: Mapping[str, Any]) -> tuple[Any, Any]:
    entries = {}
    for name, value in config.items():
        value = value if isinstance(value, dict) else {"enforcementLevel": value}
        struct = struct_pb2.Struct()
        struct.update({k: v for k, v in value.items() if k != "enforcementLevel"})
        level = _ENFORCEMENT_VALUES[value.get("enforcementLevel", "advisory")]
        entries[name] = analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=struct)
    pair = []
    for kind in (_PolicyAnalyzerServicer, Fast):
        servicer = kind("rampart-guardrails", "0.0.1", policies, EnforcementLevel.ADVISORY)
        servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=entries), None)
        pair.append(servicer)
    return pair[0], pair[1]


def stack_request(registrations: Sequence[Registration]) -> Any:
    return analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_to_struct(r.inputs), urn=r.urn, name=r.name, options=_options(r),
            parent=r.parent, dependencies=list(r.dependencies),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies.items()},
        )
        for r in registrations
    ])


def assert_same_answers(policies: list[Any], config: Mapping[str, Any],
                        registrations: Sequence[Registration]) -> list[str]:
    """Every answer of both servicers is equal; returns what they answered, as `<policy> <kind>` lines."""
    stock, fast = servicers(policies, config)
    responses = []
    for r in registrations:
        expected = stock.Analyze(_analyze_request(r), None)
        assert fast.Analyze(_analyze_request(r), None) == expected, r.urn
        responses.append(expected)
    expected = stock.AnalyzeStack(stack_request(registrations), None)
    assert fast.AnalyzeStack(stack_request(registrations), None) == expected
    responses.append(expected)
    answers = [f"{n.policy_name} not-applicable" for response in responses for n in response.not_applicable]
    for diagnostic in (d for response in responses for d in response.diagnostics):
        kind = "unknown" if "can't run policy" in diagnostic.message else "violation"
        answers.append(f"{diagnostic.policyName} {kind} {diagnostic.enforcementLevel}")
    return answers


@pytest.fixture(autouse=True)
def runtime_environment(monkeypatch):
    for key, value in {"PULUMI_PROJECT": PROJECT, "PULUMI_STACK": "production", "PULUMI_DRY_RUN": "true"}.items():
        monkeypatch.setitem(os.environ, key, value)


def test_the_production_stack_gets_the_answers_pulumi_policy_gives():
    from infra.config import load_stack_config
    from infra.stack import build_stack

    settings = stack_settings("production")
    # A first preview: about a hundred unknown-value answers besides findings and waived stack findings.
    recording = record(lambda: build_stack(load_stack_config()), project=PROJECT, stack="production",
                       config=dict(settings.config), secret_keys=settings.secret_keys, mode=FIRST_PREVIEW)
    config = json.loads((PACK_DIR / "config" / "production.json").read_text())
    # Two more levels the stock servicer treats specially: a disabled rule, a remediate one reported as mandatory.
    config["alarm-actions"] = "disabled"
    config["ecs-service-codedeploy-controller"] = "remediate"
    answers = assert_same_answers(build_policies(all_rules()), config, recording.registrations)
    assert len([a for a in answers if " unknown " in a]) > 50
    assert "waived-stack-findings violation 0" in answers


def _policy_shapes() -> list[Any]:
    def unknown_read(args, report):
        return args.props.get("subnets", ["none"])[0]

    async def later(args, report):
        report("async finding")

    def not_applicable(args, report):
        args.not_applicable("not for this one")

    def stack_unknown(args, report):
        for resource in args.resources:
            resource.props.get("subnets", [None])[0]

    return [
        ResourceValidationPolicy(name="remediation-only", description="d", remediate=lambda args: None),
        ResourceValidationPolicy(name="unknown-read", description="d", validate=unknown_read),
        ResourceValidationPolicy(name="async", description="d", validate=later),
        ResourceValidationPolicy(name="not-applicable", description="d", validate=not_applicable),
        StackValidationPolicy(name="stack-unknown", description="d", validate=stack_unknown),
        StackValidationPolicy(name="stack-not-applicable", description="d", validate=not_applicable),
    ]


def test_policy_shapes_our_rules_never_take_are_answered_as_pulumi_policy_does():
    from guardrails.alarms import METRIC_ALARM
    from guardrails.alarms import POLICIES as ALARM_RULES
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    subjects = [
        registration("aws:ec2/instance:Instance", {"subnets": [UNKNOWN_STRING_VALUE]}, name="unknown"),
        registration("aws:ec2/instance:Instance", {"subnets": ["subnet-1"]}, name="known"),
        registration(METRIC_ALARM, {"name": "waived"}, name="waived"),
        registration(METRIC_ALARM, {"name": "loud"}, name="loud"),
    ]
    waiver = {"resource": "waived", "reason": "a reason of at least twenty characters", "approvedBy": "ops",
              "expires": "2999-12-31"}
    config = {"async": "remediate", "alarm-actions": {"enforcementLevel": "mandatory", "waivers": [waiver]}}
    policies = _policy_shapes() + build_policies([r for r in ALARM_RULES if r.name == "alarm-actions"])
    answers = set(assert_same_answers(policies, config, subjects))
    mandatory, advisory = analyzer_pb2.MANDATORY, analyzer_pb2.ADVISORY
    assert answers == {"remediation-only not-applicable", "not-applicable not-applicable",
                       "stack-not-applicable not-applicable", f"unknown-read unknown {advisory}",
                       f"async violation {mandatory}", f"waived-findings violation {advisory}",
                       f"alarm-actions violation {mandatory}", f"stack-unknown unknown {advisory}"}


def test_a_second_stack_with_equal_properties_is_judged_by_its_own_urns():
    """Equal properties convert once for both requests (guardrails.conversion); the stack rules must still see
    each request's own resources."""
    from guardrails.rule import Finding, Framework, Rule

    every = Rule(name="every-resource", description="d", enforcement="A", severity="low",
                 framework=Framework("f", "r"), remediation="r", url="u",
                 stack_check=lambda resources, context: [Finding("seen", r.urn) for r in resources])
    _, fast = servicers(build_policies([every]), {})
    for stack in ("one", "two"):
        subjects = [registration("aws:s3/bucket:Bucket", {"bucket": "same"}, urn=f"urn:{stack}:{i}", name=f"b{i}")
                    for i in range(2)]
        response = fast.AnalyzeStack(stack_request(subjects), None)
        assert [d.urn for d in response.diagnostics] == [f"urn:{stack}:0", f"urn:{stack}:1"]
