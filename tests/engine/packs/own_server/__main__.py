"""A pack that serves its Analyzer itself, not through PolicyPack: it takes its port before registering the
service, which rampart's pipe host cannot take over (rampart/engine/pack_host.py), so the engine speaks gRPC."""

import time
from concurrent import futures

import grpc
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer


def no_public_database(args, report):
    if args.resource_type == "aws:rds/instance:Instance" and args.props.get("publiclyAccessible"):
        report("database is public")


policies = [ResourceValidationPolicy(name="no-public-db", description="No public database (fixture).",
                                     validate=no_public_database)]
servicer = _PolicyAnalyzerServicer("own-server", "0.0.1", policies, EnforcementLevel.MANDATORY, None, None, None,
                                   None, None, None, None)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
port = server.add_insecure_port("127.0.0.1:0")
analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer, server)
server.start()
print(port, flush=True)
while True:
    time.sleep(3600)
