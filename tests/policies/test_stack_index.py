"""Stack rules look the stack up once (guardrails.stack_index, guardrails.alarm_lookup): the same answers as a scan
of the stack, in the same order, and a number of property reads that grows linearly with the stack."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from guardrails.alarms import (
    COMPOSITE_ALARM,
    DEPLOYMENT_GROUP,
    METRIC_ALARM,
    _resolve_by_scanning,
    resolve_group_alarms,
)
from guardrails.rule import Resource
from guardrails.shapes import of_type
from pulumi_policy import policy as pp
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError


def metric(urn: str, name: str | None, logical: str = "") -> Resource:
    return Resource(METRIC_ALARM, {"name": name} if name is not None else {}, urn=urn, name=logical or urn)


def group(urn: str, alarms: tuple[str, ...], depends_on: tuple[str, ...] = ()) -> Resource:
    return Resource(DEPLOYMENT_GROUP, {"alarmConfiguration": {"alarms": list(alarms), "enabled": True}}, urn=urn,
                    property_dependencies={"alarmConfiguration": depends_on} if depends_on else {},
                    dependencies=depends_on)


def composite(urn: str, name: str, rule: str) -> Resource:
    return Resource(COMPOSITE_ALARM, {"alarmName": name, "alarmRule": rule}, urn=urn)


def mixed_stack() -> list[Resource]:
    """Named, autonamed and composite alarms; two alarms with one name; a group naming an alarm that is none."""
    return [
        composite("c1", "any", 'ALARM("b") OR ALARM(a)'),
        metric("a1", "a"), metric("b1", "b"), metric("a2", "a"),
        metric("auto1", None, "auto-x"), metric("auto2", "", "auto-y"), metric("auto3", None, "auto-z"),
        composite("c2", "any", 'ALARM("a")'),
        composite("c3", "empty", 'ALARM("gone")'),
        group("g1", ("any", "b", "auto-x", "missing", "other"), depends_on=("auto2", "auto1")),
        group("g2", ("a", "empty", "auto-z"), depends_on=("auto3",)),
        group("g3", ("auto-y",)),
    ]


def test_of_type_on_the_adapters_tuple_answers_as_the_scan_in_stack_order():
    stack = mixed_stack()
    for types in [(METRIC_ALARM,), (COMPOSITE_ALARM, METRIC_ALARM), (DEPLOYMENT_GROUP, COMPOSITE_ALARM), ("none",)]:
        expected = [r for r in stack if r.type in types]
        assert of_type(tuple(stack), *types) == expected
        assert [id(r) for r in of_type(tuple(stack), *types)] == [id(r) for r in expected]
    indexed = tuple(stack)
    of_type(indexed, METRIC_ALARM).clear()  # a caller's change to its list is not the index's
    assert len(of_type(indexed, METRIC_ALARM)) == 6


@pytest.mark.parametrize("as_tuple", [True, False])
def test_group_alarms_resolve_as_the_scan_resolves_them(as_tuple):
    stack = mixed_stack()
    resources = tuple(stack) if as_tuple else stack
    for g in of_type(stack, DEPLOYMENT_GROUP):
        found, unresolved = resolve_group_alarms(g, resources)
        expected_found, expected_unresolved = _resolve_by_scanning(g, stack)
        assert [a.urn for a in found] == [a.urn for a in expected_found]
        assert unresolved == expected_unresolved
    g1 = of_type(stack, DEPLOYMENT_GROUP)[0]
    assert [a.urn for a in resolve_group_alarms(g1, resources)[0]] == ["a1", "b1", "a2", "auto1", "auto2"]
    assert resolve_group_alarms(g1, resources)[1] == ["other"]


def proxied(resource: Resource, **props: Any) -> Resource:
    """The resource as pulumi_policy hands it to a rule: props behind the unknown-checking proxy."""
    return Resource(resource.type, pp.unknown_checking_proxy({**dict(resource.props), **props}), urn=resource.urn,
                    name=resource.name, property_dependencies=resource.property_dependencies,
                    dependencies=resource.dependencies)


@pytest.mark.parametrize("unknown_at", ["b1", "auto3", "c3"])
def test_an_unknown_alarm_name_is_met_where_the_scan_meets_it(unknown_at):
    key = "alarmName" if unknown_at.startswith("c") else "name"
    stack = tuple(proxied(r, **({key: UNKNOWN_STRING_VALUE} if r.urn == unknown_at else {})) for r in mixed_stack())
    for g in of_type(stack, DEPLOYMENT_GROUP):
        try:
            expected: Any = _resolve_by_scanning(g, list(stack))
        except UnknownValueError as error:
            expected = error.message
        try:
            answer: Any = resolve_group_alarms(g, stack)
        except UnknownValueError as error:
            answer = error.message
        assert answer == expected


class CountingProps(Mapping):
    reads = 0

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        CountingProps.reads += 1
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def reads_to_resolve_every_group(services: int) -> int:
    stack = []
    for i in range(services):
        stack += [Resource(METRIC_ALARM, CountingProps({"name": f"s{i}-5xx"}), urn=f"a{i}"),
                  Resource(METRIC_ALARM, CountingProps({}), urn=f"auto{i}", name=f"s{i}-latency"),
                  Resource(COMPOSITE_ALARM, CountingProps({"alarmName": f"s{i}-any", "alarmRule": f"ALARM(s{i}-5xx)"}),
                           urn=f"c{i}"),
                  Resource(DEPLOYMENT_GROUP, CountingProps({"alarmConfiguration": {
                      "alarms": [f"s{i}-5xx", f"s{i}-latency", f"s{i}-any"]}}), urn=f"g{i}",
                      property_dependencies={"alarmConfiguration": (f"auto{i}",)})]
    resources = tuple(stack)
    CountingProps.reads = 0
    for g in of_type(resources, DEPLOYMENT_GROUP):
        found, unresolved = resolve_group_alarms(g, resources)
        assert len(found) == 2 and not unresolved
    return CountingProps.reads


def test_resolving_every_groups_alarms_reads_linearly_in_the_number_of_services():
    small, large = reads_to_resolve_every_group(20), reads_to_resolve_every_group(80)
    assert large <= 4.5 * small, (small, large)  # a scan per alarm name read 16x as much for 4x the services
