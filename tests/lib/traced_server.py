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

from arca_server import START_LINE_RE, arca_bin, assert_no_sanitizer_report, sanitizer_env

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))


class Traced:
    """arca serve under strace; lines() is the syscall record, in completion order."""

    def __init__(self, calls):
        if not shutil.which("strace"):
            pytest.fail("strace is missing: scripts/deps.sh test installs it")
        self.dir = tempfile.mkdtemp(prefix="arca-durable-")
        self.trace = os.path.join(self.dir, "trace")
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-y", "-s", "48", "-e", "signal=none", "-e", "trace=" + calls,
             "-o", self.trace, arca_bin(), "serve", "--addr", "127.0.0.1:0",
             "--root", os.path.join(self.dir, "data"), "--access-log", "false"],
            stdout=self.log, stderr=subprocess.STDOUT, # LeakSanitizer cannot run under ptrace; every other suite checks leaks.
            env=sanitizer_env(dict(os.environ, ASAN_OPTIONS="detect_leaks=0")))
        deadline = time.time() + 60 * SCALE
        self.url = None
        while self.url is None and time.time() < deadline:  # the port the kernel chose
            with open(os.path.join(self.dir, "log"), "rb") as f:
                m = START_LINE_RE.search(f.read())
            if m:
                self.url = f"http://127.0.0.1:{int(m.group(2))}"
            else:
                time.sleep(0.05)
        while self.url and time.time() < deadline:
            try:
                if requests.get(self.url + "/v2/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop(check=False)
        pytest.fail("arca under strace did not become ready (a hang)")

    def server_pid(self):
        # strace's child: a SIGTERM to strace itself would detach and leave arca running.
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return int(f.read().split()[0])

    def stop(self, check=True):
        """SIGTERM to arca; with check, its exit (strace exits with its tracee's status) must
        be clean and its log free of sanitizer reports, as for every test server."""
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
        if check:
            with open(os.path.join(self.dir, "log"), "rb") as f:
                text = f.read().decode("utf-8", "replace")
            assert_no_sanitizer_report(text, "arca under strace")
            assert self.proc.returncode == 0, f"arca under strace exited {self.proc.returncode}"

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
