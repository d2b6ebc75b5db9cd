"""API Gateway, SNS/SQS/Kinesis, DynamoDB, ElastiCache, EKS, CloudFront and Redshift rules through the real pack:
each resource starts compliant and draws nothing; flipping one field draws exactly its rule on that resource,
mandatory in production and graded per stack in staging. Pure cases pin the defaults and exceptions each rule
documents (SSE-SQS by default, CORS preflight, S3 website origins, public EKS endpoints limited to named CIDRs)."""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import apigateway, cloudfront, dynamodb, eks, elasticache, messaging, redshift

from rampart.engine.recorder import UNKNOWN
from rampart.reports.model import classify
from tests.support.pack import registration
from tests.support.rules import resource_messages
from tests.support.service_pack import flip, hits, run

MODULES = (apigateway, messaging, dynamodb, elasticache, eks, cloudfront, redshift)
RULES = {rule.name: rule for module in MODULES for rule in module.POLICIES}
KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b1f6a3e-1111-2222-3333-444455556666"
LOG_GROUP_ARN = "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/apigateway/shop"
ACCESS_LOGS = {"destinationArn": LOG_GROUP_ARN, "format": "$context.requestId $context.status"}

COMPLIANT: dict[str, tuple[str, dict[str, Any]]] = {
    "rest-stage": (apigateway.REST_STAGE, {"stageName": "prod", "restApi": "a1", "accessLogSettings": ACCESS_LOGS}),
    "http-stage": (apigateway.V2_STAGE, {"name": "$default", "apiId": "a2", "accessLogSettings": ACCESS_LOGS}),
    "rest-domain": (apigateway.REST_DOMAIN, {"domainName": "api.example.com", "securityPolicy": "TLS_1_2"}),
    "http-domain": (apigateway.V2_DOMAIN, {"domainName": "api2.example.com", "domainNameConfiguration": {
        "certificateArn": "arn:aws:acm:x", "endpointType": "REGIONAL", "securityPolicy": "TLS_1_2"}}),
    "rest-method": (apigateway.REST_METHOD, {"httpMethod": "GET", "authorization": "AWS_IAM", "restApi": "a1",
                                             "resourceId": "r1"}),
    "http-route": (apigateway.V2_ROUTE, {"apiId": "a2", "routeKey": "GET /orders", "authorizationType": "JWT",
                                         "authorizerId": "z1"}),
    "topic": (messaging.TOPIC, {"kmsMasterKeyId": KEY_ARN}),
    "queue": (messaging.QUEUE, {"sqsManagedSseEnabled": True}),
    "stream": (messaging.STREAM, {"encryptionType": "KMS", "kmsKeyId": KEY_ARN, "shardCount": 1.0}),
    "table": (dynamodb.TABLE, {"hashKey": "id", "pointInTimeRecovery": {"enabled": True},
                               "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN}}),
    "cache": (elasticache.REPLICATION_GROUP, {"description": "cache", "atRestEncryptionEnabled": True,
                                              "transitEncryptionEnabled": True, "userGroupIds": ["app-users"]}),
    "cluster": (eks.CLUSTER, {"roleArn": "arn:aws:iam::1:role/eks",
                              "vpcConfig": {"subnetIds": ["subnet-a"], "endpointPublicAccess": False,
                                            "endpointPrivateAccess": True},
                              "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}},
                              "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager",
                                                         "scheduler"]}),
    "cdn": (cloudfront.DISTRIBUTION, {
        "enabled": True,
        "origins": [{"originId": "site", "domainName": "site.s3.eu-west-1.amazonaws.com",
                     "originAccessControlId": "E2OAC"}],
        "defaultCacheBehavior": {"targetOriginId": "site", "viewerProtocolPolicy": "redirect-to-https"},
        "orderedCacheBehaviors": [{"pathPattern": "/api/*", "targetOriginId": "site",
                                   "viewerProtocolPolicy": "https-only"}],
        "viewerCertificate": {"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/c",
                              "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021"},
        "loggingConfig": {"bucket": "acme-cdn-logs.s3.amazonaws.com"}}),
    "warehouse": (redshift.CLUSTER, {"clusterIdentifier": "dw", "nodeType": "ra3.xlplus", "encrypted": "true",
                                     "kmsKeyId": KEY_ARN, "publiclyAccessible": False, "skipFinalSnapshot": False,
                                     "finalSnapshotIdentifier": "dw-final", "automatedSnapshotRetentionPeriod": 7.0}),
}
BASELINE = [registration(type_token, props, name=name) for name, (type_token, props) in COMPLIANT.items()]

CASES = [
    ("apigw-access-logs", "rest-stage", {"accessLogSettings": None}, "accessLogSettings.destinationArn is not set"),
    ("apigw-access-logs", "http-stage", {"accessLogSettings": {"destinationArn": LOG_GROUP_ARN}},
     "accessLogSettings.format is not set"),
    ("apigw-domain-tls-policy", "rest-domain", {"securityPolicy": None}, "securityPolicy is not set"),
    ("apigw-domain-tls-policy", "rest-domain", {"securityPolicy": "TLS_1_0"}, "securityPolicy is 'TLS_1_0'"),
    ("apigw-authorization", "rest-method", {"authorization": "NONE"}, "authorization is NONE"),
    ("apigw-authorization", "http-route", {"authorizationType": None}, "authorizationType is NONE"),
    ("sns-topic-encrypted", "topic", {"kmsMasterKeyId": None}, "kmsMasterKeyId is not set"),
    ("sqs-queue-encrypted", "queue", {"sqsManagedSseEnabled": False}, "sqsManagedSseEnabled is false"),
    ("kinesis-stream-encrypted", "stream", {"encryptionType": "NONE"}, "encryptionType is not KMS"),
    ("dynamodb-point-in-time-recovery", "table", {"pointInTimeRecovery": {"enabled": False}},
     "pointInTimeRecovery.enabled is not true"),
    ("dynamodb-kms-encryption", "table", {"serverSideEncryption": None}, "serverSideEncryption.enabled is not true"),
    ("elasticache-encryption", "cache", {"transitEncryptionEnabled": False}, "transitEncryptionEnabled is not true"),
    ("elasticache-encryption", "cache", {"atRestEncryptionEnabled": None}, "atRestEncryptionEnabled is not true"),
    ("elasticache-auth", "cache", {"userGroupIds": None}, "neither an AUTH token"),
    ("eks-private-endpoint", "cluster", {"vpcConfig": {"subnetIds": ["subnet-a"]}}, "open to 0.0.0.0/0"),
    ("eks-secrets-encryption", "cluster", {"encryptionConfig": None}, "encryptionConfig does not encrypt"),
    ("eks-control-plane-logging", "cluster", {"enabledClusterLogTypes": ["api"]},
     "lacks audit, authenticator, controllerManager, scheduler"),
    ("cloudfront-tls-policy", "cdn", {"viewerCertificate": {"cloudfrontDefaultCertificate": True}},
     "default *.cloudfront.net certificate"),
    ("cloudfront-tls-policy", "cdn", {"viewerCertificate": {"acmCertificateArn": "arn:aws:acm:us-east-1:1:c",
                                                            "minimumProtocolVersion": "TLSv1"}},
     "minimumProtocolVersion is 'TLSv1'"),
    ("cloudfront-viewer-https", "cdn", lambda p: {**p, "orderedCacheBehaviors": [
        {"pathPattern": "/api/*", "targetOriginId": "site", "viewerProtocolPolicy": "allow-all"}]},
     "orderedCacheBehaviors[0].viewerProtocolPolicy is allow-all"),
    ("cloudfront-s3-origin-access-control", "cdn", lambda p: {**p, "origins": [
        {"originId": "site", "domainName": "site.s3.eu-west-1.amazonaws.com"}]},
     "origins[0] is an S3 origin without originAccessControlId"),
    ("cloudfront-logging", "cdn", {"loggingConfig": None}, "loggingConfig.bucket is not set"),
    ("redshift-encrypted", "warehouse", {"encrypted": "false"}, "encrypted is false"),
    ("redshift-not-public", "warehouse", {"publiclyAccessible": True}, "publiclyAccessible is true"),
    ("redshift-snapshot-hygiene", "warehouse", {"skipFinalSnapshot": True}, "skipFinalSnapshot is true"),
    ("redshift-snapshot-hygiene", "warehouse", {"automatedSnapshotRetentionPeriod": 1.0},
     "automatedSnapshotRetentionPeriod is 1 days; expected at least 7"),
]


def test_every_rule_has_a_case():
    assert {case[0] for case in CASES} == set(RULES)


def test_compliant_resources_draw_no_finding(policy_pack):
    assert hits(run(policy_pack, BASELINE), list(RULES)) == []


@pytest.mark.parametrize(("rule", "name", "change", "fragment"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_one_flipped_field_draws_its_rule(policy_pack, rule, name, change, fragment):
    changed = flip(BASELINE, name, change)
    [production] = hits(run(policy_pack, changed, "production"), list(RULES))
    assert production.policy == rule and fragment in production.message
    assert production.urn.endswith(f"::{name}") and production.enforcement == "mandatory"
    [staging] = hits(run(policy_pack, changed, "staging"), rule)
    assert staging.enforcement == ("mandatory" if RULES[rule].enforcement == "M" else "advisory")


def test_an_origin_domain_unknown_at_preview_is_undeterminable(policy_pack):
    changed = flip(BASELINE, "cdn", lambda p: {**p, "origins": [{"originId": "site", "domainName": UNKNOWN}]})
    findings = classify(run(policy_pack, changed), policy_pack.info())
    oac = [f for f in findings if f.policy == "cloudfront-s3-origin-access-control"]
    assert [f.state for f in oac] == ["undeterminable"] and not oac[0].blocking


def messages(rule: str, type_token: str, props: dict[str, Any], **config: Any) -> list[str]:
    return resource_messages(RULES[rule], type_token, props, **config)


def test_sqs_default_encryption_and_kms_queues_pass():
    assert messages("sqs-queue-encrypted", messaging.QUEUE, {}) == []
    assert messages("sqs-queue-encrypted", messaging.QUEUE, {"sqsManagedSseEnabled": False,
                                                             "kmsMasterKeyId": "alias/aws/sqs"}) == []


def test_cors_preflight_is_exempt_from_authorization():
    assert messages("apigw-authorization", apigateway.REST_METHOD, {"httpMethod": "OPTIONS",
                                                                    "authorization": "NONE"}) == []
    assert messages("apigw-authorization", apigateway.V2_ROUTE, {"routeKey": "OPTIONS /{proxy+}"}) == []


@pytest.mark.parametrize(("origin", "expected"), [
    ({"originId": "w", "domainName": "site.s3-website-eu-west-1.amazonaws.com",
      "customOriginConfig": {"originProtocolPolicy": "http-only"}}, 0),
    ({"originId": "a", "domainName": "api.example.com", "customOriginConfig": {"originProtocolPolicy": "https-only"}},
     0),
    ({"originId": "legacy", "domainName": "x.s3.amazonaws.com", "s3OriginConfig": {"originAccessIdentity": "E1"}}, 1),
    ({"originId": "bare", "domainName": "x.s3.amazonaws.com"}, 1),
])
def test_only_s3_rest_origins_need_origin_access_control(origin, expected):
    found = messages("cloudfront-s3-origin-access-control", cloudfront.DISTRIBUTION, {"origins": [origin]})
    assert len(found) == expected


def test_eks_public_endpoint_limited_to_named_cidrs_passes():
    props = {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}}
    assert messages("eks-private-endpoint", eks.CLUSTER, props) == []
    props = {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}}
    assert messages("eks-private-endpoint", eks.CLUSTER, props) == [
        "vpcConfig.publicAccessCidrs includes 0.0.0.0/0; expected endpointPublicAccess false or only named "
        "office/VPN CIDRs"]


def test_elasticache_auth_token_presence_counts_and_its_value_is_never_read():
    messages_ = messages("elasticache-auth", elasticache.REPLICATION_GROUP, {"authToken": "s3cr3t-token-value"})
    assert messages_ == []
    assert messages("elasticache-encryption", elasticache.REPLICATION_GROUP, {
        "atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "transitEncryptionMode": "preferred"}) == [
        "transitEncryptionMode is preferred, so clients may still connect without TLS; expected required"]


def test_redshift_encrypted_by_default_and_as_boolean_or_string():
    assert messages("redshift-encrypted", redshift.CLUSTER, {"encrypted": True}) == []
    assert messages("redshift-encrypted", redshift.CLUSTER, {}) == []
    assert messages("redshift-encrypted", redshift.CLUSTER, {"encrypted": False}) == [
        "encrypted is false; expected true with kmsKeyId (the stack key), or unset (encrypted by default)"]


@pytest.mark.parametrize(("name", "change", "rule"), [
    ("topic", {"kmsMasterKeyId": UNKNOWN}, "sns-topic-encrypted"),
    ("rest-stage", {"accessLogSettings": {"destinationArn": UNKNOWN, "format": "$context.requestId"}},
     "apigw-access-logs"),
    ("cdn", lambda p: {**p, "loggingConfig": {"bucket": UNKNOWN}}, "cloudfront-logging"),
    ("warehouse", {"finalSnapshotIdentifier": UNKNOWN}, "redshift-snapshot-hygiene"),
])
def test_a_reference_unknown_at_preview_is_still_given(policy_pack, name, change, rule):
    """Presence rules: `kms_master_key_id=key.arn` is unknown until apply but is a key all the same."""
    findings = classify(run(policy_pack, flip(BASELINE, name, change)), policy_pack.info())
    assert [f for f in findings if f.policy == rule] == []
