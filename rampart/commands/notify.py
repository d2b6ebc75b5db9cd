"""`rampart notify`: publish one pipeline event (start, success, failure) to the stack's notifications topic."""

from __future__ import annotations

import argparse
import os

from rampart import console
from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs

TOPIC_ENV = "RAMPART_NOTIFICATION_TOPIC_ARN"


def register(subparsers: argparse._SubParsersAction) -> None:
    from rampart.ops.notify import OUTCOMES, STEPS

    parser = subparsers.add_parser(
        "notify",
        help="publish a pipeline event to the stack's notifications topic (chat through AWS Chatbot)",
        description="Publish one event (a step started, succeeded or failed) to the stack's SNS topic as an AWS "
        "Chatbot custom notification carrying stack, step, outcome, service, revision, commit, actor and the run's "
        "URL. Commit, actor and run URL default to GitHub Actions' GITHUB_* variables. With no topic (a stack "
        f"before its first `pulumi up`, {TOPIC_ENV} unset and no outputs file) it publishes nothing and says so. "
        "Exit 0 published or nothing to publish to, 1 publishing failed, 2 bad input.",
    )
    parser.add_argument("--step", required=True, choices=STEPS, help="what the event is about")
    parser.add_argument("--outcome", required=True, choices=OUTCOMES,
                        help="started, or GitHub's job.status / steps.<id>.outcome value")
    parser.add_argument("--topic-arn", default=None, metavar="ARN",
                        help=f"SNS topic (default: {TOPIC_ENV}, else notificationTopicArn from the stack outputs)")
    stack_outputs.add_arguments(parser)
    parser.add_argument("--service", default=None, help="the service the step worked on")
    parser.add_argument("--revision", default=None, help="task definition revision or image digest deployed")
    parser.add_argument("--commit", default=None, help="commit deployed (default: GITHUB_SHA)")
    parser.add_argument("--actor", default=None, help="who started the run (default: GITHUB_ACTOR)")
    parser.add_argument("--run-url", default=None, metavar="URL", help="the run's page (default: from GITHUB_*)")
    parser.add_argument("--detail", default=None, help="one more line of context (first 1000 characters)")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def _topic(args: argparse.Namespace) -> str | None:
    if args.topic_arn:
        return args.topic_arn
    if os.environ.get(TOPIC_ENV):
        return os.environ[TOPIC_ENV]
    if args.stack or args.outputs:
        found = stack_outputs.StackOutputs(args.stack, args.outputs).optional("notificationTopicArn")
        return found if isinstance(found, str) and found else None
    return None


def handle(args: argparse.Namespace) -> int:
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.notify import Event, check_topic_arn, publish, run_url_from_env
    from rampart.ops.report import Report
    from rampart.ops.runner import execute

    stack = args.stack or os.environ.get("RAMPART_STACK")
    if not stack:
        raise UsageError("--stack: expected the stack name (or RAMPART_STACK)")
    topic = _topic(args)
    if topic is None:
        console.stderr.print(f"notify: no notifications topic ({TOPIC_ENV} unset, no --topic-arn, no outputs): "
                             "nothing published", markup=False)
        return 0
    topic = check_topic_arn(topic)
    event = Event(
        stack=stack, step=args.step, outcome=args.outcome, service=args.service, revision=args.revision,
        commit=args.commit or os.environ.get("GITHUB_SHA"), actor=args.actor or os.environ.get("GITHUB_ACTOR"),
        run_url=args.run_url or run_url_from_env(), run_id=os.environ.get("GITHUB_RUN_ID"), detail=args.detail,
    )
    aws = Aws(resolve_region(args.region))
    return execute(Report("notify"), args.format, lambda report: publish(aws, topic, event, report))
