"""The components as a Pulumi component package (`rampart`): what the provider in provider/ hosts.

Each exported component is the Python component itself, seen through a thin subclass whose `__init__` takes the
dict Pulumi's component provider host hands over (typed by the TypedDict mirror of the component's Args
dataclass, components/package/schema_types.py), rebuilds the Args dataclass and runs the component unchanged:
same type token (`rampart:index:<Name>`), same children, same names, same validation.
"""

from __future__ import annotations

import inspect

import pulumi

from components.blue_green_service import BlueGreenService, BlueGreenServiceArgs
from components.cluster import Cluster, ClusterArgs
from components.database import Database, DatabaseArgs
from components.deployment_alarms import DeploymentAlarms, DeploymentAlarmsArgs
from components.keys import StackKey, StackKeyArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.notifications import Notifications, NotificationsArgs
from components.package.schema_types import SchemaTypes, rebuild
from components.web_acl import WebAcl, WebAclArgs

PACKAGE_NAME = "rampart"

# The building blocks another team's stack composes: network, edge, data, keys, the service and its alarms.
# Left out on purpose: the GitHub components (their inputs are this repository's delivery settings and they need
# the GitHub provider's credentials; a platform team already owns its repositories), and the CI roles and
# backup/secrets parts whose arguments name Rampart's own stack layout (deploy_policy, ci_policies, backup_plan,
# secrets, smoke_runner, chat_notifications). Each can be added here: the schema follows from its Args.
EXPORTED: tuple[tuple[type[pulumi.ComponentResource], type], ...] = (
    (Network, NetworkArgs),
    (LoadBalancer, LoadBalancerArgs),
    (Database, DatabaseArgs),
    (StackKey, StackKeyArgs),
    (Notifications, NotificationsArgs),
    (Cluster, ClusterArgs),
    (WebAcl, WebAclArgs),
    (DeploymentAlarms, DeploymentAlarmsArgs),
    (BlueGreenService, BlueGreenServiceArgs),
)


def hosted_component(component: type[pulumi.ComponentResource], args_cls: type, types: SchemaTypes) -> type:
    """`component` as the host constructs it: `__init__(name, args: <mirror dict>, opts)` rebuilds `args_cls`."""
    mirror = types.mirror(args_cls)

    def __init__(self, name: str, args: dict, opts: pulumi.ResourceOptions | None = None) -> None:  # noqa: N807
        component.__init__(self, name, rebuild(args_cls, args, args_cls.__name__), opts)

    __init__.__annotations__ = {"name": str, "args": mirror, "opts": pulumi.ResourceOptions | None, "return": None}
    namespace: dict[str, object] = {
        "__init__": __init__,
        # Resolved output annotations: the host cannot read the string ones `from __future__ import annotations`
        # leaves on the component, and reads a subclass's over its base's.
        "__annotations__": types.outputs(component),
        "__doc__": _description(component),
        # The host reads output descriptions from the class source: keep the component's module and name so
        # `inspect.getsource` finds the component's own class and its attribute docstrings.
        "__module__": component.__module__,
        "__qualname__": component.__qualname__,
    }
    return type(component.__name__, (component,), namespace)


def _description(component: type) -> str | None:
    doc = component.__doc__ or inspect.getmodule(component).__doc__  # type: ignore[union-attr]
    return inspect.cleandoc(doc).split("\n\n", 1)[0] if doc else None


def hosted_components() -> list[type[pulumi.ComponentResource]]:
    """Every exported component, wrapped for the host, sharing one set of schema types."""
    types = SchemaTypes()
    return [hosted_component(component, args_cls, types) for component, args_cls in EXPORTED]
