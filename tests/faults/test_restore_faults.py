"""`rampart restore` under faults, beyond the matrix's generic proofs: the new instance is named in leftBehind
whenever it may exist, a lost answer never reads as failure nor makes a second copy, and an error while waiting
names the polling call rather than a long wait gone stale."""

from __future__ import annotations

from tests.faults.matrix import ONCE, Case, _r, run_case
from tests.faults.scenarios import RestoreScenario

TARGET = RestoreScenario.TARGET


def test_lost_restore_answer_carries_on_with_the_one_copy_it_made(direct, proxy, tmp_path):
    case = Case("restore", "response lost", (_r("RestoreDBInstanceToPointInTime", "lost", ONCE),), 0)
    outcome = run_case(case, direct, proxy, tmp_path)

    assert outcome.code == 0, outcome
    restored = [i["DBInstanceIdentifier"] for i in direct("rds").describe_db_instances()["DBInstances"]
                if i["DBInstanceIdentifier"].startswith("rampart-staging-db-restore")
                and i["DBInstanceIdentifier"] != "rampart-staging-db-restore-202001010000"]
    assert restored == [TARGET]
    assert any(item.startswith(f"DB instance {TARGET}") for item in outcome.left_behind), outcome


def test_throttled_while_waiting_names_the_call_and_the_instance_left(direct, proxy, tmp_path):
    case = Case("restore", "throttle", (_r("DescribeDBInstances", "throttle", resource=TARGET, nth=2),), 1)
    outcome = run_case(case, direct, proxy, tmp_path)

    assert outcome.code == 1, outcome
    # Under load the first RestoreDBInstanceToPointInTime can time out and its retry meet DBInstanceAlreadyExists;
    # restore then looks for its copy with the same throttled call, and the message names that call either way.
    assert "DescribeDBInstances" in outcome.message and "not available after 20s" not in outcome.message
    assert any(item.startswith(f"DB instance {TARGET}") for item in outcome.left_behind), outcome


def test_an_answer_that_is_not_from_aws_is_one_message_naming_the_call(direct, proxy, tmp_path):
    # botocore raises ResponseParserError for it, which is not a BotoCoreError: it escaped as a traceback.
    case = Case("restore", "html error page", (_r("RestoreDBInstanceToPointInTime", "html"),), 1)
    outcome = run_case(case, direct, proxy, tmp_path)

    assert outcome.code == 1, outcome
    assert "rds:RestoreDBInstanceToPointInTime" in outcome.message
    assert "not an AWS response" in outcome.message and "<!doctype" not in outcome.message
