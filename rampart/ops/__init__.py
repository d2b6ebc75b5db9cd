"""Runtime operations over boto3: snapshot, migrate, deploy, smoke, verify (shared clients, outputs, reports)."""
