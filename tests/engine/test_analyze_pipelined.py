"""Pipelined Analyze calls (PolicyPackProcess.analyze_all) answer exactly as one call at a time does, in order."""

from __future__ import annotations

from pathlib import Path

from rampart.engine.analyzer import PolicyPackProcess
from rampart.engine.recorder import Registration

TINY_PACK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tiny"


def database(index: int, public: bool) -> Registration:
    return Registration(
        urn=f"urn:pulumi:production::tiny::aws:rds/instance:Instance::db{index}", type="aws:rds/instance:Instance",
        name=f"db{index}", custom=True, parent="", dependencies=(), property_dependencies={}, protect=False,
        ignore_changes=(), delete_before_replace=False, retain_on_delete=False, aliases=(), custom_timeouts={},
        provider="", additional_secret_outputs=(), replace_on_changes=(),
        inputs={"engine": "postgres", "publiclyAccessible": public},
    )


def test_pipelined_analyze_matches_one_call_at_a_time_in_order():
    registrations = [database(i, public=i % 3 != 1) for i in range(7)]
    with PolicyPackProcess(pack_dir=TINY_PACK, project="tiny", stack="production") as pack:
        pack.configure({})
        one_at_a_time = [d for r in registrations for d in pack.analyze(r)]
        pipelined = pack.analyze_all(registrations, window=2)  # more requests than the window: it refills
    assert pipelined == one_at_a_time
    assert [d.analyzed_urn.rsplit("::", 1)[-1] for d in pipelined] == ["db0", "db2", "db3", "db5", "db6"]
