from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def raises(args, report):
    if args.resource_type == "aws:rds/instance:Instance":
        raise ValueError("s3ntinel-Secret-7f2c9a")  # a policy that quotes a value must not leak it


PolicyPack(name="crash-pack", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="raises", description="Raises (fixture).", validate=raises)])
