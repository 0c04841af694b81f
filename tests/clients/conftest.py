"""Fixtures for the real-client tests: a running arca, images built locally with umoci,
and a sandboxed environment for the containers tools (skopeo, podman) and Go clients."""
import json
import os

import pytest

from cluster import shared_server
from client_helpers import OCI_INDEX, Layout, Runner, build_image, require_tool


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return Runner(str(tmp_path_factory.mktemp("client-env")))


@pytest.fixture(scope="session")
def arca():
    with shared_server() as srv:  # three replicas behind haproxy under ARCA_TEST_CLUSTER=3
        yield srv
        assert srv.proc is not None and srv.proc.poll() is None, \
            f"arca died during the client tests; log: {srv.log_path}"


@pytest.fixture(scope="session")
def layout(run, tmp_path_factory):
    """An OCI layout with tags amd64, arm64 (single-platform images) and multi (an index of both)."""
    require_tool("umoci")
    base = tmp_path_factory.mktemp("layout")
    src = base / "src"
    (src / "etc").mkdir(parents=True)
    (src / "hello.txt").write_text("hello from arca's client tests\n")
    (src / "etc" / "arca.conf").write_text("answer = 42\n")
    (src / "etc" / "motd").write_text("be kind\n")
    (src / "random-amd64.bin").write_bytes(os.urandom(700_000))
    (src / "random-arm64.bin").write_bytes(os.urandom(300_000))
    lay = Layout(str(base / "oci"))
    run("umoci", "init", "--layout", lay.path)
    build_image(run, lay, "amd64", "amd64",
                [(src / "hello.txt", "/hello.txt"), (src / "etc", "/etc"),
                 (src / "random-amd64.bin", "/opt/random.bin")], "amd64")
    build_image(run, lay, "arm64", "arm64",
                [(src / "hello.txt", "/hello.txt"),
                 (src / "random-arm64.bin", "/opt/random.bin")], "arm64")
    # a multi-platform index over the two, written by hand as umoci does not make indexes
    children = []
    for arch in ("amd64", "arm64"):
        d = lay.descriptor(arch)
        children.append({"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"],
                         "platform": {"architecture": arch, "os": "linux"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children,
                        "annotations": {"org.example.arca": "multi"}}, indent=2).encode()
    digest = lay.add_blob(index)
    lay.tag("multi", {"mediaType": OCI_INDEX, "digest": digest, "size": len(index)})
    return lay


@pytest.fixture(scope="session")
def podman(run, tmp_path_factory):
    require_tool("podman")
    store = tmp_path_factory.mktemp("podman")
    base = ["podman", "--root", store / "root", "--runroot", store / "runroot",
            "--storage-driver", "vfs", "--tmpdir", store / "tmp",
            "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def podman_run(*args, **kw):
        return run(*base, *args, **kw)
    yield podman_run
    podman_run("rmi", "--all", "--force", check=False)
