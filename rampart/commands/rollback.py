"""`rampart rollback`: put a service back on the revision that served traffic before, and prove it is there."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rampart.errors import UsageError
from rampart.ops import outputs as stack_outputs
from rampart.ops.outputs import expected_type, json_type
from rampart.ops.report import Report

TRAFFIC_CONTROLS = ("CODE_DEPLOY", "ECS")
# Not needed for an ECS-native service: it has no CodeDeploy application or group.
CODE_DEPLOY_ONLY = ("--application", "--deployment-group")
# Flag -> (key in the RAMPART_SERVICES entry, key under services.<s> in the stack outputs, expected type).
NAMES: dict[str, tuple[str, str, type | tuple[type, ...]]] = {
    "--ecs-service": ("service", "serviceName", str),
    "--application": ("application", "codedeployApplication", str),
    "--deployment-group": ("deploymentGroup", "deploymentGroup", str),
    "--container": ("containerName", "containerName", str),
    "--container-port": ("containerPort", "containerPort", (int, float)),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="stop a deployment with rollback, or redeploy the revision that served traffic before",
        description="If a deployment of the service's group is in flight (Created, Queued, InProgress, Ready, "
        "Baking), stop it with rollback and follow CodeDeploy's rollback deployment. Otherwise redeploy, through "
        "CodeDeploy and past the ready wait, the revision of the last Succeeded deployment before the one that put "
        "the running revision in service (never a revision that has not served traffic; nothing is registered). "
        "Then verify: the primary task set runs the target revision at the desired count and none of the group's "
        "alarms is in ALARM. Names come from --services-json (the RAMPART_SERVICES variable) with --cluster, from "
        "the stack outputs, or from flags. An ECS-native blue/green service (trafficControl ECS) is stopped with "
        "StopServiceDeployment ROLLBACK, or put back on the source revision of its last successful deployment. "
        "Exit 0 landed and verified, 1 not landed (the report says what state "
        "it left), 2 bad input.",
    )
    stack_outputs.add_arguments(parser, stack_required=True)
    parser.add_argument("--service", required=True, metavar="NAME", help="service name, as in Pulumi.<stack>.yaml")
    parser.add_argument("--reason", required=True, help="why (recorded in the report and the deployment)")
    parser.add_argument("--services-json", metavar="JSON",
                        help="the RAMPART_SERVICES variable: {service: {service, application, deploymentGroup, "
                        "containerName, containerPort}}; needs --cluster, not with --outputs")
    stack_outputs.add_service_names(parser)
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="give up after this many seconds (default: deployTimeoutSeconds from --services-json, "
                        "else 600 start-up + the group's traffic-shift time + its slowest alarm's detection window, "
                        "e.g. 1140 for a 5-minute canary and 3 x 60 s alarms); a rollback deployment is never "
                        "stopped")
    parser.add_argument("--poll", type=float, default=15.0, metavar="S", help="seconds between polls (default 15)")
    stack_outputs.add_common(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # boto3 loads only when an ops command runs, so `rampart check` starts as fast as before.
    from rampart.ops.aws import Aws, resolve_region
    from rampart.ops.rollback import RollbackOptions, run_rollback
    from rampart.ops.runner import execute

    if (args.timeout is not None and args.timeout <= 0) or args.poll <= 0:
        raise UsageError("--timeout and --poll: expected positive seconds")
    if not args.reason.strip():
        raise UsageError("--reason: expected a non-empty reason (it is recorded with the rollback)")
    names = _names(args)
    port = names["--container-port"]
    if isinstance(port, float) and not port.is_integer() or not 0 < int(port) < 65536:
        raise UsageError(f"--container-port: expected a port number, got {port!r}")
    options = RollbackOptions(
        stack=args.stack, cluster=names["--cluster"], service=names["--ecs-service"],
        application=names.get("--application") or "", deployment_group=names.get("--deployment-group") or "",
        traffic_control=names["--traffic-control"],
        container_name=names["--container"], container_port=int(port), reason=args.reason.strip(),
        timeout=args.timeout if args.timeout is not None else names.get("--timeout"), poll=args.poll,
    )
    aws = Aws(resolve_region(args.region))
    return execute(Report("rollback"), args.format, lambda report: run_rollback(aws, options, report))


def _names(args: argparse.Namespace) -> dict[str, Any]:
    """Each name from its flag, else the services JSON, else the stack outputs file."""
    flags = {flag: getattr(args, flag[2:].replace("-", "_")) for flag in ("--cluster", *NAMES)}
    if args.services_json is None:
        outputs = stack_outputs.StackOutputs(args.stack, args.outputs)
        names = {"--cluster": outputs.pick(flags["--cluster"], "clusterName", "--cluster", expect=str),
                 "--traffic-control": _traffic_control(outputs.optional(f"services.{args.service}.trafficControl"),
                                                       f"{outputs.path}: services.{args.service}.trafficControl")}
        for flag, (_, key, expect) in NAMES.items():
            if names["--traffic-control"] == "ECS" and flag in CODE_DEPLOY_ONLY:
                continue
            names[flag] = outputs.pick(flags[flag], f"services.{args.service}.{key}", flag, expect=expect)
        return names
    if args.outputs is not None:
        raise UsageError("--services-json: not with --outputs (take the names from one place)")
    if flags["--cluster"] is None:
        raise UsageError("--cluster: required with --services-json (RAMPART_SERVICES carries no cluster; "
                         "pass RAMPART_CLUSTER)")
    try:
        services = json.loads(args.services_json)
    except ValueError as exc:
        raise UsageError(f"--services-json: not valid JSON ({exc}); expected the RAMPART_SERVICES variable") from None
    entry = services.get(args.service) if isinstance(services, dict) else None
    if not isinstance(entry, dict):
        known = ", ".join(sorted(services)) if isinstance(services, dict) else "not an object"
        raise UsageError(f"--services-json: no service {args.service!r} (has: {known or 'none'})")
    names = {"--cluster": flags["--cluster"],
             "--traffic-control": _traffic_control(entry.get("trafficControl"),
                                                   f"--services-json: {args.service}.trafficControl")}
    for flag, (key, _, expect) in NAMES.items():
        if names["--traffic-control"] == "ECS" and flag in CODE_DEPLOY_ONLY:
            continue
        value = flags[flag] if flags[flag] is not None else entry.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, expect):
            # Named by type, never echoed: the variable is CI's and can hold anything, a secret included.
            state = "missing" if value is None else f"invalid ({json_type(value)}, expected {expected_type(expect)})"
            raise UsageError(f"--services-json: {args.service}.{key} is {state}; pass {flag}")
        names[flag] = value
    # The stack publishes the worst case of a deployment until shifted (infra/timing.py) with the names: the
    # same figure the rollback job's timeout-minutes is derived from, so it is the default when present.
    published = entry.get("deployTimeoutSeconds")
    if isinstance(published, int | float) and not isinstance(published, bool) and published > 0:
        names["--timeout"] = float(published)
    return names


def _traffic_control(value: Any, where: str) -> str:
    """Absent (outputs from before the key): CODE_DEPLOY, the only path there was."""
    if value is None:
        return "CODE_DEPLOY"
    if value not in TRAFFIC_CONTROLS:
        raise UsageError(f"{where}: expected one of {', '.join(TRAFFIC_CONTROLS)}")
    return str(value)
