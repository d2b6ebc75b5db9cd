"""The shared service-role trust document: the confused-deputy guard, and the optional source narrowing."""

from __future__ import annotations

import json

from components.service_trust import service_trust


def test_trust_names_the_service_and_only_this_account():
    document = json.loads(service_trust("vpc-flow-logs.amazonaws.com", "123456789012"))
    assert document == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }],
    }


def test_a_source_arn_narrows_the_trust_to_the_calling_resources():
    document = json.loads(service_trust("codedeploy.amazonaws.com", "123456789012",
                                        source_arn="arn:aws:codedeploy:eu-west-1:123456789012:*"))
    assert document["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:codedeploy:eu-west-1:123456789012:*"},
    }
