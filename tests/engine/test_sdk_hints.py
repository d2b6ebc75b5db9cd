"""The SDK's per-class property types, read back from the cache, are exactly what the SDK evaluates, and an entry
is used only while every source it was derived from is unchanged (rampart.engine.sdk_hints)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import textwrap
import typing
from pathlib import Path

import pulumi
import pulumi._types as pulumi_types
import pytest

from rampart.engine import sdk_hints, sdk_loader, worker

SDK_TYPES = pulumi_types._types_from_py_properties


def _sdk_only(module: str) -> bool:
    return sdk_loader.is_generated_module(module, None)


def _sdk_classes(*packages: str) -> list[type]:
    """Every resource, input type and output type of the given SDK packages."""
    found = []
    for package in packages:
        module = importlib.import_module(package)
        members = dict(inspect.getmembers(importlib.import_module(f"{package}.outputs"), inspect.isclass))
        members.update(inspect.getmembers(module, inspect.isclass))
        for cls in members.values():
            if pulumi_types.is_input_type(cls) or pulumi_types.is_output_type(cls) or (
                    issubclass(cls, pulumi.CustomResource) and cls.__module__.startswith("pulumi_aws")):
                found.append(cls)
    return found


def test_types_read_back_equal_the_sdks_own_for_every_class_of_two_sdk_modules(tmp_path):
    classes = _sdk_classes("pulumi_aws.lb", "pulumi_aws.ecs")
    assert len(classes) > 150
    with sdk_hints.remembered(tmp_path, _sdk_only) as first:
        computed = {cls: pulumi_types._types_from_py_properties(cls) for cls in classes}
    assert first.read == 0
    with sdk_hints.remembered(tmp_path, _sdk_only) as second:
        read = {cls: pulumi_types._types_from_py_properties(cls) for cls in classes}
    assert second.read == len(classes)  # every class came from the cache, none was evaluated again
    for cls in classes:
        assert read[cls] == computed[cls] == SDK_TYPES.__wrapped__(cls), cls
    assert pulumi_types._types_from_py_properties is SDK_TYPES  # put back on exit


FAKE_SDK = {
    "__init__.py": "",
    "inner.py": """
        import pulumi

        @pulumi.output_type
        class Inner(dict):
            @property
            @pulumi.getter
            def size(self) -> int:
                return pulumi.get(self, "size")
    """,
    "outer.py": """
        from typing import Optional, Sequence
        import pulumi
        from . import inner

        @pulumi.output_type
        class Outer(dict):
            @property
            @pulumi.getter(name="innerList")
            def inner_list(self) -> Optional[Sequence['inner.Inner']]:
                return pulumi.get(self, "inner_list")
    """,
    "base.py": """
        import pulumi

        class Base(pulumi.CustomResource):
            @property
            @pulumi.getter
            def size(self) -> pulumi.Output[str]:
                return pulumi.get(self, "size")
    """,
    "child.py": """
        import pulumi
        from .base import Base

        class Child(Base):
            @property
            @pulumi.getter
            def name(self) -> pulumi.Output[str]:
                return pulumi.get(self, "name")
    """,
}


@pytest.fixture
def fake_sdk(tmp_path, monkeypatch):
    """A generated-looking `pulumi_rampartfake` package whose sources the tests may change."""
    package = tmp_path / "site" / "pulumi_rampartfake"
    package.mkdir(parents=True)
    for name, text in FAKE_SDK.items():
        (package / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(package.parent))
    yield package, importlib.import_module("pulumi_rampartfake.outer").Outer
    for name in [m for m in sys.modules if m.startswith("pulumi_rampartfake")]:
        del sys.modules[name]


def _run_once(directory: Path, cls: type, is_sdk_module=_sdk_only) -> tuple[dict, int, int]:
    with sdk_hints.remembered(directory, is_sdk_module) as cache:
        types = pulumi_types._types_from_py_properties(cls)
        return types, cache.read, len(cache.pending)


def _touch_source(path: Path) -> None:
    path.write_text(path.read_text() + "# changed\n")


def test_an_entry_is_read_while_the_class_and_the_modules_it_names_are_unchanged(tmp_path, fake_sdk):
    _, outer = fake_sdk
    cache = tmp_path / "cache"
    types, read, pending = _run_once(cache, outer)
    assert (read, pending) == (0, 1)
    assert types == {"innerList": typing.Sequence[importlib.import_module("pulumi_rampartfake.inner").Inner]}
    assert _run_once(cache, outer) == (types, 1, 0)


@pytest.mark.parametrize("changed", ["outer.py", "inner.py"])
def test_an_entry_is_a_miss_once_its_class_or_a_class_it_names_changes_source(tmp_path, fake_sdk, changed):
    package, outer = fake_sdk
    cache = tmp_path / "cache"
    types, _, _ = _run_once(cache, outer)
    _touch_source(package / changed)
    assert _run_once(cache, outer) == (types, 0, 1)  # evaluated again by the SDK, and written again
    assert _run_once(cache, outer) == (types, 1, 0)


def test_an_entry_of_another_pulumi_types_source_is_a_miss(tmp_path, fake_sdk, monkeypatch):
    _, outer = fake_sdk
    cache = tmp_path / "cache"
    _run_once(cache, outer)
    monkeypatch.setattr(sdk_hints, "_stamp", lambda path: (1, 1) if path == pulumi_types.__file__ else
                        sdk_loader.source_stamp(path))
    assert _run_once(cache, outer)[1:] == (0, 1)


def test_a_corrupt_entry_is_a_miss_and_is_written_again(tmp_path, fake_sdk):
    _, outer = fake_sdk
    cache = tmp_path / "cache"
    types, _, _ = _run_once(cache, outer)
    (entry,) = cache.glob(f"*{sdk_hints.SUFFIX}")
    entry.write_bytes(entry.read_bytes()[:-5])
    assert _run_once(cache, outer) == (types, 0, 1)
    assert _run_once(cache, outer) == (types, 1, 0)


def test_a_programs_own_classes_are_never_remembered(tmp_path, fake_sdk):
    _, outer = fake_sdk
    cache = tmp_path / "cache"
    assert _run_once(cache, outer, is_sdk_module=lambda module: False)[1:] == (0, 0)
    assert not list(cache.glob(f"*{sdk_hints.SUFFIX}"))


def test_a_directory_others_can_write_to_is_neither_read_nor_written(tmp_path, fake_sdk):
    _, outer = fake_sdk
    cache = tmp_path / "cache"
    _run_once(cache, outer)
    cache.chmod(0o777)
    assert _run_once(cache, outer)[1:] == (0, 0)
    cache.chmod(0o700)
    assert _run_once(cache, outer)[1:] == (1, 0)


def test_disabled_the_sdk_evaluates_every_class_itself(tmp_path, fake_sdk, monkeypatch):
    monkeypatch.setenv(sdk_hints.DISABLE_ENV, "0")
    with sdk_hints.remembered(tmp_path, _sdk_only) as cache:
        assert cache is None
        assert pulumi_types._types_from_py_properties is SDK_TYPES


def test_a_program_run_twice_records_the_same_registrations_with_the_second_from_the_cache(tmp_path, monkeypatch):
    program = tmp_path / "program"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: hints\nruntime: python\n")
    (program / "__main__.py").write_text(
        "import pulumi_aws as aws\n"
        "bucket = aws.s3.BucketV2('logs')\n"
        "aws.s3.BucketServerSideEncryptionConfigurationV2('logs-sse', bucket=bucket.id, rules=[\n"
        "    aws.s3.BucketServerSideEncryptionConfigurationV2RuleArgs(apply_server_side_encryption_by_default=\n"
        "        aws.s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs(\n"
        "            sse_algorithm='aws:kms'))])\n")
    monkeypatch.setenv(sdk_loader.CACHE_ENV, str(tmp_path / "cache"))
    hits = []
    load = sdk_hints.HintCache.load

    def counted(self, cls):
        types = load(self, cls)
        hits.append((cls, types is not None))
        return types

    monkeypatch.setattr(sdk_hints.HintCache, "load", counted)
    here = os.getcwd()
    try:
        first = worker.run(program, "dev")
        entries = sorted(p.name for p in (tmp_path / "cache").glob(f"*{sdk_hints.SUFFIX}"))
        hits.clear()
        second = worker.run(program, "dev")
    finally:
        os.chdir(here)
        while str(program) in sys.path:
            sys.path.remove(str(program))
    assert first["error"] is None and len(first["registrations"]) == 2
    assert len(entries) >= 3  # the first run wrote what it evaluated (two resources, their input types)
    sdk_hits = [hit for cls, hit in hits if cls.__module__.startswith("pulumi_aws.")]
    assert sdk_hits == [True] * len(entries)  # and the second read every SDK class from there
    assert json.dumps(second["registrations"], sort_keys=True) == json.dumps(first["registrations"], sort_keys=True)


def test_an_entry_is_a_miss_once_a_base_class_in_another_module_changes_source(tmp_path, fake_sdk):
    """The SDK reads the properties (and the globals) of every class in the MRO: a base class's module counts."""
    package, _ = fake_sdk
    child = importlib.import_module("pulumi_rampartfake.child").Child
    cache = tmp_path / "cache"
    assert _run_once(cache, child) == ({"size": str, "name": str}, 0, 1)
    _touch_source(package / "base.py")
    assert _run_once(cache, child)[1:] == (0, 1)


def test_classes_a_warm_server_answered_are_answered_in_a_later_run_without_the_sdk(tmp_path, monkeypatch):
    """worker.preload_in_server warms the classes a program names and what their answers name; the runs it forks
    then answer them from this process's memory, and the answers are the SDK's own."""
    import pulumi_aws.lb as lb

    monkeypatch.setattr(sdk_hints, "_WARMED", {})
    warmed = sdk_hints.warm([lb.Listener, lb.ListenerArgs], tmp_path, _sdk_only)
    nested = lb.ListenerDefaultActionForwardTargetGroupArgs  # three levels below ListenerArgs
    assert nested in sdk_hints._WARMED and warmed == len(sdk_hints._WARMED) > 10
    asked = []
    monkeypatch.setattr(pulumi_types, "_types_from_py_properties", lambda cls: asked.append(cls) or SDK_TYPES(cls))
    with sdk_hints.remembered(tmp_path / "another", _sdk_only):
        answer = pulumi_types._types_from_py_properties(nested)
        pulumi_types._types_from_py_properties(lb.ListenerArgs)
    assert asked == []
    assert answer == SDK_TYPES(nested)


def test_warming_classes_already_warmed_walks_nothing_again(tmp_path, monkeypatch):
    """A warm server warms the program's classes before every check it forks: what it warmed before (with every type
    their answers name) is not walked again, while a class it has not seen is."""
    import pulumi_aws.lb as lb
    import pulumi_aws.sqs as sqs

    monkeypatch.setattr(sdk_hints, "_WARMED", {})
    first = sdk_hints.warm([lb.Listener, lb.ListenerArgs], tmp_path, _sdk_only)
    walked = []
    real = sdk_hints._named_classes
    monkeypatch.setattr(sdk_hints, "_named_classes", lambda types, seen: walked.append(1) or real(types, seen))
    assert sdk_hints.warm([lb.Listener, lb.ListenerArgs], tmp_path, _sdk_only) == 0
    assert walked == []
    assert sdk_hints.warm([lb.Listener, sqs.Queue], tmp_path, _sdk_only) > 0 and walked
    assert first > 10
