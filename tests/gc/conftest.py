"""Fixtures for the garbage-collection suite (contract: docs/gc.md).

Every test starts servers of its own (`make_server`), since GC settings are per process;
the background schedule is off (`--gc-interval 0`) unless a test sets it.
"""
import os
import re
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from arca_server import ArcaServer  # noqa: E402
from gclib import Client  # noqa: E402


class GcServer(ArcaServer):
    def log_text(self):
        try:
            self._log.flush()
        except (AttributeError, ValueError):
            pass
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def start_server(root, extra_args=(), policy=None):
    os.makedirs(root, exist_ok=True)
    if policy is not None:
        with open(os.path.join(root, "policy.yaml"), "w") as f:
            f.write(policy)
    args = list(extra_args)
    if "--gc-interval" not in args:
        args = ["--gc-interval", "0"] + args
    srv = GcServer(root=root, extra_args=args)
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


def _slug(text, limit=30):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].strip("-") or "x"


@pytest.fixture
def repo(request):
    """repo() / repo("prefix") -> a fresh, grammar-valid repository name."""
    base = _slug(request.node.name)

    def make(prefix="gc"):
        return f"{prefix}/{base}-{uuid.uuid4().hex[:8]}"
    return make
