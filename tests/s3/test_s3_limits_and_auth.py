"""The S3 blob store through a running server (run under tests/lib/with_rgw.py, ctest
s3-redirect): the writer cap answers 429 with Retry-After, and redirects to the store respect
authentication (docs/deploy.md "Blobs in S3")."""
import os
import re
import socket
import tempfile

import pytest
import requests

from arca_server import ArcaServer, blobs_args
from authlib import ADMIN_PASSWORD, AuthServer, bearer
from ocihttp import Registry, random_bytes, sha256
from testkit import wait_until

if not os.environ.get("ARCA_TEST_BLOBS"):
    pytest.fail("run through tests/lib/with_rgw.py (ARCA_TEST_BLOBS is not set)", pytrace=False)


def with_option(args, option):
    """blobs_args with one more query option."""
    return [args[0], args[1] + "&" + option, *args[2:]]


def test_past_max_writers_an_upload_gets_429_with_retry_after():
    root = tempfile.mkdtemp(prefix="arca-s3-cap-")
    srv = ArcaServer(root=root, extra_args=with_option(blobs_args(root), "max_writers=1"))
    srv.start()
    try:
        reg = Registry(srv.url)
        first, second = reg.start_upload("cap/a"), reg.start_upload("cap/b")
        # One PATCH holds the only writer: its body is promised but only partly sent.
        held = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        held.sendall((f"PATCH {first} HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      "application/octet-stream\r\nContent-Length: 10485760\r\n\r\n").encode()
                     + b"x" * (1 << 20))
        state = {"offset": 0, "location": second}

        def patch():
            """A 1000-byte chunk of the second upload; an accepted one moves it on."""
            off = state["offset"]
            r = requests.patch(srv.url + state["location"], data=b"y" * 1000, timeout=30,
                               headers={"Content-Type": "application/octet-stream",
                                        "Content-Range": f"{off}-{off + 999}"})
            if r.status_code == 202:
                state["location"], state["offset"] = r.headers["Location"], off + 1000
            else:
                assert r.status_code == 429, r.text
            return r

        def in_flight():
            text = requests.get(srv.url + "/metrics", timeout=30).text
            return float(re.search(r"^arca_uploads_in_flight (\S+)$", text, re.M).group(1))

        # The held request is in its handler (its writer is taken with its first bytes).
        wait_until(lambda: in_flight() == 1, what="the held PATCH to be writing")
        busy = wait_until(lambda: (lambda r: (r,) if r.status_code == 429 else None)(patch()),
                          what="the second writer to be refused")[0]
        assert busy.headers.get("Retry-After") == "1", busy.headers
        assert busy.json()["errors"][0]["code"] == "TOOMANYREQUESTS", busy.text
        held.close()
        # Once the writer is free, the refused chunk is taken as sent again.
        wait_until(lambda: (lambda r: (r,) if r.status_code == 202 else None)(patch()),
                   what="the refused chunk to be taken once the writer is free")
    finally:
        alive = srv.proc is not None and srv.proc.poll() is None
        srv.stop()
    assert alive, f"arca died; log: {srv.log_path}"


def test_redirects_to_the_store_follow_authentication():
    with AuthServer(extra_args=["--blob-redirect", "pub/**"]) as srv:
        admin = requests.get(srv.url + "/token", params={
            "service": "arca", "scope": "repository:pub/app:pull,push"},
            auth=("admin", ADMIN_PASSWORD), timeout=30).json()["token"]
        reg = Registry(srv.url, token=admin)
        data = random_bytes(200000)
        d = reg.push_blob("pub/app", data)
        url = f"{srv.url}/v2/pub/app/blobs/{d}"
        # Without a token: a challenge, never a URL to the bytes.
        r = requests.get(url, allow_redirects=False, timeout=30)
        assert r.status_code == 401 and "Location" not in r.headers, r.headers
        assert "WWW-Authenticate" in r.headers
        # A token for another repository: refused the same way.
        other = requests.get(srv.url + "/token", params={
            "service": "arca", "scope": "repository:pub/other:pull"},
            auth=("admin", ADMIN_PASSWORD), timeout=30).json()["token"]
        r = requests.get(url, allow_redirects=False, timeout=30, headers=bearer(other))
        assert r.status_code in (401, 403) and "Location" not in r.headers, r.headers
        # With pull: the redirect, which needs no credentials of Arca's to follow (the
        # client must not send its bearer token to the store).
        r = requests.get(url, allow_redirects=False, timeout=30, headers=bearer(admin))
        assert r.status_code == 307, r.text
        got = requests.get(r.headers["Location"], timeout=30)
        assert got.status_code == 200 and sha256(got.content) == d
