"""A full filesystem during group commit (issue 10, "Coverage").

The store lives on a small tmpfs (mounted for the test: it needs root, as `make test` on the
test machines has; the mount is removed at the end). With content pushed, a filler file takes
every free byte; then several clients push at once — blob uploads, and manifests large enough
that SQLite's WAL must grow, so metadata batches fail in their commit. Then:

* every push either succeeds or fails with a 5xx OCI error that says the disk is full;
* the server keeps running and keeps serving what it had;
* nothing acknowledged is lost, and no failed manifest push left a tag behind;
* once the filler is removed, pushes succeed again without a restart;
* after a restart everything acknowledged is still there and fsck finds no damage.
"""
import errno
import json
import os
import subprocess
import threading

import pytest

from gclib import (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Client, describe_run, dumps, image,
                   run_arca, sha256, wait_until)

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))
FS_SIZE = "24m"
FULL_WORDS = ("no space", "disk is full", "database or disk is full", "enospc")


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "fs"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"this test mounts a small tmpfs and needs root: {p.stderr.strip()}",
                    pytrace=False)
    try:
        yield str(mnt)
    finally:
        r = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
        if r.returncode != 0:                      # something still holds it: detach
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, text=True)


def fill(path):
    """Writes a file until the filesystem is full; returns it."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb", buffering=0) as f:
        for step in (1 << 20, 64 << 10, 4096, 512, 1):
            chunk = b"\0" * step
            while True:
                try:
                    f.write(chunk)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    st = os.statvfs(path)
    assert st.f_bavail * st.f_frsize < 64 << 10, "the filesystem is not full"
    return filler


def says_full(r):
    text = (r.body or b"").decode("utf-8", "replace").lower()
    return any(w in text for w in FULL_WORDS)


def test_full_filesystem_during_group_commit(small_fs, make_server, tmp_path, repo):
    root = os.path.join(small_fs, "root")
    srv, cl = make_server(root=root, start=False)
    srv.log_path = str(tmp_path / "arca.log")   # the log stays off the full filesystem
    srv.start()
    cl = Client(srv.url)                         # the port is known once started (port 0)
    name = repo()
    acked = []                                   # (repo, tag, body, {digest: bytes})
    for i in range(3):
        img = image(cl, name, layers=2, layer_size=20_000)
        cl.push_manifest(name, f"base{i}", img.body, img.media_type)
        acked.append((name, f"base{i}", img.body, img.blobs))
    first = json.loads(acked[0][2])
    cfg_d, layer_d = first["config"]["digest"], first["layers"][0]["digest"]
    cfg, layer = acked[0][3][cfg_d], acked[0][3][layer_d]

    filler = fill(small_fs)
    results = []                                 # (kind, status, ok, detail)
    lock = threading.Lock()
    failed_tags = []

    def big_manifest(tag):
        # ~300 KB of annotations: the WAL has to grow to take it
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {"mediaType": OCI_CONFIG, "digest": cfg_d, "size": len(cfg)},
             "layers": [{"mediaType": OCI_LAYER, "digest": layer_d, "size": len(layer)}],
             "annotations": {f"k{j}": os.urandom(3000).hex() for j in range(50)}}
        return dumps(m)

    errors = []

    def client(n):
        try:
            pushes(n)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {n}: {type(e).__name__}: {e}")

    def pushes(n):
        c = Client(srv.url, timeout=120 * SCALE)
        for k in range(4):
            # under the 64 KiB the server drains of a refused body: the answer arrives on a
            # connection that stays usable
            blob = os.urandom(60_000)
            r = c.post(f"/v2/{name}/blobs/uploads/?digest={sha256(blob)}", body=blob,
                       headers={"Content-Type": "application/octet-stream"})
            with lock:
                results.append(("blob", r.status, r.status == 201, r))
                if r.status == 201:
                    acked.append((name, None, None, {sha256(blob): blob}))
            tag = f"full-{n}-{k}"
            body = big_manifest(tag)
            r = c.put(f"/v2/{name}/manifests/{tag}", body=body,
                      headers={"Content-Type": OCI_MANIFEST})
            with lock:
                results.append(("manifest", r.status, r.status == 201, r))
                if r.status == 201:
                    acked.append((name, tag, body, {}))
                else:
                    failed_tags.append(tag)
        c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300 * SCALE)
    assert not any(t.is_alive() for t in threads), "a push hangs on the full filesystem"
    assert srv.alive(), f"arca died when the disk filled; log: {srv.log_path}"
    assert not errors, f"pushes got no answer: {errors}"

    failures = [r for kind, status, ok, r in results if not ok]
    assert failures, "no push failed: the filesystem was not full"
    assert any(kind == "manifest" and not ok for kind, _, ok, _ in results), \
        "no manifest push failed: the metadata commit never met the full disk"
    for r in failures:
        assert 500 <= r.status < 600, f"a push on a full disk is a server error, not{r!r}"
        assert r.codes() and says_full(r), f"the error should say the disk is full{r!r}"
    seen = sorted({(kind, r.body.decode("utf-8", "replace")[:160])
                   for kind, _, ok, r in results if not ok})
    print(f"on the full disk: {sum(ok for _, _, ok, _ in results)} of {len(results)} pushes "
          f"succeeded; errors: {seen}")

    def verify(c):
        for repo_name, tag, body, blobs in acked:
            if body is not None:
                r = c.get_manifest(repo_name, tag)
                assert r.status == 200 and r.body == body, f"acknowledged {tag} lost{r!r}"
            for d, data in blobs.items():
                r = c.get_blob(repo_name, d)
                assert r.status == 200 and r.body == data, f"acknowledged blob {d} lost{r!r}"
        tags = set(c.tags(name))
        for tag in failed_tags:
            if tag in tags:
                # a failed push must not leave a tag, unless its commit made it after all
                # (then it is whole)
                r = c.get_manifest(name, tag)
                assert r.status == 200 and sha256(r.body) == r.header("Docker-Content-Digest")

    verify(cl)                                   # reads go on while the disk is full

    os.remove(filler)
    fresh = {}

    def push_again():
        img = image(cl, name, layers=1, layer_size=5000, push_blobs=False)
        try:
            for d, data in img.blobs.items():
                cl.push_blob(name, data)
            r = cl.push_manifest(name, "after", img.body, img.media_type, expect=None)
        except AssertionError:
            return False
        if r.status != 201:
            return False
        fresh["img"] = img
        return True

    # no restart: writes work again as soon as there is room
    wait_until(push_again, 30 * SCALE, interval=0.5, what="pushes to succeed once space returns")
    acked.append((name, "after", fresh["img"].body, fresh["img"].blobs))
    for i in range(3):
        body = big_manifest(f"room{i}")
        cl.push_manifest(name, f"room{i}", body, OCI_MANIFEST)
        acked.append((name, f"room{i}", body, {}))
    verify(cl)

    assert srv.stop() == 0, "the server did not stop cleanly"
    srv.start()
    verify(Client(srv.url))
    srv.stop()
    p = run_arca("fsck", "--root", root)
    bad = [l for l in (p.stdout + p.stderr).splitlines()
           if not l.startswith("debris: ") and any(k in l for k in (
               "missing-blob", "digest-mismatch", "dangling-reference", "manifest-digest"))]
    assert p.returncode == 0 and not bad, describe_run(p)
