"""Fixtures for the hardening suite (issue 9): hostile input at every entry point.

One `arca serve` per session (`server`/`reg`) shared by tests that each work in their own,
uniquely named repositories; `make_server` starts a server of a test's own, with type files and
a policy written into its root before it starts. Every server is checked alive at the end of
the test that used it: a crash is a failure even when the test's own assertions passed.
"""
import pytest

from hardlib import HardeningServer
import ocihttp
from ocihttp import Registry
from testkit import repo_namer, write_server_files


def _assert_alive(srv):
    assert srv.proc is not None and srv.proc.poll() is None, \
        f"arca died (exit {srv.proc.returncode if srv.proc else '?'}); log: {srv.log_path}"


@pytest.fixture(scope="session")
def server():
    srv = HardeningServer()
    srv.start()
    yield srv
    alive = srv.proc is not None and srv.proc.poll() is None
    srv.cleanup()
    assert alive, f"arca died during the hardening tests; log: {srv.log_path}"


@pytest.fixture(scope="session")
def reg(server):
    return Registry(server.url)


@pytest.fixture
def alive(server):
    """alive() asserts the shared server still runs and answers /v2/."""
    def check():
        _assert_alive(server)
        r = Registry(server.url).get("/v2/")
        assert r.status_code == 200, ocihttp.describe(r)
    return check


@pytest.fixture
def make_server(tmp_path):
    """make_server(types={"x.json": text}, policy=yaml_text, extra_args=[...]) -> started server."""
    started = []

    def make(types=None, policy=None, extra_args=(), start=True):
        root = str(tmp_path / f"root{len(started)}")
        write_server_files(root, policy=policy, types=types)
        srv = HardeningServer(root=root, extra_args=list(extra_args))
        started.append(srv)
        if start:
            srv.start()
        return srv
    yield make
    for srv in started:
        alive = srv.proc is None or srv.proc.poll() is None
        srv.stop()
        assert alive, f"arca died during the test; log: {srv.log_path}"


@pytest.fixture
def repo(request):
    """A fresh, grammar-valid repository name per call: repo() or repo("suffix")."""
    namer = repo_namer(request.node.name, "h")

    def make(suffix=""):
        name = namer(suffix)
        assert ocihttp.NAME_RE.match(name), name
        return name
    return make
