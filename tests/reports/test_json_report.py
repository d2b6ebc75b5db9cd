"""The JSON report is json.dumps(indent=2) byte for byte, written without the pure-Python encoder that indent=2
forces (0.13 s at 50 services)."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.reports import json_report
from rampart.reports.model import ResourceSummary, SourceLocation
from tests.support.report_samples import sample_report

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text() | st.just("caf\u00e9 \u263a \U0001f600 \x00 \"\\ </script>"))
VALUES = st.recursive(
    SCALARS,
    lambda children: (st.lists(children, max_size=4) | st.lists(children, max_size=3).map(tuple)
                      | st.dictionaries(st.text(max_size=6), children, max_size=4)
                      | st.dictionaries(st.integers() | st.booleans() | st.none() | st.floats(), children,
                                        max_size=3)
                      | st.dictionaries(st.text(max_size=3), children, max_size=3).map(OrderedDict)),
    max_leaves=30,
)


def _inputs(index: int) -> dict[str, object]:
    return {
        "name": f"svc-{index}\u00e9", "port": 8000 + index, "weight": index / 7, "enabled": index % 2 == 0,
        "tags": {"team": "payments", "Name": f"svc-{index}"} if index % 3 else {},
        "containers": [{"image": "repo@sha256:" + "ab" * 32, "environment": [{"name": "A", "value": None}],
                        "portMappings": [], "command": ["sh", "-c", "echo \"hi\"\n"]}],
        "policy": json.dumps({"Statement": [{"Action": ["s3:GetObject"], "Resource": "*"}]}),
    }


def _large_report():
    report = sample_report()
    resources = [ResourceSummary(urn=f"urn:pulumi:production::shop::aws:ecs/service:Service::svc-{i}",
                                 type="aws:ecs/service:Service", name=f"svc-{i}", parent="", protect=i % 5 == 0,
                                 ignore_changes=("taskDefinition",) if i % 2 else (), inputs=_inputs(i),
                                 source=SourceLocation("infra/stack.py", i) if i % 4 else None)
                 for i in range(400)]
    stacks = [replace(report.stacks[0], resources=resources, outputs={"url": "https://x", "ids": [1, 2.5]}),
              *report.stacks[1:]]
    return replace(report, stacks=stacks)


def test_a_large_report_is_the_indented_json_dump_byte_for_byte():
    report = _large_report()
    rendered = json_report.render(report)
    assert rendered == json.dumps(json_report.document(report), indent=2, sort_keys=False) + "\n"
    assert len(rendered) > 400_000


def test_the_report_is_written_without_the_pure_python_encoder(monkeypatch):
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("json's pure-Python encoder ran")

    monkeypatch.setattr(json.encoder, "_make_iterencode", refuse)
    assert json.loads(json_report.render(_large_report()))["stacks"][0]["summary"]["resources"] == 400


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_json_value_is_dumped_as_json_dumps_indent_2_dumps_it(value):
    assert json_report.dumps(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("value", [float("nan"), math.inf, -math.inf, {"a": [float("nan")]}, True, 10**30, -0.0])
def test_special_numbers_are_written_as_json_dumps_writes_them(value):
    assert json_report.dumps(value) == json.dumps(value, indent=2)


def test_what_json_dumps_refuses_is_refused_the_same_way():
    cycle: list[object] = []
    cycle.append(cycle)
    for value, error in (({"a": object()}, TypeError), (cycle, ValueError), ({("a", 1): 1}, TypeError)):
        with pytest.raises(error):
            json.dumps(value, indent=2)
        with pytest.raises(error):
            json_report.dumps(value)
