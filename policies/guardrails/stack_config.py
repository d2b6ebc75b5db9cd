"""The per-stack pack config files (`policies/config/<stack>.json`), rendered from the rules so they never drift.

The same file serves `rampart check` and `pulumi preview/up --policy-pack policies --policy-pack-config
policies/config/<stack>.json`. Production is strict: M and MP rules are mandatory. Staging keeps M mandatory and
downgrades MP to advisory. Dev, the first rung of the graded environments, keeps mandatory only the M rules of
critical or high severity (exposure, credentials, encryption at rest): the rest advise. Thresholds that differ by
stack live in STACK_THRESHOLDS; waivers are kept from the existing file, so rendering never drops an approved
exemption.

    python policies/guardrails/stack_config.py            # rewrite policies/config/*.json
    python policies/guardrails/stack_config.py --check    # exit 1 if a file is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guardrails.rule import Rule  # noqa: E402

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
STACKS: tuple[str, ...] = ("production", "staging", "dev")
STRICT_STACKS = frozenset({"production"})
ADVISORY_STACKS = frozenset({"dev"})
BLOCKING_IN_ADVISORY_STACKS = frozenset({"critical", "high"})

# Per stack, per rule: thresholds that differ from the rule's defaults. Unknown keys are an error.
# Detection bounds follow each stack's `alarms.maxDetectionMinutes` (production 5, staging 10).
_STAGING_THRESHOLDS: Mapping[str, Mapping[str, Any]] = {
    "iam-github-oidc-trust": {"allowedSubjectKinds": ["environment", "pull_request", "ref"]},
    "alarm-detection-latency-bound": {"maxDetectionSeconds": 600},
    "codedeploy-bake-time": {"maxDetectionSeconds": 600},
    "codedeploy-config-traffic-window": {"maxDetectionSeconds": 600},
    "rds-backup-retention": {"minRetentionDays": 7},
    "log-group-retention": {"minRetentionDays": 30, "allowNeverExpire": False},
    "ecs-service-min-healthy-capacity": {"minDesiredCount": 1},
}
STACK_THRESHOLDS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "production": {
        # `ref`: the read-only role's nightly drift check runs on refs/heads/main, outside any environment.
        "iam-github-oidc-trust": {"allowedSubjectKinds": ["environment", "pull_request", "ref"]},
        "alarm-detection-latency-bound": {"maxDetectionSeconds": 300},
        "codedeploy-bake-time": {"maxDetectionSeconds": 300},
        "codedeploy-config-traffic-window": {"maxDetectionSeconds": 300},
        "rds-backup-retention": {"minRetentionDays": 14},
        "log-group-retention": {"minRetentionDays": 365, "allowNeverExpire": False},
        "gh-branch-merge-gate": {"minApprovals": 2, "requiredStatusChecks": ["rampart check"]},
        "gh-env-wait-timer": {"minWaitMinutes": 5},
    },
    "staging": _STAGING_THRESHOLDS,
    # Dev is staging with fewer mandatory rules (ADVISORY_STACKS); no threshold of its own differs.
    "dev": _STAGING_THRESHOLDS,
}


def enforcement_level(rule: Rule, stack: str) -> str:
    if rule.enforcement == "A":
        return "advisory"
    if rule.enforcement == "MP" and stack not in STRICT_STACKS:
        return "advisory"
    if stack in ADVISORY_STACKS and rule.severity not in BLOCKING_IN_ADVISORY_STACKS:
        return "advisory"
    return "mandatory"


def render(rules: Sequence[Rule], stack: str, existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    by_name = {rule.name: rule for rule in rules}
    overrides = STACK_THRESHOLDS.get(stack, {})
    for rule_name, values in overrides.items():
        if rule_name not in by_name:
            raise ValueError(f"STACK_THRESHOLDS[{stack!r}]: no rule named {rule_name!r}")
        unknown = set(values) - set(by_name[rule_name].thresholds)
        if unknown:
            raise ValueError(f"STACK_THRESHOLDS[{stack!r}][{rule_name!r}]: unknown thresholds {sorted(unknown)}")
    config: dict[str, Any] = {}
    for rule in sorted(rules, key=lambda r: r.name):
        entry: dict[str, Any] = {"enforcementLevel": enforcement_level(rule, stack)}
        entry.update({key: value for key, value in rule.thresholds.items()})
        entry.update(overrides.get(rule.name, {}))
        kept = (existing or {}).get(rule.name)
        if isinstance(kept, Mapping) and kept.get("waivers"):
            entry["waivers"] = kept["waivers"]
        config[rule.name] = entry
    return config


def _text(config: Mapping[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from guardrails import all_rules

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a config file is out of date")
    args = parser.parse_args(argv)
    rules = all_rules()
    stale = []
    for stack in STACKS:
        path = CONFIG_DIR / f"{stack}.json"
        existing = json.loads(path.read_text()) if path.exists() else {}
        text = _text(render(rules, stack, existing))
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            CONFIG_DIR.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python policies/guardrails/stack_config.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
