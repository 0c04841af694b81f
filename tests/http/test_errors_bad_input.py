"""Errors and hostile input: every failure is a clean 4xx with the OCI error body, the
server keeps serving, and the store is unchanged (the session canary still reads back
byte-identical after every test in this module)."""
import json
import os
import re
import socket
import time
import uuid

import pytest

from ocihttp import (NAME_RE, OCI_MANIFEST, TAG_RE, Registry, assert_error, assert_raw_error,
                     assert_status, bogus_digest, build_request, check_error_body, describe,
                     make_image, push_image, random_bytes, raw_exchange, raw_pipeline,
                     sha256, with_query)
from testkit import hang_guard, run_threads

OCTET = ("Content-Type", "application/octet-stream")


@pytest.fixture(autouse=True)
def store_unchanged(server, canary):
    canary.check(server)
    yield
    canary.check(server)


def _alive(reg):
    r = reg.get("/v2/", timeout=hang_guard(10))
    assert r.status_code == 200, describe(r)


# ------------------------------------------------------------------ error body tour
def test_every_error_code_has_the_oci_body(reg, repo):
    data = random_bytes(10)
    reg.push_blob(repo, data)
    img = push_image(reg, repo, ref="x")
    checks = [
        (reg.get(f"/v2/{repo}/blobs/{bogus_digest()}"), 404, "BLOB_UNKNOWN"),
        (reg.get(f"/v2/{repo}/blobs/uploads/{uuid.uuid4()}"), 404, "BLOB_UPLOAD_UNKNOWN"),
        (reg.get(f"/v2/{repo}/manifests/nope"), 404, "MANIFEST_UNKNOWN"),
        (reg.get(f"/v2/nosuch/{uuid.uuid4().hex}/tags/list"), 404, "NAME_UNKNOWN"),
        (reg.post(f"/v2/{repo}/blobs/uploads/?digest=sha256:bad", data=b"x"), 400, "DIGEST_INVALID"),
        (reg.put(f"/v2/{repo}/manifests/y", data=b"{", headers={"Content-Type": OCI_MANIFEST}),
         400, "MANIFEST_INVALID"),
        (reg.put(f"/v2/{repo}/manifests/{img.digest}", data=img.body + b" ",
                 headers={"Content-Type": OCI_MANIFEST}), 400, "DIGEST_INVALID"),
    ]
    for resp, status, code in checks:
        assert_error(resp, status, code)


# ------------------------------------------------------------------ repository names
INVALID_NAME_PATHS = [
    "/v2/UPPER/tags/list",
    "/v2/Mixed/Case/manifests/latest",
    "/v2/-lead/tags/list",
    "/v2/.lead/tags/list",
    "/v2/_lead/tags/list",
    "/v2/trail-/tags/list",
    "/v2/trail./tags/list",
    "/v2/a___b/tags/list",
    "/v2/a..b/tags/list",
    "/v2//double/tags/list",
    "/v2/a//b/tags/list",
    "/v2/a/../b/tags/list",
    "/v2/../../../etc/tags/list",
    "/v2/a/./b/tags/list",
    "/v2/a%2fb/tags/list",
    "/v2/a%2Fb/manifests/latest",
    "/v2/%2e%2e/%2e%2e/tags/list",
    "/v2/..%2f..%2fetc/tags/list",
    "/v2/a%00b/tags/list",
    "/v2/caf%C3%A9/tags/list",
    "/v2/a%20b/tags/list",
    "/v2/a\\b/tags/list",
    "/v2/" + "a" * 300 + "/tags/list",
    "/v2/" + "/".join(["ab"] * 150) + "/tags/list",
]


def _assert_name_rejected(raw, what):
    assert raw is not None, f"no response for {what}"
    assert raw.status in (400, 404), f"{what}: {raw!r}"
    codes = check_error_body(raw.body, raw.header("Content-Type", ""), f" {what}: {raw!r}")
    if raw.status == 400:
        assert "NAME_INVALID" in codes, f"{what}: 400 must be NAME_INVALID, got {codes}"


@pytest.mark.parametrize("path", INVALID_NAME_PATHS)
def test_invalid_repository_name_on_read(server, reg, path):
    raw = raw_exchange(server.port, build_request("GET", path))
    _assert_name_rejected(raw, f"GET {path}")
    _alive(reg)


@pytest.mark.parametrize("path", INVALID_NAME_PATHS)
def test_invalid_repository_name_on_write(server, reg, path):
    data = random_bytes(32)
    base = path.rsplit("/tags/list", 1)[0].rsplit("/manifests/latest", 1)[0]
    target = f"{base}/blobs/uploads/?digest={sha256(data)}"
    raw = raw_exchange(server.port, build_request("POST", target, [OCTET], data), method="POST")
    _assert_name_rejected(raw, f"POST {target}")
    img_body = b'{"schemaVersion":2,"mediaType":"%s","config":{},"layers":[]}' % OCI_MANIFEST.encode()
    raw = raw_exchange(server.port, build_request("PUT", f"{base}/manifests/v1",
                                                  [("Content-Type", OCI_MANIFEST)], img_body), method="PUT")
    _assert_name_rejected(raw, f"PUT {base}/manifests/v1")
    _alive(reg)


def test_catalog_never_lists_an_invalid_name(reg):
    names, _ = reg.follow_pages("/v2/_catalog?n=1000", "repositories")
    bad = [n for n in names if not NAME_RE.match(n) or len(n) > 255]
    assert not bad, bad


def test_valid_names_with_every_separator_and_route_words(reg):
    suffix = uuid.uuid4().hex[:6]
    names = [f"a__b{suffix}", f"a--b{suffix}", f"a.b{suffix}", f"a_b{suffix}",
             f"x{suffix}/blobs", f"x{suffix}/manifests", f"x{suffix}/tags", f"x{suffix}/uploads",
             f"x{suffix}/referrers", f"x{suffix}/blobs/uploads", f"x{suffix}/tags/list/a",
             f"x{suffix}/v2"]
    for n in names:
        assert NAME_RE.match(n), n
        data = random_bytes(16)
        d = reg.push_blob(n, data)
        assert reg.get_blob(n, d) == data
        img = push_image(reg, n, ref="latest")
        r = reg.get(f"/v2/{n}/manifests/latest")
        assert_status(r, 200)
        assert r.content == img.body
        assert reg.tags(n) == ["latest"], n
    # and they are distinct repositories
    assert_error(reg.get(f"/v2/x{suffix}/manifests/latest"), 404, ("NAME_UNKNOWN", "MANIFEST_UNKNOWN"))


def test_path_traversal_never_writes_outside_the_store(server, reg):
    marker = f"arca-escape-{uuid.uuid4().hex[:10]}"
    data = random_bytes(64)
    d = sha256(data)
    targets = [
        f"/v2/../../../../../../../../../tmp/{marker}/blobs/uploads/?digest={d}",
        f"/v2/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/tmp/{marker}/blobs/uploads/?digest={d}",
        f"/v2/..%2f..%2f..%2f..%2f..%2f..%2ftmp%2f{marker}/blobs/uploads/?digest={d}",
    ]
    for t in targets:
        raw = raw_exchange(server.port, build_request("POST", t, [OCTET], data), method="POST")
        _assert_name_rejected(raw, t)
    roots = ["/tmp", os.path.dirname(os.path.abspath(server.root)), "/"]
    for r in roots:
        assert not os.path.exists(os.path.join(r, marker)), f"store escaped into {r}/{marker}"
    _alive(reg)


# ------------------------------------------------------------------ tags
BAD_TAGS_400 = ["a" * 129, ".dot", "-dash", "a+b", "a%20b", "%2e%2e", "tag%00", "t%C3%A9", "a*b", "a~b"]
BAD_TAGS_400_OR_404 = ["a%2Fb", "..", "."]


@pytest.mark.parametrize("tag", BAD_TAGS_400)
def test_invalid_tag_on_put_is_400(server, reg, repo, tag):
    img = make_image(reg, repo)
    raw = raw_exchange(server.port, build_request(
        "PUT", f"/v2/{repo}/manifests/{tag}", [("Content-Type", OCI_MANIFEST)], img.body), method="PUT")
    assert_raw_error(raw, 400, what=f"PUT tag {tag!r}")
    if _repo_exists(reg, repo):
        assert reg.tags(repo) == [], "no tag may be created"
    raw = raw_exchange(server.port, build_request("GET", f"/v2/{repo}/manifests/{tag}"))
    assert_raw_error(raw, (400, 404), what=f"GET tag {tag!r}")


@pytest.mark.parametrize("tag", BAD_TAGS_400_OR_404)
def test_invalid_tag_path_tricks(server, reg, repo, tag):
    img = make_image(reg, repo)
    raw = raw_exchange(server.port, build_request(
        "PUT", f"/v2/{repo}/manifests/{tag}", [("Content-Type", OCI_MANIFEST)], img.body), method="PUT")
    assert_raw_error(raw, (400, 404), what=f"PUT tag {tag!r}")
    if _repo_exists(reg, repo):
        assert all(TAG_RE.match(t) for t in reg.tags(repo)), reg.tags(repo)


def _repo_exists(reg, repo):
    r = reg.get(f"/v2/{repo}/tags/list")
    assert r.status_code in (200, 404), describe(r)
    return r.status_code == 200


# ------------------------------------------------------------------ truncated bodies
def test_truncated_monolithic_post_creates_nothing(server, reg, repo):
    data = random_bytes(4000)
    d = sha256(data)
    req = build_request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", [OCTET], data[:1500],
                        content_length=len(data))
    raw = raw_exchange(server.port, req, method="POST", half_close=True)
    if raw is not None:
        assert 400 <= raw.status < 500, raw
    _alive(reg)
    assert not reg.blob_exists(repo, d)
    # the same blob can still be pushed properly afterwards
    assert reg.get_blob(repo, reg.push_blob(repo, data)) == data


def test_truncated_patch_then_resume(server, reg, repo):
    data = random_bytes(6000)
    d = sha256(data)
    loc = reg.start_upload(repo)
    req = build_request("PATCH", loc, [OCTET], data[:2500], content_length=4000)
    raw = raw_exchange(server.port, req, method="PATCH", half_close=True)
    if raw is not None:
        assert raw.status < 500, raw
    _alive(reg)
    assert not reg.blob_exists(repo, d)
    s = reg.get(loc)
    if s.status_code == 404:
        assert_error(s, 404, "BLOB_UPLOAD_UNKNOWN")
        return
    assert_status(s, 204)
    rng = s.headers.get("Range", "")
    m = re.fullmatch(r"0-(-?[0-9]+)", rng)
    assert m, describe(s)
    # "0-0" is ambiguous (nothing, or one byte): try both, the wrong one is a 416.
    candidates = [0, 1] if rng == "0-0" else [int(m.group(1)) + 1]
    for i, offset in enumerate(candidates):
        assert offset <= 2500, f"server claims {offset} bytes but only 2500 arrived"
        # resume from what the server says it has
        r = reg.patch(s.headers.get("Location") or loc, data=data[offset:],
                      headers={"Content-Type": "application/octet-stream",
                               "Content-Range": f"{offset}-{len(data) - 1}"})
        if r.status_code == 416 and i + 1 < len(candidates):
            continue
        assert_status(r, 202)
        break
    assert_status(reg.put(with_query(r.headers["Location"], digest=d)), 201)
    assert reg.get_blob(repo, d) == data


def test_truncated_put_finish_creates_nothing(server, reg, repo):
    data = random_bytes(3000)
    d = sha256(data)
    loc = reg.start_upload(repo)
    req = build_request("PUT", with_query(loc, digest=d), [OCTET], data[:1000], content_length=len(data))
    raw = raw_exchange(server.port, req, method="PUT", half_close=True)
    if raw is not None:
        assert 400 <= raw.status < 500, raw
    _alive(reg)
    assert not reg.blob_exists(repo, d)


def test_truncated_manifest_put_creates_nothing(server, reg, repo):
    img = make_image(reg, repo)
    req = build_request("PUT", f"/v2/{repo}/manifests/trunc", [("Content-Type", OCI_MANIFEST)],
                        img.body[: len(img.body) // 2], content_length=len(img.body))
    raw = raw_exchange(server.port, req, method="PUT", half_close=True)
    if raw is not None:
        assert 400 <= raw.status < 500, raw
    _alive(reg)
    assert_error(reg.get(f"/v2/{repo}/manifests/trunc"), 404, ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"))
    assert_error(reg.get(f"/v2/{repo}/manifests/{img.digest}"), 404, ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"))


def test_stalled_upload_does_not_block_other_clients(server, reg, repo):
    """While one PATCH stalls mid-body, other clients are served. Blocked, they would wait for
    the stalled body until the server's io_timeout (60 s): the requests below give up sooner
    than that (a hang guard, scaled on slow machines) and fail."""
    loc = reg.start_upload(repo)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=hang_guard(10))
    try:
        sock.sendall(build_request("PATCH", loc, [OCTET], b"0123456789", content_length=1_000_000))
        for _ in range(5):
            assert_status(reg.get("/v2/", timeout=hang_guard(30)), 200)
        other = random_bytes(1000)
        assert reg.get_blob(repo, reg.push_blob(repo, other)) == other
    finally:
        sock.close()
    _alive(reg)


def test_body_longer_than_content_length(server, reg, repo):
    data = random_bytes(500)
    d = sha256(data)
    # The server reads exactly Content-Length bytes; those do not hash to `d`.
    req = build_request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", [OCTET], data,
                        content_length=len(data) - 10)
    raw = raw_exchange(server.port, req, method="POST")
    assert_raw_error(raw, 400, "DIGEST_INVALID")
    _alive(reg)
    assert not reg.blob_exists(repo, d)
    assert not reg.blob_exists(repo, sha256(data[:-10]))


@pytest.mark.parametrize("cl_headers", [
    [("Content-Length", "abc")],
    [("Content-Length", "-1")],
    [("Content-Length", "1.5")],
    [("Content-Length", "99999999999999999999999")],
    [("Content-Length", "5"), ("Content-Length", "6")],
    [("Content-Length", "5, 6")],
])
@pytest.mark.wire
def test_invalid_content_length(server, reg, repo, cl_headers):
    reg.push_blob(repo, b"exists")
    req = build_request("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(b'hello')}",
                        [OCTET] + cl_headers, b"hello", content_length=None)
    raw = raw_exchange(server.port, req, method="POST", half_close=True)
    assert_raw_error(raw, (400, 411, 413), what=str(cl_headers))
    _alive(reg)
    assert not reg.blob_exists(repo, sha256(b"hello"))


@pytest.mark.wire
def test_malformed_chunked_encoding(server, reg, repo):
    loc = reg.start_upload(repo)
    body = b"5\r\nhello\r\nzz\r\nnot-hex\r\n0\r\n\r\n"
    req = build_request("PATCH", loc, [OCTET, ("Transfer-Encoding", "chunked")], body, content_length=None)
    raw = raw_exchange(server.port, req, method="PATCH", half_close=True)
    if raw is not None:
        assert raw.status in (400,), raw
        check_error_body(raw.body, raw.header("Content-Type", ""), repr(raw))
    _alive(reg)


def test_content_length_and_chunked_together(server, reg, repo):
    loc = reg.start_upload(repo)
    body = b"5\r\nhello\r\n0\r\n\r\n"
    req = build_request("PATCH", loc, [OCTET, ("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
                        body, content_length=None)
    raw = raw_exchange(server.port, req, method="PATCH", half_close=True)
    # RFC 9112 6.3: reject (400), or let Transfer-Encoding win; never trust Content-Length.
    if raw is not None and raw.status == 202:
        assert raw.header("Range") == "0-4", raw
    elif raw is not None:
        assert raw.status == 400, raw
    _alive(reg)


# ------------------------------------------------------------------ absurd ranges
ABSURD_CONTENT_RANGES = [
    "99999999999999999999999-99999999999999999999999",
    "0-99999999999999999999999",
    "-1-8",
    "0--9",
    "abc",
    "0-",
    "-9",
    "9-0",
    "0-9-10",
    "0x0-0x9",
    "18446744073709551615-18446744073709551615",
    "9223372036854775807-9223372036854775807",
    "18446744073709551606-18446744073709551615",
    "0-18446744073709551615",
    "1-10",
]


@pytest.mark.parametrize("cr", ABSURD_CONTENT_RANGES)
def test_absurd_content_range_on_patch(reg, repo, cr):
    loc = reg.start_upload(repo)
    r = reg.patch(loc, data=b"0123456789",
                  headers={"Content-Type": "application/octet-stream", "Content-Range": cr})
    assert_error(r, (400, 416))
    s = reg.get(loc)
    if s.status_code == 204:
        assert s.headers.get("Range") in ("0-0", "0--1"), "a rejected chunk must not be stored" + describe(s)
    else:
        assert_error(s, 404, "BLOB_UPLOAD_UNKNOWN")


ABSURD_RANGES = [
    "bytes=99999999999999999999999-",
    "bytes=0-99999999999999999999999",
    "bytes=-99999999999999999999999",
    "bytes=18446744073709551615-",
    "bytes=9223372036854775807-9223372036854775807",
    "bytes=5-2",
    "bytes=abc",
    "bytes=--5",
    "bytes=",
    "bytes",
    "items=0-5",
    "bytes 0-5",
    "bytes=0-5,3-8",
    "bytes=" + ",".join(f"{i}-{i}" for i in range(1000)),
]


@pytest.mark.parametrize("rng", ABSURD_RANGES)
def test_absurd_range_on_blob_get(reg, repo, rng):
    data = random_bytes(100)
    d = reg.push_blob(repo, data)
    r = reg.get(f"/v2/{repo}/blobs/{d}", headers={"Range": rng})
    assert r.status_code in (200, 206, 400, 416), describe(r)
    if r.status_code == 200:
        assert r.content == data  # the Range header was ignored (RFC 9110 14.2)
    elif r.status_code == 206:
        cr = r.headers.get("Content-Range")
        if cr:
            unit, _, rest = cr.partition(" ")
            span, _, total = rest.partition("/")
            a, _, b = span.partition("-")
            assert unit == "bytes" and total == "100", cr
            assert r.content == data[int(a):int(b) + 1], cr
        else:
            assert r.headers.get("Content-Type", "").startswith("multipart/byteranges"), describe(r)
    else:
        assert_error(r, (400, 416))


# ------------------------------------------------------------------ protocol abuse
@pytest.mark.wire
def test_huge_header_is_rejected(server, reg):
    req = build_request("GET", "/v2/", [("X-Big", "a" * (100 * 1024))])
    raw = raw_exchange(server.port, req)
    assert_raw_error(raw, (400, 431), what="100 KiB header")
    _alive(reg)


@pytest.mark.wire
def test_many_headers_are_rejected(server, reg):
    req = build_request("GET", "/v2/", [(f"X-H-{i}", "v" * 40) for i in range(4000)])
    raw = raw_exchange(server.port, req)
    assert_raw_error(raw, (400, 431), what="4000 headers")
    _alive(reg)


@pytest.mark.wire
def test_huge_request_line_is_rejected(server, reg):
    raw = raw_exchange(server.port, build_request("GET", "/v2/" + "a" * (100 * 1024) + "/tags/list"))
    assert_raw_error(raw, (400, 404, 414, 431), what="100 KiB request line")
    _alive(reg)


@pytest.mark.wire
def test_huge_query_string(server, reg, repo):
    push_image(reg, repo, ref="q")
    raw = raw_exchange(server.port, build_request("GET", f"/v2/{repo}/tags/list?" + "x=y&" * 25000))
    assert raw is not None and raw.status in (200, 400, 414, 431), raw
    if raw.status != 200:
        assert_raw_error(raw, (400, 414, 431))
    _alive(reg)


@pytest.mark.wire
@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "TRACE", "CONNECT", "OPTIONS"])
def test_unknown_or_unsupported_method(server, reg, method):
    target = "127.0.0.1:1" if method == "CONNECT" else "/v2/"
    raw = raw_exchange(server.port, build_request(method, target))
    # 405/404 from the router, 400 from the parser, or 501 (RFC 9110 15.6.2 for an
    # unrecognised method); OPTIONS may legitimately succeed.
    if method == "OPTIONS" and raw is not None and raw.status in (200, 204):
        return
    assert_raw_error(raw, (400, 404, 405, 501), what=method)
    if raw.status == 405:
        assert raw.header("Allow"), f"405 MUST carry Allow (RFC 9110 15.5.6): {raw!r}"
    _alive(reg)


@pytest.mark.parametrize("method,path", [
    ("PATCH", "/v2/{repo}/manifests/latest"),
    ("POST", "/v2/{repo}/manifests/latest"),
    ("POST", "/v2/{repo}/tags/list"),
    ("DELETE", "/v2/{repo}/tags/list"),
    ("PUT", "/v2/"),
    ("DELETE", "/v2/"),
    ("PUT", "/v2/{repo}/blobs/{digest}"),
    ("POST", "/v2/{repo}/blobs/{digest}"),
    ("PATCH", "/v2/{repo}/blobs/uploads/"),
    ("PUT", "/v2/_catalog"),
    ("POST", "/v2/{repo}/referrers/{digest}"),
])
def test_wrong_method_on_known_route(reg, repo, method, path):
    img = push_image(reg, repo, ref="latest")
    p = path.format(repo=repo, digest=img.config["digest"])
    r = reg.request(method, p, data=b"x" if method in ("PUT", "POST", "PATCH") else None)
    assert_error(r, (404, 405))
    if r.status_code == 405:
        assert r.headers.get("Allow"), "405 MUST carry Allow (RFC 9110 15.5.6)" + describe(r)
    # nothing changed
    g = reg.get(f"/v2/{repo}/manifests/latest")
    assert_status(g, 200)
    assert g.content == img.body


NONE_OR_400 = (None, 400)
GARBAGE = [
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64), NONE_OR_400),  # TLS ClientHello
    (b"\x00" * 64 + b"\r\n\r\n", NONE_OR_400),
    (b"GET\r\n\r\n", NONE_OR_400),
    (b"GET /v2/\r\n\r\n", NONE_OR_400),                                    # HTTP/0.9-style
    (b"GET /v2/ HTTP/9.9\r\nHost: x\r\n\r\n", (None, 400, 505)),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (None, 400, 505)),
    (b"GET /v2/ HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", NONE_OR_400),
    (b"GET /v2/ HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", NONE_OR_400),
    # RFC 9110 5.5: reject a NUL in a field value, or replace it with SP.
    (b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n", (None, 400, 200)),
    # RFC 9112 5.2: reject obs-fold with 400, or replace it with SP.
    (b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", (None, 400, 200)),
    (b"\r\n\r\n\r\n", NONE_OR_400),
    (os.urandom(4096), NONE_OR_400),
]


@pytest.mark.wire
@pytest.mark.parametrize("payload,allowed", GARBAGE, ids=[str(i) for i in range(len(GARBAGE))])
def test_garbage_on_the_wire(server, reg, payload, allowed):
    raw = raw_exchange(server.port, payload, half_close=True)
    got = None if raw is None else raw.status
    assert got in allowed, f"{payload[:60]!r} -> {raw!r}"
    if got == 400:
        check_error_body(raw.body, raw.header("Content-Type", ""), f" {raw!r}")
    _alive(reg)


def test_http11_without_host_is_400(server, reg):
    raw = raw_exchange(server.port, b"GET /v2/ HTTP/1.1\r\n\r\n")
    # RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) ... to any HTTP/1.1
    # request message that lacks a Host header field".
    assert raw is not None and raw.status == 400, raw
    _alive(reg)


def test_pipelined_requests_answered_in_order(server, reg, repo):
    img = push_image(reg, repo, ref="pipe")
    acc = [("Accept", OCI_MANIFEST)]
    data = (build_request("GET", "/v2/")
            + build_request("GET", f"/v2/{repo}/manifests/pipe", acc)
            + build_request("HEAD", f"/v2/{repo}/manifests/{img.digest}", acc)
            + build_request("GET", f"/v2/{repo}/manifests/nope", acc)
            + build_request("GET", f"/v2/{repo}/tags/list"))
    out = raw_pipeline(server.port, data, 5, methods=["GET", "GET", "HEAD", "GET", "GET"])
    assert [o.status for o in out] == [200, 200, 200, 404, 200], out
    assert out[1].body == img.body
    assert out[2].header("Docker-Content-Digest") == img.digest
    assert json.loads(out[4].body)["tags"] == ["pipe"]


def test_many_idle_connections_do_not_starve_the_server(server, reg):
    socks = []
    try:
        for _ in range(150):
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=hang_guard(10)))
        r = Registry(server.url).get("/v2/", timeout=hang_guard(10))
        assert r.status_code == 200
    finally:
        for s in socks:
            s.close()
    _alive(reg)


def test_parallel_hostile_and_normal_traffic(server, reg, repo):
    """3 s of garbage and path tricks from two threads beside normal pushes. Every exchange
    must end (an answer or a close; raw_exchange fails on a hang), the path trick must be
    refused, and any failure in a thread fails the test."""
    stop = time.monotonic() + 3
    rounds = []

    def hostile():
        n = 0
        while time.monotonic() < stop:
            raw_exchange(server.port, os.urandom(512), half_close=True)
            raw = raw_exchange(server.port,
                               build_request("GET", "/v2/" + "..%2f" * 50 + "x/tags/list"))
            assert raw is None or 400 <= raw.status < 500, raw
            n += 1
        rounds.append(n)

    def normal():
        r = Registry(server.url)
        while time.monotonic() < stop:
            data = random_bytes(2000)
            assert r.get_blob(repo, r.push_blob(repo, data)) == data

    run_threads([hostile, hostile, normal], timeout=60, what="client")
    assert len(rounds) == 2, rounds
    _alive(reg)


# ------------------------------------------------------------------ manifests
def test_deeply_nested_json_manifest(reg, repo):
    depth = 200_000
    for body in (b"[" * depth + b"]" * depth,
                 b'{"a":' * depth + b"1" + b"}" * depth,
                 b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":' + b"[" * depth + b"]" * depth + b"}"):
        r = reg.put(f"/v2/{repo}/manifests/deep", data=body, headers={"Content-Type": OCI_MANIFEST})
        assert_error(r, 400, "MANIFEST_INVALID")
        _alive(reg)


def test_non_utf8_and_odd_json(reg, repo):
    img = make_image(reg, repo)
    m = json.loads(img.body)
    bodies = [
        img.body.replace(b'"schemaVersion"', b'"schema\xffVersion"'),   # invalid UTF-8
        json.dumps(m).encode("utf-16"),                                  # JSON must be UTF-8
        img.body.replace(b'"schemaVersion": 2', b'"schemaVersion": 2e400'),
        img.body.replace(b'"schemaVersion": 2', b'"schemaVersion": 2.5'),
        img.body.replace(b'"size": ', b'"size": 1e999', 1),
        img.body.replace(b'"size": ', b'"size": 99999999999999999999999', 1),
    ]
    for body in bodies:
        r = reg.put(f"/v2/{repo}/manifests/odd", data=body, headers={"Content-Type": OCI_MANIFEST})
        assert_error(r, 400, ("MANIFEST_INVALID", "SIZE_INVALID"))
    assert_error(reg.get(f"/v2/{repo}/manifests/odd"), 404, ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"))


def test_oversized_manifest_declared_length(server, reg, repo):
    reg.push_blob(repo, b"exists")
    req = build_request("PUT", f"/v2/{repo}/manifests/huge", [("Content-Type", OCI_MANIFEST)],
                        b"{" + b" " * 1000, content_length=100 * 1024 * 1024)
    raw = raw_exchange(server.port, req, method="PUT", half_close=True)
    # A declared 100 MiB manifest can be refused before reading it (413); a server that
    # reads first sees the truncation (400).
    assert_raw_error(raw, (400, 413), allow_no_response=True, what="100 MiB manifest")
    _alive(reg)
    assert_error(reg.get(f"/v2/{repo}/manifests/huge"), 404, "MANIFEST_UNKNOWN")


def test_oversized_manifest_streamed_chunked(reg, repo):
    reg.push_blob(repo, b"exists")

    def gen():
        yield b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","annotations":{"p":"'
        for _ in range(5):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    r = reg.put(f"/v2/{repo}/manifests/chunky", data=gen(), headers={"Content-Type": OCI_MANIFEST})
    assert_error(r, 413)
    assert_error(reg.get(f"/v2/{repo}/manifests/chunky"), 404, "MANIFEST_UNKNOWN")


# ------------------------------------------------------------------ odd parameters
@pytest.mark.parametrize("query", ["n=-1", "n=abc", "n=1e3", "n=99999999999999999999", "last=%00",
                                   "n=1&n=2", "n=", "last=" + "z" * 5000, "n=%20"])
def test_odd_pagination_parameters(reg, repo, query):
    push_image(reg, repo, ref="a")
    for path in (f"/v2/{repo}/tags/list?{query}", f"/v2/_catalog?{query}"):
        r = reg.get(path)
        assert r.status_code in (200, 400), describe(r)
        if r.status_code == 400:
            assert_error(r, 400)
        else:
            r.json()


@pytest.mark.parametrize("path", [
    "/v2/{repo}/blobs/sha256:" + "a" * 5000,
    "/v2/{repo}/blobs/sha256%3Azz%ZZ",
    "/v2/{repo}/manifests/sha256:" + "a" * 5000,
    "/v2/{repo}/referrers/sha256:" + "a" * 5000,
])
def test_very_long_or_broken_digests(server, reg, repo, path):
    push_image(reg, repo, ref="a")
    raw = raw_exchange(server.port, build_request("GET", path.format(repo=repo)))
    assert_raw_error(raw, (400, 404), what=path[:80])
    _alive(reg)


@pytest.mark.parametrize("sid", [
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "../../../../etc/passwd",
    "%2e%2e%2f%2e%2e%2fx",
    "x%00y",
    "a" * 4096,
])
def test_upload_id_tricks(server, reg, repo, sid):
    reg.push_blob(repo, b"exists")
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        target = f"/v2/{repo}/blobs/uploads/{sid}"
        if method == "PUT":
            target += f"?digest={sha256(b'x')}"
        body = b"x" if method in ("PATCH", "PUT") else b""
        raw = raw_exchange(server.port, build_request(method, target, [OCTET] if body else [], body),
                           method=method)
        assert_raw_error(raw, (400, 404), what=f"{method} {target[:80]}")
    _alive(reg)


def test_connection_reuse_after_a_rejected_body(server, reg, repo):
    """A body the server refuses must be drained (or the connection closed), never
    parsed as the next request."""
    junk = b"GET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n" * 50 + random_bytes(50_000)
    first = build_request("POST", f"/v2/{repo}/blobs/uploads/?digest=sha256:bad", [OCTET], junk)
    second = build_request("GET", "/v2/")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=hang_guard(15))
    try:
        sock.sendall(first + second)
        f = sock.makefile("rb")
        import http.client as hc
        from ocihttp import _SharedFileSock
        shared = _SharedFileSock(f)
        r1 = hc.HTTPResponse(shared, method="POST")
        r1.begin()
        b1 = r1.read()
        assert r1.status == 400, (r1.status, b1)
        if (r1.getheader("Connection") or "").lower() == "close":
            return
        r2 = hc.HTTPResponse(shared, method="GET")
        r2.begin()
        b2 = r2.read()
        assert r2.status == 200 and b"_catalog" not in b2, (r2.status, b2[:200])
        # nothing else may follow: the junk was body, not requests
        sock.settimeout(1)
        try:
            extra = f.read1(1)
        except (socket.timeout, OSError):
            extra = b""
        assert extra == b"", "the server answered requests smuggled inside a body"
    finally:
        sock.close()


def test_header_names_are_case_insensitive(server, reg, repo):
    data = random_bytes(100)
    d = sha256(data)
    req = (f"POST /v2/{repo}/blobs/uploads/?digest={d} HTTP/1.1\r\nhOsT: x\r\n"
           f"cOnTeNt-TyPe: application/octet-stream\r\ncontent-length: {len(data)}\r\n\r\n").encode() + data
    raw = raw_exchange(server.port, req, method="POST")
    assert raw is not None and raw.status == 201, raw
    assert reg.get_blob(repo, d) == data


@pytest.mark.wire
def test_absolute_form_request_target(server, reg, repo):
    # RFC 9112 3.2.2: "A server MUST accept the absolute-form in requests".
    img = push_image(reg, repo, ref="abs")
    raw = raw_exchange(server.port, build_request("GET", f"http://{server.addr}/v2/"))
    assert raw is not None and raw.status == 200, raw
    raw = raw_exchange(server.port, build_request("GET", f"http://{server.addr}/v2/{repo}/manifests/abs",
                                                  [("Accept", OCI_MANIFEST)]))
    assert raw is not None and raw.status == 200 and raw.body == img.body, raw


def test_http10_request(server, reg):
    raw = raw_exchange(server.port, b"GET /v2/ HTTP/1.0\r\n\r\n")
    assert raw is not None and raw.status == 200, raw
