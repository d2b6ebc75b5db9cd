"""`rampart notify`: a pipeline event as an AWS Chatbot custom notification, published on moto's SNS."""

from __future__ import annotations

import json

import pytest

from rampart.cli import main
from rampart.ops.notify import Event, chat_message, run_url_from_env

RUN = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "example-org/shop", "GITHUB_RUN_ID": "42",
       "GITHUB_RUN_ATTEMPT": "2", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_ACTOR": "octocat"}


def test_a_failure_carries_what_a_reader_needs_in_chatbots_custom_format():
    event = Event(stack="production", step="migrate", outcome="failure", service="api",
                  revision="arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:7", commit=RUN["GITHUB_SHA"],
                  actor="octocat", run_url="https://github.com/example-org/shop/actions/runs/42", run_id="42")
    message = chat_message(event)
    assert (message["version"], message["source"]) == ("1.0", "custom")
    content = message["content"]
    assert content["title"] == ":x: production: migrate of api failure"
    for fact in ("api", "shop-api:7", RUN["GITHUB_SHA"], "octocat", "actions/runs/42"):
        assert fact in content["description"]
    assert content["nextSteps"][0].endswith("actions/runs/42")
    assert message["metadata"]["threadId"] == "rampart-production-42"
    assert message["metadata"]["eventType"] == "rampart.migrate.failure"
    assert message["metadata"]["additionalContext"]["outcome"] == "failure"


def test_a_start_has_no_next_steps_and_the_run_url_comes_from_the_runner():
    assert run_url_from_env(RUN) == "https://github.com/example-org/shop/actions/runs/42/attempts/2"
    assert run_url_from_env({}) is None
    message = chat_message(Event(stack="staging", step="pipeline", outcome="started"))
    assert "nextSteps" not in message["content"] and "threadId" not in message["metadata"]


def test_publishes_to_the_topic_and_a_subscriber_receives_the_message(aws_env, client, monkeypatch, capsys):
    for name, value in RUN.items():
        monkeypatch.setenv(name, value)
    topic = client("sns").create_topic(Name="shop-production-notifications")["TopicArn"]
    queue = client("sqs").create_queue(QueueName="inbox")["QueueUrl"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                            Attributes={"RawMessageDelivery": "true"})
    code = main(["notify", "--stack", "production", "--topic-arn", topic, "--step", "deploy", "--outcome", "failure",
                 "--service", "api", "--revision", "shop-api:7", "--format", "json"])
    assert code == 0, capsys.readouterr()
    report = json.loads(capsys.readouterr().out)
    (received,) = client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    delivered = json.loads(received["Body"])
    assert delivered == report["result"]["message"]
    assert delivered["metadata"]["additionalContext"] == {
        "stack": "production", "step": "deploy", "outcome": "failure", "service": "api", "revision": "shop-api:7",
        "commit": RUN["GITHUB_SHA"], "actor": "octocat",
        "runUrl": "https://github.com/example-org/shop/actions/runs/42/attempts/2"}


def test_no_topic_yet_publishes_nothing_and_says_so(aws_env, monkeypatch, capsys):
    monkeypatch.delenv("RAMPART_NOTIFICATION_TOPIC_ARN", raising=False)
    assert main(["notify", "--stack", "production", "--step", "pipeline", "--outcome", "started"]) == 0
    assert "nothing published" in capsys.readouterr().err


@pytest.mark.parametrize("argv, named", [
    (["--topic-arn", "not-an-arn"], "--topic-arn"),
    (["--topic-arn", "arn:aws:sns:eu-west-1:123456789012:t", "--stack", ""], "--stack"),
])
def test_bad_input_is_one_message_and_exit_2(aws_env, monkeypatch, capsys, argv, named):
    monkeypatch.delenv("RAMPART_STACK", raising=False)
    base = ["notify", "--step", "deploy", "--outcome", "success", "--stack", "production"]
    assert main([*base, *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and "not-an-arn" not in err


def test_a_topic_that_does_not_exist_fails_naming_it(aws_env, capsys):
    topic = "arn:aws:sns:eu-west-1:123456789012:gone"
    assert main(["notify", "--stack", "production", "--topic-arn", topic, "--step", "deploy",
                 "--outcome", "success"]) == 1
    assert "sns:Publish arn:aws:sns:eu-west-1:123456789012:gone" in capsys.readouterr().out
