"""`rampart notify`: one pipeline event published to the stack's SNS topic as an AWS Chatbot custom notification.

The message is Chatbot's custom notification event (version "1.0", source "custom", content {title, description,
nextSteps, keywords}, metadata {threadId, summary, eventType, additionalContext}); every event of one workflow
run shares a threadId, so a channel shows a run as one thread. Email subscribers receive the same JSON.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from rampart.errors import UsageError
from rampart.ops.aws import Aws, calling
from rampart.ops.report import Report

STEPS = ("pipeline", "pulumi-up", "snapshot", "migrate", "deploy", "smoke", "verify", "rollback", "restore")
"""What an event is about: the whole run, or one step of it."""
OUTCOMES = ("started", "success", "failure", "cancelled", "skipped")
"""`started`, or the values GitHub gives `job.status` and `steps.<id>.outcome`."""
_ICONS = {"started": ":arrow_forward:", "success": ":white_check_mark:", "failure": ":x:",
          "cancelled": ":no_entry_sign:", "skipped": ":fast_forward:"}
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
DETAIL_LIMIT = 1000
"""Characters of --detail kept: a chat message is read at a glance; the run link has the rest."""


@dataclass(frozen=True, kw_only=True)
class Event:
    stack: str
    step: str
    outcome: str
    service: str | None = None
    revision: str | None = None
    commit: str | None = None
    actor: str | None = None
    run_url: str | None = None
    run_id: str | None = None
    detail: str | None = None


def run_url_from_env(env: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """The GitHub Actions run's page, from the variables every runner sets; None outside Actions."""
    server, repository, run = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if not (server and repository and run):
        return None
    attempt = env.get("GITHUB_RUN_ATTEMPT")
    return f"{server}/{repository}/actions/runs/{run}" + (f"/attempts/{attempt}" if attempt else "")


def chat_message(event: Event) -> dict[str, Any]:
    """The Chatbot custom notification for one event (pure: tests compare it whole)."""
    subject = f"{event.step} of {event.service}" if event.service else event.step
    title = f"{_ICONS[event.outcome]} {event.stack}: {subject} {event.outcome}"
    facts = {"Service": event.service, "Revision": event.revision, "Commit": event.commit, "Actor": event.actor,
             "Run": event.run_url}
    lines = [f"*{name}*: {value}" for name, value in facts.items() if value]
    if event.detail:
        lines.append(event.detail[:DETAIL_LIMIT])
    next_steps = []
    if event.outcome == "failure":
        next_steps = [f"Read the run's log: {event.run_url}" if event.run_url else "Read the job's log",
                      "docs/operations.md: what each step leaves behind when it fails"]
    context = {"stack": event.stack, "step": event.step, "outcome": event.outcome, "service": event.service,
               "revision": event.revision, "commit": event.commit, "actor": event.actor, "runUrl": event.run_url}
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": "\n".join(lines) or subject,
            **({"nextSteps": next_steps} if next_steps else {}),
            "keywords": [k for k in (event.stack, event.step, event.outcome, event.service) if k],
        },
        "metadata": {
            # One thread per workflow run and stack: start, steps and outcome read as one conversation.
            **({"threadId": f"rampart-{event.stack}-{event.run_id}"} if event.run_id else {}),
            "summary": title,
            "eventType": f"rampart.{event.step}.{event.outcome}",
            **({"relatedResources": [event.revision]} if event.revision else {}),
            "additionalContext": {k: v for k, v in context.items() if v},
        },
    }


def check_topic_arn(value: str) -> str:
    if not _TOPIC_ARN.match(value):
        raise UsageError("--topic-arn (or RAMPART_NOTIFICATION_TOPIC_ARN): expected an SNS topic ARN "
                         "(arn:aws:sns:<region>:<account>:<name>)")
    return value


def publish(aws: Aws, topic_arn: str, event: Event, report: Report) -> None:
    message = chat_message(event)
    with calling("sns:Publish", topic_arn):
        answer = aws.client("sns").publish(TopicArn=topic_arn, Message=json.dumps(message))
    report.ok("publish", f"{message['metadata']['eventType']} to {topic_arn}", messageId=answer.get("MessageId"))
    report.result.update({"topicArn": topic_arn, "messageId": answer.get("MessageId"), "message": message})
