import sys

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def chatty(args, report):
    sys.stderr.write(f"debug: looked at {args.urn}\n" * 4000)  # ~0.5 MiB per resource, 8x a pipe's buffer
    sys.stderr.flush()


PolicyPack(name="chatty-pack", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="chatty", description="Writes to stderr (fixture).", validate=chatty)])
