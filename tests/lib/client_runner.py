"""Runs real client programs (skopeo, podman, oras, helm, ...) the way a user would, but with a
private HOME, XDG folders and TMPDIR under `root`, no proxies, no ambient registry credentials,
and a readable pytest failure when a command fails."""
import os
import subprocess

import pytest

from testkit import hang_guard

CMD_TIMEOUT = hang_guard(300)  # a command that runs longer hangs


class Runner:
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
            "HELM_CONFIG_HOME": os.path.join(root, "config", "helm"),
            "HELM_CACHE_HOME": os.path.join(root, "cache", "helm"),
            "HELM_DATA_HOME": os.path.join(root, "data", "helm"),
        })
        for var in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "CONTAINERS_REGISTRIES_CONF",
                    "HELM_REGISTRY_CONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                    "https_proxy"):
            self.env.pop(var, None)
        self.env["NO_PROXY"] = self.env["no_proxy"] = "127.0.0.1,localhost"

    def __call__(self, *args, check=True, timeout=CMD_TIMEOUT, cwd=None, input=None):
        args = [str(a) for a in args]
        proc = subprocess.run(args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout, cwd=cwd, input=input)
        if check and proc.returncode != 0:
            pytest.fail(f"command failed ({proc.returncode}): {' '.join(args)}\n"
                        f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}",
                        pytrace=False)
        return proc
