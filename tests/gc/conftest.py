"""Fixtures for the garbage-collection suite (contract: docs/gc.md).

Every test starts servers of its own (`make_server`), since GC settings are per process;
the background schedule is off (`--gc-interval 0`) unless a test sets it.
"""
import pytest

from gclib import Client
from testkit import Server, repo_namer, write_server_files


def start_server(root, extra_args=(), policy=None):
    write_server_files(root, policy=policy)
    args = list(extra_args)
    if "--gc-interval" not in args:
        args = ["--gc-interval", "0"] + args
    srv = Server(root=root, extra_args=args)
    srv.start()
    return srv


@pytest.fixture
def make_server(tmp_path):
    """make_server(extra_args=[...], policy=yaml) -> (server, client). A server the test left
    running must still be alive at the end (it did not crash)."""
    started = []

    def make(extra_args=(), policy=None):
        root = str(tmp_path / f"root{len(started)}")
        srv = start_server(root, extra_args, policy)
        started.append(srv)
        return srv, Client(srv.url)
    yield make
    dead = []
    for srv in started:
        if srv.proc is not None:
            if not srv.alive():
                dead.append(f"{srv.log_path} (exit {srv.proc.returncode})")
            srv.stop()
    assert not dead, f"arca died during the test; log: {dead}"


@pytest.fixture
def repo(request):
    """repo() / repo("prefix") -> a fresh, grammar-valid repository name."""
    def make(prefix="gc"):
        return repo_namer(request.node.name, prefix, limit=30)()
    return make
