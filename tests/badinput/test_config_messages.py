"""Config messages that point at the cause, not the symptom (pure: no program run)."""

from __future__ import annotations

import pytest

from infra.config import ConfigError, parse_stack_config
from tests.support.stacks import raw_config


def test_an_application_secret_without_config_key_names_the_missing_key():
    # load_stack_config passes the undeclared secret's key (sessionKey) as an unknown key with no value.
    raw = {**raw_config("staging"), "applicationSecrets": [{"name": "session-key", "description": "d"}],
           "sessionKey": None}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, stack="staging", stack_file="Pulumi.staging.yaml")
    lines = str(caught.value).splitlines()
    assert lines[1] == "  rampart:applicationSecrets[0].configKey: Field required"
    assert lines[2].startswith("  rampart:sessionKey: unknown key")
