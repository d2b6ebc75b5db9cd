"""The offline engine's fake ARNs have the shapes AWS gives, or a policy built from them is judged on ARNs no
real call ever names (and the IAM contract would be proven against a fiction)."""

from __future__ import annotations

from rampart.engine.fake_outputs import FakeCloud

CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/shop"


def test_ecs_service_arn_is_the_long_form_with_the_cluster_name():
    # ECS has given every new service the long ARN since 2021; IAM authorises DescribeServices/UpdateService on it.
    _, state = FakeCloud("us-east-1").new_resource(
        "aws:ecs/service:Service", "web", {"name": "shop-web", "cluster": CLUSTER_ARN})
    assert state["arn"] == "arn:aws:ecs:us-east-1:123456789012:service/shop/shop-web"


def test_ecs_cluster_arn():
    _, state = FakeCloud("us-east-1").new_resource("aws:ecs/cluster:Cluster", "c", {"name": "shop"})
    assert state["arn"] == CLUSTER_ARN
