"""Blobs: GET / HEAD / DELETE /v2/<name>/blobs/<digest> (end-2, end-10), Range requests (RFC 9110)."""
import re

import pytest

from ocihttp import (assert_error, assert_status, bogus_digest, describe, random_bytes,
                     sha256, sha512, with_query)

SIZE = 1000


@pytest.fixture
def blob(reg, repo):
    data = random_bytes(SIZE)
    digest = reg.push_blob(repo, data)
    return repo, data, digest


def test_get_blob_returns_bytes_and_headers(reg, blob):
    repo, data, digest = blob
    r = reg.get(f"/v2/{repo}/blobs/{digest}")
    assert_status(r, 200)
    assert r.content == data
    assert r.headers.get("Docker-Content-Digest") == digest, describe(r)
    assert r.headers.get("Content-Length") == str(len(data)), describe(r)
    assert r.headers.get("ETag"), "blob GET must carry an ETag" + describe(r)
    assert re.fullmatch(r'(W/)?"[^"]+"', r.headers["ETag"]), "ETag must be a quoted entity-tag" + describe(r)
    assert r.headers.get("Accept-Ranges") == "bytes", describe(r)


def test_head_blob_has_headers_and_no_body(reg, blob):
    repo, data, digest = blob
    g = reg.get(f"/v2/{repo}/blobs/{digest}")
    r = reg.head(f"/v2/{repo}/blobs/{digest}")
    assert_status(r, 200)
    assert r.content == b""
    assert r.headers.get("Docker-Content-Digest") == digest, describe(r)
    assert r.headers.get("Content-Length") == str(len(data)), describe(r)
    assert r.headers.get("ETag") == g.headers.get("ETag"), describe(r)


def test_etag_differs_between_blobs(reg, repo):
    d1 = reg.push_blob(repo, random_bytes(10))
    d2 = reg.push_blob(repo, random_bytes(10))
    e1 = reg.head(f"/v2/{repo}/blobs/{d1}").headers.get("ETag")
    e2 = reg.head(f"/v2/{repo}/blobs/{d2}").headers.get("ETag")
    assert e1 and e2 and e1 != e2


def test_empty_blob(reg, repo):
    digest = reg.push_blob(repo, b"")
    assert digest == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    r = reg.get(f"/v2/{repo}/blobs/{digest}")
    assert_status(r, 200)
    assert r.content == b""
    assert r.headers.get("Content-Length") == "0"
    assert r.headers.get("Docker-Content-Digest") == digest
    # No byte of an empty representation can satisfy a range (RFC 9110 14.1.1).
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=0-0"})
    assert r.status_code in (416, 200), describe(r)
    if r.status_code == 200:
        assert r.content == b""


@pytest.mark.parametrize("spec,start,end", [
    ("bytes=0-9", 0, 9),
    ("bytes=10-19", 10, 19),
    ("bytes=990-", 990, SIZE - 1),
    ("bytes=0-", 0, SIZE - 1),
    ("bytes=-5", SIZE - 5, SIZE - 1),
    ("bytes=500-500", 500, 500),
    ("bytes=995-5000", 995, SIZE - 1),       # last-pos beyond the end is clipped
    ("bytes=-5000", 0, SIZE - 1),            # suffix longer than the blob: whole blob
])
def test_single_range(reg, blob, spec, start, end):
    repo, data, digest = blob
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": spec})
    assert_status(r, 206)
    assert r.content == data[start:end + 1]
    assert r.headers.get("Content-Range") == f"bytes {start}-{end}/{SIZE}", describe(r)
    assert r.headers.get("Content-Length") == str(end - start + 1), describe(r)


@pytest.mark.parametrize("spec", [f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=5000-6000"])
def test_unsatisfiable_range_is_416(reg, blob, spec):
    repo, data, digest = blob
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": spec})
    assert_error(r, 416)
    # RFC 9110 15.5.17: a 416 to a byte range SHOULD carry Content-Range: bytes */<size>.
    assert r.headers.get("Content-Range") == f"bytes */{SIZE}", describe(r)


def test_range_on_sha512_blob(reg, repo):
    data = random_bytes(300)
    digest = sha512(data)
    r = reg.post(f"/v2/{repo}/blobs/uploads/?digest={digest}", data=data,
                 headers={"Content-Type": "application/octet-stream"})
    assert_status(r, 201)
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=100-199"})
    assert_status(r, 206)
    assert r.content == data[100:200]
    r = reg.get(f"/v2/{repo}/blobs/{digest}")
    assert_status(r, 200)
    assert r.content == data
    assert r.headers.get("Docker-Content-Digest") == digest


def test_large_blob_roundtrip_and_middle_range(reg, repo):
    data = random_bytes(6 * 1024 * 1024 + 123)
    digest = reg.push_blob(repo, data)
    r = reg.get(f"/v2/{repo}/blobs/{digest}")
    assert_status(r, 200)
    assert sha256(r.content) == digest
    a, b = 3 * 1024 * 1024 - 7, 5 * 1024 * 1024 + 11
    r = reg.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": f"bytes={a}-{b}"})
    assert_status(r, 206)
    assert r.content == data[a:b + 1]


def test_unknown_blob_is_404_blob_unknown(reg, blob):
    repo, _, _ = blob
    d = bogus_digest()
    assert_error(reg.get(f"/v2/{repo}/blobs/{d}"), 404, "BLOB_UNKNOWN")
    assert_error(reg.head(f"/v2/{repo}/blobs/{d}"), 404)


def test_blob_in_unknown_repository_is_404(reg):
    d = bogus_digest()
    assert_error(reg.get(f"/v2/never/pushed/here/blobs/{d}"), 404, ("BLOB_UNKNOWN", "NAME_UNKNOWN"))


def test_blob_is_only_visible_in_repositories_that_hold_it(reg, blob, new_repo):
    repo, data, digest = blob
    other = new_repo("other")
    reg.push_blob(other, random_bytes(10))  # `other` exists, but never got this blob
    # distribution-spec: "If the blob is not found in the repository, ... 404".
    assert_error(reg.get(f"/v2/{other}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert_error(reg.head(f"/v2/{other}/blobs/{digest}"), 404)


def test_delete_blob(reg, blob):
    repo, data, digest = blob
    r = reg.delete(f"/v2/{repo}/blobs/{digest}")
    assert_status(r, 202)
    assert_error(reg.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert_error(reg.head(f"/v2/{repo}/blobs/{digest}"), 404)
    assert_error(reg.delete(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_delete_unknown_blob_is_404(reg, blob):
    repo, _, _ = blob
    assert_error(reg.delete(f"/v2/{repo}/blobs/{bogus_digest()}"), 404, "BLOB_UNKNOWN")


def test_delete_in_one_repo_keeps_other_repos_copy(reg, new_repo):
    a, b = new_repo("a"), new_repo("b")
    data = random_bytes(500)
    d = reg.push_blob(a, data)
    reg.push_blob(b, data)
    assert_status(reg.delete(f"/v2/{a}/blobs/{d}"), 202)
    assert_error(reg.get(f"/v2/{a}/blobs/{d}"), 404, "BLOB_UNKNOWN")
    r = reg.get(f"/v2/{b}/blobs/{d}")
    assert_status(r, 200)
    assert r.content == data


def test_blob_can_be_pushed_again_after_delete(reg, blob):
    repo, data, digest = blob
    assert_status(reg.delete(f"/v2/{repo}/blobs/{digest}"), 202)
    reg.push_blob(repo, data)
    assert reg.get_blob(repo, digest) == data


@pytest.mark.parametrize("bad", [
    "sha256:zzzz",
    "sha256:" + "g" * 64,
    "sha256:abc",                       # wrong length for sha256
    "sha256:" + "a" * 65,
    "sha512:" + "a" * 64,               # wrong length for sha512
    "sha256:",
    "notadigest",
    "SHA256:" + "a" * 64,               # algorithm must be lowercase
])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_malformed_digest_is_400_digest_invalid(reg, blob, bad, method):
    repo, _, _ = blob
    r = reg.request(method, f"/v2/{repo}/blobs/{bad}")
    assert_error(r, 400, "DIGEST_INVALID")


def test_head_malformed_digest_is_400(reg, blob):
    repo, _, _ = blob
    assert_error(reg.head(f"/v2/{repo}/blobs/sha256:zzzz"), 400)


def test_blob_location_from_upload_is_pullable(reg, repo):
    data = random_bytes(77)
    d = sha256(data)
    loc = reg.start_upload(repo)
    r = reg.put(with_query(loc, digest=d), data=data, headers={"Content-Type": "application/octet-stream"})
    assert_status(r, 201)
    g = reg.get(r.headers["Location"])
    assert_status(g, 200)
    assert g.content == data
