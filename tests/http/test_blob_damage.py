"""A damaged blob store: HEAD and GET of a blob must agree (issue 9, item 6).

A blob whose file is gone, or of another size than recorded, is BLOB_UNKNOWN to HEAD, GET and
ranged GET alike; a file cut short while it is being sent ends the connection before
Content-Length bytes, never padded or with other bytes. The store layout (one file per blob at
<root>/blobs/<alg>/<2 hex>/<hex>) is src/storage/fs/fs_blob_store.h's.
"""
import os
import socket

import pytest

from ocihttp import assert_error, assert_status, describe, random_bytes
from testkit import hang_guard

pytestmark = pytest.mark.local_disk  # damages blob files on disk

SIZE = 4096


def blob_file(root, digest):
    alg, hexd = digest.split(":", 1)
    return os.path.join(root, "blobs", alg, hexd[:2], hexd)


@pytest.fixture
def stored(reg, server, repo):
    data = random_bytes(SIZE)
    digest = reg.push_blob(repo, data)
    path = blob_file(server.root, digest)
    assert os.path.getsize(path) == SIZE, "the blob is stored where the layout says"
    return repo, data, digest, path


def assert_unknown_everywhere(reg, repo, digest):
    url = f"/v2/{repo}/blobs/{digest}"
    assert_error(reg.head(url), 404)
    assert_error(reg.get(url), 404, "BLOB_UNKNOWN")
    assert_error(reg.get(url, headers={"Range": "bytes=0-9"}), 404, "BLOB_UNKNOWN")
    assert_error(reg.get(url, headers={"Range": f"bytes={SIZE - 10}-"}), 404, "BLOB_UNKNOWN")


def test_deleted_blob_file_is_unknown_to_head_and_get(reg, stored):
    repo, data, digest, path = stored
    assert_status(reg.head(f"/v2/{repo}/blobs/{digest}"), 200)
    os.unlink(path)
    assert_unknown_everywhere(reg, repo, digest)


@pytest.mark.parametrize("keep", [0, 1, SIZE // 2, SIZE - 1])
def test_truncated_blob_file_is_unknown_to_head_and_get(reg, stored, keep):
    repo, data, digest, path = stored
    os.truncate(path, keep)
    assert_unknown_everywhere(reg, repo, digest)


def test_grown_blob_file_is_unknown_to_head_and_get(reg, stored):
    repo, data, digest, path = stored
    with open(path, "ab") as f:
        f.write(b"appended")
    assert_unknown_everywhere(reg, repo, digest)


def test_damage_is_logged(reg, server, stored):
    repo, data, digest, path = stored
    os.truncate(path, 10)
    assert_error(reg.head(f"/v2/{repo}/blobs/{digest}"), 404)
    with open(server.log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    assert f"DAMAGE: blob {digest}" in log, "a damaged blob must be logged loudly"


def test_intact_blob_still_served_whole_and_ranged(reg, stored):
    repo, data, digest, path = stored
    r = reg.get(f"/v2/{repo}/blobs/{digest}")
    assert_status(r, 200)
    assert r.content == data
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=100-199"})
    assert_status(r, 206)
    assert r.content == data[100:200], describe(r)


def test_blob_cut_short_while_sent_ends_the_connection(reg, server, repo):
    """The file passes the checks at open and is truncated during the send: the client gets
    fewer bytes than Content-Length, each of them the blob's own, and then the connection
    closes."""
    size = 32 << 20
    data = random_bytes(size)
    digest = reg.push_blob(repo, data)
    path = blob_file(server.root, digest)
    with socket.socket() as s:
        # A small receive buffer keeps the server blocked in its send, far from the end.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        s.settimeout(hang_guard(60))
        s.connect(("127.0.0.1", server.port))
        s.sendall(f"GET /v2/{repo}/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(65536)
            assert chunk, f"connection closed before the headers: {got!r}"
            got += chunk
        head, body = got.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200"), head
        lengths = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")
                   if ln.lower().startswith(b"content-length:")]
        assert lengths == [str(size).encode()], head
        os.truncate(path, 1 << 20)
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            body += chunk
            assert len(body) <= size
    assert len(body) < size, "a blob truncated during the send was sent whole"
    assert body == data[:len(body)], "bytes other than the blob's were sent"


def test_repeated_requests_for_one_damaged_blob_log_it_once(reg, server, stored):
    repo, data, digest, path = stored
    os.truncate(path, 10)
    for _ in range(30):
        assert_error(reg.head(f"/v2/{repo}/blobs/{digest}"), 404)
        assert_error(reg.get(f"/v2/{repo}/blobs/{digest}"), 404)
    with open(server.log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    # One line a minute per blob: a client retrying cannot flood the log.
    assert log.count(f"DAMAGE: blob {digest}") == 1
