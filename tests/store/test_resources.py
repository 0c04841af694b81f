"""A running arca's descriptors and memory stay flat under repeated load.

Rounds of 300 concurrent clients (each on its own connection: GET and HEAD of a manifest
and a blob, a manifest PUT, a tag listing): one to warm up, then three measured. After
each, once the clients' connections are gone, the server's descriptors on meta.db*, all its
descriptors, and its RSS are sampled. Closing surplus SQLite read connections used to leave
one descriptor each on meta.db for good (~290 after 300 clients) and RSS grew round over
round.
"""
import json
import os
import threading

from gclib import OCI_MANIFEST, dumps, image, sha256, wait_until
from testkit import hang_guard

ROUNDS = 3               # measured, after one round that warms up caches and arenas
CLIENTS = 300
META_SLACK = 2           # descriptors on meta.db* that may come and go between samples
FD_SLACK = 8
# Round 3 against round 1, for a build without AddressSanitizer only: under ASan memory comes
# back to the OS late and in lumps, by amounts that depend on the machine and its load, so a
# bound there is not a check of the server (issue 10); descriptors are checked either way.
# Meant to catch a steady growth (20 MiB a round is 40 here).
RSS_GROWTH_MIB = 24
# ASan holds freed memory in quarantine (256 MiB by default) and returns little to the OS,
# which would look like growth here; this test is about the server's own retention.
ASAN_FOR_RSS = ("quarantine_size_mb=0:thread_local_quarantine_size_kb=0:"
                "allocator_release_to_os_interval_ms=100")
# The read pool's bound (SqliteMetaStore::DefaultMaxReaders: twice the cores, 4 to 32) and
# the writer, each with meta.db and meta.db-wal open, and one meta.db-shm: 11 descriptors on
# meta.db* on 2 cores, whatever the load. Before the bound, a Release build kept 60 after
# one round on 2 cores (a Debug build with ASan, slower, 301).
POOL = min(32, max(4, 2 * (os.cpu_count() or 1)))
META_FDS_MAX = 2 * (POOL + 1) + 1 + META_SLACK


def fd_targets(pid):
    out = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{name}"))
        except OSError:
            pass                      # closed meanwhile
    return out


def under_asan(pid):
    """Whether the server process runs with AddressSanitizer (its runtime is mapped)."""
    with open(f"/proc/{pid}/maps") as f:
        return any("libasan" in line or "libclang_rt.asan" in line for line in f)


def sample(pid):
    targets = fd_targets(pid)
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return {"meta_fds": sum(os.path.basename(t).startswith("meta.db") for t in targets),
            "fds": len(targets),
            "sockets": sum(t.startswith("socket:") for t in targets),
            "rss_mib": rss / 1024}


def load_round(cl_factory, repo, config, layer, round_no):
    barrier = threading.Barrier(CLIENTS, timeout=hang_guard(120))
    errors = []

    def client(i):
        cl = cl_factory()
        try:
            barrier.wait()
            steps = []
            r = cl.get_manifest(repo, "base")
            steps.append(("GET manifest", r.status, 200))
            r = cl.head(f"/v2/{repo}/manifests/base")
            steps.append(("HEAD manifest", r.status, 200))
            r = cl.head(f"/v2/{repo}/blobs/{layer[0]}")
            steps.append(("HEAD blob", r.status, 200))
            r = cl.get(f"/v2/{repo}/blobs/{layer[0]}")
            steps.append(("GET blob", r.status if r.body == layer[1] else -1, 200))
            m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                 "layers": [{"mediaType": "application/octet-stream", "digest": layer[0],
                             "size": len(layer[1])}],
                 "annotations": {"round": str(round_no), "client": str(i)}}
            r = cl.push_manifest(repo, f"r{round_no}-{i}", dumps(m), OCI_MANIFEST, expect=None)
            steps.append(("PUT manifest", r.status, 201))
            r = cl.get(f"/v2/{repo}/tags/list?n=10")
            steps.append(("GET tags", r.status, 200))
            bad = [s for s in steps if s[1] != s[2]]
            if bad:
                errors.append(f"client {i}: {bad}")
        except Exception as e:  # noqa: BLE001 - every failure is reported below
            errors.append(f"client {i}: {e!r}")
        finally:
            cl.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=hang_guard(300))
    assert not any(t.is_alive() for t in threads), "hang: clients still running"
    assert not errors, f"{len(errors)} clients failed, e.g. {errors[:5]}"


def test_fds_and_rss_flat_across_load_rounds(make_server, repo):
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + ASAN_FOR_RSS}
    # 300 clients from one address: above the default per-address limit (256).
    srv, cl = make_server(["--access-log", "false", "--max-connections-per-client", "0"], env=env)
    name = repo()
    img = image(cl, name, layer_size=4096)
    cl.push_manifest(name, "base", img.body, img.media_type)
    cfg = json.loads(img.body)["config"]
    layer_digest = json.loads(img.body)["layers"][0]["digest"]
    layer = (layer_digest, img.blobs[layer_digest])
    assert sha256(layer[1]) == layer_digest
    cl.close()

    idle = wait_until(lambda: (lambda s: s if s["sockets"] <= 2 else None)(sample(srv.pid)),
                      30, what="no client connections")
    samples = []
    for n in range(0, ROUNDS + 1):
        load_round(lambda: type(cl)(srv.url), name, cfg, layer, n)
        # the server closes its side once the clients have gone
        s = wait_until(lambda: (lambda s: s if s["sockets"] <= idle["sockets"] + 1 else None)(
            sample(srv.pid)), 60, what="the clients' connections to close")
        print(f"round {n}: {s}")
        if n > 0:
            samples.append(s)
    print(f"before load: {idle}")
    assert srv.alive()

    first, last = samples[0], samples[-1]
    for n, s in enumerate(samples, 1):
        assert s["meta_fds"] <= META_FDS_MAX, \
            f"round {n}: {s['meta_fds']} descriptors on meta.db* (before load {idle['meta_fds']})"
        assert s["meta_fds"] <= first["meta_fds"] + META_SLACK, \
            f"descriptors on meta.db* grow: {[x['meta_fds'] for x in samples]}"
        assert s["fds"] <= first["fds"] + FD_SLACK, \
            f"descriptors grow: {[x['fds'] for x in samples]}"
    rss = [round(x["rss_mib"], 1) for x in samples]
    if under_asan(srv.pid):
        print(f"RSS under ASan (not checked): {rss} MiB")
    else:
        assert last["rss_mib"] - first["rss_mib"] <= RSS_GROWTH_MIB, \
            f"RSS grows round over round: {rss} MiB"
