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
import time

import requests

from traced_server import traced_fixture

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))


def digest_of(data, algo="sha256"):
    return f"{algo}:" + hashlib.new(algo, data).hexdigest()


traced = traced_fixture("fsync,fdatasync,rename,renameat,renameat2,sendto,sendmsg,write,writev")


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
