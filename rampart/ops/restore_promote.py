"""Cut-over to a restored instance by swapping identifiers, so nothing else has to change.

An RDS endpoint is `<identifier>.<hash>.<region>.rds.amazonaws.com`, and the stack's Pulumi state knows the
instance by its identifier: renaming the old instance away and the restored one to the old name keeps the host
every application and secret holds, and `pulumi refresh` then reads the restored instance under the same id.
The old instance is renamed, never deleted, and its deletion protection is never turned off by this command.
Without --confirm, only the plan is printed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import WaiterError

from rampart.errors import OperationFailed
from rampart.ops.aws import calling, wait, waiter_reason
from rampart.ops.report import Report


def replaced_identifier(source: str, now: dt.datetime) -> str:
    suffix = f"-replaced-{now:%Y%m%d%H%M}"
    return f"{source[: 63 - len(suffix)].rstrip('-')}{suffix}"


def promote_plan(source: str, target: str, replaced: str) -> list[str]:
    return [
        f"before: stop writes to {source} (scale the services to 0 or put them in maintenance); writes after the "
        "recovery point are not in the restored copy",
        f"rename {source} -> {replaced} (rds modify-db-instance --new-db-instance-identifier, apply immediately); "
        "it keeps its deletion protection and data for investigation",
        f"rename {target} -> {source}: the endpoint host applications and secrets hold now reaches the restored "
        "copy (after the DNS TTL)",
        "after: `pulumi refresh` on the stack (the state knows the instance by its identifier), check the "
        "application's own database users or IAM auth, restart the services, run `rampart verify`",
        f"later, by hand: delete {replaced} once it is no longer needed (turn off its deletion protection first)",
    ]


def _rename(rds: Any, current: str, new: str, *, timeout: float, delay: float) -> None:
    with calling("rds:ModifyDBInstance", f"{current} (rename to {new})"):
        rds.modify_db_instance(DBInstanceIdentifier=current, NewDBInstanceIdentifier=new, ApplyImmediately=True)
    try:
        wait(rds, "db_instance_available", timeout=timeout, delay=delay, DBInstanceIdentifier=new)
    except WaiterError as exc:
        raise OperationFailed(f"{current} renamed to {new} but not available after {timeout:g}s "
                              f"({waiter_reason(exc)})") from exc


def promote(rds: Any, report: Report, *, source: str, target: str, confirm: bool, now: dt.datetime,
            timeout: float, delay: float) -> None:
    replaced = replaced_identifier(source, now)
    plan = promote_plan(source, target, replaced)
    report.result["promotePlan"] = plan
    if not confirm:
        for number, step in enumerate(plan, start=1):
            report.info(f"promote plan {number}", step)
        report.info("promote", "dry run: nothing changed; add --confirm to rename the instances")
        return
    _rename(rds, source, replaced, timeout=timeout, delay=delay)
    report.ok("promote", f"{source} renamed to {replaced} (kept, deletion protection unchanged)")
    try:
        _rename(rds, target, source, timeout=timeout, delay=delay)
    except OperationFailed as exc:
        raise OperationFailed(f"{exc}. State now: the old instance is {replaced}, the restored copy is still "
                              f"{target}; to undo, rename {replaced} back to {source}") from exc
    report.ok("promote", f"{target} renamed to {source}: the stack's endpoint now serves the restored copy")
    report.result["promoted"] = {"old": replaced, "new": source}
    report.info("promote next", "pulumi refresh; restart the services; rampart verify")
