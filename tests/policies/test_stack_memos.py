"""What stack rules remember per stack (guardrails.stack_index: the stack's permissions, each resource's deployment
names) answers for the stack asked about: never a stale answer from another stack judged by the same pack
process, never a remembered unknown; and the one-pass rewrite of no-split-management-conflicts reads as before."""

from __future__ import annotations

import os
from typing import Any

import pytest
from guardrails import network_model
from guardrails.adapter import build_policies
from guardrails.alarms import DEPLOYMENT_GROUP, ECS_SERVICE, group_for_service
from guardrails.network_model import SECURITY_GROUP, SG_INGRESS_RULE, stack_permissions
from guardrails.network_security_groups import RULES as SG_RULES
from guardrails.rule import Context, Resource, Undeterminable
from guardrails.speedups import fast_methods
from guardrails.stack_index import StackIndex, for_stack
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as pp
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from rampart.engine.analyzer import _options, _to_struct
from tests.support.pack import registration

Fast = type("Fast", (_PolicyAnalyzerServicer,), fast_methods(pp))
RULES = {rule.name: rule for rule in SG_RULES}


def urn_of(type_token: str, name: str) -> str:
    return f"urn:pulumi:test::rampart::{type_token}::{name}"


def group(name: str, **props: Any) -> Resource:
    return Resource(SECURITY_GROUP, props, urn=urn_of(SECURITY_GROUP, name), name=name)


def ingress(name: str, group_name: str, port: int, cidr: str) -> Resource:
    props = {"securityGroupId": "sg-x", "ipProtocol": "tcp", "fromPort": float(port), "toPort": float(port),
             "cidrIpv4": cidr}
    return Resource(SG_INGRESS_RULE, props, urn=urn_of(SG_INGRESS_RULE, name), name=name,
                    property_dependencies={"securityGroupId": (urn_of(SECURITY_GROUP, group_name),)})


def stack(port: int) -> tuple[Resource, ...]:
    """Two stacks of the same shape and size, told apart by the port their one rule opens to the internet."""
    return (group("sg"), ingress("open", "sg", port, "0.0.0.0/0"))


def findings(rule_name: str, resources: tuple[Resource, ...]) -> list[str]:
    rule = RULES[rule_name]
    assert rule.stack_check is not None
    return [f.message for f in rule.stack_check(resources, Context(config=dict(rule.thresholds)))]


def test_each_stack_gets_its_own_permissions_computed_once(monkeypatch):
    computed: list[int] = []
    compute = network_model._stack_permissions
    monkeypatch.setattr(network_model, "_stack_permissions", lambda r: computed.append(len(r)) or compute(r))
    first, second = stack(22), stack(8080)
    for _ in range(3):
        assert [p.from_port for p in stack_permissions(first)] == [22]
        assert [p.from_port for p in stack_permissions(second)] == [8080]
    assert computed == [2, 2]
    assert "port 22" in findings("sg-no-public-ingress", first)[0]
    assert "port 8080" in findings("sg-no-public-ingress", second)[0]


def test_a_caller_changing_its_permissions_list_does_not_change_the_next_callers():
    resources = stack(22)
    stack_permissions(resources).clear()
    assert len(stack_permissions(resources)) == 1


def test_an_undeterminable_permission_is_met_by_every_rule_that_asks():
    unknown = Resource(SG_INGRESS_RULE, {"securityGroupId": "sg-x", "ipProtocol": None}, urn="urn:rule", name="r")
    resources = (group("sg"), unknown)
    for _ in range(2):
        with pytest.raises(Undeterminable):
            stack_permissions(resources)


def deployment(name: str, service: str) -> Resource:
    return Resource(DEPLOYMENT_GROUP, {"ecsService": {"clusterName": "c", "serviceName": service}},
                    urn=urn_of(DEPLOYMENT_GROUP, name), name=name)


def service(name: str) -> Resource:
    return Resource(ECS_SERVICE, {"name": name}, urn=urn_of(ECS_SERVICE, name), name=name)


def test_group_for_service_with_the_index_answers_per_stack_as_without_it():
    # Equal URNs and shapes in both stacks; only the service each group deploys differs.
    one = (deployment("dg", "api"), service("api"), service("web"))
    two = (deployment("dg", "web"), service("api"), service("web"))
    for resources in (one, two, one):
        groups = [resources[0]]
        for svc in resources[1:]:
            assert group_for_service(svc, groups, for_stack(resources)) is group_for_service(svc, groups)
    assert group_for_service(one[1], [one[0]], for_stack(one)) is one[0]
    assert group_for_service(two[1], [two[0]], for_stack(two)) is None


def test_a_resource_answer_is_kept_for_that_object_only():
    index = StackIndex(())
    first, equal_copy = service("api"), service("api")
    assert index.of_resource("label", first, lambda r: "first") == "first"
    assert index.of_resource("label", first, lambda r: "again") == "first"
    assert index.of_resource("label", equal_copy, lambda r: "copy") == "copy"
    assert index.of_resource("other", first, lambda r: "other") == "other"


def test_an_exception_is_not_remembered_per_resource():
    index = StackIndex(())
    subject = service("api")

    def unknown(_resource: Resource) -> str:
        raise UnknownValueError(UNKNOWN_STRING_VALUE, ["name"])

    with pytest.raises(UnknownValueError):
        index.of_resource("name", subject, unknown)
    assert index.of_resource("name", subject, lambda r: "known") == "known"


def proxied(resource: Resource, **props: Any) -> Resource:
    return Resource(resource.type, pp.unknown_checking_proxy({**dict(resource.props), **props}), urn=resource.urn,
                    name=resource.name, property_dependencies=resource.property_dependencies)


def test_split_management_attributes_each_rule_to_its_own_group():
    resources = (group("a", ingress=[]), group("b", egress=[]), group("c"),
                 ingress("to-a", "a", 443, "10.0.0.0/8"), ingress("to-c", "c", 443, "10.0.0.0/8"),
                 ingress("to-a-2", "a", 80, "10.0.0.0/8"))
    [message] = findings("no-split-management-conflicts", resources)
    assert message.startswith("security group a manages rules inline (ingress) and through standalone rule "
                              "resources (to-a, to-a-2)")


def test_split_management_still_stops_at_an_unknown_rule_target_and_only_when_a_group_is_there():
    rule = proxied(ingress("to-a", "a", 443, "10.0.0.0/8"), securityGroupId=UNKNOWN_STRING_VALUE)
    with pytest.raises(UnknownValueError) as raised:
        findings("no-split-management-conflicts", (group("a"), rule))
    assert "at .securityGroupId " in raised.value.message
    assert findings("no-split-management-conflicts", (rule,)) == []
    # The first group's own unknown is met before any rule's, as when every rule was read per group.
    inline_unknown = proxied(group("a"), ingress=UNKNOWN_STRING_VALUE)
    with pytest.raises(UnknownValueError) as raised:
        findings("no-split-management-conflicts", (inline_unknown, rule))
    assert "at .ingress " in raised.value.message


@pytest.fixture
def fast_servicer(monkeypatch):
    for key, value in {"PULUMI_PROJECT": "rampart", "PULUMI_STACK": "test", "PULUMI_DRY_RUN": "true"}.items():
        monkeypatch.setitem(os.environ, key, value)
    servicer = Fast("rampart-guardrails", "0.0.1", build_policies(SG_RULES), EnforcementLevel.ADVISORY)
    servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={}), None)
    return servicer


def stack_request(port: int) -> Any:
    sg = registration(SECURITY_GROUP, {"name": "sg"}, name="sg")
    rule = registration(SG_INGRESS_RULE, {"securityGroupId": "sg-x", "ipProtocol": "tcp", "fromPort": float(port),
                                          "toPort": float(port), "cidrIpv4": "0.0.0.0/0"},
                        name="open", property_dependencies={"securityGroupId": [sg.urn]})
    return analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_to_struct(r.inputs), urn=r.urn, name=r.name, options=_options(r),
            dependencies=list(r.dependencies),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies.items()})
        for r in (sg, rule)])


def test_two_stacks_judged_by_one_pack_process_each_get_their_own_findings(fast_servicer):
    for port in (22, 8080, 22):
        response = fast_servicer.AnalyzeStack(stack_request(port), None)
        public = [d.message for d in response.diagnostics if d.policyName == "sg-no-public-ingress"]
        assert len(public) == 1 and f"port {port} " in public[0]
