"""Fixtures for the artifact-types suite (issue 4, contract: docs/arca-api.md).

`arca` is one server with the default (open) policy shared by the identification and discovery
tests, each working in its own repositories; `make_arca` starts a server of a test's own with
a policy file, operator type files and flags written into its root before it starts.
"""
import os
import re
import shutil
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from arca_server import ArcaServer  # noqa: E402
import go_tools  # noqa: E402
from typelib import Arca, Runner  # noqa: E402


class TypesServer(ArcaServer):
    """ArcaServer that may listen on another address (e.g. 0.0.0.0 for non-loopback clients)."""

    def __init__(self, listen=None, **kw):
        super().__init__(**kw)
        self.listen = listen

    @property
    def addr(self):
        host = self.listen or "127.0.0.1"
        return f"{host}:{self.port}"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def log_text(self):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


@pytest.fixture(scope="session")
def go_bin():
    try:
        return go_tools.go_tools_bin()
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def tool(go_bin):
    """tool("oras") -> path of a Go client built by scripts/go-tools.sh, or of a system tool."""
    def find(name):
        p = os.path.join(go_bin, name)
        if os.access(p, os.X_OK):
            return p
        p = shutil.which(name)
        if not p:
            pytest.fail(f"{name} is not available (scripts/go-tools.sh / scripts/deps.sh)",
                        pytrace=False)
        return p
    return find


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return Runner(str(tmp_path_factory.mktemp("types-env")))


def _start(root, policy=None, types=None, extra_args=(), listen=None):
    os.makedirs(root, exist_ok=True)
    if policy is not None:
        with open(os.path.join(root, "policy.yaml"), "w") as f:
            f.write(policy)
    if types:
        os.makedirs(os.path.join(root, "types"), exist_ok=True)
        for name, content in types.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(root, "types", name), mode) as f:
                f.write(content)
    srv = TypesServer(root=root, extra_args=list(extra_args), listen=listen)
    srv.start()
    return srv


@pytest.fixture(scope="session")
def arca_server(tmp_path_factory):
    srv = _start(str(tmp_path_factory.mktemp("shared") / "root"))
    yield srv
    alive = srv.proc is not None and srv.proc.poll() is None
    srv.stop()
    assert alive, f"arca died during the types tests; log: {srv.log_path}"


@pytest.fixture(scope="session")
def arca(arca_server):
    return Arca(arca_server.url)


@pytest.fixture
def make_arca(tmp_path):
    """make_arca(policy=yaml_text, types={"x.json": ...}, extra_args=[...]) -> (server, client)."""
    started = []

    def make(policy=None, types=None, extra_args=(), listen=None, token=None):
        root = str(tmp_path / f"root{len(started)}")
        srv = _start(root, policy, types, extra_args, listen)
        started.append(srv)
        return srv, Arca(srv.url, token=token)
    yield make
    for srv in started:
        alive = srv.proc is not None and srv.proc.poll() is None
        srv.stop()
        assert alive, f"arca died during the test; log: {srv.log_path}"


def _slug(text, limit=30):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].strip("-") or "x"


@pytest.fixture
def repo(request):
    """A fresh, grammar-valid repository name per call: repo() or repo("charts")."""
    base = _slug(request.node.name)

    def make(prefix="t"):
        return f"{prefix}/{base}-{uuid.uuid4().hex[:8]}"
    return make
