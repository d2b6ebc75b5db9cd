"""The worker's check for empty getters and setters answers as the SDK's own does, for every function of the SDK
modules a program loads and for every empty form the SDK knows (rampart.engine.sdk_class_speedups)."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pulumi._utils as pulumi_utils
import pytest

from rampart.engine import sdk_class_speedups

SDK_CHECK = pulumi_utils.is_empty_function


def _quick():
    forms = [getattr(pulumi_utils, name) for name in sdk_class_speedups._EMPTY_FORMS]
    return sdk_class_speedups._bytecode_first(SDK_CHECK, frozenset(f.__code__.co_code for f in forms))


def _functions(module_name: str):
    for _, cls in inspect.getmembers(importlib.import_module(module_name), inspect.isclass):
        for value in vars(cls).values():
            if isinstance(value, property):
                yield from (f for f in (value.fget, value.fset) if f is not None)
            elif inspect.isfunction(value):
                yield value


def _empty(): ...


def _empty_doc():
    """Documented."""


def _returns_none():
    return None


def _returns_none_doc():
    """Documented."""
    return None


def _returns_zero():
    return 0


def _documented_with_a_constant():
    """Documented."""
    return "other"


@pytest.mark.parametrize("fn", [_empty, _empty_doc, _returns_none, _returns_none_doc, _returns_zero,
                                _documented_with_a_constant, lambda: None, lambda self, value: None])
def test_every_empty_form_and_its_near_misses_get_the_sdks_answer(fn):
    assert _quick()(fn) == SDK_CHECK(fn)


def test_every_getter_setter_and_method_of_generated_modules_gets_the_sdks_answer():
    quick = _quick()
    functions = [f for module in ("pulumi_aws.lb._inputs", "pulumi_aws.lb.outputs", "pulumi_aws.lb.load_balancer",
                                  "pulumi_github.repository") for f in _functions(module)]
    assert len(functions) > 1000
    assert [quick(f) for f in functions] == [SDK_CHECK(f) for f in functions]


def test_the_worker_installs_it_once_for_its_preload():
    probe = ("import pulumi._utils as u; from pathlib import Path; from rampart.engine import worker, "
             "sdk_class_speedups; original = u.is_empty_function; worker._preload_without_gc(Path('.'));"
             "print(u.is_empty_function.__wrapped__ is original, sdk_class_speedups.install())")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "True False"
