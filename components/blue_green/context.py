"""What every part of a BlueGreenService shares: its parent, logical name, arguments and physical base name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from components.aws_partition import partition_of

if TYPE_CHECKING:
    from components.blue_green_service import BlueGreenServiceArgs


@dataclass(frozen=True)
class Part:
    parent: pulumi.ComponentResource
    name: str
    """The component's logical name: every child's logical name starts with it."""
    args: BlueGreenServiceArgs

    @property
    def base(self) -> str:
        """Physical base name: `<name_prefix>-<service.name>`."""
        return f"{self.args.name_prefix}-{self.args.service.name}"

    @property
    def partition(self) -> str:
        return partition_of(self.args.region)

    @property
    def awaiting(self) -> bool:
        """A new stack's first `up`: what needs an image (task definition, service, its autoscaling and alarms,
        deployment group) waits for it."""
        return self.args.service.awaiting_image

    @property
    def child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent)

    @property
    def named(self) -> pulumi.ResourceOptions:
        """For resources under a fixed physical name that forces replacement: Pulumi replaces create-before-delete,
        so the replacement would collide with the old resource (tests/infra/test_replace_collisions.py). The names
        stay fixed (renaming would replace each one on existing stacks): CodeDeploy addresses the target groups by
        name, the CI roles' policies match `<prefix>-*` roles, images are pushed to the repository by name."""
        return pulumi.ResourceOptions(parent=self.parent, delete_before_replace=True)
