"""BlueGreenService recorded on each project stack's arguments (tests/components/blue_green_support.py), for
tests/components/test_blue_green_service_*.py. Module-scoped: each test module records the component once per
stack; a module defining a fixture of the same name uses its own."""

from __future__ import annotations

import pytest

from tests.components.blue_green_support import make_args, record


@pytest.fixture(scope="module", params=["production", "staging"])
def recorded(request):
    args = make_args(request.param)
    rec, component = record(args)
    return request.param, args, rec, component


@pytest.fixture(scope="module")
def production():
    args = make_args("production")
    rec, component = record(args)
    return args, rec, component


@pytest.fixture(scope="module")
def staging():
    args = make_args("staging")
    rec, component = record(args)
    return args, rec, component
