import os
import subprocess

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def exits(args, report):
    if args.resource_type == "aws:rds/instance:Instance":
        # A child that inherits every descriptor it can and outlives the pack (a helper daemon, a forked worker).
        subprocess.Popen(["sleep", "15"], close_fds=False, stdout=subprocess.DEVNULL,  # noqa: S603, S607
                         stderr=subprocess.DEVNULL)
        os._exit(3)


PolicyPack(name="exits-leaving-child-pack", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="exits", description="Ends its process, leaving a child (fixture).",
                             validate=exits)])
