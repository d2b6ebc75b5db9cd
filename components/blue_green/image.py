"""Image repository and logs: where images are pushed and where the containers write."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.blue_green.context import Part

# Release images kept in ECR: every one of them is a possible rollback target.
KEEP_RELEASE_IMAGES = 30
UNTAGGED_IMAGE_DAYS = 14


def lifecycle_policy() -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {UNTAGGED_IMAGE_DAYS} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": UNTAGGED_IMAGE_DAYS,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the newest {KEEP_RELEASE_IMAGES} release images (rollback targets)",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": KEEP_RELEASE_IMAGES,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


def build_repository(part: Part) -> aws.ecr.Repository:
    args = part.args
    repository = aws.ecr.Repository(
        f"{part.name}-repository",
        name=part.base,
        # Tags are never moved: the digest a deployment names is the image that runs, and rollback targets
        # cannot be overwritten.
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
        force_delete=False,
        # Delete-before-replace never loses images: without force_delete, AWS refuses to delete a non-empty
        # repository, so a replacement stops there instead of colliding with the old name.
        opts=pulumi.ResourceOptions(
            parent=part.parent, protect=args.environment == "production", delete_before_replace=True
        ),
    )
    aws.ecr.LifecyclePolicy(
        f"{part.name}-repository-lifecycle",
        repository=repository.name,
        policy=lifecycle_policy(),
        opts=part.child,
    )
    return repository


def build_log_group(part: Part) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        f"{part.name}-logs",
        name=f"/ecs/{part.base}",
        retention_in_days=part.args.log_retention_days,
        kms_key_id=part.args.kms_key_arn,
        opts=part.named,
    )
