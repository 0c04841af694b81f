#!/usr/bin/env python3
"""GC pass cost against store size (docs/gc.md "How it stays incremental"): not part of
`make test` or `make bench`.

For each store size (--manifests, default 100,000, and --small, default 1,000) a Release
`arca serve` starts on a fresh root with --gc-retention 0 --gc-blob-grace 0 and no schedule;
the store is filled over HTTP (small tagged image manifests sharing a few blobs, pushed by a
pool of keep-alive connections). Then:
  1. a settling pass (the pushes queued their blob links) and a baseline pass (nothing to do);
  2. --repeat times: DELETE --delete manifests by digest, time the next POST /arca/v1/admin/gc
     (the answer's durationMs, and wall time).
A pass should cost what changed, not the store: the large store's pass should take about as
long as the small store's. Prints a Markdown table and writes bench/results/gc-<UTC>.md.

  python3 bench/gc_bench.py --manifests 2000          # a quick try
"""
import argparse
import concurrent.futures
import datetime
import hashlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conns:
    """One keep-alive HTTP connection per thread."""

    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            c = getattr(self.local, "c", None)
            if c is None:
                c = self.local.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                c.close()
                self.local.c = None
                if attempt:
                    raise


class Server:
    def __init__(self, arca, root):
        self.arca, self.root, self.port = arca, root, free_port()
        self.proc = None

    def start(self):
        self.log = open(self.root + ".log", "ab")
        self.proc = subprocess.Popen(
            [self.arca, "serve", "--addr", f"127.0.0.1:{self.port}", "--root", self.root,
             "--gc-interval", "0", "--gc-retention", "0", "--gc-blob-grace", "0",
             "--access-log", "false"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"arca exited with {self.proc.returncode}; log: {self.root}.log")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/v2/")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("arca did not become ready")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.log.close()


def preload(conns, count, threads, repos, shared_layers=4):
    """count tagged manifests in `repos` repositories, sharing one config and a few layers.
    Returns [(repo, digest)] of every manifest pushed."""
    cfg = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layers = [f"layer {i}".encode() * 64 for i in range(shared_layers)]
    names = [f"gcbench/r{r:04d}" for r in range(repos)]
    for name in names:
        for data in [cfg] + layers:
            st, body = conns.request("POST", f"/v2/{name}/blobs/uploads/?digest={sha256(data)}",
                                     data, {"Content-Type": "application/octet-stream"})
            assert st == 201, (st, body)

    def manifest(i):
        layer = layers[i % len(layers)]
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {"mediaType": OCI_CONFIG, "digest": sha256(cfg), "size": len(cfg)},
             "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
             "annotations": {"org.example.n": str(i)}}
        return json.dumps(m, separators=(",", ":")).encode()

    done = [0]
    lock = threading.Lock()
    t0 = time.time()
    step = max(1, count // 20)

    def push(i):
        name = names[i % repos]
        body = manifest(i)
        st, resp = conns.request("PUT", f"/v2/{name}/manifests/p{i:07d}", body,
                                 {"Content-Type": OCI_MANIFEST})
        assert st == 201, (st, resp[:300])
        with lock:
            done[0] += 1
            if done[0] % step == 0 or done[0] == count:
                rate = done[0] / max(1e-9, time.time() - t0)
                print(f"  pushed {done[0]:,}/{count:,} ({rate:,.0f}/s)", flush=True)
        return name, sha256(body)

    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        return list(ex.map(push, range(count), chunksize=64))


def gc_pass(conns):
    t0 = time.perf_counter()
    st, body = conns.request("POST", "/arca/v1/admin/gc", b"")
    wall = (time.perf_counter() - t0) * 1000
    assert st == 200, (st, body[:500])
    rep = json.loads(body)
    return {"ms": float(rep["durationMs"]), "wall": wall, "reviewed": rep["reviewed"],
            "deleted": rep["deleted"]["manifests"]}


def measure(arca, workdir, count, delete, repeat, threads):
    root = os.path.join(workdir, f"store-{count}")
    srv = Server(arca, root)
    srv.start()
    conns = Conns(srv.port)
    try:
        print(f"store of {count:,} manifests: preloading", flush=True)
        t0 = time.time()
        pushed = preload(conns, count, threads, repos=max(1, min(100, count // 100)))
        load_s = time.time() - t0
        settle = gc_pass(conns)
        baseline = gc_pass(conns)
        print(f"  settling pass {settle['ms']:.1f} ms ({settle['reviewed']} reviewed), "
              f"baseline {baseline['ms']:.2f} ms ({baseline['reviewed']} reviewed)", flush=True)
        runs = []
        victims = pushed[::max(1, len(pushed) // (delete * repeat))][:delete * repeat]
        for k in range(repeat):
            batch = victims[k * delete:(k + 1) * delete]
            for name, digest in batch:
                st, body = conns.request("DELETE", f"/v2/{name}/manifests/{digest}")
                assert st == 202, (st, body[:300])
            run = gc_pass(conns)
            assert run["deleted"] == len(batch), f"expected {len(batch)} deleted: {run}"
            print(f"  {len(batch)} deleted: pass {run['ms']:.2f} ms (wall {run['wall']:.2f} ms), "
                  f"{run['reviewed']} reviewed", flush=True)
            runs.append(run)
        return {"count": count, "load_s": load_s, "settle": settle, "baseline": baseline,
                "runs": runs, "deleted": delete,
                "ms": statistics.median(r["ms"] for r in runs),
                "wall": statistics.median(r["wall"] for r in runs),
                "reviewed": statistics.median(r["reviewed"] for r in runs)}
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arca", default=os.path.join(TOP, "build", "release", "arca"))
    ap.add_argument("--manifests", type=int, default=100000, help="large store size")
    ap.add_argument("--small", type=int, default=1000, help="small store size")
    ap.add_argument("--delete", type=int, default=100, help="manifests deleted before a pass")
    ap.add_argument("--repeat", type=int, default=5, help="timed passes per store (median)")
    ap.add_argument("--threads", type=int, default=32, help="push connections")
    ap.add_argument("--workdir", default=None, help="where stores go (default: a temp dir)")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    a = ap.parse_args()
    if min(a.small, a.manifests) < a.delete * a.repeat:
        sys.exit("each store needs at least --delete x --repeat manifests")
    if not os.access(a.arca, os.X_OK):
        sys.exit(f"no arca binary at {a.arca} (build Release first, or pass --arca)")
    work = a.workdir or tempfile.mkdtemp(prefix="arca-gc-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        results = [measure(a.arca, work, n, a.delete, a.repeat, a.threads)
                   for n in (a.small, a.manifests)]
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    base = results[0]
    version = subprocess.run([a.arca, "version"], capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc)
    out = [f"# GC pass cost against store size — {now:%Y-%m-%d %H:%M} UTC", "",
           f"Machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}; "
           f"{version}. Settings: --gc-retention 0 --gc-blob-grace 0. Stores preloaded over "
           f"HTTP ({a.threads} connections): tagged image manifests sharing one config and four "
           f"layers. Timed pass: after DELETE of {a.delete} manifests by digest; medians of "
           f"{a.repeat}. Ratio: pass time against the {base['count']:,}-manifest store's.", "",
           "| store (manifests) | manifests deleted | pass ms (durationMs) | pass ms (wall) "
           "| reviewed | ratio | baseline pass ms (nothing to do) | preload s |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = r["ms"] / base["ms"] if base["ms"] else float("nan")
        out.append(f"| {r['count']:,} | {r['deleted']} | {r['ms']:.2f} | {r['wall']:.2f} | "
                   f"{r['reviewed']:.0f} | {ratio:.2f}× | {r['baseline']['ms']:.2f} "
                   f"({r['baseline']['reviewed']} reviewed) | {r['load_s']:.1f} |")
    out.append("")
    out.append("Every timed pass: " + "; ".join(
        f"{r['count']:,}: " + ", ".join(f"{x['ms']:.2f} ms/{x['reviewed']} reviewed"
                                        for x in r["runs"]) for r in results) + ".")
    text = "\n".join(out) + "\n"
    print()
    print(text)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"gc-{now:%Y%m%d-%H%M%S}.md")
    with open(path, "w") as f:
        f.write(text)
    shown = os.path.relpath(path, TOP) if path.startswith(TOP + os.sep) else path
    print(f"written to {shown}")


if __name__ == "__main__":
    main()
