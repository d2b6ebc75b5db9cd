"""AWS Backup: a daily snapshot of the stack's stateful resources into a KMS-encrypted vault, copied to a second
region when one is configured.

Who owns which retention (DESIGN trap 7), so `pulumi up` and AWS Backup never overwrite each other:
- RDS owns point-in-time recovery: the automated backups and their retention (`database.backupRetentionDays`)
  are set on the instance in components/database.py and nowhere else.
- AWS Backup owns the daily snapshot copies and their retention (`backup.retentionDays`, and
  `backup.copyRetentionDays` in the copy region), set on the plan's lifecycle here and nowhere else.
- Continuous backup is therefore off: with it, AWS Backup would take over the instance's automated backup
  retention, which the instance resource also declares.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.keys import StackKey, StackKeyArgs

BACKUP_POLICIES = (
    ("backup", "policy/service-role/AWSBackupServiceRolePolicyForBackup"),
    ("restores", "policy/service-role/AWSBackupServiceRolePolicyForRestores"),
)
# How long after its scheduled time an AWS Backup job may still start (the plan rule's `start_window`, minutes):
# a job that cannot start within an hour (the shortest window AWS allows) is reported failed, not silently late.
# The stack's config check keeps this window clear of the RDS windows (infra/backup_windows.py) with this figure.
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 360

_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$")
_CRON = re.compile(r"^cron\((.+)\)$")
_DAYS_OF_WEEK = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def schedule_interval_minutes(schedule: str) -> int:
    """Longest gap between two runs of an AWS Backup cron schedule (minutes): 1440 for a daily schedule.

    Understands the shapes a backup plan uses (hourly or every N hours, daily, weekly on one day); anything
    else is rejected rather than guessed, because this figure is the RPO when point-in-time recovery is off.
    """
    match = _CRON.fullmatch(schedule.strip())
    fields = match[1].split() if match else []
    if len(fields) != 6:
        raise ValueError(f"backup.schedule: expected cron(minutes hours day month weekday year), got {schedule!r}")
    minute, hour, day, month, weekday, _year = fields
    if not minute.isdigit() or month != "*":
        raise ValueError(f"backup.schedule: expected a fixed minute and every month, got {schedule!r}")
    every_day = day in ("*", "?") and weekday in ("*", "?")
    if every_day and hour.isdigit():
        return 1440
    step = re.fullmatch(r"(?:\*|\d+)/(\d+)", hour)
    if every_day and (hour == "*" or step):
        hours = int(step[1]) if step else 1
        if hours < 1 or 24 % hours:
            raise ValueError(f"backup.schedule: expected an hour step dividing 24, got {schedule!r}")
        return hours * 60
    if day == "?" and weekday.upper() in (*_DAYS_OF_WEEK, *map(str, range(1, 8))) and hour.isdigit():
        return 7 * 1440
    raise ValueError(
        f"backup.schedule: expected an hourly, daily or weekly (one weekday) schedule, got {schedule!r}"
    )


def _partition(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "arn" else "aws"


@dataclass(frozen=True, kw_only=True)
class BackupSchedule:
    """When AWS Backup runs and how long it keeps what it takes (the copy retention applies in the copy vault)."""

    schedule: str = "cron(0 5 * * ? *)"
    retention_days: int = 35
    copy_retention_days: int = 35


@dataclass(frozen=True, kw_only=True)
class BackupPlanArgs:
    backup: BackupSchedule
    kms_key_arn: pulumi.Input[str]
    resource_arns: Sequence[pulumi.Input[str]]
    """What the plan backs up (the database's ARN)."""
    copy_vault_arn: pulumi.Input[str] | None
    """A vault in another region (see BackupCopyVault) that receives a copy of every recovery point."""
    name_prefix: str


class BackupPlan(pulumi.ComponentResource):
    plan_id: pulumi.Output[str]
    """Id of the backup plan."""
    vault_name: pulumi.Output[str]
    """Name of the vault the plan writes to."""
    schedule_interval_minutes: int
    """Worst-case gap between two recovery points (1440 for daily)."""

    def __init__(self, name: str, args: BackupPlanArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        interval = _validate(args)
        super().__init__("rampart:index:BackupPlan", name, None, opts)
        self._name, self._args = name, args
        # Vault, plan and selection keep readable fixed names (a restore starts from the vault's name), unique in
        # their scope, so Pulumi's create-before-delete replacement would collide with the old one. Deleting first
        # loses nothing: AWS refuses to delete a vault that still holds recovery points.
        self._named = pulumi.ResourceOptions(parent=self, delete_before_replace=True)
        vault, plan = self._vault_and_plan()
        role, attachments = self._role()
        aws.backup.Selection(
            f"{name}-selection",
            name=f"{args.name_prefix}-selection",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=list(args.resource_arns),
            # The role must carry its policies before AWS Backup validates the selection.
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments, delete_before_replace=True),
        )

        self.plan_id = plan.id
        self.vault_name = vault.name
        self.schedule_interval_minutes = interval
        self.register_outputs(
            {
                "planId": self.plan_id,
                "vaultName": self.vault_name,
                "scheduleIntervalMinutes": self.schedule_interval_minutes,
            }
        )

    def _vault_and_plan(self) -> tuple[aws.backup.Vault, aws.backup.Plan]:
        name, args, named = self._name, self._args, self._named
        backup = args.backup

        vault = aws.backup.Vault(
            f"{name}-vault",
            name=f"{args.name_prefix}-vault",
            kms_key_arn=args.kms_key_arn,
            # A vault holding recovery points must never be emptied by `pulumi destroy`.
            force_destroy=False,
            opts=named,
        )

        copy_actions = None
        if args.copy_vault_arn is not None:
            copy_actions = [
                aws.backup.PlanRuleCopyActionArgs(
                    destination_vault_arn=args.copy_vault_arn,
                    lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=backup.copy_retention_days),
                )
            ]
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{args.name_prefix}-plan",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule=backup.schedule,
                    schedule_expression_timezone="Etc/UTC",
                    start_window=START_WINDOW_MINUTES,
                    completion_window=COMPLETION_WINDOW_MINUTES,
                    enable_continuous_backup=False,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=backup.retention_days),
                    copy_actions=copy_actions,
                    recovery_point_tags={"rampart:backup-plan": args.name_prefix},
                )
            ],
            opts=named,
        )
        return vault, plan

    def _role(self) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        name, args, child = self._name, self._args, pulumi.ResourceOptions(parent=self)
        partition = pulumi.Output.from_input(args.kms_key_arn).apply(_partition)
        role = aws.iam.Role(
            f"{name}-role",
            description=f"AWS Backup for {args.name_prefix}: back up and restore the selected resources",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "backup.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-role-{role_suffix}",
                role=role.name,
                policy_arn=partition.apply(lambda p, policy=policy: f"arn:{p}:iam::aws:{policy}"),
                opts=child,
            )
            for role_suffix, policy in BACKUP_POLICIES
        ]
        return role, attachments


def _validate(args: BackupPlanArgs) -> int:
    if not _NAME_PREFIX.fullmatch(args.name_prefix):
        raise ValueError(
            f"BackupPlanArgs.name_prefix: expected 2-42 lowercase letters, digits and hyphens, got {args.name_prefix!r}"
        )
    if not args.resource_arns:
        raise ValueError("BackupPlanArgs.resource_arns: expected at least one resource ARN to back up, got none")
    if not isinstance(args.backup, BackupSchedule):
        raise ValueError(f"BackupPlanArgs.backup: expected a BackupSchedule, got {type(args.backup).__name__}")
    for field in ("retention_days", "copy_retention_days"):
        days = getattr(args.backup, field)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36500:
            raise ValueError(f"BackupPlanArgs.backup.{field}: expected 1..36500 days, got {days!r}")
    try:
        return schedule_interval_minutes(args.backup.schedule)
    except ValueError as exc:
        raise ValueError(f"BackupPlanArgs.{exc}") from None


@dataclass(frozen=True, kw_only=True)
class BackupCopyVaultArgs:
    name_prefix: str
    account_id: pulumi.Input[str]
    region: str
    """The copy region: pass a provider for that region in the component's opts."""
    protect: bool = True


class BackupCopyVault(pulumi.ComponentResource):
    """A vault in a second region, encrypted with its own key there (a KMS key never leaves its region).

    Create it with `opts=pulumi.ResourceOptions(provider=<aws.Provider for the copy region>)`; its children
    inherit that provider.
    """

    vault_arn: pulumi.Output[str]
    """ARN of the copy vault: BackupPlanArgs.copy_vault_arn."""
    vault_name: pulumi.Output[str]
    """Name of the copy vault."""
    key_arn: pulumi.Output[str]
    """The copy region's key."""

    def __init__(self, name: str, args: BackupCopyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not _NAME_PREFIX.fullmatch(args.name_prefix):
            raise ValueError(
                "BackupCopyVaultArgs.name_prefix: expected 2-42 lowercase letters, digits and hyphens, "
                f"got {args.name_prefix!r}"
            )
        super().__init__("rampart:index:BackupCopyVault", name, None, opts)
        key = StackKey(
            f"{name}-key",
            StackKeyArgs(
                description=f"{args.name_prefix}: backup copies in {args.region}",
                account_id=args.account_id,
                region=args.region,
                alias=f"{args.name_prefix}-backup-copy",
                protect=args.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=f"{args.name_prefix}-copy-vault",
            kms_key_arn=key.key_arn,
            force_destroy=False,
            # Same reasons as the plan's vault: a fixed name, and AWS keeps a vault that holds recovery points.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.vault_arn = vault.arn
        self.vault_name = vault.name
        self.key_arn = key.key_arn
        self.register_outputs({"vaultArn": self.vault_arn, "vaultName": self.vault_name, "keyArn": self.key_arn})
