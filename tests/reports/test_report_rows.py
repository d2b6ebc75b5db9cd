"""One row per rule per resource: a rule reports each failing property as a diagnostic of its own; the report
groups them without losing one, and keeps states, waivers and resources apart."""

from __future__ import annotations

import json

from rampart.reports import json_report
from rampart.reports.model import classify
from tests.support.report_samples import DB, pack, production_diagnostics, sample_report


def _production():
    return sample_report().stacks[0]


def test_a_rule_failing_on_several_properties_of_one_resource_is_one_finding_listing_each():
    [hygiene] = [f for f in _production().findings if f.policy == "rds-snapshot-hygiene"]
    assert hygiene.failures == (
        "skipFinalSnapshot is true; expected false",
        "finalSnapshotIdentifier is not set; expected a unique identifier",
        "copyTagsToSnapshot is not set; expected true",
    )
    assert hygiene.message == "; ".join(hygiene.failures)
    assert hygiene.urn == DB.format(stack="production") and hygiene.blocking


def test_rows_are_per_rule_resource_and_state_and_counts_follow_them():
    result = _production()
    keys = [(f.policy, f.urn, f.state) for f in result.findings]
    assert len(keys) == len(set(keys)) == 8
    assert (result.count("violation", "mandatory"), result.count("violation", "advisory"),
            result.count("undeterminable"), result.count("waived")) == (3, 3, 1, 1)


def test_a_single_failure_keeps_its_message_and_a_waiver_stays_its_own_row():
    result = _production()
    [public] = [f for f in result.findings if f.policy == "rds-not-public"]
    assert public.message == "publiclyAccessible is true; expected false"
    assert public.failures == (public.message,)
    [waived] = [f for f in result.findings if f.state == "waived"]
    assert (waived.policy, waived.enforcement, waived.waiver.expires) == ("rds-multi-az", "mandatory", "2099-12-31")


def test_the_same_rule_on_two_resources_is_two_rows():
    diagnostics = production_diagnostics()
    other = DB.format(stack="production").replace("::db", "::replica")
    twin = [d for d in diagnostics if d.policy == "rds-snapshot-hygiene"]
    moved = [type(d)(d.policy, d.message, d.enforcement, d.severity, other) for d in twin]
    found = [f for f in classify(diagnostics + moved, pack()) if f.policy == "rds-snapshot-hygiene"]
    assert [len(f.failures) for f in found] == [3, 3] and len({f.urn for f in found}) == 2


def test_json_lists_every_failing_property():
    document = json.loads(json_report.render(sample_report()))
    [hygiene] = [v for v in document["stacks"][0]["violations"] if v["policy"] == "rds-snapshot-hygiene"]
    assert len(hygiene["details"]) == 3 and hygiene["details"][1].startswith("finalSnapshotIdentifier")
