import json

import pulumi
import pulumi_aws as aws
import pytest

from components.backup_plan import (
    BackupCopyVault,
    BackupCopyVaultArgs,
    BackupPlan,
    BackupPlanArgs,
    BackupSchedule,
    schedule_interval_minutes,
)
from infra.component_args import backup_schedule
from tests.support.stacks import record_program, stack_config

PLAN = "aws:backup/plan:Plan"
VAULT = "aws:backup/vault:Vault"
SELECTION = "aws:backup/selection:Selection"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"
DB_ARN = "arn:aws:rds:us-east-1:123456789012:db:rampart-production-db"
COPY_VAULT_ARN = "arn:aws:backup:us-west-2:123456789012:backup-vault:rampart-production-copy-vault"


def _args(backup=None, copy_vault_arn=None, **overrides):
    values = dict(
        backup=backup or backup_schedule(stack_config("production").backup),
        kms_key_arn=KEY_ARN,
        resource_arns=[DB_ARN],
        copy_vault_arn=copy_vault_arn,
        name_prefix="rampart-production",
    )
    values.update(overrides)
    return BackupPlanArgs(**values)


def _record(args):
    holder = {}

    def program():
        holder["plan"] = BackupPlan("backup", args)

    return record_program(program), holder["plan"]


@pytest.fixture(scope="module")
def with_copy():
    return _record(_args(copy_vault_arn=COPY_VAULT_ARN))


def _rule(rec):
    (rule,) = rec.one(PLAN).plain_inputs()["rules"]
    return rule


def test_vault_encrypted_with_the_stack_key_and_never_force_destroyed(with_copy):
    rec, _ = with_copy
    vault = rec.one(VAULT).plain_inputs()
    assert vault["kmsKeyArn"] == KEY_ARN
    assert vault.get("forceDestroy") is False


def test_daily_rule_at_five_utc_into_the_vault(with_copy):
    rec, plan = with_copy
    rule = _rule(rec)
    # After the RDS backup window (02:00-03:00) and clear of the maintenance window: infra/backup_windows.py.
    assert rule["schedule"] == "cron(0 5 * * ? *)"
    assert rule["scheduleExpressionTimezone"] == "Etc/UTC"
    assert rec.one(VAULT).urn in rec.one(PLAN).property_dependencies["rules"]
    assert plan.schedule_interval_minutes == 1440


def test_retention_from_config_and_continuous_backup_off(with_copy):
    rec, _ = with_copy
    rule = _rule(rec)
    assert rule["lifecycle"]["deleteAfter"] == 35
    # Continuous backup would take over the RDS retention that the instance owns.
    assert rule["enableContinuousBackup"] is False


def test_copy_to_the_other_region_vault_with_its_retention(with_copy):
    rec, _ = with_copy
    (copy,) = _rule(rec)["copyActions"]
    assert copy["destinationVaultArn"] == COPY_VAULT_ARN
    assert copy["lifecycle"]["deleteAfter"] == 35


def test_no_copy_when_no_copy_vault():
    rec, _ = _record(_args(backup=backup_schedule(stack_config("staging").backup)))
    rule = _rule(rec)
    assert not rule.get("copyActions")
    assert rule["lifecycle"]["deleteAfter"] == 14


def test_selection_covers_the_resources_with_the_backup_role(with_copy):
    rec, _ = with_copy
    selection = rec.one(SELECTION)
    assert selection.plain_inputs()["resources"] == [DB_ARN]
    role = rec.one("aws:iam/role:Role")
    assert role.urn in selection.property_dependencies["iamRoleArn"]
    assert rec.one(PLAN).urn in selection.property_dependencies["planId"]
    trust = json.loads(role.plain_inputs()["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "backup.amazonaws.com"}]
    policies = sorted(
        r.plain_inputs()["policyArn"] for r in rec.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )
    assert policies == [
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    ]
    for attachment in rec.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        assert attachment.urn in selection.dependencies


@pytest.mark.parametrize(
    ("schedule", "minutes"),
    [
        ("cron(0 2 * * ? *)", 1440),
        ("cron(30 3 ? * * *)", 1440),
        ("cron(0 * * * ? *)", 60),
        ("cron(0 */6 * * ? *)", 360),
        ("cron(0 0/12 * * ? *)", 720),
        ("cron(0 2 ? * SUN *)", 10080),
    ],
)
def test_schedule_interval(schedule, minutes):
    assert schedule_interval_minutes(schedule) == minutes


@pytest.mark.parametrize("schedule", ["cron(0 2 1 * ? *)", "cron(0 */5 * * ? *)", "cron(* 2 * * ? *)", "cron(0 2)"])
def test_unknown_schedules_rejected(schedule):
    with pytest.raises(ValueError, match="backup.schedule: expected"):
        schedule_interval_minutes(schedule)


def test_unknown_schedule_rejected_by_the_component():
    with pytest.raises(ValueError, match=r"^BackupPlanArgs\.backup\.schedule: expected"):
        _record(_args(backup=BackupSchedule(schedule="cron(0 2 1 * ? *)")))


@pytest.mark.parametrize(("overrides", "field"), [({"resource_arns": []}, "resource_arns"),
                                                   ({"name_prefix": "Bad Prefix"}, "name_prefix")])
def test_bad_arguments_rejected(overrides, field):
    with pytest.raises(ValueError, match=rf"^BackupPlanArgs\.{field}: expected"):
        _record(_args(**overrides))


def test_copy_vault_lives_in_the_other_region_with_its_own_key():
    def program():
        west = aws.Provider("west", region="us-west-2")
        BackupCopyVault(
            "copy",
            BackupCopyVaultArgs(name_prefix="rampart-production", account_id="123456789012", region="us-west-2"),
            opts=pulumi.ResourceOptions(provider=west),
        )

    rec = record_program(program)
    provider = rec.one("pulumi:providers:aws")
    vault = rec.one(VAULT)
    key = rec.one("aws:kms/key:Key")
    assert vault.provider.startswith(provider.urn)
    assert key.provider.startswith(provider.urn)
    assert key.urn in vault.property_dependencies["kmsKeyArn"]
    assert key.protect is True
    assert key.plain_inputs()["enableKeyRotation"] is True
    assert "logs.us-west-2.amazonaws.com" in key.plain_inputs()["policy"]
    assert vault.plain_inputs().get("forceDestroy") is False


@pytest.mark.parametrize(
    ("backup", "field"),
    [
        ({"schedule": "cron(0 5 * * ? *)"}, "backup"),
        (BackupSchedule(retention_days=0), "backup.retention_days"),
        (BackupSchedule(copy_retention_days=36501), "backup.copy_retention_days"),
    ],
)
def test_backup_settings_are_checked(backup, field):
    with pytest.raises(ValueError, match=rf"^BackupPlanArgs\.{field}: expected"):
        _record(_args(backup=backup))
