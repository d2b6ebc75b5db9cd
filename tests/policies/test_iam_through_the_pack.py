"""The IAM rules through the real pack: the resource rules pass a scoped policy and fail an administrator one
(whose waiver the pack ignores), and the deploy-role rule is judged across the stack."""

from __future__ import annotations

from guardrails.rule import Resource

from tests.policies.iam_support import (
    ATTACHMENT,
    AUD,
    DEPLOY_URN,
    ECS_TRUST,
    ROLE,
    ROLE_POLICY,
    SUB_KEY,
    deploy_stack,
    doc,
    github_trust,
    role_policy,
    statement,
)
from tests.support.pack import analyze, analyze_stack, registration

# --- through the real pack --------------------------------------------------------------------------------------------


def hits(diagnostics, rule):
    return [d for d in diagnostics if d.policy == rule]


WAIVER = {"resource": "*", "reason": "A waiver attempt that the pack must ignore.", "approvedBy": "someone",
          "expires": "2999-01-01"}


def test_resource_rules_through_the_pack(policy_pack):
    good = analyze(policy_pack, ROLE_POLICY, role_policy(statement()))
    for rule in ("iam-no-admin", "iam-no-wildcards-without-exemption", "iam-no-privilege-escalation"):
        assert hits(good, rule) == []
    bad = analyze(policy_pack, ROLE_POLICY, role_policy(statement(Action="*", Resource="*")),
                  config={"iam-no-admin": {"waivers": [WAIVER]}})
    [admin] = hits(bad, "iam-no-admin")
    assert admin.enforcement == "mandatory" and admin.severity == "critical"
    assert len(hits(bad, "iam-no-wildcards-without-exemption")) == 1
    assert len(hits(bad, "iam-no-privilege-escalation")) == 3

    attachment = {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}
    assert hits(analyze(policy_pack, ATTACHMENT, {**attachment, "policyArn": "arn:aws:iam::1:policy/x"}),
                "iam-managed-policy-allowlist") == []
    [managed] = hits(analyze(policy_pack, ATTACHMENT, attachment), "iam-managed-policy-allowlist")
    assert managed.enforcement == "advisory"

    trusted = analyze(policy_pack, ROLE, {"assumeRolePolicy": doc(github_trust())})
    assert hits(trusted, "iam-github-oidc-trust") == [] and hits(trusted, "iam-trust-no-wildcard-principal") == []
    loose = github_trust(StringLike={SUB_KEY: "repo:example-org/*"}, StringEquals={AUD: "sts.amazonaws.com"})
    open_trust = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
    bad_role = analyze(policy_pack, ROLE, {"assumeRolePolicy": doc(loose, open_trust)})
    assert len(hits(bad_role, "iam-github-oidc-trust")) == 1
    assert len(hits(bad_role, "iam-trust-no-wildcard-principal")) == 1

    [user] = hits(analyze(policy_pack, "aws:iam/accessKey:AccessKey", {"user": "ci"}), "iam-no-users-or-access-keys")
    assert user.severity == "critical"
    assert hits(analyze(policy_pack, ROLE, {"assumeRolePolicy": doc(ECS_TRUST)}), "iam-no-users-or-access-keys") == []


def test_deploy_role_through_the_pack(policy_pack):
    def registrations(resources: list[Resource]):
        return [registration(r.type, r.props, name=r.name, urn=r.urn,
                             property_dependencies=dict(r.property_dependencies)) for r in resources]

    assert hits(analyze_stack(policy_pack, registrations(deploy_stack())), "iam-deploy-role-scoped") == []
    [finding] = hits(analyze_stack(policy_pack, registrations(deploy_stack({"maxSessionDuration": 7200.0}))),
                     "iam-deploy-role-scoped")
    assert finding.urn == DEPLOY_URN and finding.message.endswith("maxSessionDuration is 7200s, expected at most 3600s")
