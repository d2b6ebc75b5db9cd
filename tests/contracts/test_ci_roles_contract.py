"""Contracts between the stack and the CI roles other than the application deploy role, judged by the IAM
evaluator on the policies the stack registers (never retyped):

- preview/drift role <-> `pulumi preview --refresh`: every read a refresh makes of every resource type the stack
  declares is allowed; the state and the stack file's secrets provider are readable; no application data is.
- infrastructure role <-> `pulumi up`: the same reads plus the state writes; IAM users and keys, the state bucket,
  the secrets-provider key and the OIDC provider are explicitly out of reach; only the stack's managed policies
  can be attached.
- stack file <-> CI: `secretsprovider: awskms://<key>` names the key both roles may decrypt with, and the backend
  is the bucket their policies name.
- rollback role <-> `rampart rollback`: can stop and redeploy, cannot register a revision or push an image.
"""

from __future__ import annotations

import functools
from urllib.parse import urlparse

import pytest
import yaml

from components.ci_policies import REFRESH_READS
from infra.ci_access import STACK_MANAGED_POLICIES
from tests.support.iam import Request, denied, denied_without_each, evaluate, role_policies
from tests.support.stacks import ROOT, STACKS, record_stack, stack_config

ACCOUNT = "123456789012"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


@functools.cache
def recording(stack: str):
    return record_stack(stack)


def declared_aws_types(stack: str) -> set[str]:
    return {r.type for r in recording(stack).registrations if r.type.startswith("aws:") and r.custom}


def key_policy_of(stack: str) -> dict:
    """The stack key's policy as registered: KMS decides with it as well as with the caller's policies."""
    import json

    (key,) = [r for r in recording(stack).by_type("aws:kms/key:Key") if "backup-copy" not in r.name]
    return json.loads(key.plain_inputs()["policy"])


# `rampart bootstrap` creates the secrets-provider key with KMS's default policy: IAM policies decide.
DEFAULT_KEY_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*", "Resource": "*"}]}


def refresh_requests(stack: str) -> list[Request]:
    secrets = [r for r in recording(stack).registrations if r.type == "aws:secretsmanager/secret:Secret"]
    # As AWS names them: six random characters after the name.
    secret_arns = [
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{r.plain_inputs()['name']}-AbCdEf" for r in secrets
    ]
    found = []
    for resource_type in sorted(declared_aws_types(stack)):
        for action in REFRESH_READS[resource_type]:
            if action == "secretsmanager:GetSecretValue":
                found += [Request(action, arn, origin=f"refresh {resource_type}") for arn in secret_arns]
                # Secrets Manager decrypts the version with the stack key on the caller's behalf.
                found.append(Request("kms:Decrypt", stack_key_arn(stack),
                                     {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
                                     origin="GetSecretValue", resource_policy=key_policy_of(stack)))
            else:
                found.append(Request(action, "*", origin=f"refresh {resource_type}"))
    return found


def stack_key_arn(stack: str) -> str:
    """The stack key's ARN as the stack's own policies see it (the mock's stable ARN of the key resource)."""

    policies = role_policies(recording(stack), "-github-preview")
    for statement in policies[0]["Statement"]:
        if statement.get("Sid") == "DecryptStackSecretsViaSecretsManager":
            return statement["Resource"]
    raise LookupError("preview policy names no stack key")


def state(stack: str) -> tuple[str, str, str]:
    """(bucket, secrets-provider key ARN from the stack file, region) — the stack file's own words."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    provider = urlparse(document["secretsprovider"])
    assert provider.scheme == "awskms", f"Pulumi.{stack}.yaml: secretsprovider must be awskms://<key id>?region=…"
    region = provider.query.removeprefix("region=")
    key_arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{provider.netloc}"
    bucket = urlparse(stack_config(stack).github.state_backend_url).netloc
    return bucket, key_arn, region


def state_requests(stack: str, *, write: bool) -> list[Request]:
    bucket, key_arn, _ = state(stack)
    checkpoint = f"arn:aws:s3:::{bucket}/.pulumi/stacks/rampart/{stack}.json"
    lock = f"arn:aws:s3:::{bucket}/.pulumi/locks/organization/rampart/{stack}/lock.json"
    found = [
        Request("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
        Request("s3:GetObject", checkpoint),
        Request("s3:PutObject", lock),
        Request("s3:DeleteObject", lock),
        Request("kms:Decrypt", key_arn, origin="secretsprovider awskms", resource_policy=DEFAULT_KEY_POLICY),
        # The bucket is SSE-KMS under the same key (rampart bootstrap): S3 asks KMS on the caller's behalf.
        Request("kms:Decrypt", key_arn, {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, origin="s3:GetObject",
                resource_policy=DEFAULT_KEY_POLICY),
        Request("kms:GenerateDataKey", key_arn, {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
                origin="s3:PutObject", resource_policy=DEFAULT_KEY_POLICY),
    ]
    if write:
        found.append(Request("s3:PutObject", checkpoint))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_declared_type_has_its_refresh_reads_listed(stack):
    unlisted = declared_aws_types(stack) - set(REFRESH_READS)
    assert not unlisted, f"add the provider's refresh reads of {sorted(unlisted)} to REFRESH_READS"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("suffix", ["-github-preview", "-github-infra"])
def test_role_can_refresh_everything_the_stack_declares(stack, suffix):
    policies = role_policies(recording(stack), suffix)
    requests = refresh_requests(stack) + state_requests(stack, write=suffix == "-github-infra")
    refused = denied(policies, requests)
    assert not refused, "\n".join(map(str, refused))


@pytest.mark.parametrize("stack", STACKS)
def test_removing_any_refresh_read_breaks_the_preview_contract(stack):
    """Each stack's role is built by the same code from the types it declares: an action already proven needed in
    production is proven by the same statement elsewhere, so the other stacks remove only the actions of types
    production does not declare (each removal is one evaluator run; all of them for every stack cost minutes)."""
    policies = role_policies(recording(stack), "-github-preview")
    requests = refresh_requests(stack)
    proven = {r.action for r in refresh_requests("production")} if stack != "production" else set()
    refused = denied_without_each(policies, requests, sorted({r.action for r in requests} - proven),
                                  own_requests_only=True)
    unnoticed = [action for action, decisions in refused.items() if not decisions]
    assert not unnoticed, f"removed from the preview role, yet the refresh contract still held: {unnoticed}"


@pytest.mark.parametrize("stack", STACKS)
def test_preview_role_reads_no_application_data_or_foreign_secrets(stack):
    policies = role_policies(recording(stack), "-github-preview")
    forbidden = [
        Request("s3:GetObject", f"arn:aws:s3:::rampart-{stack}-alb-logs/AWSLogs/x.log.gz"),
        Request("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/data.csv"),
        Request("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"),
        Request("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:other-AbCdEf"),
        Request("ssm:GetParameter", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/db/password"),
        Request("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555",
                resource_policy=DEFAULT_KEY_POLICY),
        Request("kms:Decrypt", stack_key_arn(stack), resource_policy=key_policy_of(stack)),  # not via SM
        Request("s3:PutObject", f"arn:aws:s3:::{state(stack)[0]}/.pulumi/stacks/rampart/{stack}.json"),
    ]
    allowed = [d for d in evaluate(policies, forbidden) if d.allowed]
    assert not allowed, "\n".join(map(str, allowed))


@pytest.mark.parametrize("stack", STACKS)
def test_infrastructure_role_cannot_touch_users_keys_or_the_account_pieces(stack):
    policies = role_policies(recording(stack), "-github-infra")
    bucket, key_arn, _ = state(stack)
    provider = stack_config(stack).github.oidc_provider_arn
    forbidden = [
        Request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/ci"),
        Request("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/ci"),
        Request("s3:DeleteBucket", f"arn:aws:s3:::{bucket}"),
        Request("s3:PutBucketPolicy", f"arn:aws:s3:::{bucket}"),
        Request("kms:ScheduleKeyDeletion", key_arn, resource_policy=DEFAULT_KEY_POLICY),
        Request("iam:DeleteOpenIDConnectProvider", str(provider)),
        Request("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/rampart-{stack}-web-task",
                {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        Request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/someone-elses-role"),
        Request("ec2:GetPasswordData", f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0"),
    ]
    allowed = [d for d in evaluate(policies, forbidden) if d.allowed]
    assert not allowed, "\n".join(map(str, allowed))


@pytest.mark.parametrize("stack", STACKS)
def test_infrastructure_role_may_attach_exactly_the_managed_policies_the_stack_attaches(stack):
    attached = {str(r.plain_inputs()["policyArn"]) for r in recording(stack).by_type(ATTACHMENT)}
    declared = {f"arn:aws:iam::aws:{p}" for p in STACK_MANAGED_POLICIES}
    assert attached <= declared, f"add {sorted(attached - declared)} to infra.ci_access.STACK_MANAGED_POLICIES"
    policies = role_policies(recording(stack), "-github-infra")
    role = f"arn:aws:iam::{ACCOUNT}:role/rampart-{stack}-monitoring"
    requests = [Request("iam:AttachRolePolicy", role, {"iam:PolicyARN": arn}) for arn in sorted(attached)]
    refused = denied(policies, requests)
    assert not refused, "\n".join(map(str, refused))


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_secrets_provider_is_the_key_the_roles_decrypt_with(stack):
    _, key_arn, region = state(stack)
    assert stack_config(stack).github.secrets_provider_key_arn == key_arn
    assert region == stack_config(stack).region


def test_the_stacks_share_one_oidc_provider_and_create_none():
    providers = {stack_config(stack).github.oidc_provider_arn for stack in STACKS}
    assert len(providers) == 1 and None not in providers
    for stack in STACKS:
        assert recording(stack).by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []


@pytest.mark.parametrize("stack", STACKS)
def test_rollback_role_cannot_ship_new_code(stack):
    policies = role_policies(recording(stack), "-github-rollback")
    new_code = [
        Request("ecs:RegisterTaskDefinition", "*"),
        Request("ecr:PutImage", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/rampart-{stack}-web"),
        Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/rampart-{stack}-web-task",
                {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        Request("ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/rampart-{stack}/rampart-{stack}-web"),
    ]
    allowed = [d for d in evaluate(policies, new_code) if d.allowed]
    assert not allowed, "\n".join(map(str, allowed))


@pytest.mark.parametrize("stack", STACKS)
def test_each_job_reads_only_its_own_github_app_key(stack):
    github = stack_config(stack).github
    writer = f"{github.app_secret_arn}"
    reader = f"{github.reader_app_secret_arn}"
    infra = role_policies(recording(stack), "-github-infra")
    preview = role_policies(recording(stack), "-github-preview")
    assert not denied(infra, [Request("secretsmanager:GetSecretValue", writer)])
    assert not denied(preview, [Request("secretsmanager:GetSecretValue", reader)])
    # Pull-request code runs under the preview role: it must never mint a token that can change the repository.
    assert denied(preview, [Request("secretsmanager:GetSecretValue", writer)])
    deploy = role_policies(recording(stack), "-github-deploy")
    assert denied(deploy, [Request("secretsmanager:GetSecretValue", writer)])
