"""Aliases are recorded as the full URNs the engine resolves them to: the SDK sends alias *specs* (name, type,
parent, each defaulting to the resource's own), and a spec's bare name would tell the analyzer and the URN
snapshot (tests/infra/test_urn_snapshot.py) nothing."""

from __future__ import annotations

import pulumi

from rampart.engine.recorder import ASSUME_EXISTING, record

STACK, PROJECT = "dev", "proj"


def _urn(qualified_type: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified_type}::{name}"


def _program() -> None:
    parent = pulumi.ComponentResource("my:index:Parent", "parent")
    other = pulumi.ComponentResource("my:index:Other", "other")
    child = pulumi.ResourceOptions(parent=parent)
    pulumi.ComponentResource("my:index:Thing", "renamed", None, pulumi.ResourceOptions.merge(
        child, pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old-name")])))
    pulumi.ComponentResource("my:index:Thing", "moved", None, pulumi.ResourceOptions.merge(
        child, pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=other)])))
    pulumi.ComponentResource("my:index:Thing", "adopted", None, pulumi.ResourceOptions.merge(
        child, pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)])))
    pulumi.ComponentResource("my:index:Thing", "retyped", None, pulumi.ResourceOptions.merge(
        child, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="my:index:OldThing")])))
    pulumi.ComponentResource("my:index:Thing", "by-urn", None, pulumi.ResourceOptions(
        aliases=[_urn("my:index:Thing", "older")]))


def test_alias_specs_are_recorded_as_the_urns_they_resolve_to():
    recording = record(_program, project=PROJECT, stack=STACK, mode=ASSUME_EXISTING)
    aliases = {r.name: r.aliases for r in recording.registrations}
    assert aliases["renamed"] == (_urn("my:index:Parent$my:index:Thing", "old-name"),)
    assert aliases["moved"] == (_urn("my:index:Other$my:index:Thing", "moved"),)
    assert aliases["adopted"] == (_urn("my:index:Thing", "adopted"),)
    assert aliases["retyped"] == (_urn("my:index:Parent$my:index:OldThing", "retyped"),)
    assert aliases["by-urn"] == (_urn("my:index:Thing", "older"),)
