"""BlueGreenService's arguments: long prefixes still give valid, distinct names within AWS's limits, and invalid
arguments are rejected, naming the field, before anything is registered."""

from __future__ import annotations

import pytest

from components.blue_green_service import fit_name, target_group_name
from tests.components.blue_green_support import ROLE, SERVICE, TG, _deployment, _service, make_args, record

# Names -----------------------------------------------------------------------------------------------


def test_long_prefixes_still_give_valid_distinct_target_group_names():
    base = "rampart-a-very-long-stack-name-checkout-service"
    blue, green = target_group_name(base, "blue"), target_group_name(base, "green")
    assert len(blue) <= 32 and len(green) <= 32
    assert blue.endswith("-blue") and green.endswith("-green")
    assert blue != green
    assert target_group_name(base + "x", "blue") != blue
    assert fit_name("x" * 80, 64) != fit_name("x" * 81, 64)
    assert len(fit_name("x" * 80, 64)) == 64


def test_long_names_record_within_limits():
    rec, _ = record(make_args("staging", name_prefix="rampart-a-very-long-stack-name-for-testing"))
    for tg in rec.by_type(TG):
        assert len(tg.plain_inputs()["name"]) <= 32
    for role in rec.by_type(ROLE):
        assert len(role.plain_inputs()["name"]) <= 64


# Validation ------------------------------------------------------------------------------------------



@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"deployment": _deployment(termination_wait_minutes=4)}, "deployment.termination_wait_minutes"),
        ({"deployment": _deployment(interval_minutes=1)}, "deployment.interval_minutes"),
        ({"name_prefix": "Rampart_Prod"}, "name_prefix"),
        ({"service": _service(user="0:0")}, "service.user"),
        ({"service": _service(path_patterns=("/a", "/b", "/c", "/d", "/e", "/f"))}, "service.path_patterns"),
        ({"secrets": {"LOG_LEVEL": "arn:x:::v"}}, "secrets"),
        ({"secrets": {"bad-name": "arn:x:::v"}}, "secrets"),
        ({"secret_arns": []}, "secret_arns"),
        ({"private_subnet_ids": ["subnet-a"]}, "private_subnet_ids"),
        ({"log_retention_days": 0}, "log_retention_days"),
        ({"traffic_control": "APP_MESH"}, "traffic_control"),
        ({"region": "mars-1"}, "region"),
        ({"service": {"name": "web"}}, "service"),
        ({"service": _service(container_port=80)}, "service.container_port"),
        ({"service": _service(image=None)}, "service.image"),
        ({"service": _service(cpu=300)}, "service.cpu"),
        ({"service": _service(container_health_check=("sh", "-c", "true"))}, "service.container_health_check"),
        ({"deployment": _deployment(strategy="blue-green")}, "deployment.strategy"),
        ({"alarms": {"periodSeconds": 60}}, "alarms"),
    ],
)
def test_invalid_args_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=rf"^BlueGreenServiceArgs\.{message}: expected"):
        record(make_args(**overrides))


def test_one_private_subnet_is_enough_outside_production():
    rec, _ = record(make_args("staging", private_subnet_ids=["subnet-a"]))
    assert rec.one(SERVICE).plain_inputs()["networkConfiguration"]["subnets"] == ["subnet-a"]
