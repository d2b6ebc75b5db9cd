"""Physical names within AWS's limits: fixed where CodeDeploy and the CI roles address them by name."""

from __future__ import annotations

import hashlib
import re

# ALB target group names: at most 32 characters, letters, digits and hyphens, no hyphen at either end.
TARGET_GROUP_NAME_LIMIT = 32
IAM_ROLE_NAME_LIMIT = 64
DEPLOYMENT_CONFIG_NAME_LIMIT = 100
_ELB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")


def fit_name(name: str, limit: int) -> str:
    """`name` if it fits, else a prefix of it plus a short digest of the whole, so names stay unique."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - len(digest) - 1].rstrip('-')}-{digest}"


def target_group_name(base: str, colour: str) -> str:
    """`<base>-<colour>` within the ALB's 32 characters, the colour kept at the end to stay readable."""
    name = f"{base}-{colour}"
    if len(name) > TARGET_GROUP_NAME_LIMIT:
        digest = hashlib.sha256(base.encode()).hexdigest()[:6]
        head = base[: TARGET_GROUP_NAME_LIMIT - len(colour) - len(digest) - 2].rstrip("-")
        name = f"{head}-{digest}-{colour}"
    if len(name) > TARGET_GROUP_NAME_LIMIT or not _ELB_NAME.match(name) or name.startswith("internal-"):
        raise ValueError(
            f"BlueGreenServiceArgs.name_prefix: expected a prefix giving a valid target group name "
            f"(<= {TARGET_GROUP_NAME_LIMIT} letters, digits, hyphens), got {name!r}"
        )
    return name
