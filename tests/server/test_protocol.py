"""Request framing that a lenient proxy could read differently (request smuggling), and a
stop that joins its threads (issue 9, finding 7 and the shutdown item)."""
import json
import os
import signal
import socket
import threading
import time

import pytest
import requests

from arca_server import ArcaServer
from rawclient import (connect, get, hang_guard, read_response, read_responses, sha256,
                       wait_closed, wait_server_read, wait_until)


@pytest.fixture(scope="module")
def srv():
    s = ArcaServer().start()
    yield s
    s.cleanup()


# A body that, were the header ignored, would parse as a second request.
SMUGGLED = b"GET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("coding", ["xchunked", "chunked, gzip", "identity", "gzip",
                                    "gzip, chunked", " CHUNKED x", "chunked;q=1"])
def test_unknown_transfer_coding_is_501_and_closes(srv, coding):
    s = connect(srv.port)
    s.sendall((f"POST /v2/smuggle/blobs/uploads/ HTTP/1.1\r\nHost: x\r\n"
               f"Transfer-Encoding: {coding}\r\n\r\n").encode() + SMUGGLED)
    r = read_response(s)
    assert r is not None and r[0] == 501, r
    body = json.loads(r[2])
    assert body["errors"][0]["code"] == "UNSUPPORTED"
    assert r[1].get("connection") == "close"
    # The body was never read as a second request.
    assert wait_closed(s, hang_guard(10))
    assert read_response(s) is None


def test_two_transfer_encoding_headers_are_refused(srv):
    s = connect(srv.port)
    s.sendall(b"POST /v2/smuggle/blobs/uploads/ HTTP/1.1\r\nHost: x\r\n"
              b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)
    r = read_response(s)
    assert r is not None and r[0] == 501, r
    assert wait_closed(s, hang_guard(10))


def test_transfer_encoding_with_content_length_is_400(srv):
    s = connect(srv.port)
    s.sendall(b"POST /v2/smuggle/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)
    r = read_response(s)
    assert r is not None and r[0] == 400, r
    assert wait_closed(s, hang_guard(10))


def test_plain_chunked_still_works(srv):
    data = b"hello chunks"
    s = connect(srv.port)
    s.sendall((f"POST /v2/chunky/blobs/uploads/?digest={sha256(data)} HTTP/1.1\r\nHost: x\r\n"
               "Transfer-Encoding: Chunked\r\n\r\n").encode() +
              b"5\r\nhello\r\n7\r\n chunks\r\n0\r\n\r\n")
    r = read_response(s)
    assert r is not None and r[0] == 201, r
    s.close()
    assert requests.get(f"{srv.url}/v2/chunky/blobs/{sha256(data)}").content == data


def test_keep_alive_serves_pipelined_requests(srv):
    s = connect(srv.port)
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
    # The three answers may come in one segment: read them as one stream.
    assert read_responses(s, 3) == [200, 200, 200]
    s.close()


def test_stop_past_the_grace_cuts_and_joins():
    """A client trickling an upload beyond the grace period is cut, and the process exits 0
    on its own (threads joined; no forced exit)."""
    srv = ArcaServer(extra_args=["--shutdown-grace", "1"]).start()
    try:
        s = connect(srv.port)
        s.sendall(f"POST /v2/g/blobs/uploads/?digest={sha256(b'y' * 10000)} HTTP/1.1\r\n"
                  f"Host: x\r\nContent-Length: 10000\r\n\r\n".encode() + b"y" * 10)
        idle, r = get(srv.port, keep=True)
        assert r[0] == 200
        wait_server_read(s, srv.port)   # the upload is in the server's hands, body begun
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=hang_guard(30)) == 0
        log = open(srv.log_path, errors="replace").read()
        assert "stopped with 1 connections cut" in log, log[-2000:]
        assert wait_closed(s, hang_guard(5)) and wait_closed(idle, hang_guard(5))
        srv.proc = None
        srv._log.close()
    finally:
        srv.cleanup()


def test_many_connections_and_requests_at_once(srv):
    """200 clients, 20 requests each over keep-alive, every one answered correctly."""
    data = os.urandom(1024)
    requests.post(f"{srv.url}/v2/many/blobs/uploads/?digest={sha256(data)}", data=data)
    errors = []

    def client():
        try:
            with requests.Session() as sess:
                for _ in range(20):
                    r = sess.get(f"{srv.url}/v2/many/blobs/{sha256(data)}", timeout=hang_guard(30))
                    if r.status_code != 200 or r.content != data:
                        errors.append(r.status_code)
        except Exception as e:  # noqa: BLE001 - any failure is the test's failure
            errors.append(repr(e))
    threads = [threading.Thread(target=client) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=hang_guard(120))
        assert not t.is_alive(), "a client hung"
    assert errors == []


def test_pipelined_bodies_end_exactly_at_their_length(srv):
    # Bodies framed by Content-Length are read straight from the socket: each read must stop
    # at the body's end, leaving the next request (here in the same segment) to the parser.
    blobs = [b"first body " * 50, b"second", os.urandom(100000)]
    wire = b""
    for b in blobs:
        wire += (f"POST /v2/pipe/blobs/uploads/?digest={sha256(b)} HTTP/1.1\r\nHost: x\r\n"
                 f"Content-Length: {len(b)}\r\n\r\n").encode() + b
    wire += b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
    s = connect(srv.port)
    s.sendall(wire)
    assert read_responses(s, 4) == [201, 201, 201, 200]
    s.close()
    for b in blobs:
        assert requests.get(f"{srv.url}/v2/pipe/blobs/{sha256(b)}").content == b


def test_body_arriving_in_pieces_is_read_whole(srv):
    body = os.urandom(300000)
    s = connect(srv.port)
    s.sendall((f"POST /v2/pieces/blobs/uploads/?digest={sha256(body)} HTTP/1.1\r\nHost: x\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:10])
    for off in range(10, len(body), 70000):
        time.sleep(0.05)
        s.sendall(body[off:off + 70000])
    r = read_response(s)
    assert r is not None and r[0] == 201, r
    s.close()
    assert requests.get(f"{srv.url}/v2/pieces/blobs/{sha256(body)}").content == body


def test_body_shorter_than_its_length_stores_nothing(srv):
    body = b"x" * 1000
    s = connect(srv.port)
    s.sendall((f"POST /v2/short/blobs/uploads/?digest={sha256(body)} HTTP/1.1\r\nHost: x\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:400])
    s.shutdown(socket.SHUT_WR)
    # The server sees the end of the stream inside the body: no blob, and the connection ends.
    assert wait_closed(s, hang_guard(10))
    assert requests.head(f"{srv.url}/v2/short/blobs/{sha256(body)}").status_code == 404
    assert requests.get(f"{srv.url}/v2/").status_code == 200
