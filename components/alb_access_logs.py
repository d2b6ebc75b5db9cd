"""The load balancer's access log bucket: private, versioned, SSE-S3 (the only encryption ALB log delivery
accepts), expiring on a schedule, writable only by ELB log delivery for this account's prefix."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

ACCESS_LOG_PREFIX = "alb"
NONCURRENT_LOG_DAYS = 30


def build_access_log_bucket(
    parent: pulumi.Resource, name: str, retention_days: int
) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
    """The bucket, and what the load balancer must wait for before it switches logging on."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        f"{name}-access-logs",
        # Logs are evidence: deleting the stack must not silently empty the bucket.
        force_destroy=False,
        tags={"Name": f"{name}-access-logs"},
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-access-logs-public-access",
        bucket=bucket.bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    # ACLs off: every object belongs to this account whoever wrote it (log delivery included).
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-access-logs-ownership",
        bucket=bucket.bucket,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    # ALB access logs can only be delivered to SSE-S3 (AES256) buckets: with a KMS default key the
    # delivery fails silently, so AES256 here is the strongest setting that keeps logs flowing.
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-access-logs-encryption",
        bucket=bucket.bucket,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=child,
    )
    _versioned_with_expiry(parent, name, bucket, retention_days)
    bucket_policy = _delivery_policy(parent, name, bucket, [public_access, ownership])
    return bucket, [bucket_policy, encryption, public_access]


def _versioned_with_expiry(parent: pulumi.Resource, name: str, bucket: aws.s3.Bucket, retention_days: int) -> None:
    child = pulumi.ResourceOptions(parent=parent)
    versioning = aws.s3.BucketVersioning(
        f"{name}-access-logs-versioning",
        bucket=bucket.bucket,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=child,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-access-logs-lifecycle",
        bucket=bucket.bucket,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=retention_days
                ),
                # With versioning on, expiry only adds a delete marker: the old version must expire too, or
                # nothing is ever removed. 30 days is the window to recover logs deleted by mistake or malice.
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=NONCURRENT_LOG_DAYS
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=1
                ),
            )
        ],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )


def _delivery_policy(
    parent: pulumi.Resource, name: str, bucket: aws.s3.Bucket, after: list[pulumi.Resource]
) -> aws.s3.BucketPolicy:
    invoke = pulumi.InvokeOptions(parent=parent)
    account_id = aws.get_caller_identity_output(opts=invoke).account_id
    # Older regions deliver ALB logs from a regional ELB account rather than the service principal; the
    # grant to both is limited to PutObject under this account's log prefix.
    elb_account = aws.elb.get_service_account_output(opts=invoke).arn
    policy = pulumi.Output.all(bucket.arn, account_id, elb_account).apply(
        lambda values: json.dumps(_bucket_policy(*values))
    )
    bucket_policy = aws.s3.BucketPolicy(
        f"{name}-access-logs-policy",
        bucket=bucket.bucket,
        policy=policy,
        # A policy applied before the public access block could be judged public and rejected.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
    )
    return bucket_policy


def _bucket_policy(bucket_arn: str, account_id: str, elb_account_arn: str) -> dict:
    log_objects = f"{bucket_arn}/{ACCESS_LOG_PREFIX}/AWSLogs/{account_id}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": log_objects,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "ElbLogDeliveryRegionalAccount",
                "Effect": "Allow",
                "Principal": {"AWS": elb_account_arn},
                "Action": "s3:PutObject",
                "Resource": log_objects,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
