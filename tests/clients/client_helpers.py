"""Helpers for the real-client tests: a sandboxed command runner and OCI image layouts."""
import hashlib
import json
import os
import shutil
import subprocess

import pytest


OCI_INDEX = "application/vnd.oci.image.index.v1+json"
CMD_TIMEOUT = 300


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


class Runner:
    """Runs client commands with a private HOME/XDG/TMPDIR and a readable failure message."""

    def __init__(self, root):
        self.root = root
        self.env = dict(os.environ)
        for d in ("home", "run", "tmp", "config", "data", "cache"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, "run"), 0o700)
        self.env.update({
            "HOME": os.path.join(root, "home"),
            "XDG_RUNTIME_DIR": os.path.join(root, "run"),
            "XDG_CONFIG_HOME": os.path.join(root, "config"),
            "XDG_DATA_HOME": os.path.join(root, "data"),
            "XDG_CACHE_HOME": os.path.join(root, "cache"),
            "TMPDIR": os.path.join(root, "tmp"),
            "NO_COLOR": "1",
        })
        for var in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "CONTAINERS_REGISTRIES_CONF"):
            self.env.pop(var, None)

    def __call__(self, *args, check=True, timeout=CMD_TIMEOUT, input=None):
        args = [str(a) for a in args]
        proc = subprocess.run(args, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            pytest.fail(f"command failed ({proc.returncode}): {' '.join(args)}\n"
                        f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}",
                        pytrace=False)
        return proc


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
