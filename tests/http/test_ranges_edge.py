"""Range edge cases over HTTP (issue 10, "Coverage"; RFC 9110 §14 and §13.1.5):

* HEAD with a Range: range handling is defined for GET only, so HEAD answers as without one
  (200, the whole Content-Length, no Content-Range, no body);
* `bytes=-0`: a suffix of zero bytes is unsatisfiable: 416 with `Content-Range: bytes */size`;
* `If-Range`: with the blob's own (strong) ETag the Range is honoured (206); with another
  entity-tag, a weak one, or a date (Arca sends no Last-Modified, so no date can match), the
  Range is ignored and the whole blob is sent (200);
* offsets above 4 GiB, on a sparse blob file.

The > 4 GiB blob. Pushing 4 GiB through the API would take minutes and 4 GiB of disk, so the
test lays the blob out as an upload's last step does (FsBlobStore::CommitUpload names the
file blobs/sha256/<2 hex>/<hex>; SqliteMetaStore::LinkBlob records it in `blobs` and links it
in `repository_blobs`): a sparse file with a few marked spans, and the two rows, written while
the server is stopped. Its digest is the real sha256 of those bytes (a constant computed once:
hashing 4 GiB here would cost a minute), so the store is consistent, and only the serving
path is under test: HEAD, Content-Length, ranges and Content-Range beyond 32 bits.
"""
import hashlib
import os
import sqlite3
import time
import uuid

import pytest

from arca_server import ArcaServer
from ocihttp import Registry, assert_error, assert_status, describe, random_bytes

SIZE = 100_000


@pytest.fixture
def blob(reg, repo):
    data = random_bytes(SIZE)
    digest = reg.push_blob(repo, data)
    return repo, data, digest


def url(repo, digest):
    return f"/v2/{repo}/blobs/{digest}"


# ------------------------------------------------------------------------ HEAD + Range

@pytest.mark.parametrize("spec", ["bytes=0-9", "bytes=-10", "bytes=10-", f"bytes={SIZE}-",
                                  "bytes=-0"])
def test_head_with_range_answers_as_without(reg, blob, spec):
    repo, data, digest = blob
    r = reg.head(url(repo, digest), headers={"Range": spec})
    assert r.status_code == 200, describe(r)
    assert r.headers.get("Content-Length") == str(SIZE), describe(r)
    assert "Content-Range" not in r.headers, describe(r)
    assert r.content == b""
    assert r.headers.get("Docker-Content-Digest") == digest
    assert r.headers.get("Accept-Ranges") == "bytes"


# ------------------------------------------------------------------------- bytes=-0

@pytest.mark.parametrize("spec", ["bytes=-0", "bytes=-00", "bytes= -0"])
def test_empty_suffix_is_unsatisfiable(reg, blob, spec):
    repo, data, digest = blob
    r = reg.get(url(repo, digest), headers={"Range": spec})
    assert_error(r, 416)
    assert r.headers.get("Content-Range") == f"bytes */{SIZE}", describe(r)


def test_suffix_edges(reg, blob):
    repo, data, digest = blob
    for n, first in ((1, SIZE - 1), (SIZE, 0), (SIZE + 1, 0), (10 ** 18, 0)):
        r = reg.get(url(repo, digest), headers={"Range": f"bytes=-{n}"})
        assert_status(r, 206)
        assert r.content == data[first:], n
        assert r.headers.get("Content-Range") == f"bytes {first}-{SIZE - 1}/{SIZE}", describe(r)


# -------------------------------------------------------------------------- If-Range

def test_if_range_with_the_blobs_etag_honours_the_range(reg, blob):
    repo, data, digest = blob
    etag = reg.head(url(repo, digest)).headers["ETag"]
    r = reg.get(url(repo, digest), headers={"Range": "bytes=100-199", "If-Range": etag})
    assert_status(r, 206)
    assert r.content == data[100:200]
    assert r.headers.get("Content-Range") == f"bytes 100-199/{SIZE}", describe(r)


@pytest.mark.parametrize("validator", [
    '"sha256:0000000000000000000000000000000000000000000000000000000000000000"',
    "other",
    "W/{etag}",                                   # weak: If-Range needs a strong match
    "Tue, 01 Dec 2026 00:00:00 GMT",              # a date: Arca sends no Last-Modified
])
def test_if_range_that_does_not_match_sends_the_whole_blob(reg, blob, validator):
    repo, data, digest = blob
    etag = reg.head(url(repo, digest)).headers["ETag"]
    r = reg.get(url(repo, digest), headers={"Range": "bytes=100-199",
                                            "If-Range": validator.format(etag=etag)})
    assert r.status_code == 200, \
        "RFC 9110 13.1.5: a false If-Range condition means the Range is ignored" + describe(r)
    assert r.content == data and "Content-Range" not in r.headers, describe(r)
    assert r.headers.get("Content-Length") == str(SIZE)


def test_if_range_without_range_is_ignored(reg, blob):
    repo, data, digest = blob
    r = reg.get(url(repo, digest), headers={"If-Range": '"nope"'})
    assert_status(r, 200)
    assert r.content == data


def test_if_range_mismatch_beats_an_unsatisfiable_range(reg, blob):
    """The Range is ignored as a whole, so even one that could not be satisfied is no 416."""
    repo, data, digest = blob
    r = reg.get(url(repo, digest), headers={"Range": f"bytes={SIZE}-", "If-Range": '"nope"'})
    assert r.status_code == 200 and r.content == data, describe(r)


# ---------------------------------------------------------------- beyond 4 GiB (sparse)

GIB4 = 1 << 32
BIG_SIZE = GIB4 + (1 << 20)
MARKS = {                         # offset -> bytes; everything else is zero (holes)
    0: b"ARCA-sparse-head",
    GIB4 - 8: b"across-4GiB-line",
    GIB4 + 4096: b"beyond-4GiB-mark",
    BIG_SIZE - 16: b"ARCA-sparse-tail",
}
# sha256 of the bytes above (make_sparse); computed once by big_digest() below.
BIG_DIGEST = "sha256:68f4fd4a9025f491dd93c494bb521d2906257a008bc964ca696e6b7c3bd7413e"


def big_digest():
    """What BIG_DIGEST was computed with (a minute of CPU; not run by the tests)."""
    h = hashlib.sha256()
    pos, zeros = 0, bytes(1 << 24)
    for off, mark in sorted(MARKS.items()):
        while pos < off:
            n = min(len(zeros), off - pos)
            h.update(zeros[:n])
            pos += n
        h.update(mark)
        pos += len(mark)
    while pos < BIG_SIZE:
        n = min(len(zeros), BIG_SIZE - pos)
        h.update(zeros[:n])
        pos += n
    return "sha256:" + h.hexdigest()


def expected(first, last):
    """The bytes of [first, last] of the sparse blob."""
    out = bytearray(last - first + 1)
    for off, mark in MARKS.items():
        for i, b in enumerate(mark):
            if first <= off + i <= last:
                out[off + i - first] = b
    return bytes(out)


def make_sparse(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(BIG_SIZE)
        for off, mark in MARKS.items():
            f.seek(off)
            f.write(mark)
    st = os.stat(path)
    assert st.st_size == BIG_SIZE
    assert st.st_blocks * 512 < 64 << 20, "the filesystem does not keep the file sparse"


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("sparse") / "root")
    os.makedirs(root)
    srv = ArcaServer(root=root, extra_args=["--gc-interval", "0"])
    srv.start()
    reg = Registry(srv.url)
    repo = f"sparse/r-{uuid.uuid4().hex[:8]}"
    reg.push_blob(repo, b"makes the repository")
    assert srv.stop() == 0
    hexd = BIG_DIGEST.split(":", 1)[1]
    make_sparse(os.path.join(root, "blobs", "sha256", hexd[:2], hexd))
    db = sqlite3.connect(os.path.join(root, "meta.db"))
    with db:
        now = int(time.time())
        (rid,) = db.execute("SELECT id FROM repositories WHERE name = ?", (repo,)).fetchone()
        db.execute("INSERT INTO blobs(digest, size, created_at) VALUES(?, ?, ?)",
                   (BIG_DIGEST, BIG_SIZE, now))
        db.execute("INSERT INTO repository_blobs(repository_id, digest, created_at) "
                   "VALUES(?, ?, ?)", (rid, BIG_DIGEST, now))
    db.close()
    srv.start()
    yield srv, Registry(srv.url), repo
    alive = srv.proc is not None and srv.proc.poll() is None
    srv.cleanup()
    assert alive, f"arca died; log: {srv.log_path}"


@pytest.mark.local_disk  # a sparse blob file written under the root
def test_head_of_a_blob_above_4_gib(big):
    srv, reg, repo = big
    r = reg.head(url(repo, BIG_DIGEST))
    assert r.status_code == 200, describe(r)
    assert r.headers.get("Content-Length") == str(BIG_SIZE), describe(r)
    r = reg.head(url(repo, BIG_DIGEST), headers={"Range": f"bytes={GIB4}-"})
    assert r.status_code == 200 and r.headers.get("Content-Length") == str(BIG_SIZE), describe(r)


@pytest.mark.local_disk  # a sparse blob file written under the root
@pytest.mark.parametrize("first,last", [
    (GIB4 - 8, GIB4 + 7),                  # across the 32-bit line
    (GIB4 + 4096, GIB4 + 4096 + 15),       # wholly above it
    (GIB4 + 4000, GIB4 + 4200),
    (GIB4, GIB4),                          # one byte at exactly 4 GiB
    (0, 15),                               # below, on the same blob
])
def test_ranges_above_4_gib(big, first, last):
    srv, reg, repo = big
    r = reg.get(url(repo, BIG_DIGEST), headers={"Range": f"bytes={first}-{last}"})
    assert r.status_code == 206, describe(r)
    assert r.headers.get("Content-Range") == f"bytes {first}-{last}/{BIG_SIZE}", describe(r)
    assert r.headers.get("Content-Length") == str(last - first + 1)
    assert r.content == expected(first, last)


@pytest.mark.local_disk  # a sparse blob file written under the root
def test_open_and_suffix_ranges_above_4_gib(big):
    srv, reg, repo = big
    first = BIG_SIZE - 100
    r = reg.get(url(repo, BIG_DIGEST), headers={"Range": f"bytes={first}-"})
    assert r.status_code == 206, describe(r)
    assert r.headers.get("Content-Range") == f"bytes {first}-{BIG_SIZE - 1}/{BIG_SIZE}"
    assert r.content == expected(first, BIG_SIZE - 1)
    assert r.content.endswith(b"ARCA-sparse-tail")
    r = reg.get(url(repo, BIG_DIGEST), headers={"Range": "bytes=-16"})
    assert r.status_code == 206 and r.content == b"ARCA-sparse-tail", describe(r)
    assert r.headers.get("Content-Range") == f"bytes {BIG_SIZE - 16}-{BIG_SIZE - 1}/{BIG_SIZE}"
    # last beyond the end is clipped to it
    r = reg.get(url(repo, BIG_DIGEST), headers={"Range": f"bytes={BIG_SIZE - 4}-{BIG_SIZE * 2}"})
    assert r.status_code == 206 and r.content == b"tail", describe(r)


@pytest.mark.local_disk  # a sparse blob file written under the root
def test_if_range_and_unsatisfiable_above_4_gib(big):
    srv, reg, repo = big
    etag = reg.head(url(repo, BIG_DIGEST)).headers["ETag"]
    spec = f"bytes={GIB4 + 4096}-{GIB4 + 4096 + 15}"
    r = reg.get(url(repo, BIG_DIGEST), headers={"Range": spec, "If-Range": etag})
    assert r.status_code == 206 and r.content == b"beyond-4GiB-mark", describe(r)
    for spec in (f"bytes={BIG_SIZE}-", f"bytes={BIG_SIZE + GIB4}-{BIG_SIZE + GIB4 + 1}",
                 "bytes=-0"):
        r = reg.get(url(repo, BIG_DIGEST), headers={"Range": spec})
        assert_error(r, 416)
        assert r.headers.get("Content-Range") == f"bytes */{BIG_SIZE}", describe(r)
    # a position that wraps to a small number in 32 bits must not serve those bytes
    r = reg.get(url(repo, BIG_DIGEST), headers={"Range": f"bytes={GIB4}-{GIB4 + 15}"})
    assert r.status_code == 206 and r.content == expected(GIB4, GIB4 + 15) != b"ARCA-sparse-head"
