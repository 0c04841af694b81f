"""Blob GETs answered with a 307 to a presigned URL of the S3 store (blob_redirect), against
a real Ceph RGW: run through tests/lib/with_rgw.py (ctest s3-redirect), which sets
ARCA_TEST_BLOBS so every ArcaServer keeps its blobs in RGW."""
import os
import subprocess
import tempfile

import pytest
import requests

from arca_server import ArcaServer, arca_bin
from ocihttp import Registry, assert_error, describe, random_bytes, sha256

if not os.environ.get("ARCA_TEST_BLOBS"):
    pytest.fail("run through tests/lib/with_rgw.py (ARCA_TEST_BLOBS is not set)", pytrace=False)


@pytest.fixture(scope="module")
def srv():
    s = ArcaServer(extra_args=["--blob-redirect", "pub/**, open/one", "--blob-redirect-ttl", "2m"])
    s.start()
    yield s
    alive = s.proc.poll() is None
    s.stop()
    assert alive, f"arca died; log: {s.log_path}"


def get(srv, path, **kw):
    return requests.get(srv.url + path, allow_redirects=False, timeout=30, **kw)


def test_matching_repositories_redirect_to_the_store(srv):
    reg = Registry(srv.url)
    data = random_bytes(300000)
    d = reg.push_blob("pub/app", data)
    r = get(srv, f"/v2/pub/app/blobs/{d}")
    assert r.status_code == 307, describe(r)
    loc = r.headers["Location"]
    endpoint = os.environ["ARCA_TEST_BLOBS"].split("endpoint=")[1].split("&")[0]
    assert loc.startswith(endpoint + "/"), loc
    assert "X-Amz-Signature=" in loc and "X-Amz-Expires=120" in loc, loc
    assert r.headers["Docker-Content-Digest"] == d
    assert r.headers["Cache-Control"] == "no-store"
    assert r.content == b""
    # Following it gives the bytes, and a Range is served by the store.
    got = requests.get(loc, timeout=30)
    assert got.status_code == 200 and sha256(got.content) == d
    part = requests.get(loc, headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert part.status_code == 206 and part.content == data[1000:2000]
    # A client that follows redirects (requests, like most) just gets the blob.
    assert requests.get(f"{srv.url}/v2/pub/app/blobs/{d}", timeout=30).content == data
    # The single-repository pattern matches that repository only.
    d2 = reg.push_blob("open/one", b"exact")
    assert get(srv, f"/v2/open/one/blobs/{d2}").status_code == 307


def test_other_repositories_and_heads_stream_through_arca(srv):
    reg = Registry(srv.url)
    data = random_bytes(5000)
    d = reg.push_blob("private/app", data)
    r = get(srv, f"/v2/private/app/blobs/{d}")
    assert r.status_code == 200 and r.content == data, describe(r)
    d = reg.push_blob("pub/app", data)
    h = requests.head(f"{srv.url}/v2/pub/app/blobs/{d}", allow_redirects=False, timeout=30)
    assert h.status_code == 200 and h.headers["Content-Length"] == "5000", describe(h)
    ranged = get(srv, f"/v2/private/app/blobs/{d}", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == data[10:20]


def test_no_redirect_for_a_blob_the_repository_does_not_hold(srv):
    reg = Registry(srv.url)
    d = reg.push_blob("private/holder", b"only here")
    assert_error(get(srv, f"/v2/pub/other/blobs/{d}"), 404, "BLOB_UNKNOWN")
    absent = sha256(b"never pushed")
    assert_error(get(srv, f"/v2/pub/app/blobs/{absent}"), 404, "BLOB_UNKNOWN")


def test_a_tampered_redirect_is_refused_by_the_store(srv):
    reg = Registry(srv.url)
    d = reg.push_blob("pub/app", b"signed")
    loc = get(srv, f"/v2/pub/app/blobs/{d}").headers["Location"]
    other = reg.push_blob("private/app", b"secret")
    forged = loc.replace(d.split(":")[1], other.split(":")[1])
    assert requests.get(forged, timeout=30).status_code == 403


@pytest.mark.parametrize("args,words", [
    (["--blob-redirect", "pub/**"], "needs blobs in an S3 store"),
    (["--blob-redirect", "pub/**/x"], "blob_redirect"),
])
def test_bad_redirect_settings_are_refused_at_start(args, words):
    env = dict(os.environ)
    blobs = []
    if "needs blobs" not in words:
        env_blobs = os.environ["ARCA_TEST_BLOBS"]
        blobs = ["--blobs", env_blobs.replace("s3://arca-test", "s3://arca-test/refused")]
    env.pop("ARCA_TEST_BLOB_REDIRECT", None)
    with tempfile.TemporaryDirectory() as root:
        p = subprocess.run([arca_bin(), "serve", "--addr", "127.0.0.1:0", "--root", root, *blobs,
                            *args], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode != 0
    assert words in p.stdout + p.stderr, p.stdout + p.stderr
