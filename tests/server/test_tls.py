"""HTTPS (issue 11, docs/auth.md "TLS"): arca serves TLS 1.2 and 1.3 only, streams pushes and
pulls through it, keeps the plain-HTTP protections (deadlines, pipelining, framing) under TLS,
answers plain HTTP on its TLS port clearly, and picks up renewed certificate files without a
restart, keeping the old pair when the new one is broken."""
import hashlib
import json
import os
import shutil
import socket
import ssl
import threading
import time

import pytest
import requests

from arca_server import ArcaServer
from authlib import AuthServer, challenge_params
from ocihttp import Registry, image_manifest, descriptor, OCI_MANIFEST
from rawclient import connect, hang_guard, read_response, wait_closed, wait_until
from tlslib import ServerTls


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return ServerTls(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def srv(tls):
    s = ArcaServer(tls=tls, extra_args=["--header-timeout", "3", "--idle-timeout", "5"]).start()
    yield s
    s.cleanup()


def reg_of(srv):
    return Registry(srv.url, verify=srv.verify)


def tls_connect(srv, ctx=None, server_hostname="localhost"):
    ctx = ctx or srv.tls.pki.client_context()
    raw = connect(srv.port)
    return ctx.wrap_socket(raw, server_hostname=server_hostname)


def peer_serial(srv):
    with tls_connect(srv) as s:
        der = s.getpeercert(binary_form=True)
    from cryptography import x509
    return x509.load_der_x509_certificate(der).serial_number


# ------------------------------------------------------------------ versions and suites

@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_12_and_13_are_served(srv, version):
    ctx = srv.tls.pki.client_context(minimum_version=version, maximum_version=version)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with tls_connect(srv, ctx) as s:
        assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                               ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        # forward-secret AEAD only
        name = s.cipher()[0]
        assert "GCM" in name or "CHACHA20" in name, name
        if version == ssl.TLSVersion.TLSv1_2:
            assert name.startswith("ECDHE-"), name
        # ALPN: HTTP/1.1, never h2 (which arca does not speak)
        assert s.selected_alpn_protocol() == "http/1.1"
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, headers, body = read_response(s)
        assert status == 200 and body == b"{}"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # asking for them on purpose
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_protocol_versions_are_refused(srv, version):
    ctx = srv.tls.pki.client_context()
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = version
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises(ssl.SSLError) as refused:
        with tls_connect(srv, ctx):
            pass
    # the server's refusal (its protocol_version alert), not the client's own
    assert "PROTOCOL_VERSION" in str(refused.value).upper(), refused.value
    assert requests.get(srv.url + "/v2/", verify=srv.verify, timeout=30).status_code == 200


@pytest.mark.parametrize("suite", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"])
def test_cbc_tls12_suites_are_refused(srv, suite):
    """Forward-secret but CBC (and SHA-1) suites that OpenSSL's defaults would take are
    outside the list: only AEAD suites are served."""
    ctx = srv.tls.pki.client_context(maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers(suite)
    with pytest.raises(ssl.SSLError) as refused:
        with tls_connect(srv, ctx):
            pass
    assert "HANDSHAKE_FAILURE" in str(refused.value).upper(), refused.value
    # the same client with an AEAD suite gets in
    ctx = srv.tls.pki.client_context(maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with tls_connect(srv, ctx) as s:
        assert s.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"


def test_certificate_verifies_for_its_names(srv):
    with tls_connect(srv, server_hostname="localhost") as s:
        assert s.getpeercert()["subjectAltName"]
    ctx = srv.tls.pki.client_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        with tls_connect(srv, ctx, server_hostname="registry.example.com"):
            pass


# ------------------------------------------------------------------ streaming through TLS

def test_large_blob_push_and_pull_stream_through_tls(srv):
    reg = reg_of(srv)
    data = os.urandom(24 << 20) + b"tail"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    # chunked PATCHes, then the closing PUT
    loc = reg.start_upload("tls/big")
    step = 5 << 20
    for off in range(0, len(data), step):
        part = data[off:off + step]
        r = reg.patch(loc, data=part, headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{off}-{off + len(part) - 1}"})
        assert r.status_code == 202, r.text
        loc = r.headers["Location"]
    sep = "&" if "?" in loc else "?"
    r = reg.put(f"{loc}{sep}digest={digest}")
    assert r.status_code == 201, r.text
    # the whole blob, streamed back (a file sent through TLS)
    h = hashlib.sha256()
    n = 0
    with reg.get(f"/v2/tls/big/blobs/{digest}", stream=True, timeout=120) as r:
        assert r.status_code == 200
        assert int(r.headers["Content-Length"]) == len(data)
        for chunk in r.iter_content(1 << 20):
            h.update(chunk)
            n += len(chunk)
    assert n == len(data) and "sha256:" + h.hexdigest() == digest
    # a range from the middle
    r = reg.get(f"/v2/tls/big/blobs/{digest}", headers={"Range": "bytes=10000000-10000099"})
    assert r.status_code == 206 and r.content == data[10000000:10000100]
    # a monolithic push of a manifest over it, and its pull by tag
    cfg = b'{"architecture":"amd64","os":"linux"}'
    cfg_digest = reg.push_blob("tls/big", cfg)
    body = image_manifest(descriptor("application/vnd.oci.image.config.v1+json", cfg),
                          [descriptor("application/vnd.oci.image.layer.v1.tar", data=None,
                                      digest=digest, size=len(data))])
    reg.push_manifest("tls/big", "v1", body, OCI_MANIFEST)
    r = reg.get_manifest("tls/big", "v1", accept=OCI_MANIFEST)
    assert r.status_code == 200 and r.content == body
    assert cfg_digest.startswith("sha256:")


def test_concurrent_pulls_share_the_loop(srv):
    reg = reg_of(srv)
    data = os.urandom(6 << 20)
    digest = reg.push_blob("tls/shared", data)
    errors = []

    def pull():
        try:
            s = requests.Session()
            for _ in range(3):
                r = s.get(f"{srv.url}/v2/tls/shared/blobs/{digest}", timeout=120,
                          verify=srv.verify)
                assert r.status_code == 200 and r.content == data
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))
    threads = [threading.Thread(target=pull) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_pipelined_requests_buffered_inside_tls(srv):
    """Two requests in one TLS record: after the first (with a body), the second is already
    decrypted inside OpenSSL while the socket looks idle; it must be answered, not left."""
    body = os.urandom(3000)
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    with tls_connect(srv) as s:
        s.sendall(b"POST /v2/tls/pipe/blobs/uploads/?digest=" + digest.encode() +
                  b" HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: 3000\r\n\r\n" + body +
                  b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n" +
                  b"HEAD /v2/tls/pipe/blobs/" + digest.encode() +
                  b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.settimeout(hang_guard(15))
        first = read_response(s)
        assert first is not None and first[0] == 201, first
        second = read_response(s)
        assert second is not None and second[0] == 200 and second[2] == b"{}", second
        # HEAD: headers only
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            assert chunk, "closed before the third answer"
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and b"Content-Length: 3000" in data


# ------------------------------------------------------------------ the protections under TLS

def test_plain_http_on_the_tls_port_gets_a_clear_400(srv):
    s = connect(srv.port)
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
    status, headers, body = read_response(s)
    assert status == 400
    err = json.loads(body)["errors"][0]
    assert err["code"] == "UNSUPPORTED" and "HTTPS" in err["message"]
    assert headers.get("connection") == "close"
    assert wait_closed(s, hang_guard(10))


def test_a_silent_client_is_cut_at_the_idle_timeout(srv):
    """A connection that has sent nothing is idle, as over plain HTTP (idle_timeout, and the
    first to go when connections run short), not yet in its handshake (header_timeout)."""
    s = connect(srv.port)  # no ClientHello at all
    start = time.time()
    assert wait_closed(s, hang_guard(20))
    assert time.time() - start >= 4.5  # idle_timeout is 5 s here, header_timeout 3 s


def test_a_stalled_handshake_is_cut(srv):
    ctx = srv.tls.pki.client_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    s = connect(srv.port)
    s.sendall(hello[: len(hello) // 2])  # half a ClientHello, then nothing
    assert wait_closed(s, hang_guard(20))


def test_a_stalled_request_after_the_handshake_gets_408(srv):
    with tls_connect(srv) as s:
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: local")  # and nothing more
        s.settimeout(hang_guard(20))
        r = read_response(s)
        assert r is not None and r[0] == 408, r


def test_garbage_after_the_record_header_is_dropped(srv):
    s = connect(srv.port)
    s.sendall(b"\x16\x03\x01\x00\x20" + os.urandom(32) + os.urandom(2000))
    assert wait_closed(s, hang_guard(20))
    assert requests.get(srv.url + "/v2/", verify=srv.verify, timeout=30).status_code == 200


def test_oversized_headers_get_431_over_tls(srv):
    with tls_connect(srv) as s:
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * (70 * 1024) +
                  b"\r\n\r\n")
        s.settimeout(hang_guard(20))
        r = read_response(s)
        assert r is not None and r[0] == 431, r


def test_many_connections_open_and_close(srv):
    ctx = srv.tls.pki.client_context()
    for i in range(60):
        s = tls_connect(srv, ctx)
        if i % 3 == 0:
            s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert read_response(s)[0] == 200
        if i % 2 == 0:
            s.unwrap() if i % 4 == 0 else None  # a proper close_notify now and then
        s.close()
    assert requests.get(srv.url + "/v2/", verify=srv.verify, timeout=30).status_code == 200


# ------------------------------------------------------------------ start-up errors

def test_start_refuses_bad_tls_files(tmp_path, tls):
    other = ServerTls(str(tmp_path / "other"))
    cases = [
        (["--tls-cert", tls.cert_path], "TLS needs both"),
        (["--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", tls.key_path],
         "cannot load the TLS certificate"),
        (["--tls-cert", tls.cert_path, "--tls-key", other.key_path], "key values mismatch"),
        (["--tls-cert", tls.key_path, "--tls-key", tls.key_path], "cannot load the TLS certificate"),
    ]
    for args, words in cases:
        s = ArcaServer(root=str(tmp_path / "root"), extra_args=args)
        with pytest.raises(Exception):
            s.start(timeout=20)
        log = open(s.log_path, encoding="utf-8", errors="replace").read()
        assert words in log, (args, log[-2000:])
        s.stop(check=False)


def test_rsa_certificate(tmp_path):
    tls = ServerTls(str(tmp_path / "pki"), key_type="rsa")
    with ArcaServer(tls=tls) as s:
        r = requests.get(s.url + "/v2/", verify=s.verify, timeout=30)
        assert r.status_code == 200


# ------------------------------------------------------------------ renewal

def test_renewed_certificate_is_picked_up_without_restart(tmp_path):
    tls = ServerTls(str(tmp_path / "pki"))
    with ArcaServer(tls=tls) as s:
        first = peer_serial(s)
        assert first == tls.serial
        # a connection kept alive across the renewal goes on with its session
        kept = tls_connect(s)
        kept.sendall(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_response(kept)[0] == 200

        # a renewal written in place: the next connections get the new certificate
        cert2, key2, serial2 = tls.pki.issue("renewed")
        shutil.copyfile(key2, tls.key_path)
        shutil.copyfile(cert2, tls.cert_path)
        assert wait_until(lambda: peer_serial(s) == serial2, hang_guard(15))
        kept.sendall(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_response(kept)[0] == 200
        kept.close()

        # a broken renewal (a key of another certificate) is not used: the last good pair stays
        def refusals():
            return open(s.log_path).read().count("new TLS files not used")
        before = refusals()
        cert3, key3, serial3 = tls.pki.issue("third")
        shutil.copyfile(cert3, tls.cert_path)  # the key is not yet written
        assert wait_until(lambda: refusals() > before, hang_guard(15))
        assert peer_serial(s) == serial2
        # ...until the matching key arrives
        shutil.copyfile(key3, tls.key_path)
        assert wait_until(lambda: peer_serial(s) == serial3, hang_guard(15))
        assert requests.get(s.url + "/v2/", verify=s.verify, timeout=30).status_code == 200


# ------------------------------------------------------------------ the realm

def test_token_realm_names_https(tmp_path):
    tls = ServerTls(str(tmp_path / "pki"))
    with AuthServer(tls=tls) as s:
        r = requests.get(s.url + "/v2/some/repo/tags/list", verify=s.verify, timeout=30)
        assert r.status_code == 401
        realm = challenge_params(r)["realm"]
        assert realm == f"https://127.0.0.1:{s.port}/token", realm
        # the token endpoint answers over TLS, and the token works
        tok = s.token(["repository:some/repo:pull"], auth=("admin", "admin-password-for-tests"))
        r = requests.get(s.url + "/v2/some/repo/tags/list", verify=s.verify, timeout=30,
                         headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 404


def test_expect_continue_and_chunked_upload_over_tls(srv):
    body = os.urandom(200_000)
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    with tls_connect(srv) as s:
        s.settimeout(hang_guard(20))
        s.sendall(b"POST /v2/tls/chunked/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Length: 0\r\n\r\n")
        status, headers, _ = read_response(s)
        assert status == 202
        loc = headers["location"]
        sep = "&" if "?" in loc else "?"
        s.sendall(f"PUT {loc}{sep}digest={digest} HTTP/1.1\r\nHost: localhost\r\n"
                  f"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n".encode())
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += s.recv(1)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        for off in range(0, len(body), 70_000):
            part = body[off:off + 70_000]
            s.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        status, headers, _ = read_response(s)
        assert status == 201, headers
    reg = reg_of(srv)
    assert reg.get(f"/v2/tls/chunked/blobs/{digest}").content == body


def test_a_reader_that_stops_is_cut_during_a_tls_send(tmp_path, tls):
    with ArcaServer(tls=tls, extra_args=["--io-timeout", "2", "--min-rate", "0"]) as s:
        reg = Registry(s.url, verify=s.verify)
        data = os.urandom(32 << 20)
        digest = reg.push_blob("tls/stall", data)
        sock = tls_connect(s)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(f"GET /v2/tls/stall/blobs/{digest} HTTP/1.1\r\nHost: localhost\r\n\r\n"
                     .encode())
        time.sleep(6)  # read nothing: the server's send stalls, past io_timeout
        got = 0
        sock.settimeout(hang_guard(20))
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        except (ssl.SSLError, ConnectionResetError, OSError):
            pass
        # cut short: what was in flight arrived, not the whole blob
        assert got < len(data), got
        sock.close()
        assert requests.get(s.url + "/v2/", verify=s.verify, timeout=30).status_code == 200


def test_a_key_update_on_an_idle_connection_keeps_it_idle(srv):
    """A TLS 1.3 KeyUpdate carries no request: the connection stays idle under idle_timeout
    (5 s here) rather than waiting for headers under header_timeout (3 s) and getting a 408.
    openssl s_client sends one when given the line "k" (interactive mode: neither -quiet nor
    -ign_eof, so stdin stays open until the end)."""
    import subprocess
    p = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", "-servername", "localhost",
         "-CAfile", srv.tls.ca_path, "-verify_return_error", "-tls1_3", "-crlf"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"GET /v2/ HTTP/1.1\nHost: localhost\n\n")
        p.stdin.flush()
        time.sleep(1)
        p.stdin.write(b"k\n")  # KEYUPDATE, not sent as data
        p.stdin.flush()
        time.sleep(4)  # past header_timeout, within idle_timeout
        p.stdin.write(b"GET /v2/ HTTP/1.1\nHost: localhost\n\n")
        p.stdin.flush()
        time.sleep(1)
        out, err = p.communicate(timeout=hang_guard(30))  # closes stdin: s_client ends
    finally:
        if p.poll() is None:
            p.kill()
    assert b"KEYUPDATE" in err + out, err[-2000:]
    assert out.count(b"HTTP/1.1 200 OK") == 2, out[-2000:]
    assert b"HTTP/1.1 408" not in out  # (session data printed by s_client may hold "408")
