"""scripts/engines/ceph-rgw.sh through tests/lib/s3lib.py: the Ceph cluster it starts is a real,
signature-checking S3 endpoint on 127.0.0.1 only, two of them run side by side without seeing
each other, and stop leaves no process and no open port behind.

Requests are signed with botocore's SigV4 signer when botocore is importable, and always also
with the small SigV4 signer below (hashlib + hmac), so the check runs on a machine without
botocore too (Arca does not depend on it)."""
import datetime
import hashlib
import hmac
import os
import socket
import threading
import time
import urllib.parse

import requests

from s3lib import STOP_TIMEOUT_S, CephRgw
from testkit import listening_sockets, running

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    S3SigV4Auth = None

SIGNERS = ["minimal"] + (["botocore"] if S3SigV4Auth else [])


def sign_minimal(method, url, headers, body, access_key, secret_key, region):
    """AWS SigV4 for S3 (header form, payload hashed), enough for path-style requests whose
    path and query are already URI-encoded. Returns the headers to send."""
    u = urllib.parse.urlsplit(url)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    out = dict(headers)
    out.setdefault("x-amz-content-sha256", hashlib.sha256(body).hexdigest())
    out["x-amz-date"] = amz_date
    signed = {"host": u.netloc}
    signed.update({k.lower(): str(v).strip() for k, v in out.items()
                   if k.lower().startswith("x-amz-") or k.lower() in ("content-md5",
                                                                       "content-type")})
    names = sorted(signed)
    query = sorted(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    canonical_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}="
                               f"{urllib.parse.quote(v, safe='-_.~')}" for k, v in query)
    canonical = "\n".join([method, u.path or "/", canonical_query]
                          + [f"{n}:{signed[n]}" for n in names]
                          + ["", ";".join(names), out["x-amz-content-sha256"]])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return out


def sign_botocore(method, url, headers, body, access_key, secret_key, region):
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    S3SigV4Auth(Credentials(access_key, secret_key), "s3", region).add_auth(req)
    return dict(req.prepare().headers)


class S3:
    """Signed path-style requests to one endpoint with plain `requests`."""

    def __init__(self, rgw, signer, secret_key=None):
        self.rgw, self.secret_key = rgw, secret_key or rgw.secret_key
        self.sign = sign_botocore if signer == "botocore" else sign_minimal
        self.http = requests.Session()
        self.http.trust_env = False     # no proxy, no AWS_CA_BUNDLE & co for a loopback endpoint

    def __call__(self, method, path, body=b"", headers=None):
        url = self.rgw.endpoint + path
        h = self.sign(method, url, headers or {}, body, self.rgw.access_key, self.secret_key,
                      self.rgw.region)
        return self.http.request(method, url, data=body, headers=h, timeout=30)


def listeners(port):
    """{pid: argv} of the processes listening on 127.0.0.1:port (or any address)."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(p == port for _, p in listening_sockets(pid)):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    out[int(pid)] = f.read().split(b"\0")
        except OSError:
            continue
    return out


def check_s3(rgw, signer, bucket):
    s3 = S3(rgw, signer)
    r = s3("PUT", f"/{bucket}")
    assert r.status_code == 200, r.text
    body = os.urandom(1 << 20) + b"tail"
    r = s3("PUT", f"/{bucket}/dir/obj", body)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    r = s3("GET", f"/{bucket}/dir/obj")
    assert r.status_code == 200 and r.content == body
    r = s3("GET", f"/{bucket}/dir/obj", headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206, r.text
    assert r.content == body[1000:2000]
    assert r.headers["Content-Range"] == f"bytes 1000-1999/{len(body)}"
    r = s3("GET", f"/{bucket}/dir/obj", headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == body[-10:]

    # Refused: no signature at all, a wrong secret, a signature made for another object.
    r = s3.http.get(f"{rgw.endpoint}/{bucket}/dir/obj", timeout=30)
    assert r.status_code == 403 and b"AccessDenied" in r.content, r.text
    r = S3(rgw, signer, secret_key="x" * 40)("GET", f"/{bucket}/dir/obj")
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content, r.text
    h = s3.sign("GET", f"{rgw.endpoint}/{bucket}/other", {}, b"", rgw.access_key,
                rgw.secret_key, rgw.region)
    r = s3.http.get(f"{rgw.endpoint}/{bucket}/dir/obj", headers=h, timeout=30)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content, r.text
    r = s3.http.put(f"{rgw.endpoint}/{bucket}/anon", data=b"x", timeout=30)
    assert r.status_code == 403, r.text


def test_ceph_rgw_is_a_real_s3_on_loopback_and_stops_clean():
    with CephRgw() as rgw:
        assert rgw.endpoint.startswith("http://127.0.0.1:")
        assert rgw.region and len(rgw.access_key) == 20 and len(rgw.secret_key) == 40
        pids = rgw.pids()
        assert set(pids) == {"mon", "osd", "rgw"} and all(running(p) for p in pids.values())
        ports = []
        for name, pid in pids.items():
            socks = listening_sockets(pid)
            assert socks, f"{name} listens nowhere"
            assert all(ip == "127.0.0.1" for ip, _ in socks), f"{name} listens on {socks}"
            ports += [port for _, port in socks]
        rgw_port = int(rgw.endpoint.rsplit(":", 1)[1])
        assert rgw_port in [port for _, port in listening_sockets(pids["rgw"])]

        for signer in SIGNERS:
            check_s3(rgw, signer, f"engine-check-{signer}")

        conf = os.path.join(rgw.dir, "ceph.conf").encode()
        t0 = time.monotonic()
        rgw.stop()
        took = time.monotonic() - t0
    assert took < STOP_TIMEOUT_S
    assert not [n for n, p in pids.items() if running(p)], "a daemon survived stop"
    for port in ports:
        with socket.socket() as s:
            s.settimeout(2)
            if s.connect_ex(("127.0.0.1", port)) != 0:
                continue
        # Open again: fine only if someone else took it since (another cluster's OSD may take
        # 6800 at once, for one).
        held = {pid: argv for pid, argv in listeners(port).items() if conf in argv}
        assert not held, f"port {port} still open after stop: {held}"


def test_two_clusters_side_by_side():
    clusters, errors = [CephRgw(), CephRgw()], []

    def start(c):
        try:
            c.start()
        except Exception as e:          # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=start, args=(c,)) for c in clusters]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        a, b = clusters
        assert a.endpoint != b.endpoint and a.access_key != b.access_key
        sa, sb = S3(a, SIGNERS[-1]), S3(b, SIGNERS[-1])
        assert sa("PUT", "/only-in-a").status_code == 200
        assert sb("PUT", "/only-in-b").status_code == 200
        la, lb = sa("GET", "/").text, sb("GET", "/").text
        assert "only-in-a" in la and "only-in-b" not in la
        assert "only-in-b" in lb and "only-in-a" not in lb
        # Keys of one cluster mean nothing to the other.
        h = sign_minimal("GET", b.endpoint + "/", {}, b"", a.access_key, a.secret_key, a.region)
        r = sb.http.get(b.endpoint + "/", headers=h, timeout=30)
        assert r.status_code == 403 and b"InvalidAccessKeyId" in r.content, r.text
        a.stop()
        assert sb("GET", "/only-in-b").status_code == 200, "stopping one cluster hurt the other"
    finally:
        for c in clusters:
            c.stop()
