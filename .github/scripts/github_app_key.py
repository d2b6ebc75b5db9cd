"""Read a GitHub App's credentials from Secrets Manager and hand them to the next step as masked step outputs.

The secret holds {"appId": "...", "privateKey": "-----BEGIN ... KEY-----..."}. Every line of the key is masked
before anything else is printed, and the key goes to $GITHUB_OUTPUT (read by the token step's inputs only), never
to $GITHUB_ENV, where every later step and the Pulumi program would inherit it. Uses the AWS CLI the runner has,
under whichever role the job assumed (infrastructure for deploys, preview for previews and drift).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].startswith("arn:"):
        print("usage: github_app_key.py SECRET_ARN (the stack publishes it as a GitHub variable)", file=sys.stderr)
        return 2
    done = subprocess.run(
        ["aws", "secretsmanager", "get-secret-value", "--secret-id", argv[1], "--query", "SecretString",
         "--output", "text"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        # The CLI's message names the action and the resource; it never contains the value.
        print(f"::error::reading the GitHub App secret failed: {done.stderr.strip()}", file=sys.stderr)
        return 1
    try:
        app = json.loads(done.stdout)
        app_id, key = str(app["appId"]), str(app["privateKey"])
    except (ValueError, KeyError, TypeError):
        print("::error::the GitHub App secret must be JSON with appId and privateKey", file=sys.stderr)
        return 1
    for line in key.splitlines():
        if line.strip():
            print(f"::add-mask::{line}", flush=True)
    delimiter = uuid.uuid4().hex
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as outputs:
        outputs.write(f"app-id={app_id}\n")
        outputs.write(f"private-key<<{delimiter}\n{key}\n{delimiter}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
