#!/usr/bin/env python3
"""`make bench`: Arca and CNCF Distribution (2.8 from Debian, v3 from the Go module proxy) side
by side on this machine, in one run.

Every registry starts on loopback with a fresh data folder; every workload runs against each
with the same client (bench/loadgen, wrk, or curl); figures are medians of --repeat runs unless
a row says otherwise; the machine's own limits (sha256, fsync'd disk write, loopback copy) are
measured in the same run. Writes a Markdown report to bench/results/ and prints it."""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import base64
import crypt
import ssl
import urllib.error
import urllib.request
import warnings

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ARCA = os.path.join(TOP, "build", "release", "arca")
LOADGEN = os.path.join(TOP, "build", "bench", "loadgen")
# Built by bench/tools.sh (`make bench` runs it) into the cache scripts/go-tools.sh uses.
DIST_V3 = os.path.join(os.environ.get("ARCA_TOOLS", os.path.expanduser("~/.cache/arca-tools")),
                       "bin", "distribution-v3")
# Every server and client of the run inherits this descriptor limit: 10,000 idle connections
# need 10,000 descriptors on each side, and systemd's default of 1024 would refuse them.
NOFILE = 65536
# Arca's own cap on open connections: above the idle row's 10,000 plus wrk's 32.
ARCA_MAX_CONNECTIONS = 12000
MIB = 1 << 20
CURL_READ = 102400  # curl's download buffer: it reads 100 KiB per recvfrom (seen with strace)
ACCEPT = "Accept: application/vnd.oci.image.manifest.v1+json"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadgen(*args, timeout=900, env=None):
    out = sh(LOADGEN, *args, timeout=timeout, env=env)
    return json.loads(out.strip().splitlines()[-1])


class Rss(threading.Thread):
    """Samples a process's resident memory every 20 ms; peak() since the last reset()."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.stopped = pid, 0, False

    def now_kib(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def run(self):
        while not self.stopped:
            self.peak_kib = max(self.peak_kib, self.now_kib())
            time.sleep(0.02)

    def reset(self):
        self.peak_kib = self.now_kib()

    def peak_mib(self):
        return self.peak_kib / 1024


PEERS = {"2.8": "distribution", "v3": "distribution-v3"}
LABELS = {"arca": "Arca", "distribution": "Distribution 2.8", "distribution-v3": "Distribution v3"}


class Registry:
    """One registry under test: "arca", "distribution" (2.8, Debian's docker-registry) or
    "distribution-v3"."""

    def __init__(self, name, workdir, arca_args=(), htpasswd=None):
        self.name, self.port = name, free_port()
        self.htpasswd = htpasswd  # Distribution: serve with this htpasswd file as its auth
        self.tls = None  # (cert, key): serve HTTPS with them
        self.data = os.path.join(workdir, name + "-data")
        self.workdir, self.proc, self.arca_args = workdir, None, list(arca_args)

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def command(self):
        if self.name == "arca":
            return [ARCA, "serve", "--addr", f"127.0.0.1:{self.port}", "--root", self.data,
                    "--access-log", "false", "--max_connections", str(ARCA_MAX_CONNECTIONS),
                    # every bench client is 127.0.0.1: no per-address limit (the peers have none)
                    "--max_connections_per_client", "0", *self.arca_args,
                    *(["--tls-cert", self.tls[0], "--tls-key", self.tls[1]] if self.tls else [])]
        # Access logs off, as for Arca: each peer would otherwise write a line per request.
        cfg = os.path.join(self.workdir, self.name + ".yml")
        with open(cfg, "w") as f:
            f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.data}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:{self.port}
""")
            if self.tls:
                f.write(f"  tls:\n    certificate: {self.tls[0]}\n    key: {self.tls[1]}\n")
            if self.htpasswd:
                f.write(f"auth:\n  htpasswd:\n    realm: bench\n    path: {self.htpasswd}\n")
        if self.name == "distribution-v3":
            return [DIST_V3, "serve", cfg]
        return ["docker-registry", "serve", cfg]

    def start(self, fresh=True):
        if fresh:
            shutil.rmtree(self.data, ignore_errors=True)
        os.makedirs(self.data, exist_ok=True)
        self.log = open(os.path.join(self.workdir, self.name + ".log"), "ab")
        # v3 would otherwise try to export traces to an OTLP collector on localhost.
        env = dict(os.environ, OTEL_TRACES_EXPORTER="none")
        env.update(getattr(self, "env", {}))
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=self.log, env=env)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1,
                                       context=ssl._create_unverified_context())
                break
            except urllib.error.HTTPError:  # 401: auth is on, and the server is up
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{self.name} did not start")
        self.rss = Rss(self.proc.pid)
        self.rss.start()
        time.sleep(1)
        self.idle_mib = self.rss.now_kib() / 1024

    def stop(self):
        self.rss.stopped = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def raise_nofile():
    """Raises this process's descriptor limit (inherited by every server and client it
    starts) to NOFILE, or as far as the hard limit allows; returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, max(hard, NOFILE)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(NOFILE, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def wrk(url, seconds, allow_errors=False, header=None):
    """wrk's requests per second and p99 latency in ms; with allow_errors, also the number of
    non-2xx answers and socket errors (else any of them is fatal). header: one more, e.g.
    "Authorization: Bearer ..."."""
    extra = ["-H", header] if header else []
    out = sh("wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H", ACCEPT, *extra, url)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)] if p99 else 0
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(bad.group(1)) if bad else 0
    if allow_errors:
        sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        sock = sum(int(x) for x in sock.groups()) if sock else 0
        total = int(re.search(r"(\d+) requests in", out).group(1))
        ok_rps = rps * (total - bad) / total if total else 0  # only the answers that were 2xx
        return ok_rps, p99, bad + sock
    if bad:
        raise RuntimeError(f"wrk saw {bad} error responses from {url}")
    return rps, p99


def curl_pull(url, size, n, cacert=None):
    """Best of n pulls by curl into /dev/null (curl neither hashes nor keeps what it reads)."""
    rates = []
    extra = ["--cacert", cacert] if cacert else []
    for _ in range(n):
        out = sh("curl", "-sS", *extra, "-o", "/dev/null", "-w",
                 "%{http_code} %{size_download} %{time_total}", url)
        code, got, secs = out.split()
        if code != "200" or int(got) != size:
            raise RuntimeError(f"curl {url}: status {code}, {got} bytes; want 200, {size}")
        rates.append(size / MIB / float(secs))
    return max(rates)


def idle_conns(reg, args):
    """Holds args.idle_conns idle keep-alive connections (each has sent one GET /v2/), reads the
    server's memory, runs wrk beside them, and counts how many the server kept open."""
    r, n = {}, args.idle_conns
    before = reg.rss.now_kib() / 1024
    p = subprocess.Popen([LOADGEN, "idle", "-url", reg.url, "-n", str(n), "-c", "64"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"{reg.name}: loadgen idle ended early (exit {p.wait()})")
        ready = json.loads(line)
        if ready.get("failed"):
            print(f"bench: {reg.name}: {ready['failed']} of {n} idle connections failed: "
                  f"{ready.get('first_error')}", file=sys.stderr)
        time.sleep(1)  # let the server settle what it allocated per connection
        r["idle_conns_rss"] = reg.rss.now_kib() / 1024
        r["idle_conns_rss_added"] = r["idle_conns_rss"] - before
        reg.rss.reset()
        rps, _, errors = wrk(f"{reg.url}/v2/bench/base/manifests/v1", max(2, args.seconds // 2),
                             allow_errors=True)
        r["idle_conns_get_rps"], r["idle_conns_get_errors"] = rps, errors
        r["idle_conns_rss_peak"] = reg.rss.peak_mib()
        p.stdin.close()
        out = json.loads(p.stdout.readline())
        p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    r["idle_conns_open"] = out["still_open"]
    r["idle_conns_opened"] = out["opened"]
    r["_idle_detail"] = dict(out, open_s=ready.get("open_s"))
    return r


WORKLOADS = ("get_head", "push", "pull", "push_1g", "artifacts", "tags", "idle", "auth", "tls")
AUTH_USER = ("bench", "bench-password")


def auth_rows(workdir, args, with_peer):
    """Issue 11: manifest GET with credentials against without, side by side. Each registry is
    filled without auth, then restarted on the same data with auth on: Arca with `auth: token`
    (a bearer token from /token, and Basic straight on /v2), Distribution 2.8 with its htpasswd
    auth (Basic on every request, as it has no tokens of its own)."""
    res = {}
    url_path = "/v2/bench/base/manifests/v1"
    basic = "Authorization: Basic " + base64.b64encode(":".join(AUTH_USER).encode()).decode()

    def once(u, header=None):
        return wrk(u + url_path, args.seconds, header=header)[0]

    # The modes alternate, run by run (the server restarted on the same data each time), so
    # that the machine's drift over minutes falls on both sides alike.
    arca = Registry("arca", workdir, args.arca_arg)
    arca.start()
    try:
        loadgen("setup", "-url", arca.url, "-repo", "bench/base")
    finally:
        arca.stop()
    open_runs, bearer_runs, basic_runs, token = [], [], [], None
    for _ in range(args.repeat):
        arca.arca_args = list(args.arca_arg)
        arca.start(fresh=False)
        try:
            open_runs.append(once(arca.url))
        finally:
            arca.stop()
        arca.arca_args = list(args.arca_arg) + ["--auth", "token", "--token-ttl", "1h"]
        arca.env = {"ARCA_ADMIN_PASSWORD": AUTH_USER[1] + "-admin"}
        arca.start(fresh=False)
        try:
            if token is None:
                sh(ARCA, "user", "add", AUTH_USER[0], "--root", arca.data,
                   env=dict(os.environ, ARCA_PASSWORD=AUTH_USER[1]))
                sh(ARCA, "grant", "add", f"user:{AUTH_USER[0]}", "bench/**", "pull", "--root", arca.data)
                req = urllib.request.Request(
                    arca.url + "/token?service=arca&scope=repository:bench/base:pull",
                    headers={basic.split(": ", 1)[0]: basic.split(": ", 1)[1]})
                token = json.loads(urllib.request.urlopen(req, timeout=30).read())["token"]
            bearer_runs.append(once(arca.url, "Authorization: Bearer " + token))
            basic_runs.append(once(arca.url, basic))
        finally:
            arca.stop()
    res["arca_open_rps"] = statistics.median(open_runs)
    res["arca_bearer_rps"] = statistics.median(bearer_runs)
    res["arca_basic_rps"] = statistics.median(basic_runs)
    if with_peer:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            hashed = crypt.crypt(AUTH_USER[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))
        ht = os.path.join(workdir, "htpasswd")
        with open(ht, "w") as f:
            f.write(f"{AUTH_USER[0]}:{hashed}\n")
        dist = Registry("distribution", workdir)
        dist.start()
        try:
            loadgen("setup", "-url", dist.url, "-repo", "bench/base")
        finally:
            dist.stop()
        open_runs, basic_runs = [], []
        for _ in range(args.repeat):
            dist.htpasswd = None
            dist.start(fresh=False)
            try:
                open_runs.append(once(dist.url))
            finally:
                dist.stop()
            dist.htpasswd = ht
            dist.start(fresh=False)
            try:
                basic_runs.append(once(dist.url, basic))
            finally:
                dist.stop()
        res["dist_open_rps"] = statistics.median(open_runs)
        res["dist_basic_rps"] = statistics.median(basic_runs)
    return res


def tls_rows(workdir, args, with_peer):
    """Issue 11: what HTTPS costs. Each registry is filled over plain HTTP, then restarted on
    the same data alternately without and with TLS (the same P-256 certificate for all), and
    measured: manifest GETs on kept-alive connections (wrk), one new connection per request
    (wrk with Connection: close: a TLS handshake each), and a blob pull (curl and the Go
    client: under TLS Arca cannot use sendfile, this kernel having no kTLS)."""
    cert, key = os.path.join(workdir, "tls.crt"), os.path.join(workdir, "tls.key")
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
       "-addext", "subjectAltName=IP:127.0.0.1")
    go_env = dict(os.environ, SSL_CERT_FILE=cert)
    size = args.blob_mib * MIB
    names = ["arca"] + (["distribution"] if with_peer else [])
    res = {}
    # The machine's own limit for the cipher the pulls negotiate (TLS 1.3's AES-128-GCM on
    # x86 with AES-NI), one core, 16 KiB records; best of three.
    gcm = []
    for _ in range(3):
        out = sh("openssl", "speed", "-seconds", "1", "-bytes", "16384", "-evp", "aes-128-gcm")
        gcm.append(float(out.strip().splitlines()[-1].split()[-1].rstrip("k")) * 1000 / MIB)
    res["_aes_gcm_mib_s"] = max(gcm)
    for name in names:
        reg = Registry(name, workdir, args.arca_arg)
        reg.start()
        try:
            loadgen("setup", "-url", reg.url, "-repo", "bench/base")
            blob = loadgen("push", "-url", reg.url, "-repo", "bench/blob", "-size", str(size),
                           "-n", "1")["last_digest"]
        finally:
            reg.stop()
        runs = {}
        for _ in range(args.repeat):
            for mode in ("plain", "tls"):
                reg.tls = (cert, key) if mode == "tls" else None
                reg.start(fresh=False)
                try:
                    u = reg.url
                    got = runs.setdefault(mode, {})
                    got.setdefault("get_rps", []).append(
                        wrk(f"{u}/v2/bench/base/manifests/v1", args.seconds)[0])
                    got.setdefault("conn_rps", []).append(
                        wrk(f"{u}/v2/bench/base/manifests/v1", args.seconds,
                            header="Connection: close")[0])
                    got.setdefault("pull_curl", []).append(
                        curl_pull(f"{u}/v2/bench/blob/blobs/{blob}", size, 3, cacert=cert))
                    got.setdefault("pull_go", []).append(loadgen(
                        "pull", "-url", u, "-repo", "bench/blob", "-digest", blob, "-size",
                        str(size), "-n", "3", env=go_env)["mib_s"])
                finally:
                    reg.stop()
        reg.tls = None
        res[name] = {f"{mode}_{k}": statistics.median(v) for mode, d in runs.items()
                     for k, v in d.items()}
        print(f"bench: {name}: tls rows done", file=sys.stderr, flush=True)
    return res


def tls_report(t):
    lines = ["", "## HTTPS (issue 11): the same requests without and with TLS", "",
             "| registry | figure | plain HTTP | HTTPS | HTTPS/plain |", "|---|---|---:|---:|---:|"]
    if t.get("_aes_gcm_mib_s"):
        lines.insert(3, "")
        lines.insert(3, f"The machine's own limit, same run: AES-128-GCM (OpenSSL, one core, 16 KiB "
                        f"records) {fmt(t['_aes_gcm_mib_s'])} MiB/s; a pull over TLS encrypts on the "
                        "server and decrypts in the client, on the same two cores.")
    for name in ("arca", "distribution"):
        if name not in t:
            continue
        for key, label in [("get_rps", "manifest GET, kept-alive connections, req/s"),
                           ("conn_rps", "manifest GET, a new connection each, req/s"),
                           ("pull_curl", f"blob pull, curl, MiB/s (best of 3)"),
                           ("pull_go", "blob pull, Go client, MiB/s")]:
            p, s = t[name].get(f"plain_{key}"), t[name].get(f"tls_{key}")
            if p and s:
                lines.append(f"| {LABELS[name]} | {label} | {fmt(p)} | {fmt(s)} | {s / p:.2f} |")
    if "arca" in t and "distribution" in t:
        a, d = t["arca"], t["distribution"]
        lines += ["", "Arca over HTTPS against Distribution 2.8 over HTTPS: manifest GET "
                  f"{a['tls_get_rps'] / d['tls_get_rps']:.2f}×, new connections "
                  f"{a['tls_conn_rps'] / d['tls_conn_rps']:.2f}×, pull (curl) "
                  f"{a['tls_pull_curl'] / d['tls_pull_curl']:.2f}×."]
    return lines


def auth_report(a):
    lines = ["", "## Authentication (issue 11): manifest GET by tag with credentials (wrk, 32 conns)", "",
             "| registry | without auth | with auth | with/without |", "|---|---:|---:|---:|"]
    for label, open_key, key in [("Arca, bearer token (`auth: token`)", "arca_open_rps", "arca_bearer_rps"),
                                 ("Arca, Basic on every request", "arca_open_rps", "arca_basic_rps"),
                                 ("Distribution 2.8, htpasswd (Basic on every request)", "dist_open_rps", "dist_basic_rps")]:
        if a.get(key):
            lines.append(f"| {label} | {fmt(a[open_key])} | {fmt(a[key])} | {a[key] / a[open_key]:.2f} |")
    if a.get("arca_bearer_rps") and a.get("dist_basic_rps"):
        lines += ["", f"Arca with a bearer token against Distribution with htpasswd: "
                  f"{a['arca_bearer_rps'] / a['dist_basic_rps']:.2f}×; target (issue 11): Arca with a "
                  f"token ≥ 0.85× of Arca without: {'met' if a['arca_bearer_rps'] >= 0.85 * a['arca_open_rps'] else 'not met'}."]
    return lines


def measure(reg, args):
    """The selected workloads against one registry; returns {metric: value} with peaks of
    memory. Pull needs push (it pulls the blob pushed last); tags needs nothing else."""
    r, u = {}, reg.url
    base = loadgen("setup", "-url", u, "-repo", "bench/base")

    def run(name, fn):
        if name not in args.only:
            return
        t = time.time()
        reg.rss.reset()
        fn()
        r[f"rss_{name}"] = reg.rss.peak_mib()
        print(f"bench: {reg.name}: {name} {time.time() - t:.0f} s", file=sys.stderr, flush=True)

    def get_head():
        runs = [wrk(f"{u}/v2/bench/base/manifests/v1", args.seconds) for _ in range(args.repeat)]
        r["manifest_get_rps"] = statistics.median(x[0] for x in runs)
        r["manifest_get_p99_ms"] = statistics.median(x[1] for x in runs)
        # wrk waits for a body after HEAD; loadgen's hammer is the same for every registry.
        runs = [loadgen("hammer", "-url", u, "-method", "HEAD", "-path",
                        f"/v2/bench/base/blobs/{base['layer']}", "-c", "32", "-d", f"{args.seconds}s")
                for _ in range(args.repeat)]
        r["blob_head_rps"] = statistics.median(x["rps"] for x in runs)
        runs = [loadgen("hammer", "-url", u, "-method", "GET", "-path",
                        "/v2/bench/base/manifests/v1", "-c", "32", "-d", f"{args.seconds}s")
                for _ in range(args.repeat)]
        r["manifest_get_go_rps"] = statistics.median(x["rps"] for x in runs)
    run("get_head", get_head)

    size = str(args.blob_mib * MIB)

    def push():
        out = loadgen("push", "-url", u, "-repo", "bench/blob", "-size", size, "-n", str(args.repeat))
        r["push_mono_mib_s"] = out["mib_s"]
        r["_blob"] = out["last_digest"]
        r["push_chunked_mib_s"] = loadgen("push", "-url", u, "-repo", "bench/blob", "-size", size,
                                          "-n", str(args.repeat), "-chunk", str(8 * MIB))["mib_s"]
    if "pull" in args.only and "push" not in args.only:
        r["_blob"] = loadgen("push", "-url", u, "-repo", "bench/blob", "-size", size, "-n", "1")["last_digest"]
    run("push", push)

    def pull():
        # The Go client's pull neither hashes nor keeps what it reads: io.Copy into io.Discard,
        # 8 KiB per read. Beside it, the same with sha256 verified as real clients do, and curl
        # (no hashing, larger reads): if curl is well ahead, the client is the limit.
        blob = ["-url", u, "-repo", "bench/blob", "-digest", r["_blob"], "-size", size]
        n = max(3, args.repeat)
        out = loadgen("pull", *blob, "-n", str(n))
        r["pull_mib_s"], r["pull_go_best_mib_s"] = out["mib_s"], out["best_mib_s"]
        r["pull_verify_best_mib_s"] = loadgen("pull", *blob, "-n", "3", "-verify")["best_mib_s"]
        r["pull_curl_best_mib_s"] = curl_pull(f"{u}/v2/bench/blob/blobs/{r['_blob']}",
                                              args.blob_mib * MIB, 3)
        r["pull_range_mib_s"] = loadgen("pull", *blob, "-n", str(args.repeat), "-range")["mib_s"]
    run("pull", pull)

    def push_1g():
        # Seen here: Distribution 2.8 once spun for over 15 minutes on this push. A registry
        # that does not finish in 5 minutes gets no figure rather than stalling the run.
        try:
            r["push_1g_mib_s"] = loadgen("push", "-url", u, "-repo", "bench/big", "-size",
                                         str(1024 * MIB), "-n", "1", timeout=300)["mib_s"]
        except subprocess.TimeoutExpired:
            r["push_1g_mib_s"] = 0
            print(f"bench: {reg.name}: the 1 GiB push did not finish in 300 s", file=sys.stderr)
            reg.stop()
            reg.start(fresh=False)
    run("push_1g", push_1g)

    def small():
        out = loadgen("artifacts", "-url", u, "-c", "64", "-d", f"{args.seconds}s")
        if out["failed"]:
            raise RuntimeError(f"{reg.name}: {out['failed']} artifact pushes failed: {out.get('first_error')}")
        r["artifacts_s"] = out["artifacts_s"]
    run("artifacts", small)

    def tags():
        r["tag_put_s"] = loadgen("tags", "-url", u, "-repo", "bench/base", "-n", "10000", "-c", "16")["tags_s"]
        r["tags_list_10k_ms"] = loadgen("list", "-url", u, "-path", "/v2/bench/base/tags/list", "-n", "5")["ms"]
        loadgen("tags", "-url", u, "-repo", "bench/base", "-prefix", "u", "-n", str(args.tags - 10000), "-c", "16")
        out = loadgen("list", "-url", u, "-path", "/v2/bench/base/tags/list", "-n", "5")
        if out["items"] != args.tags + 1:
            raise RuntimeError(f"{reg.name}: tags/list returned {out['items']} tags, want {args.tags + 1}")
        r["tags_list_100k_ms"] = out["ms"]
        # The first listing after a change, when no cached rendering can serve it.
        cold = []
        for i in range(3):
            loadgen("tags", "-url", u, "-repo", "bench/base", "-prefix", f"z{i}", "-n", "1", "-c", "1")
            cold.append(loadgen("list", "-url", u, "-path", "/v2/bench/base/tags/list", "-n", "1")["ms"])
        r["tags_list_100k_cold_ms"] = statistics.median(cold)
        loadgen("repos", "-url", u, "-repo", "bench/base", "-n", str(args.repos), "-c", "16")
        out = loadgen("list", "-url", u, "-path", "/v2/_catalog", "-n", "5")
        r["catalog_ms"] = out["ms"]
    run("tags", tags)

    # Last, so the server holds what the other workloads left behind, as a real one would.
    run("idle", lambda: r.update(idle_conns(reg, args)))
    return r


def scale(reg, args):
    """Arca only: the same reads before and after loading a million manifests directly."""
    u = reg.url
    loadgen("referrers", "-url", u, "-repo", "bench/base", "-n", "100")
    subject = loadgen("setup", "-url", u, "-repo", "bench/base")["manifest"]

    def reads():
        rps = statistics.median(wrk(f"{u}/v2/bench/base/manifests/v1", args.seconds)[0]
                                for _ in range(args.repeat))
        tags = loadgen("list", "-url", u, "-path", "/v2/bench/base/tags/list?n=10000", "-n", "5")["ms"]
        refs = loadgen("list", "-url", u, "-path", f"/v2/bench/base/referrers/{subject}", "-n", "5")
        return {"manifest_get_rps": rps, "tags_page_ms": tags, "referrers_ms": refs["ms"],
                "referrers": refs["items"]}

    before = reads()
    reg.stop()
    t = time.time()
    sh(sys.executable, os.path.join(TOP, "bench", "preload.py"), os.path.join(reg.data, "meta.db"),
       str(args.scale_manifests))
    load_s = time.time() - t
    reg.start(fresh=False)
    after = reads()
    return before, after, load_s


def machine_limits(workdir, args):
    """The best of five tries of each: a shared machine's figures wander, a limit does not."""
    sha, disk = [], []
    path = os.path.join(workdir, "ddtest")
    for _ in range(5):
        out = sh("openssl", "speed", "-seconds", "1", "-bytes", str(MIB), "-evp", "sha256")
        sha.append(float(out.strip().splitlines()[-1].split()[-1].rstrip("k")) * 1000 / MIB)
        t = time.time()
        subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=8M", f"count={args.blob_mib // 8}",
                        "conv=fsync"], check=True, capture_output=True)
        disk.append(args.blob_mib / (time.time() - t))
        os.unlink(path)
    size = str(args.blob_mib * MIB)
    # Two readers: one drains as the Go pull does (io.Copy into io.Discard, 8 KiB reads), the
    # other reads 100 KiB at a time as curl does, so each pull has a ceiling read its own way.
    tcp = loadgen("tcpcopy", "-size", size, "-n", "5")["mib_s"]
    tcp_curl = loadgen("tcpcopy", "-size", size, "-n", "5", "-buf", str(CURL_READ))["mib_s"]
    return {"sha256_mib_s": max(sha), "disk_fsync_mib_s": max(disk), "loopback_mib_s": tcp,
            "loopback_curl_mib_s": tcp_curl}


def machine_info(names):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = open("/proc/cpuinfo").read()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    versions = []
    if "distribution" in names:
        versions.append(sh("docker-registry", "--version").strip())
    if "distribution-v3" in names:
        versions.append(sh(DIST_V3, "--version").strip().split(" ", 1)[-1])  # drop argv[0]
    versions.append(f"arca {sh(ARCA, 'version').strip()}")
    return (f"{os.cpu_count()} cores, {cpu}, SHA-NI {'yes' if ' sha_ni' in flags else 'no'}, "
            f"{mem:.0f} GiB, Linux {platform.release()}; " + "; ".join(versions))


# key, label, unit, higher is better (None: a count, no ratio). {n}, {tags} and {repos} are
# --idle-conns, --tags and --repos.
ROWS = [
    ("manifest_get_rps", "1. manifest GET by tag (wrk, 32 conns)", "req/s", True),
    ("manifest_get_p99_ms", "1. manifest GET p99 latency", "ms", False),
    ("manifest_get_go_rps", "1. manifest GET by tag (Go client, 32 conns)", "req/s", True),
    ("blob_head_rps", "2. blob HEAD (Go client, 32 conns)", "req/s", True),
    ("pull_mib_s", "3. pull 256 MiB blob (Go client, no hashing)", "MiB/s", True),
    ("pull_go_best_mib_s", "3. pull 256 MiB, Go client, best of 3", "MiB/s", True),
    ("pull_curl_best_mib_s", "3. pull 256 MiB, `curl -o /dev/null`, best of 3", "MiB/s", True),
    ("pull_verify_best_mib_s", "3. pull 256 MiB, Go client verifying sha256, best of 3", "MiB/s", True),
    ("pull_range_mib_s", "3. ranged GET, middle 128 MiB", "MiB/s", True),
    ("push_mono_mib_s", "4. push 256 MiB, monolithic", "MiB/s", True),
    ("push_chunked_mib_s", "4. push 256 MiB, 8 MiB PATCHes", "MiB/s", True),
    ("artifacts_s", "5. small artifacts, 64 clients", "artifacts/s", True),
    ("tag_put_s", "6. tag PUTs (10,000 on one manifest)", "tags/s", True),
    ("tags_list_10k_ms", "6. tags/list, 10,000 tags (all pages)", "ms", False),
    ("tags_list_100k_ms", "6. tags/list, {tags:,} tags (all pages)", "ms", False),
    ("tags_list_100k_cold_ms", "6. tags/list, {tags:,} tags, first after a tag change", "ms", False),
    ("catalog_ms", "6. catalog, {repos:,} repositories (all pages)", "ms", False),
    ("idle_mib", "7. resident memory, idle", "MiB", False),
    ("rss_get_head", "7. peak memory, GET/HEAD load", "MiB", False),
    ("rss_push", "7. peak memory, 256 MiB pushes", "MiB", False),
    ("push_1g_mib_s", "7. push 1 GiB, monolithic", "MiB/s", True),
    ("rss_push_1g", "7. peak memory, 1 GiB push", "MiB", False),
    ("rss_pull", "7. peak memory, pulls", "MiB", False),
    ("rss_artifacts", "7. peak memory, small artifacts", "MiB", False),
    ("rss_tags", "7. peak memory, tags and catalog", "MiB", False),
    ("idle_conns_rss", "8. {n:,} idle keep-alive connections: RSS", "MiB", False),
    ("idle_conns_rss_added", "8. memory those {n:,} connections added", "MiB", False),
    ("idle_conns_get_rps", "8. manifest GET while {n:,} idle are held (wrk, 32 conns)", "req/s", True),
    ("idle_conns_get_errors", "8. error answers and socket errors in that wrk run", "count", None),
    ("idle_conns_open", "8. of the {n:,} idle connections, still open at the end", "count", None),
]


def fmt(v):
    if v is None or v == 0:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.2f}" if v < 10 else f"{v:,.1f}"


def ratio(a, p, higher):
    if higher is None or not a or not p or a <= 0 or p <= 0:
        return "n/a"
    return f"{(a / p) if higher else (p / a):.2f}×"


def pct(x, of):
    return f"{x / of:.0%}" if x and of else "n/a"


def report(res, limits, sc, info, args, minutes):
    names = [n for n in ("arca", "distribution", "distribution-v3") if n in res]
    peers = names[1:]
    a = res["arca"]
    columns = ["workload", "unit"] + [LABELS[n] for n in names] + \
        [f"Arca/{LABELS[p].split()[-1]}" for p in peers]
    head = "| " + " | ".join(columns) + " |"
    lines = [f"# Arca vs CNCF Distribution — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
             f"Machine: {info}.", "",
             f"Medians of {args.repeat} runs where repeated; {args.seconds} s per wrk run; "
             f"{minutes:.1f} min in all. "
             "Ratio: how many times better Arca is (higher is better for both kinds of figure).", "",
             head, "|---|---|" + "---:|" * (len(names) + len(peers))]
    for key, label, unit, higher in ROWS:
        if not any(key in res[n] for n in names):
            continue
        if higher is None:
            cells = [f"{res[n][key]:,}" if key in res[n] else "—" for n in names]
        else:
            cells = [fmt(res[n].get(key)) for n in names]
        ratios = [ratio(a.get(key), res[p].get(key), higher) for p in peers]
        lines.append(f"| {label.format(n=args.idle_conns, tags=args.tags, repos=args.repos)} | {unit} | " + " | ".join(cells + ratios) + " |")
    if limits:
        push, pull = a.get("push_mono_mib_s"), a.get("pull_mib_s")
        curl = a.get("pull_curl_best_mib_s")
        slower = min(limits["sha256_mib_s"], limits["disk_fsync_mib_s"])
        lines += ["", "## The machine's own limits (same run)", "",
                  "| limit | MiB/s | Arca's figure as a fraction |", "|---|---:|---:|",
                  f"| OpenSSL sha256, 1 MiB blocks | {fmt(limits['sha256_mib_s'])} | push {pct(push, limits['sha256_mib_s'])} |",
                  f"| disk write + fsync (dd) | {fmt(limits['disk_fsync_mib_s'])} | push {pct(push, limits['disk_fsync_mib_s'])} |",
                  f"| loopback TCP copy, 8 KiB reads (as the Go pull) | {fmt(limits['loopback_mib_s'])} | pull {pct(pull, limits['loopback_mib_s'])} |",
                  f"| loopback TCP copy, 100 KiB reads (as curl) | {fmt(limits['loopback_curl_mib_s'])} | curl pull {pct(curl, limits['loopback_curl_mib_s'])} |",
                  "", "| target (issue 9) | Arca | limit | fraction | met |", "|---|---:|---:|---:|---|"]
        if push:
            f = push / slower
            lines.append(f"| push ≥ 90% of the slower of sha256 and fsync'd write | {fmt(push)} | {fmt(slower)} | {f:.0%} | {'yes' if f >= 0.9 else 'no'} |")
        if pull:
            f = pull / limits["loopback_mib_s"]
            lines.append(f"| pull ≥ 90% of the loopback copy (Go client, median; copy with 8 KiB reads) | {fmt(pull)} | {fmt(limits['loopback_mib_s'])} | {f:.0%} | {'yes' if f >= 0.9 else 'no'} |")
        if curl:
            f = curl / limits["loopback_curl_mib_s"]
            lines.append(f"| the same with curl (best of 3; copy with 100 KiB reads) | {fmt(curl)} | {fmt(limits['loopback_curl_mib_s'])} | {f:.0%} | {'yes' if f >= 0.9 else 'no'} |")
    if "idle" in args.only:
        lines += ["", f"Row 8: {args.idle_conns:,} connections each sent one `GET /v2/`, read the answer and "
                  "stayed open; RSS is read from /proc once they are all open; \"still open\" is checked "
                  "without sending anything (a non-blocking MSG_PEEK) after the wrk run.", ""]
        for n in names:
            d = res[n].get("_idle_detail", {})
            lines.append(f"- {LABELS[n]}: opened {d.get('opened', 0):,} in {d.get('open_s') or 0:.1f} s, "
                         f"{d.get('failed', 0):,} failed{' (' + d['first_error'] + ')' if d.get('first_error') else ''}; "
                         f"held {d.get('held_s', 0):.0f} s; still open {d.get('still_open', 0):,}, "
                         f"closed by the server {d.get('closed_by_server', 0):,}, "
                         f"answered unasked {d.get('sent_unasked', 0):,}; peak RSS during wrk "
                         f"{fmt(res[n].get('idle_conns_rss_peak'))} MiB.")
    if sc:
        before, after, load_s = sc
        lines += ["", f"## Scale: Arca before and after loading {args.scale_manifests:,} manifests",
                  "", f"(loaded directly into the metadata in {load_s:.0f} s)", "",
                  "| read | before | after | after/before |", "|---|---:|---:|---:|"]
        for key, label in [("manifest_get_rps", "manifest GET, req/s"),
                           ("tags_page_ms", "tags/list page of 10,000, ms"),
                           ("referrers_ms", f"referrers ({before['referrers']} of them), ms")]:
            lines.append(f"| {label} | {fmt(before[key])} | {fmt(after[key])} | {after[key] / before[key]:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--blob-mib", type=int, default=256)
    p.add_argument("--tags", type=int, default=100000)
    p.add_argument("--repos", type=int, default=10000)
    p.add_argument("--scale-manifests", type=int, default=1000000, help="0: no scale section")
    p.add_argument("--idle-conns", type=int, default=10000)
    p.add_argument("--peers", default="2.8,v3", help="comma-separated, of: 2.8, v3 (may be empty)")
    p.add_argument("--only", default=",".join(WORKLOADS + ("limits",)),
                   help="comma-separated workloads to run, of: " + ", ".join(WORKLOADS + ("limits",)))
    p.add_argument("--arca-arg", action="append", default=[],
                   help="an extra argument for `arca serve` (repeatable), e.g. --arca-arg=--io-timeout=30")
    p.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    args = p.parse_args()
    args.only = set(x for x in args.only.split(",") if x)
    unknown = args.only - set(WORKLOADS + ("limits",))
    peers = [x for x in args.peers.split(",") if x]
    if unknown or any(x not in PEERS for x in peers):
        p.error(f"unknown workloads {sorted(unknown)} or peers {peers}")
    if "v3" in peers and not os.access(DIST_V3, os.X_OK):
        sys.exit(f"bench: {DIST_V3} is missing: run bench/tools.sh (make bench does)")
    nofile = raise_nofile()
    if "idle" in args.only and nofile < args.idle_conns + 1000:
        sys.exit(f"bench: {args.idle_conns} idle connections need a descriptor limit above "
                 f"{args.idle_conns + 1000}; this process can have {nofile} (ulimit -Hn)")
    started = time.time()
    workdir = tempfile.mkdtemp(prefix="arca-bench-", dir=os.environ.get("ARCA_BENCH_DIR", "/var/tmp"))
    try:
        limits = machine_limits(workdir, args) if "limits" in args.only else None
        res, sc = {}, None
        for name in [PEERS[x] for x in peers] + ["arca"]:
            if not set(WORKLOADS[:-2]) & args.only:
                break  # only the auth or TLS rows were asked for
            reg = Registry(name, workdir, args.arca_arg)
            reg.start()
            try:
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                res[name] = measure(reg, args)
                res[name]["idle_mib"] = reg.idle_mib
                if name == "arca" and args.scale_manifests:
                    sc = scale(reg, args)
            finally:
                reg.stop()
        auth = auth_rows(workdir, args, "2.8" in peers) if "auth" in args.only else None
        tls = tls_rows(workdir, args, "2.8" in peers) if "tls" in args.only else None
        minutes = (time.time() - started) / 60
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "latest.json"), "w") as f:
            json.dump({"results": res, "limits": limits, "scale": sc, "auth": auth, "tls": tls,
                       "minutes": minutes}, f,
                      indent=1, default=str)
        text = report(res, limits, sc, machine_info(res), args, minutes) if res else \
            f"# Arca — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n\nMachine: {machine_info({'arca': 1})}.\n"
        if auth:
            text += "\n".join(auth_report(auth)) + "\n"
        if tls:
            text += "\n".join(tls_report(tls)) + "\n"
        path = os.path.join(args.out, f"{datetime.datetime.utcnow():%Y%m%d-%H%M%S}.md")
        with open(path, "w") as f:
            f.write(text)
        print(text)
        print(f"written to {path} ({minutes:.1f} min)", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
