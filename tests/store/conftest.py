"""Fixtures for the store suite: the store's resources, identity and self-checks
(README "Store identity", docs/gc.md "fsck").

Every test starts servers of its own (`make_server`) on roots of its own, since most tests
damage their store on purpose; the background GC schedule is off unless a test sets it.
The HTTP client and `arca` runners are the GC suite's (tests/lib/gclib.py).
"""
import os

import pytest

from gclib import Client
from testkit import Server, repo_namer


@pytest.fixture
def make_server(tmp_path):
    """make_server(extra_args=[...], env={...}, root=None, start=True) -> (server, client).
    A server the test left running must still be alive at the end (it did not crash)."""
    started = []

    def make(extra_args=(), env=None, root=None, start=True):
        root = root or str(tmp_path / f"root{len(started)}")
        os.makedirs(root, exist_ok=True)
        args = list(extra_args)
        if "--gc-interval" not in args:
            args = ["--gc-interval", "0"] + args
        srv = Server(root=root, extra_args=args, env=env)
        started.append(srv)
        if start:
            srv.start()
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
    def make(prefix="store"):
        return repo_namer(request.node.name, prefix, limit=30)()
    return make
