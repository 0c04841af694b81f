"""Fixtures for the store suite: the store's resources, identity and self-checks
(README "Store identity", docs/gc.md "fsck").

Every test starts servers of its own (`make_server`) on roots of its own, since most tests
damage their store on purpose; the background GC schedule is off unless a test sets it.
The HTTP client and `arca` runners are the GC suite's (tests/gc/gclib.py).
"""
import os
import re
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "gc"))
sys.path.insert(0, HERE)

from arca_server import ArcaServer  # noqa: E402
from gclib import Client  # noqa: E402


class StoreServer(ArcaServer):
    def log_text(self):
        try:
            self._log.flush()
        except (AttributeError, ValueError):
            pass
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid


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
        srv = StoreServer(root=root, extra_args=args, env=env)
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


def _slug(text, limit=30):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].strip("-") or "x"


@pytest.fixture
def repo(request):
    """repo() / repo("prefix") -> a fresh, grammar-valid repository name."""
    base = _slug(request.node.name)

    def make(prefix="store"):
        return f"{prefix}/{base}-{uuid.uuid4().hex[:8]}"
    return make
