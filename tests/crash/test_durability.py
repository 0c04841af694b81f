"""What a 201 promises survives a power cut: before Arca answers, the blob's bytes, its name
in the store and the metadata that records it are on disk (fsync'd), in that order.

A kill -9 cannot show this (the page cache outlives the process), so the server runs under
strace, and the test reads the order of the syscalls that make a push durable: the upload
file synced, renamed into blobs/, its directory synced, the metadata's WAL synced, and only
then the 201 sent.
"""
import hashlib
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


def digest_of(data, algo="sha256"):
    return f"{algo}:" + hashlib.new(algo, data).hexdigest()


class Traced:
    """arca serve under strace; lines() is the syscall record, in completion order."""

    def __init__(self):
        if not shutil.which("strace"):
            pytest.fail("strace is missing: scripts/deps.sh test installs it")
        self.dir = tempfile.mkdtemp(prefix="arca-durable-")
        self.port = free_port()
        self.trace = os.path.join(self.dir, "trace")
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-y", "-s", "48", "-e", "signal=none",
             "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,sendto,sendmsg,write,writev",
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


@pytest.fixture(scope="module")
def traced():
    t = Traced()
    yield t
    t.stop()
    t.cleanup()


def answers(traced):
    return sum(1 for _, l in traced.lines() if socket_write(l) and "HTTP/1.1 201" in l)


def await_answers(traced, n):
    """strace writes a call's line after it returns, so after the client has its answer:
    wait for the nth 201 to reach the trace."""
    deadline = time.time() + 30 * SCALE
    while answers(traced) < n:
        assert time.time() < deadline, "the 201 never reached the trace (a hang)"
        time.sleep(0.05)


def socket_write(line):
    return re.search(r"(sendto|sendmsg|write|writev)\(\d+<(TCP|socket)", line) is not None


def synced(line):
    """The path fsync'd or fdatasync'd by a completed call, or None."""
    m = re.match(r"^\d+ +(fsync|fdatasync)\(\d+<([^>]*)>\)\s+= 0", line)
    return m.group(2) if m else None


def answer_index(lines, status_text, start):
    for i in range(start, len(lines)):
        kind, line = lines[i]
        if socket_write(line) and status_text in line:
            return i
    return None


def check_blob_durable(lines, digest):
    algo, hexpart = digest.split(":")
    target = f"/blobs/{algo}/{hexpart[:2]}/{hexpart}"
    renames = [i for i, (k, l) in enumerate(lines)
               if k == "done" and re.match(r"^\d+ +rename", l) and target + '"' in l and "= 0" in l]
    assert renames, f"no rename into {target} in the trace"
    r = renames[-1]
    source = re.search(r'"([^"]+)"', lines[r][1]).group(1)
    before = [synced(l) for k, l in lines[:r] if k == "done"]
    assert source in before, f"the upload file {source} was not synced before its rename"
    answer = answer_index(lines, "HTTP/1.1 201", r)
    assert answer is not None, "no 201 sent after the rename"
    between = [synced(l) for k, l in lines[r + 1:answer] if k == "done"]
    directory = os.path.dirname(lines[r][1].split('"')[-2])
    assert directory in between, f"{directory} was not synced between the rename and the 201"
    assert any(p and p.endswith(("meta.db-wal", "meta.db")) for p in between), \
        "the metadata recording the blob was not synced before the 201"
    return answer


def test_monolithic_push_is_durable_before_its_201(traced):
    for algo in ("sha256", "sha512"):
        data = os.urandom(5000) + algo.encode()
        d = digest_of(data, algo)
        n = answers(traced)
        r = requests.post(f"{traced.url}/v2/dur/mono/blobs/uploads/?digest={d}", data=data,
                          headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, r.text
        await_answers(traced, n + 1)
        check_blob_durable(traced.lines(), d)


def test_chunked_push_is_durable_before_its_201(traced):
    data = os.urandom(70000)
    d = digest_of(data)
    n = answers(traced)
    r = requests.post(f"{traced.url}/v2/dur/chunked/blobs/uploads/")
    assert r.status_code == 202
    loc = r.headers["Location"]
    loc = loc if loc.startswith("http") else traced.url + loc
    r = requests.patch(loc, data=data[:40000], headers={
        "Content-Type": "application/octet-stream", "Content-Range": "0-39999"})
    assert r.status_code == 202, r.text
    loc = r.headers["Location"]
    loc = loc if loc.startswith("http") else traced.url + loc
    sep = "&" if "?" in loc else "?"
    r = requests.put(f"{loc}{sep}digest={d}", data=data[40000:],
                     headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    await_answers(traced, n + 1)
    check_blob_durable(traced.lines(), d)


def test_manifest_put_is_durable_before_its_201(traced):
    config = b'{"durable":true}'
    cd = digest_of(config)
    n = answers(traced)
    assert requests.post(f"{traced.url}/v2/dur/m/blobs/uploads/?digest={cd}", data=config,
                         headers={"Content-Type": "application/octet-stream"}).status_code == 201
    await_answers(traced, n + 1)
    mark = len(traced.lines())
    manifest = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                '"config":{"mediaType":"application/vnd.oci.image.config.v1+json",'
                f'"digest":"{cd}","size":{len(config)}}},"layers":[]}}').encode()
    r = requests.put(f"{traced.url}/v2/dur/m/manifests/v1", data=manifest,
                     headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    await_answers(traced, n + 2)
    lines = traced.lines()
    answer = answer_index(lines, "HTTP/1.1 201", mark)
    assert answer is not None, "no 201 for the manifest in the trace"
    between = [synced(l) for k, l in lines[mark:answer] if k == "done"]
    assert any(p and p.endswith(("meta.db-wal", "meta.db")) for p in between), \
        "the manifest's metadata was not synced before its 201"
