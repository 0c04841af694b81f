"""Helpers for the real-client tests: a sandboxed command runner and OCI image layouts."""
import json
import os
import shutil

import pytest

from client_runner import CMD_TIMEOUT, Runner  # noqa: F401  (tests/lib)
from testkit import OCI_INDEX, sha256_hex  # noqa: F401  (re-exported for the suites)


# Runner lives in tests/lib/client_runner.py, shared by every suite that runs clients.


def require_tool(name):
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} is not installed (scripts/deps.sh installs it)", pytrace=False)
    return path


# ---------------------------------------------------------------------------- OCI layouts

class Layout:
    """An OCI image layout on disk (what umoci builds and skopeo reads/writes)."""

    def __init__(self, path):
        self.path = path

    def index(self):
        with open(os.path.join(self.path, "index.json")) as f:
            return json.load(f)

    def blob(self, digest):
        algo, hexd = digest.split(":", 1)
        with open(os.path.join(self.path, "blobs", algo, hexd), "rb") as f:
            return f.read()

    def has_blob(self, digest):
        algo, hexd = digest.split(":", 1)
        return os.path.exists(os.path.join(self.path, "blobs", algo, hexd))

    def descriptor(self, ref):
        for d in self.index()["manifests"]:
            if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
                return d
        raise KeyError(f"{ref} not in {self.path}/index.json")

    def manifest(self, ref):
        return json.loads(self.blob(self.descriptor(ref)["digest"]))

    def closure(self, digest):
        """Every digest reachable from a manifest or index (itself included)."""
        out = [digest]
        doc = json.loads(self.blob(digest))
        for child in doc.get("manifests", []):
            out += self.closure(child["digest"])
        if "config" in doc:
            out.append(doc["config"]["digest"])
        out += [layer["digest"] for layer in doc.get("layers", [])]
        return out

    def add_blob(self, data):
        hexd = sha256_hex(data)
        with open(os.path.join(self.path, "blobs", "sha256", hexd), "wb") as f:
            f.write(data)
        return "sha256:" + hexd

    def tag(self, ref, descriptor):
        idx = self.index()
        desc = dict(descriptor)
        desc["annotations"] = {"org.opencontainers.image.ref.name": ref}
        idx["manifests"] = [d for d in idx["manifests"]
                            if d.get("annotations", {}).get(
                                "org.opencontainers.image.ref.name") != ref] + [desc]
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump(idx, f)


def build_image(run, layout, tag, arch, files, label):
    """umoci: an image with one layer per inserted file or directory."""
    run("umoci", "new", "--image", f"{layout.path}:{tag}")
    for src, dest in files:
        run("umoci", "insert", "--image", f"{layout.path}:{tag}", src, dest)
    run("umoci", "config", "--image", f"{layout.path}:{tag}", "--os", "linux",
        "--architecture", arch, "--config.cmd", "/hello.txt", "--config.env", f"ARCH={arch}",
        "--config.label", f"org.example.arca={label}", "--author", "arca tests")
