import json

import pulumi
import pytest

from components.secrets import ApplicationSecrets, ApplicationSecretsArgs, SecretSpec, pinned_value_from
from infra.component_args import secret_specs
from rampart.engine.recorder import SECRET_SIG, SECRET_SIG_KEY, contains_secret
from tests.support.stacks import record_program, stack_config

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"
VALUES = {"sessionKey": "test-session-value-3f9a", "paymentsApiKey": "test-payments-value-b71c"}


def _record(stack="production", protect=True, values=VALUES, secret_values=True, secrets=None):
    config = secrets if secrets is not None else secret_specs(stack_config(stack).application_secrets)

    def program():
        wrapped = {
            k: (pulumi.Output.secret(v) if secret_values else pulumi.Output.from_input(v)) for k, v in values.items()
        }
        component = ApplicationSecrets(
            "app-secrets",
            ApplicationSecretsArgs(
                secrets=config,
                values=wrapped,
                kms_key_arn=KEY_ARN,
                name_prefix=f"rampart-{stack}",
                protect=protect,
            ),
        )
        pulumi.export("valueFrom", component.value_from)
        pulumi.export("arns", component.arns)
        pulumi.export("env", component.environment_variable_names)

    return record_program(program)


@pytest.fixture(scope="module")
def rec():
    return _record()


def _secret(rec, name):
    return rec.one(SECRET, f"app-secrets-{name}")


def test_one_secret_per_config_entry_encrypted_with_the_stack_key(rec):
    secrets = {r.plain_inputs()["name"]: r.plain_inputs() for r in rec.by_type(SECRET)}
    assert set(secrets) == {"rampart-production/session-key", "rampart-production/payments-api-key"}
    for inputs in secrets.values():
        assert inputs["kmsKeyId"] == KEY_ARN
        assert inputs["recoveryWindowInDays"] == 30
        assert inputs["description"]


def test_secrets_protected_in_production(rec):
    for secret in rec.by_type(SECRET):
        assert secret.protect is True


def test_staging_recovery_window_and_protect_follow_arguments():
    rec = _record(stack="staging", protect=False)
    for secret in rec.by_type(SECRET):
        assert secret.protect is False
        assert secret.plain_inputs()["recoveryWindowInDays"] == 7


def test_secret_string_stays_wrapped_as_a_secret(rec):
    versions = rec.by_type(VERSION)
    assert len(versions) == 2
    for version in versions:
        wrapped = version.inputs["secretString"]
        assert isinstance(wrapped, dict) and wrapped.get(SECRET_SIG_KEY) == SECRET_SIG
    by_secret = {v.name: v.plain_inputs()["secretString"] for v in versions}
    assert by_secret == {
        "app-secrets-session-key-version": VALUES["sessionKey"],
        "app-secrets-payments-api-key-version": VALUES["paymentsApiKey"],
    }


def test_a_plain_output_is_still_stored_as_a_secret():
    rec = _record(secret_values=False)
    for version in rec.by_type(VERSION):
        assert version.inputs["secretString"].get(SECRET_SIG_KEY) == SECRET_SIG


def test_values_never_appear_in_clear(rec):
    redacted = json.dumps([r.redacted_inputs() for r in rec.registrations] + [rec.outputs])
    logs = " ".join(entry.message for entry in rec.logs)
    for value in VALUES.values():
        assert value not in redacted
        assert value not in logs


def test_versions_belong_to_their_secrets(rec):
    for name in ("session-key", "payments-api-key"):
        version = rec.one(VERSION, f"app-secrets-{name}-version")
        assert _secret(rec, name).urn in version.property_dependencies["secretId"]


def test_value_from_pins_the_version(rec):
    value_from = rec.outputs["valueFrom"]
    arns = rec.outputs["arns"]
    assert not contains_secret(value_from) and not contains_secret(arns)
    for name in ("session-key", "payments-api-key"):
        arn, json_key, stage, version_id = value_from[name].rsplit(":", 3)
        assert arn == arns[name]
        assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rampart-production/")
        assert json_key == "" and stage == ""
        assert version_id


def test_pinned_value_from_format():
    arn = "arn:aws:secretsmanager:r:1:secret:x-AbC"
    assert pinned_value_from(arn, "v-1") == f"{arn}:::v-1"


def test_environment_variable_names(rec):
    assert rec.outputs["env"] == {"session-key": "SESSION_KEY", "payments-api-key": "PAYMENTS_API_KEY"}


def test_missing_value_names_the_key_and_the_fix():
    with pytest.raises(ValueError) as raised:
        _record(values={"sessionKey": "x"})
    assert str(raised.value) == (
        "applicationSecrets.payments-api-key: no value for config key rampart:paymentsApiKey; "
        "set it with pulumi config set --secret paymentsApiKey"
    )


def test_duplicate_names_rejected():
    (first, _) = secret_specs(stack_config("production").application_secrets)
    with pytest.raises(ValueError, match=r"ApplicationSecretsArgs\.secrets: expected a unique name"):
        _record(secrets=(first, first))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "x"}, r"ApplicationSecretsArgs\.secrets\[0\]: expected a SecretSpec"),
        (SecretSpec(name="x", config_key="x", description="d", recovery_window_days=0),
         r"ApplicationSecretsArgs\.secrets\[0\]\.recovery_window_days: expected 7\.\.30"),
    ],
)
def test_secret_specs_are_checked(spec, message):
    with pytest.raises(ValueError, match=message):
        _record(secrets=(spec,), values={"x": "test-value-0000"})
