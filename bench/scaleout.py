"""The scale-out section of `make bench` (issue 12): the same workloads against

  sqlite-fs   one replica, metadata in SQLite, blobs on the local disk (the embedded default)
  pg-rgw      one replica, metadata in PostgreSQL 15, blobs in Ceph RGW
  pg-rgw-x3   three replicas on the same PostgreSQL and RGW, behind haproxy (round-robin)

all on this machine, in one run, with the same client (bench/loadgen): manifest GETs, small
artifact pushes (each a config, a layer and a manifest), a blob push and pull. Then PostgreSQL
is loaded with --scale-manifests manifests (tags and references with them, by SQL) and the
read latencies are taken again on one replica.

On one machine every replica, PostgreSQL, RGW, haproxy and the client share the same cores: the
three-replica rows show the cost of the balancer and the database round trips, not what three
machines would give. The report says how many cores there were.

    python3 bench/scaleout.py [--seconds 10] [--repeat 3] [--scale-manifests 1000000]
"""
import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
os.environ.setdefault("ARCA_BIN", os.path.join(TOP, "build", "release", "arca"))

from arca_server import ArcaServer  # noqa: E402
from cluster import Cluster  # noqa: E402
from pglib import PostgresServer  # noqa: E402
from s3lib import CephRgw  # noqa: E402

LOADGEN = os.path.join(TOP, "build", "bench", "loadgen")
MIB = 1 << 20


def loadgen(*args, timeout=900):
    import json
    out = subprocess.run([LOADGEN, *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen {args[0]} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def workloads(url, args):
    """The rows, against one registry URL; medians of --repeat runs."""
    base = loadgen("setup", "-url", url, "-repo", "bench/base")
    r = {}
    runs = [loadgen("hammer", "-url", url, "-method", "GET", "-path",
                    "/v2/bench/base/manifests/v1", "-c", "32", "-d", f"{args.seconds}s")
            for _ in range(args.repeat)]
    r["manifest_get_rps"] = statistics.median(x["rps"] for x in runs)
    r["manifest_get_p99_ms"] = statistics.median(x["p99_ms"] for x in runs)
    runs = [loadgen("hammer", "-url", url, "-method", "HEAD", "-path",
                    f"/v2/bench/base/blobs/{base['layer']}", "-c", "32", "-d", f"{args.seconds}s")
            for _ in range(args.repeat)]
    r["blob_head_rps"] = statistics.median(x["rps"] for x in runs)
    runs = []
    for _ in range(args.repeat):
        out = loadgen("artifacts", "-url", url, "-c", "32", "-d", f"{args.seconds}s")
        if out["failed"]:
            raise RuntimeError(f"{out['failed']} artifact pushes failed: {out.get('first_error')}")
        runs.append(out["artifacts_s"])
    r["artifacts_s"] = statistics.median(runs)
    size = str(args.blob_mib * MIB)
    out = loadgen("push", "-url", url, "-repo", "bench/blob", "-size", size, "-n", str(args.repeat))
    r["push_mib_s"] = out["mib_s"]
    r["pull_mib_s"] = loadgen("pull", "-url", url, "-repo", "bench/blob", "-digest",
                              out["last_digest"], "-size", size, "-n", str(args.repeat))["mib_s"]
    return r


def reads_at_scale(url, args):
    subject = loadgen("setup", "-url", url, "-repo", "bench/base")["manifest"]
    loadgen("referrers", "-url", url, "-repo", "bench/base", "-n", "100")
    runs = [loadgen("hammer", "-url", url, "-method", "GET", "-path",
                    "/v2/bench/base/manifests/v1", "-c", "32", "-d", f"{args.seconds}s")
            for _ in range(args.repeat)]
    tags = loadgen("list", "-url", url, "-path", "/v2/bench/base/tags/list?n=1000", "-n", "5")
    refs = loadgen("list", "-url", url, "-path", f"/v2/bench/base/referrers/{subject}", "-n", "5")
    cat = loadgen("list", "-url", url, "-path", "/v2/_catalog?n=1000", "-n", "5")
    return {"manifest_get_rps": statistics.median(x["rps"] for x in runs),
            "manifest_get_p99_ms": statistics.median(x["p99_ms"] for x in runs),
            "tags_page_ms": tags["ms"], "referrers_ms": refs["ms"], "catalog_page_ms": cat["ms"]}


def preload(pg, schema, n):
    """n manifests in 1000 repositories, each tagged and with one layer reference, by SQL."""
    repos = 1000
    sql = f"""
SET search_path = {schema};
INSERT INTO repositories(name, created_at)
  SELECT 'load/r' || g, 0 FROM generate_series(1, {repos}) g ON CONFLICT DO NOTHING;
INSERT INTO blobs(digest, size, created_at)
  SELECT 'sha256:' || md5('b' || g) || md5('b' || g), 1024, 0 FROM generate_series(1, {n}) g;
INSERT INTO manifests(repository_id, digest, media_type, artifact_type, config_media_type,
    subject_digest, annotations, size, content, pushed_at, type)
  SELECT r.id, 'sha256:' || md5('m' || g) || md5('m' || g),
    'application/vnd.oci.image.manifest.v1+json', '', 'application/vnd.oci.image.config.v1+json',
    NULL, '', 2, '\\x7b7d'::bytea, 0, 'application/vnd.oci.image.config.v1+json'
  FROM generate_series(1, {n}) g JOIN repositories r ON r.name = 'load/r' || (g % {repos} + 1);
INSERT INTO tags(repository_id, name, manifest_id, updated_at)
  SELECT repository_id, 't' || id, id, 0 FROM manifests WHERE digest LIKE 'sha256:%'
  ON CONFLICT DO NOTHING;
INSERT INTO manifest_references(manifest_id, position, kind, digest, media_type, size,
    is_foreign, repository_id)
  SELECT id, 0, 1, 'sha256:' || md5('b' || id) || md5('b' || id),
    'application/vnd.oci.image.layer.v1.tar', 1024, 0, repository_id FROM manifests
  ON CONFLICT DO NOTHING;
ANALYZE;
"""
    pg.psql(sql, timeout=3600)


def run(args):
    cores = os.cpu_count()
    results, scale = {}, None
    extra = ["--access-log", "false"]
    print("scaleout: sqlite-fs ...", file=sys.stderr, flush=True)
    with ArcaServer(extra_args=extra) as srv:  # before the engines' variables are set
        results["sqlite-fs"] = workloads(srv.url, args)
    with PostgresServer(fast=True) as pg, CephRgw() as rgw:
        os.environ.update(pg.env())
        os.environ["AWS_ACCESS_KEY_ID"] = rgw.access_key
        os.environ["AWS_SECRET_ACCESS_KEY"] = rgw.secret_key
        os.environ["ARCA_TEST_BLOBS"] = (f"s3://arca-bench?endpoint={rgw.endpoint}"
                                         f"&region={rgw.region}&create_bucket=true")
        for name, n in (("pg-rgw", 1), ("pg-rgw-x3", 3)):
            print(f"scaleout: {name} ...", file=sys.stderr, flush=True)
            with Cluster(n=n, extra_args=extra) as c:
                # One replica is measured directly, as sqlite-fs is; three through haproxy.
                results[name] = workloads(c.url if n > 1 else c.replicas[0].url, args)
                if n == 1 and args.scale_manifests:
                    before = reads_at_scale(c.replicas[0].url, args)
                    t = time.time()
                    preload(pg, c.schema, args.scale_manifests)
                    load_s = time.time() - t
                    after = reads_at_scale(c.replicas[0].url, args)
                    scale = {"before": before, "after": after, "load_s": load_s,
                             "manifests": args.scale_manifests}
    return {"results": results, "scale": scale, "cores": cores}


ROWS = [("manifest_get_rps", "manifest GET, 32 clients (req/s)", True),
        ("manifest_get_p99_ms", "manifest GET p99 (ms)", False),
        ("blob_head_rps", "blob HEAD, 32 clients (req/s)", True),
        ("artifacts_s", "small artifact pushes, 32 clients (artifacts/s)", True),
        ("push_mib_s", "blob push, one client (MiB/s)", True),
        ("pull_mib_s", "blob pull, one client (MiB/s)", True)]


def report(out, args):
    res, sc = out["results"], out["scale"]
    lines = [f"## Scale-out (issue 12) — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
             f"{out['cores']} cores shared by every replica, PostgreSQL, Ceph RGW, haproxy and the "
             "client: the x3 column is what a balancer and the database cost on one machine, not "
             "what three machines give. Ratios are against sqlite-fs.", "",
             "| workload | sqlite-fs | pg-rgw | ratio | pg-rgw-x3 | ratio |", "|---|---|---|---|---|---|"]
    for key, label, _ in ROWS:
        base = res["sqlite-fs"][key]
        cells = [f"{base:.1f}"]
        for name in ("pg-rgw", "pg-rgw-x3"):
            v = res[name][key]
            cells += [f"{v:.1f}", f"{v / base:.2f}x" if base else "—"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if sc:
        lines += ["", f"One replica on PostgreSQL, before and after loading {sc['manifests']:,} "
                  f"manifests (with their tags and references) by SQL ({sc['load_s']:.0f} s):", "",
                  "| read | before | after |", "|---|---|---|"]
        for key, label in (("manifest_get_rps", "manifest GET (req/s)"),
                           ("manifest_get_p99_ms", "manifest GET p99 (ms)"),
                           ("tags_page_ms", "tags/list page of 1000 (ms)"),
                           ("referrers_ms", "referrers of a subject with 100 (ms)"),
                           ("catalog_page_ms", "_catalog page of 1000 (ms)")):
            lines.append(f"| {label} | {sc['before'][key]:.2f} | {sc['after'][key]:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--blob-mib", type=int, default=64)
    p.add_argument("--scale-manifests", type=int, default=1000000)
    p.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    args = p.parse_args()
    out = run(args)
    text = report(out, args)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"scaleout-{datetime.datetime.utcnow():%Y%m%d-%H%M%S}.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
