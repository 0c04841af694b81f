"""A blob that is not in the page cache is read in on a worker, never by sendfile on the
event loop, where a slow disk would stall every other connection of that loop (issue 9:
blocking work off the I/O threads). Read from an strace of the server."""
import hashlib
import os
import re
import subprocess
import time

import requests

from traced_server import SCALE, traced_fixture


traced = traced_fixture("readahead,sendfile")


def push(url, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = requests.post(f"{url}/v2/cold/r/blobs/uploads/?digest={d}", data=data,
                      headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    return d


def blob_path(t, digest):
    hexpart = digest.split(":")[1]
    return os.path.join(t.dir, "data", "blobs", "sha256", hexpart[:2], hexpart)


def cached_bytes(path):
    """How much of the file is in the page cache (util-linux fincore, which uses mincore)."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip() or 0)


def evict(path):
    """Drops the file from the page cache. The kernel may keep pages a moment (writeback just
    finished, a readahead still in flight): tried until fincore sees none, as the test's
    precondition, which fails loudly rather than test nothing."""
    deadline = time.time() + 30 * SCALE
    while True:
        with open(path, "rb") as f:
            os.fsync(f.fileno())
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        if cached_bytes(path) == 0:
            return
        assert time.time() < deadline, f"{path} stays in the page cache: cannot test a cold read"
        time.sleep(0.1)


def calls_on(t, name, path):
    """(pid, offset) of each completed call `name` on the file at path."""
    out = []
    for kind, line in t.lines():
        m = re.match(rf"^(\d+) +{name}\((\d+)<([^>]*)>, (\d+)<([^>]*)>", line)
        if name == "sendfile" and m and kind == "done" and m.group(5) == path:
            out.append(int(m.group(1)))
        m = re.match(rf"^(\d+) +{name}\((\d+)<([^>]*)>, (\d+)", line)
        if name == "readahead" and m and kind == "done" and m.group(3) == path:
            out.append(int(m.group(1)))
    return out


def settled_calls(t, name, path):
    """strace writes a call's line after it returns, possibly after the client has all the
    bytes: wait (bounded) for the line."""
    deadline = time.time() + 30 * SCALE
    while not (found := calls_on(t, name, path)) and time.time() < deadline:
        time.sleep(0.05)
    return found


def test_cold_blob_is_read_in_by_a_worker_then_sent_whole(traced):
    data = os.urandom(3 << 20)
    d = push(traced.url, data)
    path = blob_path(traced, d)
    evict(path)
    r = requests.get(f"{traced.url}/v2/cold/r/blobs/{d}")
    assert r.status_code == 200 and r.content == data
    readers = settled_calls(traced, "readahead", path)
    senders = settled_calls(traced, "sendfile", path)
    assert readers, "the cold blob was not read in before sending"
    assert senders, "the blob was not sent with sendfile"
    assert not set(readers) & set(senders), "the disk read ran on the event loop's thread"


def test_warm_blob_is_sent_without_a_detour(traced):
    data = os.urandom(1 << 20)
    d = push(traced.url, data)
    path = blob_path(traced, d)
    with open(path, "rb") as f:
        assert f.read() == data  # in the page cache now
    r = requests.get(f"{traced.url}/v2/cold/r/blobs/{d}")
    assert r.status_code == 200 and r.content == data
    assert settled_calls(traced, "sendfile", path)
    assert not calls_on(traced, "readahead", path)


def test_cold_range_reads_in_the_range(traced):
    data = os.urandom(2 << 20)
    d = push(traced.url, data)
    path = blob_path(traced, d)
    evict(path)
    r = requests.get(f"{traced.url}/v2/cold/r/blobs/{d}", headers={"Range": "bytes=1000000-1500000"})
    assert r.status_code == 206 and r.content == data[1000000:1500001]
    assert settled_calls(traced, "readahead", path)
