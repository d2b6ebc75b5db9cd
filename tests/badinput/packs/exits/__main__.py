import os

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def exits(args, report):
    if args.resource_type == "aws:rds/instance:Instance":
        os._exit(3)  # the pack's process ends in the middle of a call


PolicyPack(name="exits-pack", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="exits", description="Ends its process (fixture).", validate=exits)])
