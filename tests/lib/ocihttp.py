"""Helpers for the black-box HTTP tests: a thin registry client over requests,
manifest builders, OCI error-body checks and raw-socket requests for the cases
requests cannot express (truncated bodies, huge headers, path tricks).

References (exact wording checked against them):
  distribution-spec v1.1 spec.md (+ main: end-14 upload cancel, `?tag=` / OCI-Tag),
  image-spec manifest.md, image-index.md, descriptor.md, RFC 9110 (ranges).
"""
import http.client
import json
import os
import re
import socket
import time
import urllib.parse
import uuid

import requests

from testkit import (  # noqa: F401  (re-exported for the suites)
    ALL_MANIFEST_TYPES, DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST, DOCKER_MANIFEST, LINK_RE,
    OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, SCHEMA1, SCHEMA1_SIGNED, describe,
    dumps, hang_guard, header_values, next_link, sha256, sha512, split_list_header)

EMPTY_JSON = b"{}"

# distribution-spec "Error Codes": the code field MUST be one of these. The two
# legacy schema1 codes are explicitly allowed ("Legacy Docker support error codes").
SPEC_ERROR_CODES = {
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
    "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED",
    "TOOMANYREQUESTS",
}
LEGACY_ERROR_CODES = {"TAG_INVALID", "MANIFEST_UNVERIFIED"}

# distribution-spec: <name> grammar and tag grammar.
NAME_RE = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")

DEFAULT_TIMEOUT = hang_guard(60)  # a request that takes longer hangs


# -------------------------------------------------------------------- digests
def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def unique_tag(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def bogus_digest() -> str:
    """A well-formed sha256 digest of content nobody pushed."""
    return sha256(b"never pushed " + uuid.uuid4().bytes)


# ------------------------------------------------------------ response checks
def check_error_body(body_bytes: bytes, content_type: str, context: str = ""):
    """Asserts the OCI error body shape; returns the list of codes."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    assert ctype == "application/json", f"error body must be JSON, Content-Type={content_type!r}{context}"
    try:
        body = json.loads(body_bytes)
    except ValueError as e:
        raise AssertionError(f"error body is not JSON ({e}): {body_bytes[:300]!r}{context}")
    assert isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"], \
        f"error body must be {{'errors': [...]}} with at least one error: {body!r}{context}"
    codes = []
    for err in body["errors"]:
        assert isinstance(err, dict), f"each error must be an object: {err!r}{context}"
        code = err.get("code")
        assert isinstance(code, str) and re.fullmatch(r"[A-Z_]+", code), \
            f"error code must be uppercase letters/underscores: {err!r}{context}"
        assert code in SPEC_ERROR_CODES | LEGACY_ERROR_CODES, \
            f"error code {code!r} is not one of the spec's codes{context}"
        assert isinstance(err.get("message"), str), f"error needs a string message: {err!r}{context}"
        codes.append(code)
    return codes


def assert_error(resp, status, code=None):
    """Asserts an OCI error: status (int or collection of ints), the JSON error
    body (except for HEAD, which has none) and, if given, that one of the errors
    has `code` (str or collection of str). Returns the list of codes."""
    statuses = {status} if isinstance(status, int) else set(status)
    assert resp.status_code in statuses, f"expected status in {sorted(statuses)}" + describe(resp)
    if resp.request.method == "HEAD":
        assert resp.content == b"", "HEAD response must have no body" + describe(resp)
        return []
    codes = check_error_body(resp.content, resp.headers.get("Content-Type", ""), describe(resp))
    if code is not None:
        wanted = {code} if isinstance(code, str) else set(code)
        assert wanted & set(codes), f"expected an error code in {sorted(wanted)}, got {codes}" + describe(resp)
    return codes


def assert_status(resp, status):
    statuses = {status} if isinstance(status, int) else set(status)
    assert resp.status_code in statuses, f"expected status in {sorted(statuses)}" + describe(resp)
    return resp


def with_query(location: str, **params) -> str:
    """Appends query parameters to an opaque Location that may already carry some."""
    extra = urllib.parse.urlencode(params)
    return location + ("&" if "?" in location else "?") + extra


def location_path(location: str) -> str:
    return urllib.parse.urlsplit(location).path


# -------------------------------------------------------------- the client
class Registry:
    """A registry client bound to one server URL; `token` (or token= on a request) is sent as
    `Authorization: Bearer`."""

    def __init__(self, url: str, token=None, verify=True):
        self.url = url.rstrip("/")
        self.token = token
        self.verify = verify  # a CA file for HTTPS (per request: requests lets the environment
        #                       override a Session's own setting)
        self.s = requests.Session()
        # As Go's and other clients do: a GET or HEAD on a kept-alive connection that the other
        # end closed meanwhile (a proxy closes its side after the server refused a request
        # body unread) is sent again once on a new connection. Never a write.
        from urllib3.util.retry import Retry
        retry = Retry(total=1, connect=1, read=1, status=0, other=0, redirect=False,
                      allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False)
        self.s.mount("http://", requests.adapters.HTTPAdapter(max_retries=retry))
        # Keep bodies byte-exact: never ask for a transfer encoding/compression.
        self.s.headers["Accept-Encoding"] = "identity"
        # Like real clients, accept every manifest type (test_manifests checks that
        # Accept does not matter for stored bytes separately).
        self.s.headers["Accept"] = ", ".join(ALL_MANIFEST_TYPES + ["*/*"])

    def abs(self, path_or_url: str) -> str:
        return urllib.parse.urljoin(self.url + "/", path_or_url)

    def request(self, method, path_or_url, token=None, **kw):
        kw.setdefault("timeout", DEFAULT_TIMEOUT)
        kw.setdefault("allow_redirects", False)
        kw.setdefault("verify", self.verify)
        tok = token if token is not None else self.token
        if tok:
            headers = dict(kw.pop("headers", None) or {})
            headers.setdefault("Authorization", f"Bearer {tok}")
            kw["headers"] = headers
        return self.s.request(method, self.abs(path_or_url), **kw)

    def get(self, p, **kw):
        return self.request("GET", p, **kw)

    def head(self, p, **kw):
        return self.request("HEAD", p, **kw)

    def put(self, p, **kw):
        return self.request("PUT", p, **kw)

    def post(self, p, **kw):
        return self.request("POST", p, **kw)

    def patch(self, p, **kw):
        return self.request("PATCH", p, **kw)

    def delete(self, p, **kw):
        return self.request("DELETE", p, **kw)

    # ---------------------------------------------------------------- blobs
    def start_upload(self, repo) -> str:
        r = self.post(f"/v2/{repo}/blobs/uploads/", data=b"")
        assert_status(r, 202)
        loc = r.headers.get("Location")
        assert loc, "POST upload must return Location" + describe(r)
        return loc

    def push_blob(self, repo, data: bytes, digest: str = None) -> str:
        """POST-then-PUT monolithic upload (the most basic push path)."""
        digest = digest or sha256(data)
        loc = self.start_upload(repo)
        r = self.put(with_query(loc, digest=digest), data=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert_status(r, 201)
        return digest

    def blob_exists(self, repo, digest) -> bool:
        r = self.head(f"/v2/{repo}/blobs/{digest}")
        assert r.status_code in (200, 404), describe(r)
        return r.status_code == 200

    def get_blob(self, repo, digest) -> bytes:
        r = self.get(f"/v2/{repo}/blobs/{digest}")
        assert_status(r, 200)
        return r.content

    # ------------------------------------------------------------ manifests
    def push_manifest(self, repo, ref, body: bytes, media_type: str, expect=201):
        r = self.put(f"/v2/{repo}/manifests/{ref}", data=body, headers={"Content-Type": media_type})
        assert_status(r, expect)
        return r

    def get_manifest(self, repo, ref, accept=None):
        """accept=None sends no Accept header at all."""
        return self.get(f"/v2/{repo}/manifests/{ref}", headers={"Accept": accept})

    def tags(self, repo):
        r = self.get(f"/v2/{repo}/tags/list")
        assert_status(r, 200)
        return r.json().get("tags") or []

    def follow_pages(self, first_path, key, max_pages=1000, check_page=None):
        """GETs first_path and every Link rel=next after it; returns all items of `key`."""
        items, path, pages = [], first_path, 0
        while path is not None:
            r = self.get(path)
            assert_status(r, 200)
            if check_page:
                check_page(r)
            items.extend(r.json().get(key) or [])
            path = next_link(r)
            pages += 1
            assert pages <= max_pages, "pagination does not terminate"
        return items, pages


# ------------------------------------------------------- manifest builders
def descriptor(media_type, data: bytes = None, digest=None, size=None, **extra):
    d = {"mediaType": media_type,
         "digest": digest or sha256(data),
         "size": len(data) if size is None else size}
    d.update(extra)
    return d


def image_manifest(config, layers, media_type=OCI_MANIFEST, with_media_type=True,
                   artifact_type=None, subject=None, annotations=None, style="pretty", **extra):
    m = {"schemaVersion": 2}
    if with_media_type:
        m["mediaType"] = media_type
    if artifact_type is not None:
        m["artifactType"] = artifact_type
    m["config"] = config
    m["layers"] = layers
    if subject is not None:
        m["subject"] = subject
    if annotations is not None:
        m["annotations"] = annotations
    m.update(extra)
    return dumps(m, style)


def index_manifest(manifests, media_type=OCI_INDEX, with_media_type=True, artifact_type=None,
                   subject=None, annotations=None, style="pretty"):
    m = {"schemaVersion": 2}
    if with_media_type:
        m["mediaType"] = media_type
    if artifact_type is not None:
        m["artifactType"] = artifact_type
    m["manifests"] = manifests
    if subject is not None:
        m["subject"] = subject
    if annotations is not None:
        m["annotations"] = annotations
    return dumps(m, style)


class Image:
    def __init__(self, repo, body, media_type, config, layers, blobs):
        self.repo = repo
        self.body = body
        self.media_type = media_type
        self.digest = sha256(body)
        self.config = config
        self.layers = layers
        self.blobs = blobs  # digest -> bytes

    def desc(self, **extra):
        return descriptor(self.media_type, self.body, **extra)


def make_image(reg: Registry, repo, n_layers=1, docker=False, config_media_type=None,
               push_blobs=True, layer_size=64, **manifest_kw) -> Image:
    """Pushes config + layers to `repo` and returns the (not yet pushed) manifest."""
    if docker:
        cfg_type = config_media_type or DOCKER_CONFIG
        layer_type, mtype = DOCKER_LAYER, DOCKER_MANIFEST
    else:
        cfg_type = config_media_type or OCI_CONFIG
        layer_type, mtype = OCI_LAYER, OCI_MANIFEST
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "nonce": uuid.uuid4().hex}).encode()
    layers = [random_bytes(layer_size) for _ in range(n_layers)]
    blobs = {sha256(cfg): cfg}
    for l in layers:
        blobs[sha256(l)] = l
    if push_blobs:
        for d, b in blobs.items():
            reg.push_blob(repo, b, d)
    config = descriptor(cfg_type, cfg)
    layer_descs = [descriptor(layer_type, l) for l in layers]
    body = image_manifest(config, layer_descs, media_type=mtype, **manifest_kw)
    return Image(repo, body, mtype, config, layer_descs, blobs)


def push_image(reg: Registry, repo, ref=None, **kw) -> Image:
    img = make_image(reg, repo, **kw)
    r = reg.push_manifest(repo, ref or img.digest, img.body, img.media_type)
    assert r.headers.get("Docker-Content-Digest") == img.digest, describe(r)
    return img


def push_artifact(reg: Registry, repo, subject=None, artifact_type=None, annotations=None,
                  config_media_type=OCI_EMPTY, ref=None, style="compact") -> Image:
    """A small artifact manifest (empty config, one small layer)."""
    reg.push_blob(repo, EMPTY_JSON)
    layer = random_bytes(16)
    reg.push_blob(repo, layer)
    config = descriptor(config_media_type, EMPTY_JSON)
    layers = [descriptor("application/vnd.example.data", layer)]
    body = image_manifest(config, layers, artifact_type=artifact_type, subject=subject,
                          annotations=annotations, style=style)
    img = Image(repo, body, OCI_MANIFEST, config, layers, {sha256(EMPTY_JSON): EMPTY_JSON,
                                                           sha256(layer): layer})
    reg.push_manifest(repo, ref or img.digest, body, OCI_MANIFEST)
    return img


# ------------------------------------------------------------- raw sockets
class RawResponse:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def __repr__(self):
        return f"<RawResponse {self.status} {self.reason} {dict(self.headers)} {self.body[:300]!r}>"


def build_request(method, target, headers=(), body=b"", host="127.0.0.1", content_length="auto",
                  version="HTTP/1.1"):
    lines = [f"{method} {target} {version}".encode("latin-1")]
    names = {h[0].lower() for h in headers}
    if host is not None and "host" not in names:
        lines.append(f"Host: {host}".encode())
    for k, v in headers:
        lines.append(k.encode("latin-1") + b": " + (v if isinstance(v, bytes) else v.encode("latin-1")))
    if content_length == "auto":
        if body or method in ("POST", "PUT", "PATCH"):
            if "content-length" not in names and "transfer-encoding" not in names:
                lines.append(f"Content-Length: {len(body)}".encode())
    elif content_length is not None:
        lines.append(f"Content-Length: {content_length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def raw_exchange(port, parts, *, method="GET", half_close=False, pause=0.0, timeout=None,
                 close_after_send=False):
    """Sends `parts` (bytes or list of bytes, with `pause` seconds between them) on a
    fresh connection and reads one response. Returns RawResponse, or None if the
    server closed/reset the connection without answering.
    half_close: shut down our write side after sending (the server sees EOF).
    timeout: a hang guard (default hang_guard(20)): no answer and no close by then fails."""
    timeout = hang_guard(20) if timeout is None else timeout
    if isinstance(parts, bytes):
        parts = [parts]
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            for i, p in enumerate(parts):
                if i and pause:
                    time.sleep(pause)
                sock.sendall(p)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may legitimately answer and close early; try to read it
        if close_after_send:
            return None
        resp = http.client.HTTPResponse(sock, method=method)
        try:
            resp.begin()
        except socket.timeout:
            raise AssertionError(f"hang: the server neither answered nor closed the connection "
                                 f"within {timeout:g} s")
        except (http.client.RemoteDisconnected, http.client.BadStatusLine,
                ConnectionResetError, ConnectionAbortedError, BrokenPipeError, OSError):
            return None
        try:
            body = resp.read()
        except http.client.IncompleteRead as e:
            body = e.partial
        except (ConnectionResetError, socket.timeout):
            body = b""
        return RawResponse(resp.status, resp.reason, resp.msg, body)
    finally:
        sock.close()


class _NoCloseFile:
    def __init__(self, f):
        self._f = f

    def __getattr__(self, name):
        return getattr(self._f, name)

    def close(self):
        pass


class _SharedFileSock:
    """Lets several HTTPResponse objects read one buffered stream in turn."""

    def __init__(self, f):
        self._f = _NoCloseFile(f)

    def makefile(self, *a, **kw):
        return self._f


def raw_pipeline(port, data: bytes, count: int, methods=None, timeout=None):
    """Sends several pipelined requests at once and reads `count` responses in order."""
    timeout = hang_guard(20) if timeout is None else timeout
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = []
    try:
        sock.sendall(data)
        shared = _SharedFileSock(sock.makefile("rb"))
        for i in range(count):
            resp = http.client.HTTPResponse(shared, method=(methods[i] if methods else "GET"))
            resp.begin()
            out.append(RawResponse(resp.status, resp.reason, resp.msg, resp.read()))
        return out
    finally:
        sock.close()


def assert_raw_error(raw, statuses, code=None, allow_no_response=False, what=""):
    """A raw response must be one of `statuses` with an OCI error body."""
    if raw is None:
        assert allow_no_response, f"server closed the connection without a response {what}"
        return None
    statuses = {statuses} if isinstance(statuses, int) else set(statuses)
    assert raw.status in statuses, f"expected status in {sorted(statuses)}, got {raw!r} {what}"
    codes = check_error_body(raw.body, raw.header("Content-Type", ""), f" {raw!r} {what}")
    if code is not None:
        wanted = {code} if isinstance(code, str) else set(code)
        assert wanted & set(codes), f"expected code in {sorted(wanted)}, got {codes} {what}"
    return codes
