"""The program around the API: commands, configuration sources, access log, graceful stop."""
import json
import re
import os
import select
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from arca_server import ArcaServer, arca_bin
from rawclient import wait_server_read
from testkit import hang_guard, sha256, wait_until


def test_version_and_help():
    out = subprocess.run([arca_bin(), "version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("arca ")
    out = subprocess.run([arca_bin(), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "arca serve" in out.stdout and "ARCA_" in out.stdout
    out = subprocess.run([arca_bin(), "frobnicate"], capture_output=True, text=True)
    assert out.returncode == 2 and "unknown command" in out.stderr


def test_bad_settings_fail_clearly():
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([arca_bin(), "serve", "--root", d, "--max-connections", "many"],
                             capture_output=True, text=True, timeout=hang_guard(10))
        assert out.returncode == 2 and "max_connections" in out.stderr
        cfg = os.path.join(d, "bad.yaml")
        with open(cfg, "w") as f:
            f.write("no_such_setting: 1\n")
        out = subprocess.run([arca_bin(), "serve", "--config", cfg], capture_output=True,
                             text=True, timeout=hang_guard(10))
        assert out.returncode == 2 and "no_such_setting" in out.stderr


def serving_address(proc):
    """The address on arca's start line (read from its stderr), which names the port it
    bound: each setting below asks for port 0 on its own loopback host, so the host tells
    which setting won and no port is guessed in advance."""
    seen = []
    for _ in range(20):  # a few lines come first ("new store ...")
        line = proc.stderr.readline().decode()
        seen.append(line)
        m = re.search(r"serving on (\S+):(\d+) ", line)
        if m:
            return m.group(1), int(m.group(2))
        if not line:
            break
    pytest.fail(f"no start line from arca: {''.join(seen)!r}")


def test_settings_precedence_file_env_flags():
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "arca.yaml")
        with open(cfg, "w") as f:
            f.write(f"addr: 127.0.0.2:0\nroot: {d}/from-file\naccess_log: false\n")
        env = dict(os.environ, ARCA_CONFIG=cfg, ARCA_ADDR="127.0.0.3:0")
        proc = subprocess.Popen([arca_bin(), "serve"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            host, port = serving_address(proc)
            assert host == "127.0.0.3"  # the environment wins over the file
            wait_ready(port, host)
            assert os.path.exists(f"{d}/from-file/meta.db")  # root still from the file
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=hang_guard(20))
        assert out == b""  # access_log: false from the file
        proc = subprocess.Popen([arca_bin(), "serve", "--addr", "127.0.0.4:0"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            host, port = serving_address(proc)
            assert host == "127.0.0.4"  # the flag wins over the environment
            wait_ready(port, host)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=hang_guard(20))


def wait_ready(port, host="127.0.0.1", timeout=15):
    def serving():
        try:
            return requests.get(f"http://{host}:{port}/v2/", timeout=1).status_code == 200
        except requests.RequestException:
            return False
    wait_until(serving, timeout, interval=0.05, what=f"arca to serve on {port}")


def test_access_log_is_json_lines():
    srv = ArcaServer()
    srv.start()
    try:
        requests.get(srv.url + "/v2/")
        requests.get(srv.url + "/v2/nope/manifests/latest")
    finally:
        srv.stop()
    with open(srv.log_path) as f:
        lines = [json.loads(l) for l in f if l.startswith("{")]
    srv.cleanup()
    by_path = {l["path"]: l for l in lines}
    miss = by_path["/v2/nope/manifests/latest"]
    assert miss["status"] == 404 and miss["method"] == "GET"
    for key in ("ts", "id", "remote", "bytes", "ms"):
        assert key in miss
    assert by_path["/v2/"]["status"] == 200
    assert len({l["id"] for l in lines}) == len(lines)  # request ids are unique


def test_sigterm_lets_an_in_flight_upload_finish():
    srv = ArcaServer()
    srv.start()
    try:
        data = os.urandom(256 * 1024)
        digest = sha256(data)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=hang_guard(30))
        s.sendall((f"POST /v2/graceful/blobs/uploads/?digest={digest} HTTP/1.1\r\n"
                   f"Host: x\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data[:1000])
        wait_server_read(s, srv.port)   # the request is in the server's hands, body begun
        srv.proc.send_signal(signal.SIGTERM)

        # New connections are refused while the old request goes on.
        def refused():
            try:
                socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
                return False
            except OSError:
                return True
        wait_until(refused, 10, interval=0.05, what="new connections to be refused after SIGTERM")
        assert srv.proc.poll() is None, "the server exited with a request in flight"
        s.sendall(data[1000:])
        reply = s.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 201"), reply
        assert "Connection: close" in reply
        assert srv.proc.wait(timeout=hang_guard(30)) == 0
        srv.proc = None
        srv._log.close()
        srv.start()  # and the blob was stored for good
        r = requests.get(f"{srv.url}/v2/graceful/blobs/{digest}")
        assert r.status_code == 200 and r.content == data
    finally:
        srv.cleanup()


def test_sigterm_closes_idle_keepalive_connections_promptly():
    """An idle keep-alive does not hold the stop. With an hour of grace, a stop that waited for
    it would not end: that shows as a hang, whatever the machine's speed."""
    srv = ArcaServer(extra_args=["--shutdown-grace", "3600"])
    srv.start()
    try:
        sess = requests.Session()
        assert sess.get(srv.url + "/v2/").status_code == 200  # an idle keep-alive remains
        try:
            rc = srv.stop(timeout=hang_guard(30))
        except subprocess.TimeoutExpired:
            srv.stop(kill=True)
            pytest.fail("hang: SIGTERM did not end arca while an idle keep-alive was open",
                        pytrace=False)
        assert rc == 0
    finally:
        srv.cleanup()


def test_headers_trickling_in_are_cut_off():
    """A client that sends its request line a byte at a time (slowloris) is answered 408 and
    dropped once header_timeout has passed in total, while other clients are still served.
    A byte every 0.2 s never leaves the connection idle, and the idle and I/O timeouts are an
    hour: only the header timeout can end it. Not ended within the hang guard: a failure."""
    srv = ArcaServer(extra_args=["--header-timeout", "2", "--idle-timeout", "3600",
                                 "--io-timeout", "3600"])
    srv.start()
    try:
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.settimeout(hang_guard(10))
        deadline = time.monotonic() + hang_guard(60)
        reply = b""
        cut = False

        def trickle():
            yield from b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: "
            while True:
                yield ord("a")
        try:
            for ch in trickle():
                if select.select([s], [], [], 0)[0]:
                    cut = True           # an answer or the close: stop sending
                    break
                s.send(bytes([ch]))
                assert requests.get(srv.url + "/v2/", timeout=hang_guard(30)).status_code == 200
                time.sleep(0.2)
                if time.monotonic() > deadline:
                    break
        except (BrokenPipeError, ConnectionResetError):
            cut = True
        assert cut, f"hang: the trickling client was never cut off ({hang_guard(60):g} s)"
        try:
            reply = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            pass
        assert reply.startswith(b"HTTP/1.1 408"), reply
    finally:
        srv.cleanup()
