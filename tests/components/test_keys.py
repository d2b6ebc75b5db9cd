import json

import pytest

from components.keys import StackKey, StackKeyArgs
from tests.support.stacks import record_program

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"


def _args(**overrides):
    values = dict(description="Rampart test stack key", account_id="123456789012", region="us-east-1",
                  alias="rampart-test")
    values.update(overrides)
    return StackKeyArgs(**values)


def _record(**overrides):
    return record_program(lambda: StackKey("stack", _args(**overrides)))


@pytest.fixture(scope="module")
def rec():
    return _record()


def _policy(rec):
    return json.loads(rec.one(KEY).plain_inputs()["policy"])


def test_component_type_and_children(rec):
    component = rec.one("rampart:index:StackKey")
    assert {r.name for r in rec.children_of(component.urn)} == {"stack-key", "stack-alias"}


def test_rotation_on_and_lockout_check_kept(rec):
    inputs = rec.one(KEY).plain_inputs()
    assert inputs["enableKeyRotation"] is True
    assert inputs.get("bypassPolicyLockoutSafetyCheck") is False
    assert inputs["description"] == "Rampart test stack key"


def test_deletion_window_defaults_to_thirty_days_and_key_is_protected(rec):
    key = rec.one(KEY)
    assert key.plain_inputs()["deletionWindowInDays"] == 30
    assert key.protect is True


def test_alias_targets_the_key(rec):
    alias = rec.one(ALIAS).plain_inputs()
    assert alias["name"] == "alias/rampart-test"
    assert rec.one(KEY).urn in rec.one(ALIAS).property_dependencies["targetKeyId"]


def test_policy_is_explicit_with_no_open_principal(rec):
    statements = _policy(rec)["Statement"]
    assert statements
    for statement in statements:
        principal = statement["Principal"]
        assert principal != "*"
        assert isinstance(principal, dict)
        for value in principal.values():
            values = value if isinstance(value, list) else [value]
            assert "*" not in values, statement["Sid"]
        assert statement["Effect"] == "Allow"


def test_root_administers_the_key_so_it_stays_manageable(rec):
    statements = _policy(rec)["Statement"]
    admin = [s for s in statements if s["Action"] == "kms:*"]
    assert len(admin) == 1
    assert admin[0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}


def test_every_service_statement_is_conditioned(rec):
    for statement in _policy(rec)["Statement"]:
        if statement["Action"] == "kms:*":
            continue
        assert statement.get("Condition"), statement["Sid"]


def test_logs_use_limited_to_this_accounts_log_groups(rec):
    (logs,) = [s for s in _policy(rec)["Statement"] if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}]
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:*"
    )


def test_services_use_the_key_only_via_the_stack_services(rec):
    (via,) = [s for s in _policy(rec)["Statement"] if s["Sid"] == "UseThroughStackServices"]
    services = via["Condition"]["StringEquals"]["kms:ViaService"]
    for service in ("rds", "secretsmanager", "ecr", "sns", "backup"):
        assert f"{service}.us-east-1.amazonaws.com" in services
    assert via["Condition"]["StringEquals"]["kms:CallerAccount"] == "123456789012"
    (grants,) = [s for s in _policy(rec)["Statement"] if "kms:CreateGrant" in s["Action"]]
    assert grants["Condition"]["Bool"]["kms:GrantIsForAWSResource"] == "true"


def test_alias_prefix_is_not_doubled():
    rec = _record(alias="alias/already-prefixed")
    assert rec.one(ALIAS).plain_inputs()["name"] == "alias/already-prefixed"


@pytest.mark.parametrize("window", [6, 31, 0, True])
def test_deletion_window_out_of_range_rejected(window):
    with pytest.raises(ValueError, match=r"StackKeyArgs.deletion_window_days: expected .* got"):
        record_program(lambda: StackKey("k", _args(deletion_window_days=window)))


def test_shorter_window_within_range_accepted():
    rec = _record(deletion_window_days=7, protect=False)
    key = rec.one(KEY)
    assert key.plain_inputs()["deletionWindowInDays"] == 7
    assert key.protect is False


@pytest.mark.parametrize("alias", ["alias/aws/rds", "has space", ""])
def test_bad_alias_rejected(alias):
    with pytest.raises(ValueError, match="StackKeyArgs.alias"):
        record_program(lambda: StackKey("k", _args(alias=alias)))
