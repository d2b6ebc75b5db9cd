"""recovery-objectives-met: each path (bad deploy, data loss, restore, region loss) against the stack's targets;
the pack and the program's own recovery export (infra/recovery.py) compute the same worst cases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from guardrails import recovery
from guardrails.rule import Resource

from infra.recovery import recovery_paths
from tests.policies.test_alarms import alarm_props, group_props
from tests.support.pack import analyze_stack, registration
from tests.support.rules import stack_findings, urn
from tests.support.stacks import record_stack, stack_config

RULE = recovery.POLICIES[0]
PROVIDER = "pulumi:providers:aws"
DB_URN = urn(recovery.INSTANCE, "db")
PLAN_URN = urn(recovery.PLAN, "plan")
ROOT = Path(__file__).resolve().parents[2]


def _targets(**tags: str) -> dict:
    return {"region": "us-east-1", "defaultTags": {"tags": {f"rampart:{k}-minutes": v for k, v in tags.items()}}}


def _stack(*, rto="5", rpo="15", retention=14.0, copy=True, schedule="cron(0 5 * * ? *)", **extra_tags):
    tags = {"rto": rto, "rpo": rpo, **{k.replace("_", "-"): v for k, v in extra_tags.items()}}
    rule = {"ruleName": "daily", "schedule": schedule, "scheduleExpressionTimezone": "Etc/UTC",
            "copyActions": [{"destinationVaultArn": "arn:aws:backup:us-west-2:1:backup-vault:copy"}] if copy else []}
    return [
        Resource(PROVIDER, _targets(**tags), urn=urn(PROVIDER, "aws"), name="aws"),
        Resource("aws:cloudwatch/metricAlarm:MetricAlarm", alarm_props("app-5xx"), urn="urn:alarm", name="app-5xx"),
        Resource("aws:codedeploy/deploymentGroup:DeploymentGroup", group_props(), urn="urn:dg", name="app"),
        Resource(recovery.INSTANCE, {"instanceClass": "db.t4g.medium", "allocatedStorage": 20.0,
                                     "maxAllocatedStorage": 100.0, "multiAz": False,
                                     "backupRetentionPeriod": retention}, urn=DB_URN, name="db"),
        Resource(recovery.PLAN, {"name": "p", "rules": [rule]}, urn=PLAN_URN, name="plan"),
    ]


def _messages(resources, **config) -> list[str]:
    return [f.message for f in stack_findings(RULE, resources, **config)]


def test_targets_the_resources_allow_pass():
    # bad deploy 4+1, restore 20+10, region RPO 1440+60, region RTO 30+60
    assert _messages(_stack(restore_rto="30", region_rpo="1500", region_rto="90")) == []


def test_bad_deploy_path_misses_a_one_minute_rto():
    messages = _messages(_stack(rto="1", restore_rto="30", region_rpo="1500", region_rto="90"))
    assert messages == ["bad deploy path misses its RTO target: worst case 5 min (detect 240s (app-5xx) + reroute "
                        "60s) > 1 min"]


def test_data_loss_without_pitr_is_the_backup_interval():
    messages = _messages(_stack(retention=0.0, restore_rto="30", region_rpo="1500", region_rto="90"))
    assert messages == ["data loss path misses its RPO target: worst case 1440 min (backup schedule "
                        "cron(0 5 * * ? *)) > 15 min"]
    hourly = _stack(retention=0.0, schedule="cron(0 * * * ? *)", restore_rto="30", region_rpo="120",
                    region_rto="90", rpo="60")
    assert _messages(hourly) == []


def test_restore_path_modelled_and_measured():
    resources = _stack(restore_rto="25", region_rpo="1500", region_rto="90")
    assert _messages(resources) == ["restore path misses its RTO target: worst case 30 min (modelled restore of "
                                    "db.t4g.medium with up to 100 GB) > 25 min"]
    assert _messages(resources, measuredRestoreMinutes=12) == []


def test_region_loss_without_a_copy_cannot_be_met():
    messages = _messages(_stack(copy=False, restore_rto="30", region_rpo="1500", region_rto="90"))
    assert messages == [
        "region loss path: RPO target 1500 min cannot be met: no cross-region copy of any backup",
        "region loss path: RTO target 90 min cannot be met: no cross-region copy of any backup",
    ]


def test_without_per_path_targets_the_stack_wide_ones_apply():
    paths = {m.split(" path")[0] for m in _messages(_stack())}
    assert paths == {"restore", "region loss"}


def test_undeclared_or_malformed_targets_are_findings():
    resources = [r for r in _stack() if r.type != PROVIDER]
    assert _messages(resources)[0].startswith("no recovery objectives declared")
    bad = [Resource(PROVIDER, _targets(rto="soon", rpo="15"), urn=urn(PROVIDER, "aws"), name="aws"), *resources]
    assert "tag rampart:rto-minutes on aws: expected minutes, got 'soon'" in _messages(bad)


def test_through_the_pack_fails_in_production_config_and_passes_when_met(policy_pack):
    config = {RULE.name: {"enforcementLevel": "mandatory"}}

    def registrations(resources):
        return [registration(r.type, r.props, name=r.name, urn=r.urn) for r in resources]

    failing = analyze_stack(policy_pack, registrations(_stack(rto="1")), config=config)
    hits = [d for d in failing if d.policy == RULE.name]
    assert {d.enforcement for d in hits} == {"mandatory"}
    assert any("bad deploy path misses its RTO target" in d.message for d in hits)
    passing = analyze_stack(policy_pack, registrations(_stack(restore_rto="30", region_rpo="1500",
                                                               region_rto="90")), config=config)
    assert not [d for d in passing if d.policy == RULE.name]


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_pack_and_recovery_export_agree_on_the_project_stacks(stack):
    recording = record_stack(stack)
    resources = [Resource(r.type, r.plain_inputs(), urn=r.urn, name=r.name, dependencies=r.dependencies,
                          property_dependencies=r.property_dependencies) for r in recording.registrations]
    pack = {(c.path, c.objective): c.worst_minutes for c in recovery.worst_cases(resources, RULE.thresholds)}
    exported = {(p["path"], p["objective"]): p["worstCaseMinutes"] for p in recovery_paths(stack_config(stack))}
    assert pack == exported


def test_stricter_production_targets_fail_rampart_check_naming_the_path(tmp_path):
    from tests.support.project_copy import copy_project

    project = copy_project(tmp_path)
    document = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text())
    document["config"]["rampart:recovery"]["rtoMinutes"] = 1
    (project / "Pulumi.production.yaml").write_text(yaml.safe_dump(document))
    completed = subprocess.run(
        [sys.executable, "-m", "rampart", "check", "--program", str(project), "--stack", "production",
         "--format", "json"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert completed.returncode == 1, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "bad deploy path misses its RTO target" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
