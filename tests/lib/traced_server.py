"""arca serve under strace, for tests that check which syscalls the server makes and in
what order (durability before an answer; disk reads off the event loop)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

from arca_server import arca_bin, free_port

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))


class Traced:
    """arca serve under strace; lines() is the syscall record, in completion order."""

    def __init__(self, calls):
        if not shutil.which("strace"):
            pytest.fail("strace is missing: scripts/deps.sh test installs it")
        self.dir = tempfile.mkdtemp(prefix="arca-durable-")
        self.port = free_port()
        self.trace = os.path.join(self.dir, "trace")
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-y", "-s", "48", "-e", "signal=none", "-e", "trace=" + calls,
             "-o", self.trace, arca_bin(), "serve", "--addr", f"127.0.0.1:{self.port}",
             "--root", os.path.join(self.dir, "data"), "--access-log", "false"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60 * SCALE
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/v2/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        pytest.fail("arca under strace did not become ready (a hang)")

    def server_pid(self):
        # strace's child: a SIGTERM to strace itself would detach and leave arca running.
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return int(f.read().split()[0])

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.server_pid(), signal.SIGTERM)
            except (OSError, IndexError, ValueError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60 * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail("arca under strace did not stop after SIGTERM (a hang)")
        self.log.close()

    def lines(self):
        # The unfinished/resumed halves of one call are joined by pid: a call counts as done
        # where its result appears.
        with open(self.trace, errors="replace") as f:
            raw = f.read().splitlines()
        pending, out = {}, []
        for line in raw:
            pid = line.split(" ", 1)[0]
            if line.endswith("<unfinished ...>"):
                pending[pid] = line[: -len("<unfinished ...>")].rstrip()
                out.append(("start", line))
                continue
            m = re.match(r"^(\d+) +<\.\.\. \w+ resumed>(.*)$", line)
            if m and pid in pending:
                out.append(("done", pending.pop(pid) + m.group(2)))
                continue
            out.append(("done", line))
        return out

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def traced_fixture(calls):
    """A module-scoped fixture: one traced server for the module, stopped and removed after."""
    @pytest.fixture(scope="module")
    def traced():
        t = Traced(calls)
        yield t
        t.stop()
        t.cleanup()
    return traced
