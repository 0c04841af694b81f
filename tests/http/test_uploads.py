"""Blob uploads: POST (end-4a/4b/11), PATCH (end-5), PUT (end-6), GET status (end-13),
DELETE (end-14) under /v2/<name>/blobs/uploads/."""
import hashlib
import threading
import urllib.parse
import uuid

import pytest

from arca_server import ArcaServer
from testkit import hang_guard, run_threads
from ocihttp import (Registry, assert_error, assert_status, bogus_digest, describe,
                     location_path, random_bytes, sha256, sha512, with_query)

OCTET = {"Content-Type": "application/octet-stream"}


def _start(reg, repo):
    r = reg.post(f"/v2/{repo}/blobs/uploads/", data=b"")
    assert_status(r, 202)
    return r


def _chunk(reg, loc, data, start, headers=None):
    h = dict(OCTET)
    h["Content-Range"] = f"{start}-{start + len(data) - 1}"
    if headers:
        h.update(headers)
    return reg.patch(loc, data=data, headers=h)


def _status(reg, loc):
    return reg.get(loc)


def _min_chunk(resp, default):
    v = resp.headers.get("OCI-Chunk-Min-Length")
    return max(default, int(v)) if v else default


# ------------------------------------------------------------------ POST
def test_post_starts_session_with_relative_location_and_uuid(reg, repo):
    r = _start(reg, repo)
    loc = r.headers.get("Location")
    assert loc, describe(r)
    # Issue: relative Location with a session id.
    assert loc.startswith(f"/v2/{repo}/blobs/uploads/"), describe(r)
    uid = r.headers.get("Docker-Upload-UUID")
    assert uid, "POST must return Docker-Upload-UUID" + describe(r)
    assert uid in loc, describe(r)
    assert len(location_path(loc)) > len(f"/v2/{repo}/blobs/uploads/")


def test_each_post_gets_a_distinct_session(reg, repo):
    ids = {_start(reg, repo).headers["Docker-Upload-UUID"] for _ in range(5)}
    assert len(ids) == 5


def test_post_then_put_monolithic(reg, repo):
    data = random_bytes(2048)
    d = sha256(data)
    loc = _start(reg, repo).headers["Location"]
    r = reg.put(with_query(loc, digest=d), data=data, headers=OCTET)
    assert_status(r, 201)
    assert location_path(r.headers["Location"]) == f"/v2/{repo}/blobs/{d}", describe(r)
    assert r.headers.get("Docker-Content-Digest") == d, describe(r)
    assert reg.get_blob(repo, d) == data


def test_single_post_monolithic_upload(reg, repo):
    data = random_bytes(3000)
    d = sha256(data)
    r = reg.post(f"/v2/{repo}/blobs/uploads/?digest={d}", data=data, headers=OCTET)
    assert_status(r, 201)
    assert location_path(r.headers["Location"]) == f"/v2/{repo}/blobs/{d}", describe(r)
    assert r.headers.get("Docker-Content-Digest") == d, describe(r)
    g = reg.get(r.headers["Location"])
    assert_status(g, 200)
    assert g.content == data


def test_single_post_empty_blob(reg, repo):
    d = sha256(b"")
    r = reg.post(f"/v2/{repo}/blobs/uploads/?digest={d}", data=b"", headers=OCTET)
    assert_status(r, 201)
    assert reg.get_blob(repo, d) == b""


def test_single_post_wrong_digest_is_rejected_and_blob_absent(reg, repo):
    data = random_bytes(100)
    wrong = sha256(data + b"x")
    r = reg.post(f"/v2/{repo}/blobs/uploads/?digest={wrong}", data=data, headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not reg.blob_exists(repo, wrong)
    assert not reg.blob_exists(repo, sha256(data))


def test_pushing_same_blob_twice_is_fine(reg, repo):
    data = random_bytes(100)
    d1 = reg.push_blob(repo, data)
    d2 = reg.push_blob(repo, data)
    assert d1 == d2
    assert reg.get_blob(repo, d1) == data


# ------------------------------------------------------------------ PATCH
def test_streamed_patches_then_put_without_body(reg, repo):
    a, b = random_bytes(1500), random_bytes(700)
    loc = _start(reg, repo).headers["Location"]
    r = reg.patch(loc, data=a, headers=OCTET)
    assert_status(r, 202)
    assert r.headers.get("Range") == f"0-{len(a) - 1}", describe(r)
    assert r.headers.get("Location"), describe(r)
    loc = r.headers["Location"]
    r = reg.patch(loc, data=b, headers=OCTET)
    assert_status(r, 202)
    assert r.headers.get("Range") == f"0-{len(a) + len(b) - 1}", describe(r)
    loc = r.headers["Location"]
    d = sha256(a + b)
    r = reg.put(with_query(loc, digest=d))
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == d
    assert location_path(r.headers["Location"]) == f"/v2/{repo}/blobs/{d}"
    assert reg.get_blob(repo, d) == a + b


def test_streamed_patch_with_chunked_transfer_encoding(reg, repo):
    # Real clients (containers/image, used by skopeo and podman) stream PATCH bodies
    # of unknown length with Transfer-Encoding: chunked.
    parts = [random_bytes(1000), random_bytes(5000), random_bytes(1)]
    loc = _start(reg, repo).headers["Location"]
    r = reg.patch(loc, data=iter(parts), headers=OCTET)
    assert "Content-Length" not in r.request.headers
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert_status(r, 202)
    total = b"".join(parts)
    assert r.headers.get("Range") == f"0-{len(total) - 1}", describe(r)
    d = sha256(total)
    r = reg.put(with_query(r.headers["Location"], digest=d))
    assert_status(r, 201)
    assert reg.get_blob(repo, d) == total


def test_chunked_upload_with_content_range(reg, repo):
    start = _start(reg, repo)
    size = _min_chunk(start, 1024)
    chunks = [random_bytes(size) for _ in range(3)] + [random_bytes(17)]
    loc, off = start.headers["Location"], 0
    for c in chunks:
        r = _chunk(reg, loc, c, off)
        assert_status(r, 202)
        off += len(c)
        assert r.headers.get("Range") == f"0-{off - 1}", describe(r)
        assert r.headers.get("Location"), describe(r)
        loc = r.headers["Location"]
    data = b"".join(chunks)
    d = sha256(data)
    r = reg.put(with_query(loc, digest=d))
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == d
    assert reg.get_blob(repo, d) == data


def test_put_with_final_chunk_in_body_and_content_range(reg, repo):
    start = _start(reg, repo)
    first, last = random_bytes(_min_chunk(start, 800)), random_bytes(300)
    r = _chunk(reg, start.headers["Location"], first, 0)
    assert_status(r, 202)
    d = sha256(first + last)
    h = dict(OCTET, **{"Content-Range": f"{len(first)}-{len(first) + len(last) - 1}"})
    r = reg.put(with_query(r.headers["Location"], digest=d), data=last, headers=h)
    assert_status(r, 201)
    assert reg.get_blob(repo, d) == first + last


def test_put_with_final_chunk_in_body_without_content_range(reg, repo):
    first, last = random_bytes(900), random_bytes(100)
    loc = _start(reg, repo).headers["Location"]
    r = reg.patch(loc, data=first, headers=OCTET)
    assert_status(r, 202)
    d = sha256(first + last)
    r = reg.put(with_query(r.headers["Location"], digest=d), data=last, headers=OCTET)
    assert_status(r, 201)
    assert reg.get_blob(repo, d) == first + last


def test_out_of_order_chunk_is_416_and_upload_can_continue(reg, repo):
    start = _start(reg, repo)
    n = _min_chunk(start, 100)
    a, b = random_bytes(n), random_bytes(n)
    r = _chunk(reg, start.headers["Location"], a, 0)
    assert_status(r, 202)
    loc = r.headers["Location"]
    # A gap: the next chunk must start at len(a).
    r = _chunk(reg, loc, b, len(a) + 10)
    assert_error(r, 416)
    # The failed chunk changed nothing: status still reports only `a`.
    s = _status(reg, loc)
    assert_status(s, 204)
    assert s.headers.get("Range") == f"0-{len(a) - 1}", describe(s)
    r = _chunk(reg, s.headers.get("Location") or loc, b, len(a))
    assert_status(r, 202)
    d = sha256(a + b)
    r = reg.put(with_query(r.headers["Location"], digest=d))
    assert_status(r, 201)
    assert reg.get_blob(repo, d) == a + b


@pytest.mark.parametrize("offset_delta", [-50, -100])
def test_overlapping_chunk_is_416(reg, repo, offset_delta):
    a = random_bytes(100)
    r = _chunk(reg, _start(reg, repo).headers["Location"], a, 0)
    assert_status(r, 202)
    loc = r.headers["Location"]
    r = _chunk(reg, loc, random_bytes(100), len(a) + offset_delta)
    assert_error(r, 416)
    s = _status(reg, loc)
    assert_status(s, 204)
    assert s.headers.get("Range") == f"0-{len(a) - 1}", describe(s)


def test_first_chunk_not_starting_at_zero_is_416(reg, repo):
    loc = _start(reg, repo).headers["Location"]
    assert_error(_chunk(reg, loc, random_bytes(10), 5), 416)


def test_content_range_not_matching_content_length_is_size_invalid(reg, repo):
    loc = _start(reg, repo).headers["Location"]
    # Content-Range claims 10 bytes, the body (Content-Length) has 5.
    r = reg.patch(loc, data=random_bytes(5), headers=dict(OCTET, **{"Content-Range": "0-9"}))
    assert_error(r, 400, "SIZE_INVALID")


# ------------------------------------------------------------------ GET status
def test_upload_status_after_patch(reg, repo):
    data = random_bytes(1234)
    r = reg.patch(_start(reg, repo).headers["Location"], data=data, headers=OCTET)
    assert_status(r, 202)
    s = _status(reg, r.headers["Location"])
    assert_status(s, 204)
    assert s.content == b""
    assert s.headers.get("Range") == f"0-{len(data) - 1}", describe(s)
    assert s.headers.get("Location"), describe(s)


def test_upload_status_of_empty_upload(reg, repo):
    loc = _start(reg, repo).headers["Location"]
    s = _status(reg, loc)
    assert_status(s, 204)
    assert s.headers.get("Location"), describe(s)
    # Nothing uploaded yet: by convention "0-0" (docker/distribution) or "0--1".
    assert s.headers.get("Range") in ("0-0", "0--1"), describe(s)


def test_finished_session_is_gone(reg, repo):
    data = random_bytes(10)
    loc = _start(reg, repo).headers["Location"]
    assert_status(reg.put(with_query(loc, digest=sha256(data)), data=data, headers=OCTET), 201)
    assert_error(_status(reg, loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(reg.patch(loc, data=b"more", headers=OCTET), 404, "BLOB_UPLOAD_UNKNOWN")


# ------------------------------------------------------------------ PUT errors
def test_put_wrong_digest_is_400_and_blob_not_created(reg, repo):
    data = random_bytes(500)
    wrong = sha256(b"something else " + data)
    r = reg.patch(_start(reg, repo).headers["Location"], data=data, headers=OCTET)
    assert_status(r, 202)
    r = reg.put(with_query(r.headers["Location"], digest=wrong))
    assert_error(r, 400, "DIGEST_INVALID")
    assert not reg.blob_exists(repo, wrong)
    assert not reg.blob_exists(repo, sha256(data))


def test_wrong_content_for_an_existing_digest_is_still_rejected(reg, repo, new_repo):
    # The blob exists already (in this and in another repository): an upload that
    # claims its digest must still be verified, not short-circuited.
    real = random_bytes(300)
    d = reg.push_blob(repo, real)
    other = new_repo("other")
    fake = random_bytes(300)
    r = reg.patch(_start(reg, other).headers["Location"], data=fake, headers=OCTET)
    assert_status(r, 202)
    assert_error(reg.put(with_query(r.headers["Location"], digest=d)), 400, "DIGEST_INVALID")
    assert not reg.blob_exists(other, d)
    r = reg.post(f"/v2/{other}/blobs/uploads/?digest={d}", data=fake, headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not reg.blob_exists(other, d)
    assert reg.get_blob(repo, d) == real


def test_put_without_digest_is_400(reg, repo):
    loc = _start(reg, repo).headers["Location"]
    r = reg.put(loc, data=b"abc", headers=OCTET)
    assert_error(r, 400, ("DIGEST_INVALID", "BLOB_UPLOAD_INVALID"))


MALFORMED = [
    "sha256:xyz",
    "sha256:" + "G" * 64,
    "sha256:" + "0" * 63,
    "sha256",
    "sha256:",
    ":" + "0" * 64,
    "Sha256:" + "0" * 64,
    "sha256:" + "0" * 64 + "!",
    "sha512:" + "0" * 64,
    "sha256::" + "0" * 64,
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_put_malformed_digest_is_400_digest_invalid(reg, repo, bad):
    data = b"hello"
    loc = _start(reg, repo).headers["Location"]
    r = reg.put(with_query(loc, digest=bad), data=data, headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")


@pytest.mark.parametrize("bad", MALFORMED)
def test_single_post_malformed_digest_is_400_digest_invalid(reg, repo, bad):
    r = reg.post(with_query(f"/v2/{repo}/blobs/uploads/", digest=bad), data=b"hello", headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")


def test_unsupported_algorithm_is_a_clean_4xx(reg, repo):
    # Grammatical (descriptor.md) but not a registered algorithm: cannot be verified.
    bad = "md5:" + "0" * 32
    r = reg.post(with_query(f"/v2/{repo}/blobs/uploads/", digest=bad), data=b"hello", headers=OCTET)
    assert_error(r, 400, ("DIGEST_INVALID", "UNSUPPORTED"))


# ------------------------------------------------------------------ DELETE / unknown
def test_cancel_upload(reg, repo):
    loc = _start(reg, repo).headers["Location"]
    r = reg.patch(loc, data=random_bytes(100), headers=OCTET)
    assert_status(r, 202)
    loc = r.headers["Location"]
    assert_status(reg.delete(loc), 204)
    assert_error(_status(reg, loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(reg.patch(loc, data=b"x", headers=OCTET), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(reg.put(with_query(loc, digest=sha256(b"x"))), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(reg.delete(loc), 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_unknown_session_is_404_blob_upload_unknown(reg, repo, method):
    reg.push_blob(repo, b"make the repository exist")
    loc = f"/v2/{repo}/blobs/uploads/{uuid.uuid4()}"
    if method == "PUT":
        loc = with_query(loc, digest=sha256(b"x"))
    r = reg.request(method, loc, data=b"x" if method in ("PATCH", "PUT") else None,
                    headers=OCTET if method in ("PATCH", "PUT") else {})
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("sid", ["not-a-uuid", "0", "x" * 300])
def test_garbage_session_id_is_404(reg, repo, sid):
    reg.push_blob(repo, b"exists")
    assert_error(reg.get(f"/v2/{repo}/blobs/uploads/{sid}"), (404, 400), ("BLOB_UPLOAD_UNKNOWN",
                                                                          "BLOB_UPLOAD_INVALID"))


def test_session_belongs_to_its_repository(reg, new_repo):
    a, b = new_repo("a"), new_repo("b")
    reg.push_blob(b, b"b exists")
    r = _start(reg, a)
    uid = r.headers["Docker-Upload-UUID"]
    parts = urllib.parse.urlsplit(r.headers["Location"])
    assert parts.path.startswith(f"/v2/{a}/blobs/uploads/"), describe(r)
    foreign = urllib.parse.urlunsplit(parts._replace(path=parts.path.replace(f"/v2/{a}/", f"/v2/{b}/", 1)))
    assert uid in foreign
    assert_error(reg.get(foreign), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(reg.patch(foreign, data=b"x", headers=OCTET), 404, "BLOB_UPLOAD_UNKNOWN")
    # The session in `a` is untouched.
    s = _status(reg, r.headers["Location"])
    assert_status(s, 204)


# ------------------------------------------------------------------ sha512
def test_sha512_monolithic_and_chunked(reg, repo):
    data = random_bytes(4000)
    d = sha512(data)
    r = reg.post(f"/v2/{repo}/blobs/uploads/?digest={d}", data=data, headers=OCTET)
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == d
    assert location_path(r.headers["Location"]) == f"/v2/{repo}/blobs/{d}"
    assert reg.get_blob(repo, d) == data

    data2 = random_bytes(2500)
    d2 = sha512(data2)
    r = _chunk(reg, _start(reg, repo).headers["Location"], data2[:2000], 0)
    assert_status(r, 202)
    r = _chunk(reg, r.headers["Location"], data2[2000:], 2000)
    assert_status(r, 202)
    r = reg.put(with_query(r.headers["Location"], digest=d2))
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == d2
    assert reg.get_blob(repo, d2) == data2


def test_sha512_wrong_digest(reg, repo):
    data = random_bytes(100)
    r = reg.post(f"/v2/{repo}/blobs/uploads/?digest={sha512(data + b'!')}", data=data, headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not reg.blob_exists(repo, sha512(data))


# ------------------------------------------------------------------ mount
def test_mount_from_other_repository(reg, new_repo):
    src, dst = new_repo("src"), new_repo("dst")
    data = random_bytes(900)
    d = reg.push_blob(src, data)
    r = reg.post(f"/v2/{dst}/blobs/uploads/?mount={d}&from={src}", data=b"")
    assert_status(r, 201)
    assert location_path(r.headers["Location"]) == f"/v2/{dst}/blobs/{d}", describe(r)
    assert r.headers.get("Docker-Content-Digest") == d, describe(r)
    assert reg.get_blob(dst, d) == data
    g = reg.get(r.headers["Location"])
    assert_status(g, 200)
    assert g.content == data


def test_mount_of_missing_blob_falls_back_to_an_upload_session(reg, new_repo):
    src, dst = new_repo("src"), new_repo("dst")
    reg.push_blob(src, b"src exists")
    data = random_bytes(100)
    d = sha256(data)  # never pushed anywhere
    r = reg.post(f"/v2/{dst}/blobs/uploads/?mount={d}&from={src}", data=b"")
    assert_status(r, 202)
    loc = r.headers.get("Location")
    assert loc and location_path(loc).startswith(f"/v2/{dst}/blobs/uploads/"), describe(r)
    assert r.headers.get("Docker-Upload-UUID"), describe(r)
    assert not reg.blob_exists(dst, d)
    r = reg.put(with_query(loc, digest=d), data=data, headers=OCTET)
    assert_status(r, 201)
    assert reg.get_blob(dst, d) == data


def test_mount_from_repository_that_lacks_the_blob_does_not_leak(reg, new_repo):
    holder, src, dst = new_repo("holder"), new_repo("src"), new_repo("dst")
    data = random_bytes(64)
    d = reg.push_blob(holder, data)
    reg.push_blob(src, b"src exists without the blob")
    r = reg.post(f"/v2/{dst}/blobs/uploads/?mount={d}&from={src}", data=b"")
    # `from` lacks the blob. With automatic mounting the registry MAY still find it
    # (201); otherwise it opens an upload session (202).
    assert_status(r, (201, 202))
    if r.status_code == 201:
        assert reg.get_blob(dst, d) == data
    else:
        assert not reg.blob_exists(dst, d)


def test_mount_from_unknown_repository_is_202(reg, new_repo):
    dst = new_repo("dst")
    r = reg.post(f"/v2/{dst}/blobs/uploads/?mount={bogus_digest()}&from=no/such/repo", data=b"")
    assert_status(r, 202)
    assert location_path(r.headers.get("Location", "")).startswith(f"/v2/{dst}/blobs/uploads/"), describe(r)


def test_mount_without_from_when_blob_exists_elsewhere(reg, new_repo):
    src, dst = new_repo("src"), new_repo("dst")
    data = random_bytes(333)
    d = reg.push_blob(src, data)
    r = reg.post(f"/v2/{dst}/blobs/uploads/?mount={d}", data=b"")
    assert_status(r, 201)
    assert location_path(r.headers["Location"]) == f"/v2/{dst}/blobs/{d}"
    assert r.headers.get("Docker-Content-Digest") == d
    assert reg.get_blob(dst, d) == data


def test_mount_without_from_of_unknown_blob_is_202(reg, repo):
    r = reg.post(f"/v2/{repo}/blobs/uploads/?mount={bogus_digest()}", data=b"")
    assert_status(r, 202)
    assert location_path(r.headers.get("Location", "")).startswith(f"/v2/{repo}/blobs/uploads/"), describe(r)


def test_mount_with_malformed_digest_is_not_a_5xx(reg, new_repo):
    src, dst = new_repo("src"), new_repo("dst")
    reg.push_blob(src, b"x")
    r = reg.post(f"/v2/{dst}/blobs/uploads/?mount=sha256:nothex&from={src}", data=b"")
    # Either refuse the digest or ignore the mount and start a session.
    assert r.status_code in (400, 202), describe(r)
    if r.status_code == 400:
        assert_error(r, 400, "DIGEST_INVALID")


# ------------------------------------------------------------------ robustness
def test_many_chunks_large_blob(reg, repo):
    start = _start(reg, repo)
    size = _min_chunk(start, 1024 * 1024)
    data = random_bytes(3 * size + 4321)
    loc, off = start.headers["Location"], 0
    while off < len(data):
        c = data[off:off + size]
        r = _chunk(reg, loc, c, off)
        assert_status(r, 202)
        off += len(c)
        loc = r.headers["Location"]
    d = sha256(data)
    assert_status(reg.put(with_query(loc, digest=d)), 201)
    r = reg.get(f"/v2/{repo}/blobs/{d}")
    assert sha256(r.content) == d


def test_concurrent_uploads(server, new_repo):
    repos = [new_repo(f"c{i}") for i in range(4)]
    shared = random_bytes(50_000)

    def work(repo):
        reg = Registry(server.url)
        for _ in range(3):
            own = random_bytes(20_000)
            assert reg.get_blob(repo, reg.push_blob(repo, own)) == own
        assert reg.get_blob(repo, reg.push_blob(repo, shared)) == shared

    run_threads([lambda r=r: work(r) for r in repos], timeout=120, what="uploader")


def test_upload_session_survives_restart():
    srv = ArcaServer()
    try:
        srv.start()
        reg = Registry(srv.url)
        repo = "restart/test"
        a, b = random_bytes(5000), random_bytes(3000)
        r = reg.patch(reg.start_upload(repo), data=a, headers=OCTET)
        assert_status(r, 202)
        loc = r.headers["Location"]
        srv.stop()
        srv.start()
        reg = Registry(srv.url)
        s = reg.get(loc)
        assert_status(s, 204)
        assert s.headers.get("Range") == f"0-{len(a) - 1}", describe(s)
        r = _chunk(reg, s.headers.get("Location") or loc, b, len(a))
        assert_status(r, 202)
        d = sha256(a + b)
        assert_status(reg.put(with_query(r.headers["Location"], digest=d)), 201)
        assert reg.get_blob(repo, d) == a + b
    finally:
        srv.cleanup()


def test_put_final_chunk_out_of_order_is_416(reg, repo):
    first = random_bytes(100)
    r = _chunk(reg, _start(reg, repo).headers["Location"], first, 0)
    assert_status(r, 202)
    last = random_bytes(50)
    d = sha256(first + last)
    h = dict(OCTET, **{"Content-Range": "150-199"})
    r = reg.put(with_query(r.headers["Location"], digest=d), data=last, headers=h)
    assert_error(r, 416)
    assert not reg.blob_exists(repo, d)


def test_empty_blob_via_session(reg, repo):
    d = sha256(b"")
    loc = reg.start_upload(repo)
    r = reg.put(with_query(loc, digest=d))
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == d
    assert reg.get_blob(repo, d) == b""


def _peak_rss_kib(srv):
    with open(f"/proc/{srv.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_large_bodies_are_streamed_not_buffered():
    """Issue: request bodies are streamed, never held whole in memory; blob GETs use
    sendfile. A 128 MiB blob pushed three ways and pulled back must not raise the
    server's peak RSS by anywhere near its size."""
    size = 128 * 1024 * 1024
    data = random_bytes(size)
    d = sha256(data)
    srv = ArcaServer()
    try:
        srv.start()
        reg = Registry(srv.url)
        reg.push_blob("mem/warmup", random_bytes(1024))
        base = _peak_rss_kib(srv)
        # 1. streamed PATCH with Transfer-Encoding: chunked, 1 MiB pieces
        view = memoryview(data)
        r = reg.patch(reg.start_upload("mem/a"),
                      data=(bytes(view[i:i + (1 << 20)]) for i in range(0, size, 1 << 20)), headers=OCTET)
        assert_status(r, 202)
        assert_status(reg.put(with_query(r.headers["Location"], digest=d)), 201)
        # 2. POST then PUT with the whole body
        loc = reg.start_upload("mem/b")
        assert_status(reg.put(with_query(loc, digest=d), data=data, headers=OCTET), 201)
        # 3. single POST
        assert_status(reg.post(f"/v2/mem/c/blobs/uploads/?digest={d}", data=data, headers=OCTET), 201)
        # and pull it back
        with reg.get(f"/v2/mem/c/blobs/{d}", stream=True) as g:
            assert_status(g, 200)
            h = hashlib.sha256()
            for piece in g.iter_content(1 << 20):
                h.update(piece)
        assert "sha256:" + h.hexdigest() == d
        grew = _peak_rss_kib(srv) - base
        assert grew < 48 * 1024, f"peak RSS grew by {grew} KiB while moving a {size >> 20} MiB blob"
    finally:
        srv.cleanup()


def test_chunked_transfer_patch_with_content_range_checks_actual_size(reg, repo):
    loc = _start(reg, repo).headers["Location"]
    # Content-Range says 10 bytes but the chunked body carries 5: only known at the end.
    r = reg.patch(loc, data=iter([b"ab", b"cde"]), headers=dict(OCTET, **{"Content-Range": "0-9"}))
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert_error(r, (400, 416), ("SIZE_INVALID", "BLOB_UPLOAD_INVALID"))
    s = reg.get(loc)
    if s.status_code == 204:
        assert s.headers.get("Range") in ("0-0", "0--1"), "a rejected chunk must not be kept" + describe(s)
    # and a matching chunked body with Content-Range is fine
    loc = _start(reg, repo).headers["Location"]
    r = reg.patch(loc, data=iter([b"0123", b"456789"]), headers=dict(OCTET, **{"Content-Range": "0-9"}))
    assert_status(r, 202)
    assert r.headers.get("Range") == "0-9"


def test_racing_patches_on_one_session(server, reg, repo):
    chunk = random_bytes(200_000)
    loc = _start(reg, repo).headers["Location"]
    barrier = threading.Barrier(2, timeout=hang_guard(60))

    def send():
        r = Registry(server.url)
        barrier.wait()
        return _chunk(r, loc, chunk, 0).status_code

    statuses = run_threads([send, send], timeout=60, what="PATCH")
    # Exactly one chunk 0-N is accepted; the other is out of order by then.
    assert sorted(statuses) == [202, 416], statuses
    s = reg.get(loc)
    assert_status(s, 204)
    assert s.headers.get("Range") == f"0-{len(chunk) - 1}", describe(s)
    d = sha256(chunk)
    assert_status(reg.put(with_query(s.headers.get("Location") or loc, digest=d)), 201)
    assert reg.get_blob(repo, d) == chunk


def test_expect_100_continue(server, reg, repo):
    # RFC 9110 10.1.1: answer an Expect: 100-continue either with 100 (Continue) or at
    # once with a final status; curl and other clients send it for large bodies.
    import socket
    data = random_bytes(50_000)
    d = sha256(data)
    head = (f"POST /v2/{repo}/blobs/uploads/?digest={d} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n"
            f"Expect: 100-continue\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=hang_guard(10))
    try:
        s.sendall(head)
        # A server that does not answer the expectation waits for the body: a hang.
        s.settimeout(hang_guard(30))
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                piece = s.recv(4096)
                if not piece:
                    break
                buf += piece
        except socket.timeout:
            pass
        assert buf.startswith(b"HTTP/1.1 100"), f"expected 100 Continue, got {buf[:200]!r}"
        s.settimeout(hang_guard(20))
        rest = buf.split(b"\r\n\r\n", 1)[1]
        s.sendall(data)
        while b"\r\n\r\n" not in rest:
            piece = s.recv(4096)
            if not piece:
                break
            rest += piece
        assert rest.startswith(b"HTTP/1.1 201"), rest[:300]
    finally:
        s.close()
    assert reg.get_blob(repo, d) == data


def test_mount_from_repository_after_the_blob_was_deleted_there(reg, new_repo):
    src, dst = new_repo("src"), new_repo("dst")
    data = random_bytes(100)
    d = reg.push_blob(src, data)
    reg.push_blob(src, b"keep src alive")
    assert_status(reg.delete(f"/v2/{src}/blobs/{d}"), 202)
    r = reg.post(f"/v2/{dst}/blobs/uploads/?mount={d}&from={src}", data=b"")
    # The blob is gone from `src` and exists nowhere else readable: no mount.
    assert_status(r, 202)
    assert not reg.blob_exists(dst, d)
