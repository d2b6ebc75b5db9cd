"""`rampart deploy`: register the new revision and ship it blue/green through CodeDeploy, following it to the end."""

from __future__ import annotations

import argparse

from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs
from rampart.ops.outputs import json_type
from rampart.ops.report import Report
from rampart.ops.smoke import SmokeOptions, parse_url  # stdlib only, as `rampart smoke` imports it

TRAFFIC_CONTROLS = ("CODE_DEPLOY", "ECS")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="blue/green deploy a new image through CodeDeploy",
        description="Register a new task definition revision from the service's current one with --image (or take "
        "--task-definition), create the CodeDeploy deployment with an AppSpec naming it, and follow it until all "
        "traffic has shifted and the group's alarms stayed quiet for --alarm-watch (with --wait-for-bake: until "
        "Succeeded; CodeDeploy's alarm rollback covers the bake otherwise). On --timeout a deployment whose "
        "traffic has not fully shifted is stopped with rollback; after the shift the timeout only reports. "
        "With --smoke-url, the deployment group must hold the replacement in "
        "Ready: the smoke checks run against the test listener there, traffic shifts only when they pass, and a "
        "failure stops the deployment with rollback. Names come from the stack outputs unless given as flags. "
        "Exit 0 shifted with quiet alarms (or succeeded), 1 failed/stopped/rolled back/timed out, 2 bad input.",
    )
    stack_outputs.add_arguments(parser)
    parser.add_argument("--service", required=True, metavar="NAME", help="service name in the stack outputs")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--image", metavar="URI", help="container image for the new revision")
    what.add_argument("--task-definition", metavar="ARN", help="an already registered revision to deploy")
    parser.add_argument("--from-task-definition", metavar="ARN",
                        help="with --image: base the new revision on this one (the revision `pulumi up` just "
                        "registered, with the stack's latest settings) instead of the one the service runs")
    stack_outputs.add_service_names(parser)
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="stop the deployment with rollback if its traffic has not fully shifted after this "
                        "many seconds; after the shift only report (default: services.<service>.deployment."
                        "untilShiftedSeconds from the stack outputs, withBakeSeconds with --wait-for-bake; "
                        "required without them)")
    parser.add_argument("--alarm-watch", type=float, default=None, metavar="S",
                        help="after the full shift, the group's alarms must stay quiet this long (default: "
                        "services.<service>.deployment.alarmWatchSeconds, else 0: checked once)")
    parser.add_argument("--wait-for-bake", action="store_true",
                        help="follow the bake (termination wait) to Succeeded instead of returning once traffic "
                        "has shifted and the alarms are quiet")
    parser.add_argument("--poll", type=float, default=15.0, metavar="S", help="seconds between polls (default 15)")
    parser.add_argument("--register-only", action="store_true",
                        help="only register the new revision and print its ARN (to run `rampart migrate` from it)")
    parser.add_argument("--description", default="rampart deploy", help="deployment description")
    gate = parser.add_argument_group("smoke gate", "checks on the test listener while the deployment waits in Ready "
                                     "(needs a deployment group whose ready option is STOP_DEPLOYMENT)")
    gate.add_argument("--smoke-url", metavar="URL", help="test listener base URL, e.g. https://lb.example.com:8443")
    gate.add_argument("--smoke-path", action="append", default=[], metavar="P",
                      help="path to check (repeatable; default /)")
    gate.add_argument("--smoke-attempts", type=int, default=None, metavar="N", help="tries per path (default 5)")
    gate.add_argument("--smoke-max-latency-ms", type=float, default=None, metavar="N", help="default 2000")
    gate.add_argument("--insecure", action="store_true",
                      help="skip TLS verification (a test listener answering with the production certificate)")
    gate.add_argument("--smoke-task", action="store_true",
                      help="run the checks as the stack's smoke task inside the VPC (stack output smokeTask: "
                      "family, private subnets, security group), judged by its exit code, instead of from this "
                      "machine, which the test listener does not admit")
    parser.add_argument("--continue-when-ready", action="store_true",
                        help="no smoke gate: continue a deployment the group holds in Ready at once (for "
                        "rollbacks to a "
                        "revision that already served traffic)")
    parser.add_argument("--traffic-control", choices=TRAFFIC_CONTROLS, default=None,
                        help="how the service moves traffic (default: services.<service>.trafficControl from the "
                        "stack outputs, else CODE_DEPLOY); ECS: register the revision, UpdateService and follow "
                        "the ECS blue/green deployment, its pause hook serving as the smoke gate")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # boto3 loads only when an ops command runs, so `rampart check` starts as fast as before.
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.deploy import DeployOptions, run_deploy
    from rampart.ops.runner import execute

    if (args.timeout is not None and args.timeout <= 0) or args.poll <= 0:
        raise UsageError("--timeout and --poll: expected positive seconds")
    if args.alarm_watch is not None and args.alarm_watch < 0:
        raise UsageError(f"--alarm-watch: expected seconds >= 0, got {args.alarm_watch:g}")
    if args.from_task_definition and not args.image:
        raise UsageError("--from-task-definition: needs --image (the image the new revision runs)")
    if args.register_only and args.task_definition:
        raise UsageError("--register-only: needs --image (a --task-definition is already registered)")
    if args.register_only and args.wait_for_bake:
        raise UsageError("--wait-for-bake: nothing to follow with --register-only (no deployment is created)")
    smoke = _SmokeOptions(args)
    if args.smoke_task and smoke is None:
        raise UsageError("--smoke-task: needs --smoke-url (the test listener the task checks)")
    if smoke is not None and args.continue_when_ready:
        raise UsageError("--continue-when-ready: not with --smoke-url (the smoke gate decides when traffic moves)")
    outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
    svc = f"services.{args.service}"
    traffic = args.traffic_control or outputs.optional(f"{svc}.trafficControl") or "CODE_DEPLOY"
    if traffic not in TRAFFIC_CONTROLS:
        raise UsageError(f"{outputs.path}: {svc}.trafficControl: expected one of {', '.join(TRAFFIC_CONTROLS)}; "
                         "or pass --traffic-control")
    no_group = args.register_only or traffic == "ECS"  # ECS-native services have no CodeDeploy group
    options = DeployOptions(
        cluster=outputs.pick(args.cluster, "clusterName", "--cluster", expect=str),
        service=outputs.pick(args.ecs_service, f"{svc}.serviceName", "--ecs-service", expect=str),
        application=outputs.pick(args.application, f"{svc}.codedeployApplication", "--application", expect=str)
        if not no_group else "",
        deployment_group=outputs.pick(args.deployment_group, f"{svc}.deploymentGroup", "--deployment-group",
                                      expect=str) if not no_group else "",
        container_name=outputs.pick(args.container, f"{svc}.containerName", "--container", expect=str),
        container_port=int(outputs.pick(args.container_port, f"{svc}.containerPort", "--container-port",
                                        expect=(int, float))) if not args.register_only else 0,
        image=args.image,
        base_task_definition=args.from_task_definition,
        task_definition=args.task_definition,
        register_only=args.register_only,
        **_timing(args, outputs, svc),
        poll=args.poll,
        wait_for_bake=args.wait_for_bake,
        description=args.description,
        smoke=smoke,
        continue_when_ready=args.continue_when_ready,
        traffic_control=traffic,
    )
    if args.smoke_task:
        from dataclasses import replace

        from rampart.ops.smoke_task import options_from_outputs

        options = replace(options, smoke_task=options_from_outputs(outputs, options.cluster))
    aws = Aws(resolve_region(args.region))
    return execute(Report("deploy"), args.format, lambda report: run_deploy(aws, options, report))


def _timing(args: argparse.Namespace, outputs: stack_outputs.StackOutputs, svc: str) -> dict[str, float]:
    """--timeout and --alarm-watch, by default the worst case the stack derived (infra/timing.py) for this service."""
    if args.register_only:
        return {"timeout": 1.0, "alarm_watch": 0.0}  # no deployment to follow
    total = "withBakeSeconds" if args.wait_for_bake else "untilShiftedSeconds"
    timeout = float(outputs.pick(args.timeout, f"{svc}.deployment.{total}", "--timeout", expect=(int, float)))
    if timeout <= 0:
        raise UsageError(f"{outputs.path}: services.<service>.deployment.{total}: expected positive seconds, "
                         f"got {timeout:g}; or pass --timeout")
    watch = args.alarm_watch
    if watch is None:
        # Absent (an outputs file from before the key, or no file with every name given as flags): one check.
        watch = outputs.optional(f"{svc}.deployment.alarmWatchSeconds")
        if watch is None:
            return {"timeout": timeout, "alarm_watch": 0.0}
        if not isinstance(watch, int | float) or isinstance(watch, bool) or watch < 0:
            got = f"{watch:g}" if isinstance(watch, int | float) and not isinstance(watch, bool) else json_type(watch)
            raise UsageError(f"{outputs.path}: {svc}.deployment.alarmWatchSeconds: expected seconds >= 0, got "
                             f"{got}; or pass --alarm-watch")  # a number, else its type: never the value
    return {"timeout": timeout, "alarm_watch": float(watch)}


def _SmokeOptions(args: argparse.Namespace) -> SmokeOptions | None:
    given = [flag for flag, value in (("--smoke-path", args.smoke_path), ("--smoke-attempts", args.smoke_attempts),
                                      ("--smoke-max-latency-ms", args.smoke_max_latency_ms),
                                      ("--insecure", args.insecure)) if value not in (None, [], False)]
    if args.smoke_url is None:
        if given:
            raise UsageError(f"{', '.join(given)}: needs --smoke-url")
        return None
    if args.register_only:
        raise UsageError("--smoke-url: nothing to smoke with --register-only (no deployment is created)")
    try:
        parse_url(args.smoke_url)
    except UsageError as exc:
        raise UsageError("--smoke-url" + str(exc).removeprefix("--url")) from None
    defaults = SmokeOptions(url=args.smoke_url)
    attempts = defaults.attempts if args.smoke_attempts is None else args.smoke_attempts
    max_latency = defaults.max_latency_ms if args.smoke_max_latency_ms is None else args.smoke_max_latency_ms
    if attempts < 1:
        raise UsageError(f"--smoke-attempts: expected at least 1, got {attempts}")
    if max_latency <= 0:
        raise UsageError(f"--smoke-max-latency-ms: expected a positive number, got {max_latency:g}")
    return SmokeOptions(url=args.smoke_url, paths=tuple(args.smoke_path or ["/"]), attempts=attempts,
                         max_latency_ms=max_latency, insecure=args.insecure)
