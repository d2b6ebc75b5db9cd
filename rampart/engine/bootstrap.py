"""Run in the program's own interpreter: `<program python> bootstrap.py <rampart package dir> <worker args...>`.

Makes Rampart's own modules importable there (the `rampart` package from its directory, nothing of Rampart's
site-packages), checks that the program's pulumi SDK is one the recorder supports, then runs
rampart.engine.worker, which reports back over the status pipe and result files as it does in Rampart's own
interpreter. Kept free of anything newer than the oldest Python a program may use, so an unsupported environment
still gets a message rather than a SyntaxError.
"""

import argparse
import importlib.util
import json
import os
import runpy
import sys

# The range the recorder works with: it needs MockMonitor.GetDeploymentInfo (3.256) and the SDK internals it
# replaces (settings.SETTINGS.outputs, the RPC manager); 4.x may change either.
SUPPORTED_PULUMI = ((3, 256), (4, 0))
SUPPORTED_PYTHON = (3, 11)


def _environment_problem():
    if sys.version_info < SUPPORTED_PYTHON:
        return "Python {}.{} (rampart check runs programs on Python >= 3.11)".format(*sys.version_info[:2])
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover (older than 3.8, already refused above)
        return "no importlib.metadata"
    try:
        installed = version("pulumi")
    except PackageNotFoundError:
        return "no pulumi package installed"
    numbers = tuple(int(part) for part in installed.split(".")[:2] if part.isdigit())
    low, high = SUPPORTED_PULUMI
    if not low <= numbers < high:
        return "pulumi {} (rampart check supports pulumi >= {}.{}, < {})".format(installed, *low, high[0])
    return None


def _report_to_every_stack(problem):
    # The worker's own protocol (rampart.engine.stack_runs.StackRuns): a result file, then `done <stack>`.
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--stack", action="append", default=[])
    parser.add_argument("--result-dir")
    parser.add_argument("--status-fd", type=int)
    args, _ = parser.parse_known_args()
    message = f"the program's environment ({sys.executable}) cannot run it: {problem}"
    status = os.fdopen(args.status_fd, "w", buffering=1)
    for stack in args.stack:
        result = {"error": {"kind": "usage", "message": message}}
        with open(os.path.join(args.result_dir, stack + ".json"), "w", encoding="utf-8") as handle:
            json.dump(result, handle)
        status.write(f"done {stack}\n")
    status.close()


def _load_rampart(package_dir):
    init = os.path.join(package_dir, "__init__.py")
    spec = importlib.util.spec_from_file_location("rampart", init, submodule_search_locations=[package_dir])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rampart"] = module
    spec.loader.exec_module(module)


def main():
    # This script's directory (rampart/engine) is sys.path[0]: leave it, or its modules shadow the program's.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    package_dir = sys.argv.pop(1)
    problem = _environment_problem()
    if problem is not None:
        _report_to_every_stack(problem)
        return 0
    _load_rampart(package_dir)
    sys.argv[0] = "rampart.engine.worker"
    runpy.run_module("rampart.engine.worker", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
