"""Races between clients (issue 10, "Coverage"):

* two clients PUT the same tag at the same moment, many rounds: the tag ends on one of the
  two manifests, both stay retrievable by digest, the tag is listed once, the other manifest
  is in the recycle bin as untagged, and a multi-tag PUT (`?tag=`) moves all its tags at once;
* a manifest and its blob are deleted, and the bytes collected, while pulls of the blob are
  in progress (one streamed GET, pieces by Range): each pull either completes with the right
  bytes or fails cleanly (a short body or a 404), never with wrong bytes; the server lives,
  and the store checks clean afterwards.
"""
import hashlib
import json
import os
import subprocess
import threading
import uuid

import pytest
import requests

from arca_server import ArcaServer, arca_bin, blobs_args, metadata_args
from ocihttp import (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Registry, assert_error, describe,
                     descriptor, image_manifest, sha256)

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))
T = 60 * SCALE                    # a generous bound on any one request: beyond it, a hang
ROUNDS = 40


@pytest.fixture
def srv(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    s = ArcaServer(root=str(root), extra_args=[
        "--gc-interval", "0", "--gc-retention", "7d", "--gc-blob-grace", "0",
        "--access-log", "false"])
    s.start()
    yield s
    alive = s.proc is not None and s.proc.poll() is None
    s.stop()
    assert alive, f"arca died during the test; log: {s.log_path}"


def new_repo(prefix="race"):
    return f"{prefix}/r-{uuid.uuid4().hex[:10]}"


def run_together(fns):
    """Runs fns in threads released by one barrier; returns their results (exceptions raise)."""
    barrier = threading.Barrier(len(fns), timeout=T)
    results = [None] * len(fns)
    errors = []

    def wrap(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=2 * T)
    assert not any(t.is_alive() for t in threads), "a racing request hangs"
    if errors:
        raise errors[0]
    return results


def variants(reg, repo, n):
    """n manifests over the same pushed config and layer, differing by an annotation."""
    cfg = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = os.urandom(512)
    reg.push_blob(repo, cfg)
    reg.push_blob(repo, layer)
    return [image_manifest(descriptor(OCI_CONFIG, cfg), [descriptor(OCI_LAYER, layer)],
                           annotations={"variant": f"{i}-{uuid.uuid4().hex[:6]}"})
            for i in range(n)]


def trash(reg, repo):
    r = reg.get(f"/arca/v1/repositories/{repo}/trash?n=1000")
    assert r.status_code == 200, describe(r)
    return {e["digest"]: e for e in r.json()["trash"]}


def artifacts_tags(reg, repo):
    r = reg.get(f"/arca/v1/repositories/{repo}/artifacts?n=1000")
    assert r.status_code == 200, describe(r)
    return {a["digest"]: a["tags"] for a in r.json()["artifacts"]}


def test_two_clients_put_the_same_tag_at_once(srv):
    regs = [Registry(srv.url), Registry(srv.url)]
    reg = Registry(srv.url)
    repo = new_repo()
    bodies = variants(reg, repo, 2 * ROUNDS)
    outcomes = {0: 0, 1: 0}
    for n in range(ROUNDS):
        tag = f"r{n}"
        pair = bodies[2 * n:2 * n + 2]
        digests = [sha256(b) for b in pair]
        rs = run_together([
            (lambda i=i: regs[i].put(f"/v2/{repo}/manifests/{tag}", data=pair[i],
                                     headers={"Content-Type": OCI_MANIFEST}, timeout=T))
            for i in range(2)])
        for r, d in zip(rs, digests):
            assert r.status_code == 201 and r.headers.get("Docker-Content-Digest") == d, describe(r)
        r = reg.get(f"/v2/{repo}/manifests/{tag}")
        assert r.status_code == 200, describe(r)
        winner = r.headers.get("Docker-Content-Digest")
        assert winner in digests and sha256(r.content) == winner, describe(r)
        outcomes[digests.index(winner)] += 1
        loser = digests[1 - digests.index(winner)]
        for d, body in zip(digests, pair):
            r = reg.get(f"/v2/{repo}/manifests/{d}")
            assert r.status_code == 200 and r.content == body, \
                f"round {n}: manifest {d} is not retrievable by digest" + describe(r)
        tags = reg.tags(repo)
        assert tags.count(tag) == 1, f"round {n}: {tag} listed {tags.count(tag)} times: {tags}"
        listed = artifacts_tags(reg, repo)
        assert tag in listed[winner] and tag not in listed.get(loser, []), \
            f"round {n}: artifact listing disagrees with the tag ({winner} won): {listed}"
        bin_ = trash(reg, repo)
        assert loser in bin_ and bin_[loser]["reason"] == "untagged" and \
            bin_[loser]["tags"] == [tag], f"round {n}: the untagged manifest {loser}: {bin_}"
        assert winner not in bin_, f"round {n}: the tagged manifest is in the recycle bin"
    assert sorted(reg.tags(repo)) == sorted(f"r{n}" for n in range(ROUNDS))
    print(f"winners by position: {outcomes}")


def test_two_multi_tag_puts_at_once_move_their_tags_together(srv):
    """PUT by digest with ?tag=x&tag=y against ?tag=y&tag=x: each request is one change, so
    after the race x and y name the same manifest."""
    regs = [Registry(srv.url), Registry(srv.url)]
    reg = Registry(srv.url)
    repo = new_repo()
    bodies = variants(reg, repo, 2 * ROUNDS)
    for n in range(ROUNDS):
        x, y = f"x{n}", f"y{n}"
        pair = bodies[2 * n:2 * n + 2]
        digests = [sha256(b) for b in pair]
        orders = [f"?tag={x}&tag={y}", f"?tag={y}&tag={x}"]
        rs = run_together([
            (lambda i=i: regs[i].put(f"/v2/{repo}/manifests/{digests[i]}{orders[i]}",
                                     data=pair[i], headers={"Content-Type": OCI_MANIFEST},
                                     timeout=T))
            for i in range(2)])
        for r in rs:
            assert r.status_code == 201, describe(r)
        got = {t: reg.head(f"/v2/{repo}/manifests/{t}").headers.get("Docker-Content-Digest")
               for t in (x, y)}
        assert got[x] in digests and got[x] == got[y], \
            f"round {n}: one request's tags were split between two manifests: {got}"
        for d in digests:
            assert reg.head(f"/v2/{repo}/manifests/{d}").status_code == 200


# ------------------------------------------------------------- delete during a pull

BIG = 24 << 20


def gc_pass(reg):
    r = reg.post("/arca/v1/admin/gc", timeout=T)
    assert r.status_code == 200, describe(r)
    return r.json()


def fsck_clean(root):
    p = subprocess.run([arca_bin(), "fsck", "--root", root, *blobs_args(root), *metadata_args(root)],
                       capture_output=True, text=True,
                       timeout=10 * T)
    bad = [l for l in (p.stdout + p.stderr).splitlines()
           if not l.startswith("debris: ") and any(k in l for k in (
               "missing-blob", "digest-mismatch", "dangling-reference", "manifest-digest"))]
    assert p.returncode == 0 and not bad, f"fsck: {p.returncode}\n{p.stdout}\n{p.stderr}"


def push_big(reg, repo):
    data = os.urandom(BIG)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "nonce": uuid.uuid4().hex}).encode()
    reg.push_blob(repo, cfg)
    reg.push_blob(repo, data)
    body = image_manifest(descriptor(OCI_CONFIG, cfg), [descriptor(OCI_LAYER, data)])
    r = reg.put(f"/v2/{repo}/manifests/v1", data=body, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201, describe(r)
    return data, sha256(data), sha256(body)


def delete_and_collect(reg, repo, manifest, blob):
    r = reg.delete(f"/v2/{repo}/manifests/{manifest}")
    assert r.status_code == 202, describe(r)
    r = reg.delete(f"/v2/{repo}/blobs/{blob}")
    assert r.status_code == 202, describe(r)
    r = reg.delete(f"/arca/v1/repositories/{repo}/trash/{manifest}")   # expire it now
    assert r.status_code in (200, 202, 204), describe(r)
    deleted = set()
    for _ in range(3):                       # the manifest, then its blobs' links, then bytes
        rep = gc_pass(reg)
        deleted |= {a["digest"] for a in rep["actions"] if a["action"] == "delete-blob"}
        if blob in deleted:
            break
    assert blob in deleted, "the blob's bytes were not collected: the race did not happen"


def test_delete_and_gc_during_a_streamed_pull(srv):
    reg = Registry(srv.url)
    puller = requests.Session()
    for rnd in range(3):
        repo = new_repo("pull")
        data, d, m = push_big(reg, repo)
        r = puller.get(f"{srv.url}/v2/{repo}/blobs/{d}", stream=True, timeout=T,
                       headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == BIG, describe(r)
        got = bytearray(r.raw.read(1 << 20))
        assert len(got) == 1 << 20
        delete_and_collect(reg, repo, m, d)
        path = os.path.join(srv.root, "blobs", "sha256", d[7:9], d[7:])
        assert not os.path.exists(path), "the blob file is still there after GC"
        try:
            while True:
                chunk = r.raw.read(1 << 20)
                if not chunk:
                    break
                got += chunk
            complete = True
        except Exception as e:  # noqa: BLE001 - a cut connection shows as several kinds
            complete = False
            print(f"round {rnd}: the pull was cut after {len(got)} bytes: {e!r}")
        if complete and len(got) == BIG:
            assert hashlib.sha256(got).hexdigest() == d[7:], \
                "a pull completed with bytes other than the blob's"
        else:
            assert len(got) < BIG, "more bytes than the blob has"
            assert bytes(got) == data[:len(got)], "a cut pull delivered wrong bytes before the cut"
        r.close()
        r = reg.get(f"/v2/{repo}/blobs/{d}")
        assert_error(r, 404, "BLOB_UNKNOWN")
        assert reg.get(f"/v2/{repo}/manifests/{m}").status_code == 404
    srv.stop()
    fsck_clean(srv.root)
    srv.start()


def test_delete_and_gc_during_a_ranged_pull(srv):
    """A client pulling in pieces (Range) when the blob goes: every piece it got is right, and
    the pieces after the deletion are a clean 404."""
    reg = Registry(srv.url)
    repo = new_repo("ranged")
    data, d, m = push_big(reg, repo)
    piece = 1 << 20
    got = []
    lock = threading.Lock()
    started = threading.Event()
    failures = []

    def pull():
        s = requests.Session()
        for off in range(0, BIG, piece):
            r = s.get(f"{srv.url}/v2/{repo}/blobs/{d}", timeout=T,
                      headers={"Range": f"bytes={off}-{off + piece - 1}",
                               "Accept-Encoding": "identity"})
            if r.status_code == 206:
                if r.content != data[off:off + piece]:
                    failures.append(f"piece at {off}: wrong bytes")
                with lock:
                    got.append(off)
                started.set()
            elif r.status_code == 404:
                started.set()
                return
            else:
                failures.append(f"piece at {off}: {r.status_code} {r.content[:200]!r}")
                started.set()
                return

    t = threading.Thread(target=pull)
    t.start()
    assert started.wait(T), "the pull did not start"
    delete_and_collect(reg, repo, m, d)
    t.join(timeout=10 * T)
    assert not t.is_alive(), "the ranged pull hangs"
    assert not failures, failures
    assert got == list(range(0, len(got) * piece, piece)), "pieces out of order"
    r = reg.get(f"/v2/{repo}/blobs/{d}", headers={"Range": "bytes=0-10"})
    assert_error(r, 404, "BLOB_UNKNOWN")
    srv.stop()
    fsck_clean(srv.root)
    srv.start()
