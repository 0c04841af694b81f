"""Fixtures every black-box suite may use. The helpers themselves live in tests/lib (on sys.path
through tests/pytest.ini): testkit for what all suites share, one module per kind of client."""
import os
import shutil

import pytest

import go_tools


@pytest.fixture(scope="session")
def go_tools_bin():
    """Bin dir of the Go clients built by scripts/go-tools.sh (see tests/lib/go_tools.py)."""
    try:
        return go_tools.go_tools_bin()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def tool(go_tools_bin):
    """tool("oras") -> path of a Go client built by scripts/go-tools.sh, or of a system tool."""
    def find(name):
        p = os.path.join(go_tools_bin, name)
        if os.access(p, os.X_OK):
            return p
        p = shutil.which(name)
        if not p:
            pytest.fail(f"{name} is not available (scripts/go-tools.sh / scripts/deps.sh)",
                        pytrace=False)
        return p
    return find
