"""Fixtures for the hardening suite (issue 9): hostile input at every entry point.

One `arca serve` per session (`server`/`reg`) shared by tests that each work in their own,
uniquely named repositories; `make_server` starts a server of a test's own, with type files and
a policy written into its root before it starts. Every server is checked alive at the end of
the test that used it: a crash is a failure even when the test's own assertions passed.
"""
import os
import re
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "http"))  # ocihttp: the /v2/ client and checks
sys.path.insert(0, HERE)

from hardlib import HardeningServer  # noqa: E402
import ocihttp  # noqa: E402
from ocihttp import Registry  # noqa: E402


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
        os.makedirs(root, exist_ok=True)
        if policy is not None:
            with open(os.path.join(root, "policy.yaml"), "w") as f:
                f.write(policy)
        if types:
            os.makedirs(os.path.join(root, "types"), exist_ok=True)
            for name, content in types.items():
                with open(os.path.join(root, "types", name), "wb" if isinstance(content, bytes) else "w") as f:
                    f.write(content)
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


def _slug(text, limit=40):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].strip("-") or "x"


@pytest.fixture
def repo(request):
    """A fresh, grammar-valid repository name per call: repo() or repo("suffix")."""
    base = _slug(request.node.name)

    def make(suffix=""):
        name = f"h/{base}-{uuid.uuid4().hex[:8]}"
        if suffix:
            name += "/" + _slug(suffix, 20)
        assert ocihttp.NAME_RE.match(name), name
        return name
    return make
