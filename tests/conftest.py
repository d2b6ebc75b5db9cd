import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

# Every `rampart check` a test starts runs the engine, never a result an earlier test left in the stack cache
# (tests/engine/test_cache.py turns it back on for itself).
os.environ["RAMPART_NO_CACHE"] = "1"
# ...and starts its processes afresh: no warm server outlives the test run or links two tests
# (tests/engine/test_warm.py and the fault tests turn them on, each with its own runtime directory).
os.environ["RAMPART_WARM"] = "0"

# The bad-input harness's counts, summed over xdist workers (tests/badinput/tally_plugin.py).
pytest_plugins = ["tests.badinput.tally_plugin"]


@pytest.fixture(scope="session")
def policy_pack():
    """The real policy pack, started once per test worker, driven over the analyzer protocol."""
    from tests.support.pack import pack_session

    with pack_session() as pack:
        yield pack
