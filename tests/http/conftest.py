"""Fixtures for the black-box HTTP suite.

One `arca serve` per session (`server`/`reg`) shared by tests that each work in
their own, uniquely named repositories; `fresh_server`/`fresh_reg` start an empty
registry for the few tests that need an empty store (catalog, restart).
"""
import os
import uuid

import pytest

from arca_server import ArcaServer
from cluster import shared_server
import ocihttp
from ocihttp import Registry, sha256
from testkit import repo_namer


@pytest.fixture(scope="session")
def server():
    srv = shared_server()  # three replicas behind haproxy under ARCA_TEST_CLUSTER=3
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture(scope="session")
def reg(server):
    return Registry(server.url)


@pytest.fixture
def fresh_server():
    srv = ArcaServer()
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture
def fresh_reg(fresh_server):
    return Registry(fresh_server.url)


@pytest.fixture
def new_repo(request):
    """Returns a factory of unique, grammar-valid repository names for this test."""
    namer = repo_namer(request.node.name, "t")

    def make(suffix=""):
        name = namer(suffix)
        assert ocihttp.NAME_RE.match(name), name
        return name

    return make


@pytest.fixture
def repo(new_repo):
    return new_repo()


class Canary:
    """Content pushed once per session; bad-input tests prove it is still intact."""

    def __init__(self, reg):
        self.reg = reg
        self.repo = f"canary/store-{uuid.uuid4().hex[:8]}"
        self.blob = os.urandom(4096)
        self.blob_digest = reg.push_blob(self.repo, self.blob)
        self.image = ocihttp.push_image(reg, self.repo, ref="v1", n_layers=2)

    def check(self, server=None):
        if server is not None:
            assert server.proc is not None and server.proc.poll() is None, "arca process died"
        reg = self.reg
        r = reg.get("/v2/")
        assert r.status_code == 200, ocihttp.describe(r)
        r = reg.get(f"/v2/{self.repo}/blobs/{self.blob_digest}")
        assert r.status_code == 200 and sha256(r.content) == self.blob_digest, ocihttp.describe(r)
        for d, b in self.image.blobs.items():
            r = reg.get(f"/v2/{self.repo}/blobs/{d}")
            assert r.status_code == 200 and r.content == b, ocihttp.describe(r)
        for ref in ("v1", self.image.digest):
            r = reg.get(f"/v2/{self.repo}/manifests/{ref}")
            assert r.status_code == 200 and r.content == self.image.body, ocihttp.describe(r)
            assert r.headers.get("Docker-Content-Digest") == self.image.digest
        assert reg.tags(self.repo) == ["v1"]


@pytest.fixture(scope="session")
def canary(reg):
    return Canary(reg)
