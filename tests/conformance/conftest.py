import os
import sys

import pytest

# tests/lib holds ArcaServer, shared by every black-box suite.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

import go_tools  # noqa: E402


@pytest.fixture(scope="session")
def go_tools_bin():
    """Bin dir of the Go clients (see tests/lib/go_tools.py)."""
    try:
        return go_tools.go_tools_bin()
    except RuntimeError as e:
        pytest.fail(str(e))
