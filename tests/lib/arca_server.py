"""Starts a real `arca serve` on a free loopback port for black-box tests.

The binary comes from $ARCA_BIN (default: build/debug/arca at the repository top).
Each ArcaServer owns a data root; stop() ends the process (SIGTERM, or SIGKILL with
kill=True) and start() can bring it back on the same root and port.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
import http.client

REPO_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def arca_bin():
    return os.environ.get("ARCA_BIN", os.path.join(REPO_TOP, "build", "debug", "arca"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ArcaServer:
    def __init__(self, root=None, port=None, extra_args=(), env=None, preexec_fn=None):
        self._tmp = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="arca-test-")
            root = self._tmp.name
        self.root = root
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.preexec_fn = preexec_fn  # e.g. to lower the server's resource limits
        self.log_path = os.path.join(self.root, "..", os.path.basename(self.root) + ".log")

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.addr}"

    def start(self, timeout=20):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [arca_bin(), "serve", "--addr", self.addr, "--root", self.root, *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, env=self.env, preexec_fn=self.preexec_fn)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"arca exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/v2/")
                if c.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("arca did not become ready")

    def stop(self, kill=False, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        self.proc = None
        self._log.close()
        return rc

    def cleanup(self):
        self.stop()
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
