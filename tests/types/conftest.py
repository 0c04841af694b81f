"""Fixtures for the artifact-types suite (issue 4, contract: docs/arca-api.md).

`arca` is one server with the default (open) policy shared by the identification and discovery
tests, each working in its own repositories; `make_arca` starts a server of a test's own with
a policy file, operator type files and flags written into its root before it starts.
"""
import pytest

from testkit import Server, repo_namer, write_server_files
from typelib import Arca, Runner


class TypesServer(Server):
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


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return Runner(str(tmp_path_factory.mktemp("types-env")))


def _start(root, policy=None, types=None, extra_args=(), listen=None):
    write_server_files(root, policy=policy, types=types)
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


@pytest.fixture
def repo(request):
    """A fresh, grammar-valid repository name per call: repo() or repo("charts")."""
    def make(prefix="t"):
        return repo_namer(request.node.name, prefix, limit=30)()
    return make
