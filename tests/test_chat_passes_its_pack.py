"""A production stack file naming a Slack and a Teams channel passes the project's own pack with zero mandatory
violations, exactly as `rampart check` runs it: the Chatbot role, its policy and the channel configurations are
judged like every other resource."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rampart.engine.check import CheckOptions, run_check
from tests.support.project_copy import copy_project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("chat"))
    document = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text())
    document["config"]["rampart:notifications"].update({
        "slack": {"teamId": "T07EA123LEP", "channelId": "C07EZ1ABC23"},
        "teams": {"tenantId": "11111111-2222-3333-4444-555555555555",
                  "teamId": "66666666-7777-8888-9999-000000000000", "channelId": "19:abc@thread.tacv2"}})
    (project / "Pulumi.production.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    report = run_check(CheckOptions(program_dir=project, pack_dir=ROOT / "policies", stacks=("production",),
                                    policy_config_dir=ROOT / "policies" / "config", assume_existing=True))
    [stack] = report.stacks
    assert stack.error is None, stack.error
    return report, stack


def test_zero_mandatory_violations_with_chat_channels(production):
    report, stack = production
    assert [(f.policy, f.resource_name, f.message) for f in stack.blocking] == []
    assert report.exit_code == 0
    types = {r.type for r in stack.resources}
    assert {"aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration",
            "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration"} <= types
