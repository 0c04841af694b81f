"""sha512 content beyond the upload path (issue 10, "Coverage"): blobs and manifests named by
sha512 digests go through garbage collection, fsck, a kill -9 in the middle of their pushes,
cross-repository mounts, and a real client (regctl's `image mod --digest-algo sha512`).

The blob store keeps them under blobs/sha512/<2 hex>/<128 hex>; every check below looks at
that folder as well as at the API, so a part of Arca that handled only sha256 (a listing of
blobs/sha256, a hash always taken with sha256, a lookup that assumes 64 hex digits) fails.
"""
import hashlib
import json
import os
import random
import threading
import time
import urllib.parse

import pytest

from client_runner import Runner
from gclib import (ACCEPT, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Client, acted_digests,
                   blob_path, describe_run, dumps, run_arca, sha256, wait_until)
import go_tools

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))
OCTET = {"Content-Type": "application/octet-stream"}
OLD = time.time() - 3 * 86400        # well past any grace period
FSCK_KINDS = ("missing-blob", "digest-mismatch", "dangling-reference",
              "manifest-digest-mismatch")


def sha512(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


def hexof(d):
    return d.split(":", 1)[1]


def disk_blobs(root, algo):
    """Digests of the blob files under blobs/<algo>/."""
    out = set()
    base = os.path.join(root, "blobs", algo)
    for dirpath, _, files in os.walk(base):
        for f in files:
            out.add(f"{algo}:{f}")
    return out


def push512(cl, repo, data, expect=201):
    d = sha512(data)
    r = cl.post(f"/v2/{repo}/blobs/uploads/?digest={d}", body=data, headers=OCTET)
    assert r.status == expect, r
    if expect == 201:
        assert r.header("Docker-Content-Digest") == d, r
    return d


class Image512:
    """An image whose config and layers are named by sha512 digests; the manifest is pushed
    by its sha512 digest (and optionally tagged with ?tag=)."""

    def __init__(self, cl, repo, layers=2, size=3000, shared=()):
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "nonce": os.urandom(8).hex()}).encode()
        self.repo = repo
        self.blobs = {sha512(cfg): cfg}
        datas = [os.urandom(size) for _ in range(layers)] + list(shared)
        for data in [cfg] + datas:
            push512(cl, repo, data)
        for data in datas:
            self.blobs[sha512(data)] = data
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {"mediaType": OCI_CONFIG, "digest": sha512(cfg), "size": len(cfg)},
             "layers": [{"mediaType": OCI_LAYER, "digest": sha512(x), "size": len(x)}
                        for x in datas]}
        self.body = dumps(m)
        self.digest = sha512(self.body)
        self.own = {sha512(x) for x in [cfg] + datas[:layers]}

    def push(self, cl, tags=()):
        q = "".join(("?" if i == 0 else "&") + f"tag={t}" for i, t in enumerate(tags))
        r = cl.put(f"/v2/{self.repo}/manifests/{self.digest}{q}", body=self.body,
                   headers={"Content-Type": OCI_MANIFEST})
        assert r.status == 201, r
        assert r.header("Docker-Content-Digest") == self.digest, r
        return self

    def problems(self, cl, repo=None, ref=None):
        repo = repo or self.repo
        out = []
        r = cl.get(f"/v2/{repo}/manifests/{ref or self.digest}", headers={"Accept": ACCEPT})
        if r.status != 200 or r.body != self.body:
            out.append(f"manifest {repo}@{ref or self.digest}: {r.status}")
        for d, data in self.blobs.items():
            b = cl.get(f"/v2/{repo}/blobs/{d}")
            if b.status != 200 or sha512(b.body) != d:
                out.append(f"blob {repo}@{d}: {b.status} {len(b.body)} bytes")
        return out


def fsck(root, *args):
    return run_arca("fsck", *args, "--root", root)


def damage(p):
    return [l for l in (p.stdout + "\n" + p.stderr).splitlines()
            if any(k in l for k in FSCK_KINDS) and not l.startswith("debris: ")]


# ------------------------------------------------------------------------------ GC

def test_gc_collects_sha512_manifests_and_blobs_and_keeps_the_rest(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    shared = os.urandom(5000)
    keep = Image512(cl, name, shared=[shared]).push(cl, tags=["keep"])
    drop = Image512(cl, name, shared=[shared]).push(cl, tags=["drop"])
    # the same bytes named by both algorithms are two blobs: dropping one keeps the other
    twin = os.urandom(4000)
    cl.push_blob(name, twin)
    twin_manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                     "config": {"mediaType": OCI_CONFIG, "digest": sha512(b"{}"), "size": 2},
                     "layers": [{"mediaType": OCI_LAYER, "digest": sha256(twin),
                                 "size": len(twin)}]}
    push512(cl, name, b"{}")
    push512(cl, name, twin)          # held, not referenced: goes with the grace of 0
    cl.push_manifest(name, "twin", dumps(twin_manifest), OCI_MANIFEST)
    assert disk_blobs(srv.root, "sha512") >= set(keep.blobs) | set(drop.blobs) | {sha512(twin)}

    cl.delete_manifest(name, "drop")                       # untag: retention 0
    dry = cl.gc(dry_run=True)
    assert drop.digest in acted_digests(dry, "delete-manifest"), dry
    assert os.path.exists(blob_path(srv.root, next(iter(drop.own)))), "a dry run deletes nothing"

    rep = cl.gc()
    assert drop.digest in acted_digests(rep, "delete-manifest"), rep
    assert drop.own <= acted_digests(rep, "delete-blob"), rep
    assert sha512(twin) in acted_digests(rep, "delete-blob"), rep
    kept = set(keep.blobs) | {sha512(b"{}"), sha256(twin)}
    assert not kept & acted_digests(rep), f"GC acted on referenced content: {rep}"
    on_disk = disk_blobs(srv.root, "sha512") | disk_blobs(srv.root, "sha256")
    assert not drop.own & on_disk, "the bytes of collected sha512 blobs are still on disk"
    assert sha512(twin) not in on_disk and sha256(twin) in on_disk
    assert kept <= on_disk
    assert keep.problems(cl, ref="keep") == []
    assert cl.manifest_status(name, drop.digest) == 404
    for d in drop.own:
        assert cl.blob_status(name, d) == 404
    assert cl.tags(name) == ["keep", "twin"]
    assert cl.gc()["deleted"]["blobs"] == 0, "a second pass finds nothing more"
    p = fsck(srv.root)
    assert p.returncode == 0 and not damage(p), describe_run(p)


def test_sha512_recycle_bin_restore(make_server, repo):
    srv, cl = make_server(["--gc-retention", "7d", "--gc-blob-grace", "0"])
    name = repo()
    img = Image512(cl, name).push(cl, tags=["v1"])
    cl.delete_manifest(name, img.digest)
    trash = {e["digest"]: e for e in cl.trash(name)}
    assert img.digest in trash and trash[img.digest]["reason"] == "deleted", trash
    rep = cl.gc()
    assert not set(img.blobs) & acted_digests(rep), "the recycle bin keeps the blobs: " + str(rep)
    r = cl.restore(name, img.digest)
    assert r.status in (200, 201), r
    assert img.problems(cl, ref="v1") == []


# ---------------------------------------------------------------------------- fsck

def test_fsck_checks_sha512_blobs(make_server, repo):
    srv, cl = make_server()
    name = repo()
    imgs = [Image512(cl, name, size=2000).push(cl, tags=[f"v{i}"]) for i in range(3)]
    p = fsck(srv.root)
    assert p.returncode == 0 and not damage(p), describe_run(p)
    n_blobs = len({d for i in imgs for d in i.blobs})
    summary = [l for l in p.stdout.splitlines() if l.startswith("fsck: ")][-1]
    assert summary.startswith(f"fsck: {n_blobs} blobs"), \
        f"fsck counted other than the {n_blobs} sha512 blobs: {summary}"
    srv.stop()

    missing = sorted(imgs[0].own)[0]
    corrupt = sorted(imgs[1].own)[0]
    os.remove(blob_path(srv.root, missing))
    with open(blob_path(srv.root, corrupt), "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        f.write(os.urandom(size))                          # same size, other content
    with open(blob_path(srv.root, corrupt), "rb") as f:
        corrupt_now = sha512(f.read())
    stray = os.urandom(700)
    stray_path = blob_path(srv.root, sha512(stray))
    os.makedirs(os.path.dirname(stray_path), exist_ok=True)
    with open(stray_path, "wb") as f:
        f.write(stray)
    os.utime(stray_path, (OLD, OLD))

    p = fsck(srv.root)
    out = (p.stdout + "\n" + p.stderr).splitlines()
    assert p.returncode == 1, describe_run(p)
    assert any("missing-blob" in l and hexof(missing) in l for l in out), describe_run(p)
    assert any("digest-mismatch" in l and hexof(corrupt) in l for l in out), describe_run(p)
    assert any("digest-mismatch" in l and corrupt_now in l for l in out), \
        "the mismatch names the sha512 the content hashes to" + describe_run(p)
    assert any(l.startswith("debris: ") and "orphan-file" in l and hexof(sha512(stray)) in l
               for l in out), describe_run(p)
    intact = {d for i in imgs for d in i.blobs} - {missing, corrupt}
    assert not any(hexof(d) in l for d in intact for l in damage(p)), describe_run(p)

    q = fsck(srv.root, "--quick")
    assert q.returncode == 1 and not any("digest-mismatch" in l for l in damage(q)), describe_run(q)

    r = fsck(srv.root, "--repair", "--force")
    assert not os.path.exists(blob_path(srv.root, corrupt)) and not os.path.exists(stray_path), \
        describe_run(r)
    after = fsck(srv.root)
    dangling = [l for l in damage(after) if "dangling-reference" in l]
    for gone in (missing, corrupt):
        assert any(hexof(gone) in l for l in dangling), describe_run(after)
    assert not [l for l in damage(after) if "dangling-reference" not in l], describe_run(after)
    srv.start()
    assert imgs[2].problems(cl, ref="v2") == [], "intact sha512 content survives the repair"


# ----------------------------------------------------------------------- mounting

def test_cross_repository_mount_of_sha512_blobs(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    a, b, c = repo("src"), repo("dst"), repo("auto")
    img = Image512(cl, a).push(cl, tags=["v1"])
    for d in img.blobs:
        r = cl.post(f"/v2/{b}/blobs/uploads/?mount={d}&from={a}")
        assert r.status == 201, r
        assert r.header("Docker-Content-Digest") == d, r
        assert r.header("Location", "").endswith(f"/v2/{b}/blobs/{d}"), r
        r = cl.post(f"/v2/{c}/blobs/uploads/?mount={d}")     # auto_mount: from anywhere
        assert r.status == 201, r
    # a mount of a sha512 blob the source does not hold is an upload session, not a mount
    unknown = sha512(os.urandom(64))
    r = cl.post(f"/v2/{b}/blobs/uploads/?mount={unknown}&from={a}")
    assert r.status == 202 and r.header("Location"), r
    # the 64-hex prefix of a sha512 blob is not a sha256 blob
    d0 = next(iter(img.own))
    r = cl.post(f"/v2/{b}/blobs/uploads/?mount=sha256:{hexof(d0)[:64]}&from={a}")
    assert r.status == 202, r

    r = cl.put(f"/v2/{b}/manifests/{img.digest}?tag=mounted", body=img.body,
               headers={"Content-Type": OCI_MANIFEST})
    assert r.status == 201, r
    assert img.problems(cl, repo=b, ref="mounted") == []

    # the source lets go of everything; the mounted copy keeps the bytes
    cl.delete_manifest(a, img.digest)
    rep = cl.gc()
    assert img.digest in acted_digests(rep, "purge-manifest"), rep       # deleted by digest
    assert not set(img.blobs) & acted_digests(rep, "delete-blob"), \
        f"bytes deleted while repository {b} references them: {rep}"
    for d in img.blobs:
        assert cl.blob_status(a, d) == 404
        assert os.path.exists(blob_path(srv.root, d))
    assert img.problems(cl, repo=b, ref="mounted") == []
    # c only mounted them (grace 0): its links went, the bytes stay for b
    for d in img.blobs:
        assert cl.blob_status(c, d) == 404
    cl.delete_manifest(b, img.digest)
    rep = cl.gc()
    assert set(img.blobs) <= acted_digests(rep, "delete-blob"), rep
    assert not set(img.blobs) & disk_blobs(srv.root, "sha512")
    p = fsck(srv.root)
    assert p.returncode == 0 and not damage(p), describe_run(p)


# ----------------------------------------------------------------------- kill -9

class Pusher(threading.Thread):
    """Pushes sha512 blobs (monolithic and chunked) and sha512 manifests until stopped,
    recording what was sent and what was acknowledged."""

    def __init__(self, url, repo, seed, ledger, stop):
        super().__init__(daemon=True)
        self.cl = Client(url, timeout=30 * SCALE)
        self.repo, self.rng, self.ledger, self.stop = repo, random.Random(seed), ledger, stop
        self.error = None

    def note(self, kind, digest, data, acked):
        with self.ledger["lock"]:
            self.ledger[kind][digest] = (data, acked or self.ledger[kind].get(digest, (0, 0))[1])

    def blob(self):
        data = self.rng.randbytes(self.rng.randint(1, 600_000))
        d = sha512(data)
        self.note("blobs", d, data, False)
        if self.rng.random() < 0.5:
            r = self.cl.post(f"/v2/{self.repo}/blobs/uploads/?digest={d}", body=data, headers=OCTET)
            ok = r.status == 201
        else:
            loc = self.cl.start_upload(self.repo)
            mid = self.rng.randint(1, max(1, len(data) - 1))
            r = self.cl.request("PATCH", loc, body=data[:mid],
                                headers=dict(OCTET, **{"Content-Range": f"0-{mid - 1}"}))
            assert r.status == 202, r
            u = urllib.parse.urlsplit(r.header("Location"))
            loc = u.path + (("?" + u.query) if u.query else "")
            r = self.cl.put(loc + ("&" if "?" in loc else "?") + f"digest={d}", body=data[mid:],
                            headers=OCTET)
            ok = r.status == 201
        assert ok, r
        self.note("blobs", d, data, True)
        return d, data

    def manifest(self):
        layers = [self.blob() for _ in range(self.rng.randint(1, 3))]
        cfg = self.blob()
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {"mediaType": OCI_CONFIG, "digest": cfg[0], "size": len(cfg[1])},
             "layers": [{"mediaType": OCI_LAYER, "digest": d, "size": len(x)} for d, x in layers]}
        body = dumps(m)
        d = sha512(body)
        self.note("manifests", d, body, False)
        r = self.cl.put(f"/v2/{self.repo}/manifests/{d}", body=body,
                        headers={"Content-Type": OCI_MANIFEST})
        assert r.status == 201 and r.header("Docker-Content-Digest") == d, r
        self.note("manifests", d, body, True)

    def run(self):
        try:
            while not self.stop.is_set():
                self.manifest() if self.rng.random() < 0.5 else self.blob()
        except (ConnectionError, OSError, TimeoutError):
            if not self.stop.is_set():
                self.error = "server unreachable while it should run"
        except Exception as e:  # noqa: BLE001 - reported by the test
            if not self.stop.is_set():
                self.error = f"{type(e).__name__}: {e}"


def test_kill9_during_sha512_pushes_then_restart_and_fsck(make_server, repo):
    srv, cl = make_server()
    name = repo()
    ledger = {"lock": threading.Lock(), "blobs": {}, "manifests": {}}
    rng = random.Random(int(os.environ.get("ARCA_CRASH_SEED", "512")))
    for rnd in range(3):
        stop = threading.Event()
        pushers = [Pusher(srv.url, name, rng.getrandbits(32), ledger, stop) for _ in range(4)]
        for p in pushers:
            p.start()
        # kill once something of this round was acknowledged, then a little later
        start_acked = sum(v[1] for v in ledger["blobs"].values())
        wait_until(lambda: sum(v[1] for v in ledger["blobs"].values()) > start_acked + 3,
                   60 * SCALE, what="sha512 pushes to be acknowledged")
        time.sleep(rng.uniform(0.05, 0.6))
        stop.set()
        srv.stop(kill=True)
        for p in pushers:
            p.join(timeout=60 * SCALE)
            assert not p.is_alive(), "a pusher hangs after the kill"
            assert p.error is None, p.error
        srv.start()
        check = Client(srv.url)
        for kind in ("blobs", "manifests"):
            for d, (data, acked) in list(ledger[kind].items()):
                path = f"/v2/{name}/{kind}/{d}"
                r = check.get(path, headers={"Accept": ACCEPT})
                if r.status == 200:
                    assert r.body == data, f"{kind} {d} holds other bytes after the crash"
                    with ledger["lock"]:
                        ledger[kind][d] = (data, True)   # visible: must stay so from now on
                else:
                    assert not acked, f"acknowledged sha512 {kind[:-1]} {d} lost: {r!r}"
                    assert r.status == 404, r
        check.close()
    assert sum(v[1] for v in ledger["manifests"].values()) > 0, "no manifest was acknowledged"
    srv.stop()
    p = fsck(srv.root)
    assert p.returncode == 0 and not damage(p), describe_run(p)
    on_disk = disk_blobs(srv.root, "sha512")
    acked = {d for d, (_, a) in ledger["blobs"].items() if a}
    assert acked <= on_disk, f"acknowledged blobs without a file: {sorted(acked - on_disk)[:3]}"


def test_sha512_upload_session_resumes_after_kill9(make_server, repo):
    srv, cl = make_server()
    name = repo()
    data = os.urandom(300_000)
    loc = cl.start_upload(name)
    r = cl.request("PATCH", loc, body=data[:100_000],
                   headers=dict(OCTET, **{"Content-Range": "0-99999"}))
    assert r.status == 202 and r.header("Range") == "0-99999", r
    u = urllib.parse.urlsplit(r.header("Location"))
    loc = u.path + (("?" + u.query) if u.query else "")
    srv.stop(kill=True)
    srv.start()
    cl = Client(srv.url)
    r = cl.get(loc)
    assert r.status == 204 and r.header("Range") == "0-99999", r
    r = cl.put(loc + ("&" if "?" in loc else "?") + f"digest={sha512(data)}", body=data[100_000:],
               headers=dict(OCTET, **{"Content-Range": f"100000-{len(data) - 1}"}))
    assert r.status == 201 and r.header("Docker-Content-Digest") == sha512(data), r
    assert cl.get_blob(name, sha512(data)).body == data
    assert sha512(data) in disk_blobs(srv.root, "sha512")


# ---------------------------------------------------------------------- real client

@pytest.fixture(scope="module")
def tools():
    try:
        return go_tools.go_tools_bin()
    except RuntimeError as e:
        pytest.fail(str(e))


def test_regctl_pushes_and_pulls_sha512_images(make_server, repo, tools, tmp_path):
    """regctl rewrites an image with --digest-algo sha512 and pushes it: blobs and manifest
    named by sha512; it copies the result to another repository (a sha512 mount or upload)
    and pulls every blob back; GC then keeps them while referenced."""
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    run = Runner(str(tmp_path / "client-env"))
    regctl = os.path.join(tools, "regctl")
    run(regctl, "registry", "set", "--tls", "disabled", srv.addr)
    name = repo()
    # a sha256 image to start from, pushed over the API
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs":
                      {"type": "layers", "diff_ids": []}}).encode()
    layer = os.urandom(20_000)
    cl.push_blob(name, cfg)
    cl.push_blob(name, layer)
    base = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                  "config": {"mediaType": OCI_CONFIG, "digest": sha256(cfg), "size": len(cfg)},
                  "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer),
                              "size": len(layer)}]})
    cl.push_manifest(name, "base", base, OCI_MANIFEST)

    ref = f"{srv.addr}/{name}"
    run(regctl, "image", "mod", f"{ref}:base", "--digest-algo", "sha512", "--create", "v512")
    raw = run(regctl, "manifest", "get", "--format", "raw-body", f"{ref}:v512").stdout.encode()
    m = json.loads(raw)
    descs = [m["config"]] + m["layers"]
    assert all(d["digest"].startswith("sha512:") for d in descs), m
    r = cl.get_manifest(name, "v512")
    assert r.status == 200 and r.body == raw, r
    d512 = r.header("Docker-Content-Digest")
    digest_out = run(regctl, "image", "digest", f"{ref}:v512").stdout.strip()
    assert digest_out == d512, (digest_out, d512)
    for d in descs:
        b = cl.get_blob(name, d["digest"])
        assert b.status == 200 and sha512(b.body) == d["digest"], b
        assert os.path.exists(blob_path(srv.root, d["digest"]))
    layer512 = [d for d in m["layers"]][0]["digest"]
    assert cl.get_blob(name, layer512).body == layer, "the layer's bytes are unchanged"

    other = repo("copy")
    run(regctl, "image", "copy", f"{ref}:v512", f"{srv.addr}/{other}:copied")
    for d in descs:
        b = cl.get_blob(other, d["digest"])
        assert b.status == 200 and sha512(b.body) == d["digest"], b
    run(regctl, "manifest", "get", f"{srv.addr}/{other}:copied")

    # the original sha256 image goes; the sha512 copies are referenced and stay
    cl.delete_manifest(name, "base")
    rep = cl.gc()
    assert not {d["digest"] for d in descs} & acted_digests(rep, "delete-blob"), rep
    for repo_name in (name, other):
        for d in descs:
            b = cl.get_blob(repo_name, d["digest"])
            assert b.status == 200 and sha512(b.body) == d["digest"], b
    p = fsck(srv.root)
    assert p.returncode == 0 and not damage(p), describe_run(p)
