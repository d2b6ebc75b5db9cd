"""The Args-dataclass mirrors and the rebuild from Construct's dict, without a provider process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pytest

from components.package.schema_types import InexpressibleType, SchemaTypes, rebuild
from tools import schema_to_dts


@dataclass(frozen=True, kw_only=True)
class Inner:
    count: int
    mode: Literal["fast", "safe"] = "safe"


@dataclass(frozen=True, kw_only=True)
class Outer:
    inner: Inner
    ids: Sequence[pulumi.Input[str]]
    patterns: tuple[str, ...] = ("/*",)
    arn: pulumi.Input[str] | None = None


@dataclass(frozen=True, kw_only=True)
class WithSet:
    tags: set[str]


@dataclass(frozen=True, kw_only=True)
class WithNumbers:
    level: Literal[1, 2]


def test_mirror_marks_defaults_optional_and_maps_literals_to_an_enum():
    mirror = SchemaTypes().mirror(Outer)
    assert mirror.__required_keys__ == {"inner", "ids"}
    assert mirror.__optional_keys__ == {"patterns", "arn"}
    inner = mirror.__annotations__["inner"]
    mode = inner.__annotations__["mode"].__args__[0]
    assert [m.value for m in mode] == ["fast", "safe"] and mode.__name__ == "Mode"


@pytest.mark.parametrize("cls,field", [(WithSet, "WithSet.tags"), (WithNumbers, "WithNumbers.level")])
def test_inexpressible_annotation_names_the_field(cls, field):
    with pytest.raises(InexpressibleType, match=rf"^{field}: "):
        SchemaTypes().mirror(cls)


def test_rebuild_restores_ints_tuples_enums_and_nested_dataclasses():
    mode = SchemaTypes().mirror(Inner).__annotations__["mode"].__args__[0]
    built = rebuild(Outer, {"inner": {"count": 3.0, "mode": mode("fast")}, "ids": ["a", "b"],
                            "patterns": ["/api/*"]}, "OuterArgs")
    assert built == Outer(inner=Inner(count=3, mode="fast"), ids=["a", "b"], patterns=("/api/*",))
    assert type(built.inner.count) is int


def test_rebuild_keeps_outputs_where_an_input_is_accepted_and_refuses_them_elsewhere():
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        output = pulumi.Output.from_input("arn:aws:kms:x")
        built = rebuild(Outer, {"inner": {"count": 1}, "ids": [output], "arn": output}, "OuterArgs")
        assert built.arn is output and built.ids == [output]
        with pytest.raises(ValueError, match=r"^OuterArgs\.inner\.count: expected a plain value known at preview"):
            rebuild(Outer, {"inner": {"count": output}, "ids": []}, "OuterArgs")
        with pytest.raises(ValueError, match=r"^OuterArgs\.inner: expected a plain value known at preview"):
            rebuild(Outer, {"inner": output, "ids": []}, "OuterArgs")
        with pytest.raises(ValueError, match=r"^OuterArgs\.inner: expected an object of plain values, got str$"):
            rebuild(Outer, {"inner": "s3cr3t", "ids": []}, "OuterArgs")
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_dts_tool_refuses_a_bad_schema_file_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "schema.json"
    bad.write_text("{not json")
    assert schema_to_dts.main([str(bad), str(tmp_path / "out")]) == 2
    assert f"SCHEMA.json {bad}: expected a readable package schema" in capsys.readouterr().err
    dangling = tmp_path / "dangling.json"
    dangling.write_text(json.dumps({"name": "x", "resources": {"x:index:A": {
        "isComponent": True, "inputProperties": {"b": {"$ref": "#/types/x:index:Missing"}}}}}))
    assert schema_to_dts.main([str(dangling), str(tmp_path / "out")]) == 2
    assert "names no type in `types`" in capsys.readouterr().err
