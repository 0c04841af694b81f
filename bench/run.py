#!/usr/bin/env python3
"""`make bench`: Arca and CNCF Distribution side by side on this machine, in one run.

Both registries start on loopback with fresh data folders; every workload runs against each
with the same client (bench/loadgen, or wrk); figures are medians of --repeat runs; the
machine's own limits (sha256, fsync'd disk write, loopback copy) are measured in the same run.
Writes a Markdown report to bench/results/ and prints it."""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ARCA = os.path.join(TOP, "build", "release", "arca")
LOADGEN = os.path.join(TOP, "build", "bench", "loadgen")
MIB = 1 << 20
ACCEPT = "Accept: application/vnd.oci.image.manifest.v1+json"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadgen(*args, timeout=900):
    out = sh(LOADGEN, *args, timeout=timeout)
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


class Registry:
    def __init__(self, name, workdir):
        self.name, self.port = name, free_port()
        self.data = os.path.join(workdir, name + "-data")
        self.workdir, self.proc = workdir, None
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self):
        if self.name == "arca":
            return [ARCA, "serve", "--addr", f"127.0.0.1:{self.port}", "--root", self.data,
                    "--access-log", "false"]
        cfg = os.path.join(self.workdir, "distribution.yml")
        with open(cfg, "w") as f:
            f.write(f"""version: 0.1
log:
  level: error
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
        return ["docker-registry", "serve", cfg]

    def start(self, fresh=True):
        if fresh:
            shutil.rmtree(self.data, ignore_errors=True)
        os.makedirs(self.data, exist_ok=True)
        self.log = open(os.path.join(self.workdir, self.name + ".log"), "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1)
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


def wrk(url, seconds):
    out = sh("wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H", ACCEPT, url)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url}")
    return rps, float(p99.group(1)) * scale


def measure(reg, args):
    """Every workload against one registry; returns {metric: value} with peaks of memory."""
    r, u = {}, reg.url
    base = loadgen("setup", "-url", u, "-repo", "bench/base")

    def run(name, fn):
        reg.rss.reset()
        fn()
        r[f"rss_{name}"] = reg.rss.peak_mib()

    def get_head():
        runs = [wrk(f"{u}/v2/bench/base/manifests/v1", args.seconds) for _ in range(args.repeat)]
        r["manifest_get_rps"] = statistics.median(x[0] for x in runs)
        r["manifest_get_p99_ms"] = statistics.median(x[1] for x in runs)
        # wrk waits for a body after HEAD; loadgen's hammer is the same for both registries.
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
    run("push", push)

    def pull():
        r["pull_mib_s"] = loadgen("pull", "-url", u, "-repo", "bench/blob", "-digest", r["_blob"],
                                  "-size", size, "-n", str(args.repeat))["mib_s"]
        r["pull_range_mib_s"] = loadgen("pull", "-url", u, "-repo", "bench/blob", "-digest",
                                        r["_blob"], "-size", size, "-n", str(args.repeat),
                                        "-range")["mib_s"]
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
    tcp = loadgen("tcpcopy", "-size", str(args.blob_mib * MIB), "-n", "5")["mib_s"]
    return {"sha256_mib_s": max(sha), "disk_fsync_mib_s": max(disk), "loopback_mib_s": tcp}


def machine_info():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = open("/proc/cpuinfo").read()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    dist = sh("docker-registry", "--version").strip()
    return (f"{os.cpu_count()} cores, {cpu}, SHA-NI {'yes' if ' sha_ni' in flags else 'no'}, "
            f"{mem:.0f} GiB, Linux {platform.release()}; {dist}; arca {sh(ARCA, 'version').strip()}")


ROWS = [  # key, label, unit, higher is better
    ("manifest_get_rps", "1. manifest GET by tag (wrk, 32 conns)", "req/s", True),
    ("manifest_get_p99_ms", "1. manifest GET p99 latency", "ms", False),
    ("manifest_get_go_rps", "1. manifest GET by tag (Go client, 32 conns)", "req/s", True),
    ("blob_head_rps", "2. blob HEAD (Go client, 32 conns)", "req/s", True),
    ("pull_mib_s", "3. pull 256 MiB blob", "MiB/s", True),
    ("pull_range_mib_s", "3. ranged GET, middle 128 MiB", "MiB/s", True),
    ("push_mono_mib_s", "4. push 256 MiB, monolithic", "MiB/s", True),
    ("push_chunked_mib_s", "4. push 256 MiB, 8 MiB PATCHes", "MiB/s", True),
    ("artifacts_s", "5. small artifacts, 64 clients", "artifacts/s", True),
    ("tag_put_s", "6. tag PUTs (10,000 on one manifest)", "tags/s", True),
    ("tags_list_10k_ms", "6. tags/list, 10,000 tags (all pages)", "ms", False),
    ("tags_list_100k_ms", "6. tags/list, 100,000 tags (all pages)", "ms", False),
    ("tags_list_100k_cold_ms", "6. tags/list, 100,000 tags, first after a tag change", "ms", False),
    ("catalog_ms", "6. catalog, 10,000 repositories (all pages)", "ms", False),
    ("idle_mib", "7. resident memory, idle", "MiB", False),
    ("rss_get_head", "7. peak memory, GET/HEAD load", "MiB", False),
    ("rss_push", "7. peak memory, 256 MiB pushes", "MiB", False),
    ("push_1g_mib_s", "7. push 1 GiB, monolithic", "MiB/s", True),
    ("rss_push_1g", "7. peak memory, 1 GiB push", "MiB", False),
    ("rss_pull", "7. peak memory, pulls", "MiB", False),
    ("rss_artifacts", "7. peak memory, small artifacts", "MiB", False),
    ("rss_tags", "7. peak memory, tags and catalog", "MiB", False),
]


def fmt(v):
    if v == 0:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.2f}" if v < 10 else f"{v:,.1f}"


def report(res, limits, sc, info, args):
    a, d = res["arca"], res["distribution"]
    lines = [f"# Arca vs CNCF Distribution — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
             f"Machine: {info}.", "",
             f"Medians of {args.repeat} runs where repeated; {args.seconds} s per wrk run. "
             "Ratio: how many times better Arca is (higher is better for both kinds of figure).", "",
             "| workload | unit | Arca | Distribution | ratio |", "|---|---|---:|---:|---:|"]
    for key, label, unit, higher in ROWS:
        if a[key] > 0 and d[key] > 0:
            ratio = f"{(a[key] / d[key]) if higher else (d[key] / a[key]):.2f}×"
        else:
            ratio = "n/a"
        lines.append(f"| {label} | {unit} | {fmt(a[key])} | {fmt(d[key])} | {ratio} |")
    lines += ["", "## The machine's own limits (same run)", "",
              "| limit | MiB/s | Arca's figure as a fraction |", "|---|---:|---:|"]
    lines.append(f"| OpenSSL sha256, 1 MiB blocks | {fmt(limits['sha256_mib_s'])} | push {a['push_mono_mib_s'] / limits['sha256_mib_s']:.0%} |")
    lines.append(f"| disk write + fsync (dd) | {fmt(limits['disk_fsync_mib_s'])} | push {a['push_mono_mib_s'] / limits['disk_fsync_mib_s']:.0%} |")
    lines.append(f"| loopback TCP copy | {fmt(limits['loopback_mib_s'])} | pull {a['pull_mib_s'] / limits['loopback_mib_s']:.0%} |")
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
    p.add_argument("--scale-manifests", type=int, default=1000000)
    p.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="arca-bench-", dir=os.environ.get("ARCA_BENCH_DIR", "/var/tmp"))
    try:
        limits = machine_limits(workdir, args)
        res, sc = {}, None
        for name in ("distribution", "arca"):
            reg = Registry(name, workdir)
            reg.start()
            try:
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                res[name] = measure(reg, args)
                res[name]["idle_mib"] = reg.idle_mib
                if name == "arca" and args.scale_manifests:
                    sc = scale(reg, args)
            finally:
                reg.stop()
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "latest.json"), "w") as f:
            json.dump({"results": res, "limits": limits, "scale": sc}, f, indent=1, default=str)
        text = report(res, limits, sc, machine_info(), args)
        path = os.path.join(args.out, f"{datetime.datetime.utcnow():%Y%m%d-%H%M%S}.md")
        with open(path, "w") as f:
            f.write(text)
        print(text)
        print(f"written to {path}", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
