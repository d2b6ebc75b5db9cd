"""Pulumi entry point. Kept at the root (no `main:` in Pulumi.yaml) so `infra` and `components` import as
top-level packages: pulumi/pulumi#7360."""

from infra.config import load_stack_config
from infra.stack import build_stack

build_stack(load_stack_config())
