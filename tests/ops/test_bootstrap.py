"""`rampart bootstrap` against moto's server: creates, converges, refuses a foreign bucket, reports a half-done run."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from rampart.cli import main
from rampart.ops import aws as ops_aws
from rampart.ops import bootstrap as ops
from rampart.ops import state_bucket
from tests.ops.conftest import REGION, run_json

BUCKET = "example-org-pulumi-state"
ALIAS = "alias/rampart-pulumi-secrets"
ACCOUNT = "123456789012"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
ARGV = ["bootstrap", "--state-bucket", BUCKET]


def _key_arn(kms) -> str:
    return kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["Arn"]


def _assert_bucket_hardened(s3, key_arn: str, bucket: str = BUCKET) -> None:
    """Every setting read back from the account, not from the report."""
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules == [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                      "BucketKeyEnabled": True}]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    [deny] = [s for s in policy["Statement"] if s.get("Sid") == "DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [rule] = [r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
              if r["ID"] == state_bucket.LIFECYCLE_RULE_ID]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_fresh_account_gets_every_piece_with_every_setting(client, capsys):
    code, report = run_json(capsys, ARGV)

    assert code == 0, report
    kms, s3, iam = client("kms"), client("s3"), client("iam")
    key = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT" and key["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert key["Description"] == ops.KEY_DESCRIPTION
    assert kms.get_key_rotation_status(KeyId=key["Arn"])["KeyRotationEnabled"] is True
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    _assert_bucket_hardened(s3, key["Arn"])
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    assert sorted(provider["ThumbprintList"]) == sorted(ops.GITHUB_THUMBPRINTS)

    result = report["result"]
    assert result["bucket"] == BUCKET and result["keyAlias"] == ALIAS and result["keyArn"] == key["Arn"]
    assert result["oidcProviderArn"] == OIDC_ARN
    assert result["backendUrl"] == f"s3://{BUCKET}?region={REGION}"
    key_id = key["Arn"].rsplit("/", 1)[-1]
    assert result["secretsProvider"] == f"awskms://{key_id}?region={REGION}"
    assert result["created"] == ["kmsKey", "kmsAlias", "stateBucket", "oidcProvider"]
    assert result["existed"] == [] and result["missing"] == [] and result["pending"] == []
    assert result["config"] == {"rampart:github.oidcProviderArn": OIDC_ARN,
                                "rampart:github.stateBackendUrl": result["backendUrl"],
                                "rampart:github.secretsProviderKeyArn": key["Arn"]}
    assert report["steps"][-1]["detail"].startswith("created kmsKey, kmsAlias, stateBucket, oidcProvider; set ")
    assert result["nextCommands"] == [
        f'pulumi login "s3://{BUCKET}?region={REGION}"',
        f'pulumi stack init <stack> --secrets-provider="awskms://{key_id}?region={REGION}"',
        f'pulumi config set --path "rampart:github.oidcProviderArn" "{OIDC_ARN}"',
        f'pulumi config set --path "rampart:github.stateBackendUrl" "s3://{BUCKET}?region={REGION}"',
        f'pulumi config set --path "rampart:github.secretsProviderKeyArn" "{key["Arn"]}"',
    ]


def test_second_run_changes_nothing_and_says_so(client, capsys):
    assert run_json(capsys, ARGV)[0] == 0
    before = client("kms").list_keys()["Keys"]

    code, report = run_json(capsys, ARGV)

    assert code == 0, report
    result = report["result"]
    assert result["created"] == [] and result["changed"] == []
    assert result["existed"] == ["kmsKey", "kmsAlias", "stateBucket", "oidcProvider"]
    assert client("kms").list_keys()["Keys"] == before
    assert len(client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1
    assert report["steps"][-1] == {"name": "done", "status": "ok",
                                   "detail": "nothing changed: already bootstrapped"}
    assert all(s["detail"] in ("already set", "already enabled", "sts.amazonaws.com present")
               for s in report["steps"] if s["name"].startswith(("bucket ", "kms key rotation", "github oidc aud")))


def test_text_output_prints_the_next_commands(aws_env, capsys):
    assert main(ARGV) == 0
    out = capsys.readouterr().out
    assert f'  pulumi login "s3://{BUCKET}?region={REGION}"' in out
    assert '  pulumi stack init <stack> --secrets-provider="awskms://' in out
    assert '  pulumi config set --path "rampart:github.secretsProviderKeyArn" "arn:aws:kms:' in out
    assert f'  pulumi config set --path "rampart:github.oidcProviderArn" "{OIDC_ARN}"' in out
    assert "bootstrap: ok" in out


def test_drifted_settings_are_converged(client, capsys):
    assert run_json(capsys, ARGV)[0] == 0
    s3, kms = client("s3"), client("kms")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=BUCKET)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    # Someone's own statement survives; ours, weakened, is restored.
    foreign = {"Sid": "AuditRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
               "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    weakened = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [foreign, weakened]}))
    other_rule = {"ID": "logs-cleanup", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
                  "Expiration": {"Days": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        other_rule, {**state_bucket._lifecycle_rule(), "NoncurrentVersionExpiration": {"NoncurrentDays": 3650}}]})
    kms.disable_key_rotation(KeyId=_key_arn(kms))

    code, report = run_json(capsys, ARGV)

    assert code == 0, report
    _assert_bucket_hardened(s3, _key_arn(kms))
    assert foreign in json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert kms.get_key_rotation_status(KeyId=_key_arn(kms))["KeyRotationEnabled"] is True
    assert "logs-cleanup" in [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]]
    assert sorted(report["result"]["changed"]) == sorted([
        "kmsKey.rotation", "stateBucket.publicAccessBlock", "stateBucket.encryption", "stateBucket.tlsPolicy",
        "stateBucket.versioning", "stateBucket.lifecycle"])
    assert report["result"]["created"] == []
    details = {s["name"]: s["detail"] for s in report["steps"]}
    assert details["bucket versioning"] == "enabled (was Suspended)"
    assert details["bucket public access block"].startswith("turned on BlockPublicAcls")


def test_existing_bucket_of_ours_is_adopted_and_hardened(client, capsys):
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key=".pulumi/meta.yaml", Body=b"version: 1\n")

    code, report = run_json(capsys, ARGV)

    assert code == 0, report
    assert report["result"]["existed"] == ["stateBucket"]
    assert "stateBucket" not in report["result"]["created"]
    _assert_bucket_hardened(s3, report["result"]["keyArn"])
    # moto's server speaks plain HTTP, so the TLS-only policy now refuses to hand out the state it still holds.
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket=BUCKET, Key=".pulumi/meta.yaml")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_us_east_1_creates_without_a_location_constraint(client, capsys):
    code, report = run_json(capsys, [*ARGV, "--region", "us-east-1"])

    assert code == 0, report
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] in (None, "")
    assert report["result"]["backendUrl"] == f"s3://{BUCKET}?region=us-east-1"
    assert report["result"]["keyArn"].startswith("arn:aws:kms:us-east-1:")


def _as_other_account(service: str):
    other = boto3.client(service, region_name=REGION)

    def header(request, **_):
        request.headers["x-moto-account-id"] = "210987654321"

    other.meta.events.register("before-sign", header)
    return other


def test_bucket_owned_by_another_account_is_refused(client, capsys):
    _as_other_account("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})

    code, report = run_json(capsys, ARGV)

    assert code == 1
    error = report["steps"][-1]
    assert error["name"] == "error"
    assert f"s3 bucket {BUCKET} exists but is not this account's" in error["detail"]
    assert "choose another --state-bucket" in error["detail"]
    # The key was made before the bucket was looked at; the report says so, and that the rest is not in place.
    assert report["result"]["created"] == ["kmsKey", "kmsAlias"]
    assert report["result"]["missing"] == ["stateBucket", "oidcProvider"]
    assert client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_head_bucket_403_means_someone_else_owns_it(client, stub_call, capsys):
    stubber = stub_call("s3", "head_bucket")
    stubber.add_client_error("head_bucket", service_error_code="403", service_message="Forbidden",
                             http_status_code=403)

    code, report = run_json(capsys, ARGV)

    assert code == 1
    assert "is not this account's" in report["steps"][-1]["detail"]
    assert BUCKET not in [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    stubber.assert_no_pending_responses()


def test_bucket_in_another_region_is_refused(client, capsys):
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})

    code, report = run_json(capsys, ARGV)

    assert code == 1
    assert "lives in us-west-2, not eu-west-1: pass --region us-west-2" in report["steps"][-1]["detail"]


def test_failure_midway_reports_what_exists(client, stub_call, capsys, monkeypatch):
    unstubbed = ops_aws.Aws._create
    stubber = stub_call("s3", "put_bucket_policy")
    stubber.add_client_error("put_bucket_policy", service_error_code="AccessDenied",
                             service_message="not allowed", http_status_code=403)

    code, report = run_json(capsys, ARGV)

    assert code == 1
    result = report["result"]
    assert result["created"] == ["kmsKey", "kmsAlias", "stateBucket"]
    assert result["missing"] == ["oidcProvider"]
    assert result["pending"] == ["stateBucket.tlsPolicy", "stateBucket.versioning", "stateBucket.lifecycle"]
    state, error = report["steps"][-2:]
    assert state["name"] == "state"
    key_arn = _key_arn(client("kms"))
    assert result["keyArn"] == key_arn and result["oidcProviderArn"] is None
    assert state["detail"].startswith(
        f"created this run: kmsKey ({key_arn}), kmsAlias ({ALIAS}), stateBucket ({BUCKET}); already existed: none; "
        "not in place: oidcProvider; settings not yet applied: stateBucket.tlsPolicy, stateBucket.versioning, "
        "stateBucket.lifecycle; rerun with the same flags")
    assert "s3:PutBucketPolicy" in error["detail"] and "permission denied" in error["detail"]
    assert "backendUrl" not in result and "nextCommands" not in result
    # What the report says exists does exist, with the settings applied before the failure.
    s3 = client("s3")
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    assert client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    stubber.assert_no_pending_responses()

    # The rerun (the fault gone) finishes the job and creates nothing twice.
    monkeypatch.setattr(ops_aws.Aws, "_create", unstubbed)
    code, report = run_json(capsys, ARGV)
    assert code == 0, report
    assert report["result"]["created"] == ["oidcProvider"]
    assert report["result"]["existed"] == ["kmsKey", "kmsAlias", "stateBucket"]
    _assert_bucket_hardened(s3, report["result"]["keyArn"])


def test_alias_failure_names_the_orphan_key(client, stub_call, capsys):
    stubber = stub_call("kms", "create_alias")
    stubber.add_client_error("create_alias", service_error_code="LimitExceededException",
                             service_message="too many aliases", http_status_code=400)

    code, report = run_json(capsys, ARGV)

    assert code == 1
    [key] = client("kms").list_keys()["Keys"]
    detail = report["steps"][-1]["detail"]
    assert "kms:CreateAlias" in detail and key["KeyArn"] in detail
    assert f"aws kms create-alias --alias-name {ALIAS} --target-key-id {key['KeyId']}" in detail
    assert report["result"]["created"] == ["kmsKey"]
    assert report["result"]["missing"] == ["kmsAlias", "stateBucket", "oidcProvider"]


def test_existing_provider_is_reused_and_its_audience_ensured(client, stub_call, capsys):
    iam = client("iam")
    iam.create_open_id_connect_provider(Url=ops.GITHUB_OIDC_URL, ClientIDList=["some-other-audience"],
                                        ThumbprintList=["a" * 40])
    # moto has no AddClientIDToOpenIDConnectProvider: Stubber answers it, as AWS would, and checks the request.
    stubber = stub_call("iam", "add_client_id_to_open_id_connect_provider")
    stubber.add_response("add_client_id_to_open_id_connect_provider", {},
                         {"OpenIDConnectProviderArn": OIDC_ARN, "ClientID": "sts.amazonaws.com"})

    code, report = run_json(capsys, ARGV)

    assert code == 0, report
    assert report["result"]["oidcProviderArn"] == OIDC_ARN
    assert "oidcProvider" in report["result"]["existed"]
    assert "oidcProvider.audience" in report["result"]["changed"]
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1
    stubber.assert_no_pending_responses()


def test_no_github_oidc_leaves_the_provider_alone(client, capsys):
    code, report = run_json(capsys, [*ARGV, "--no-github-oidc"])

    assert code == 0, report
    assert report["result"]["oidcProviderArn"] is None
    assert report["result"]["missing"] == []
    assert "rampart:github.oidcProviderArn" not in report["result"]["config"]
    assert not any("oidcProviderArn" in line for line in report["result"]["nextCommands"])
    assert client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_disabled_key_behind_the_alias_is_refused(client, capsys):
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])

    code, report = run_json(capsys, ARGV)

    assert code == 1
    assert "is Disabled, not Enabled" in report["steps"][-1]["detail"]
    assert client("s3").list_buckets()["Buckets"] == []


@pytest.mark.parametrize(("argv", "flag"), [
    (["bootstrap", "--state-bucket", "Bad_Name"], "--state-bucket"),
    (["bootstrap", "--state-bucket", "ab"], "--state-bucket"),
    (["bootstrap", "--state-bucket", "my.state.bucket"], "--state-bucket"),
    (["bootstrap", "--state-bucket", "xn--state"], "--state-bucket"),
    ([*ARGV, "--key-alias", "rampart-secrets"], "--key-alias"),
    ([*ARGV, "--key-alias", "alias/aws/s3"], "--key-alias"),
    ([*ARGV, "--key-alias", "alias/has space"], "--key-alias"),
    ([*ARGV, "--region", "Europe"], "--region"),
])
def test_bad_flags_are_usage_errors(aws_env, capsys, argv, flag):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert line.startswith("error: " + flag)


def test_state_bucket_is_required(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bootstrap"])
    assert exc.value.code == 2
    assert "--state-bucket" in capsys.readouterr().err


def test_missing_region_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert main(ARGV) == 2
    assert "region" in capsys.readouterr().err


def test_github_constants_match_the_component():
    from components import github_oidc

    assert ops.GITHUB_OIDC_URL == github_oidc.ISSUER_URL
    assert ops.GITHUB_AUDIENCE == github_oidc.AUDIENCE
    assert ops.GITHUB_THUMBPRINTS == github_oidc.GITHUB_THUMBPRINTS


def test_oidc_arn_printed_passes_the_stack_config_pattern():
    import re

    from infra.config import GITHUB_OIDC_PROVIDER_ARN

    assert re.match(GITHUB_OIDC_PROVIDER_ARN, OIDC_ARN)
