import os
import subprocess
import sys

import pytest

# tests/lib holds ArcaServer, shared by every black-box suite.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from arca_server import REPO_TOP  # noqa: E402


@pytest.fixture(scope="session")
def go_tools_bin():
    """Bin dir of scripts/go-tools.sh (built on first use, cached across runs).

    $ARCA_TOOLS_BIN points at an already built bin dir and skips the script."""
    preset = os.environ.get("ARCA_TOOLS_BIN")
    if preset:
        return preset
    script = os.path.join(REPO_TOP, "scripts", "go-tools.sh")
    proc = subprocess.run(["bash", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        pytest.fail(f"scripts/go-tools.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]
