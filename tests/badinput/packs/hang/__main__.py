import time

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def never_returns(args, report):
    if args.resource_type == "aws:rds/instance:Instance":
        time.sleep(3600)


PolicyPack(name="hang-pack", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="never-returns", description="Hangs (fixture).", validate=never_returns)])
