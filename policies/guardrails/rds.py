"""RDS rules (catalogue 26-39): encryption and its key, exposure, backups and snapshots, deletion and
availability, authentication and the master password, logging, TLS, network isolation and identifiers.

They judge `aws:rds/instance:Instance` (with its parameter group, subnet group and security groups for the
stack rules). Encryption, its key, backups, snapshots, deletion protection, IAM auth and the master password
are judged on `aws:rds/cluster:Cluster` too (Aurora and Multi-AZ DB clusters keep them there), exposure on the
cluster and on each `aws:rds/clusterInstance:ClusterInstance`. Aurora members take TLS and logging settings from
their cluster's parameter group, so the parameter checks skip `aurora-*` engines.

Never waivable: `rds-not-public` (a database reachable from the internet is a direct exposure) and
`rds-managed-master-password` (a literal master password lives in state and program source; managed
passwords cost nothing).

The rules live by concern: keeping the data (encryption, backups, snapshots, deletion, standby) in
guardrails.rds_data, and who connects and what is recorded in guardrails.rds_connections, both reading
guardrails.rds_model. This module is the group the pack and the rule catalogue read (`POLICIES`, in catalogue
order) and keeps the names other groups import from it.
"""

from __future__ import annotations

from guardrails import rds_connections, rds_data
from guardrails.rds_model import INSTANCE
from guardrails.rule import Rule

# What the Backup rules import from guardrails.rds.
__all__ = ["INSTANCE", "POLICIES"]


def _catalogue_number(rule: Rule) -> int:
    return next(int(tag.removeprefix("catalogue-")) for tag in rule.tags if tag.startswith("catalogue-"))


# The two concerns interleave in the catalogue (28 is a connection rule between 27 and 29, both data rules).
POLICIES: list[Rule] = sorted([*rds_data.RULES, *rds_connections.RULES], key=_catalogue_number)
