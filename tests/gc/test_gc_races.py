"""A mount or an upload landing on a blob that GC is deleting (issue 10, "Coverage";
docs/gc.md "How it stays online and safe").

With a blob grace of 0, each worker repeatedly pushes fresh content into a source repository
under a manifest, deletes that manifest, and then, released by one barrier, a GC pass (which
unlinks the content from the source and deletes its bytes) and the worker's mount of the same
content from the source into its own repository — or its upload of the same bytes there —
run at the same moment. The worker then pushes a manifest over the content. A manifest push
may be refused with MANIFEST_BLOB_UNKNOWN (a pass took the content first: the client brings
it again, as real clients do); once a manifest is acknowledged, every blob it references must
be there with its bytes, right away and at the end, and fsck must find the store clean.
"""
import json
import os
import random
import threading
import time

from gclib import (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Client, describe_run, dumps, run_arca,
                   sha256)

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))
WORKERS = 3
ITERATIONS = 25
RETRIES = 50
OCTET = {"Content-Type": "application/octet-stream"}


class Worker(threading.Thread):
    def __init__(self, url, n, seed, stats):
        super().__init__(daemon=True)
        self.cl = Client(url, timeout=60 * SCALE)
        self.gcl = Client(url, timeout=120 * SCALE)
        self.src = f"gcrace/src-{n}"
        self.dst = f"gcrace/dst-{n}"
        self.rng = random.Random(seed)
        self.stats = stats
        self.kept = []          # (body, {digest: bytes}) acknowledged in dst and kept
        self.errors = []

    def push_blob(self, repo, data):
        r = self.cl.post(f"/v2/{repo}/blobs/uploads/?digest={sha256(data)}", body=data,
                         headers=OCTET)
        assert r.status == 201, f"upload{r!r}"

    def manifest(self, cfg, layer, note):
        return dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": OCI_CONFIG, "digest": sha256(cfg),
                                 "size": len(cfg)},
                      "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer),
                                  "size": len(layer)}],
                      "annotations": {"note": note}})

    def put_manifest(self, repo, ref, body):
        r = self.cl.put(f"/v2/{repo}/manifests/{ref}", body=body,
                        headers={"Content-Type": OCI_MANIFEST})
        if r.status == 400 and "MANIFEST_BLOB_UNKNOWN" in r.codes():
            return False
        assert r.status == 201 and r.header("Docker-Content-Digest") == sha256(body), \
            f"manifest push{r!r}"
        return True

    def bring(self, data, how):
        """Mount data from src into dst, or upload it there again."""
        d = sha256(data)
        if how == "mount":
            r = self.cl.post(f"/v2/{self.dst}/blobs/uploads/?mount={d}&from={self.src}")
            if r.status == 201:
                self.stats["mounted"] += 1
                return
            assert r.status == 202, f"mount{r!r}"
            self.stats["mount_missed"] += 1
            loc = r.header("Location")
            r = self.cl.put(loc + ("&" if "?" in loc else "?") + f"digest={d}", body=data,
                            headers=OCTET)
            assert r.status == 201, f"upload after a missed mount{r!r}"
        else:
            self.push_blob(self.dst, data)
            self.stats["uploaded"] += 1

    def check_pull(self, body, blobs):
        r = self.cl.get(f"/v2/{self.dst}/manifests/{sha256(body)}")
        assert r.status == 200 and r.body == body, f"acknowledged manifest{r!r}"
        for d, data in blobs.items():
            r = self.cl.get(f"/v2/{self.dst}/blobs/{d}")
            assert r.status == 200 and r.body == data, \
                f"blob {d} of an acknowledged manifest: {r.status} {r.codes()}"

    def iteration(self, i):
        cfg = json.dumps({"os": "linux", "architecture": "amd64", "i": i,
                          "nonce": self.rng.getrandbits(64)}).encode()
        layer = self.rng.randbytes(self.rng.randint(100, 40_000))
        blobs = {sha256(cfg): cfg, sha256(layer): layer}
        # the source holds the content under a manifest, then lets it go
        for attempt in range(RETRIES):
            for data in (cfg, layer):
                self.push_blob(self.src, data)
            src_body = self.manifest(cfg, layer, f"src {i}")
            if self.put_manifest(self.src, "src", src_body):
                break
            self.stats["refused"] += 1
        else:
            raise AssertionError(f"source manifest refused {RETRIES} times")
        r = self.cl.delete(f"/v2/{self.src}/manifests/{sha256(src_body)}")
        assert r.status == 202, r
        # a pass deletes the content while the destination brings it in
        how = self.rng.choice(["mount", "upload"])
        for attempt in range(RETRIES):
            if attempt == 0:
                # the race: the pass and the mount or upload, released together
                barrier = threading.Barrier(2, timeout=60 * SCALE)
                rep = {}

                def gc_now():
                    barrier.wait()
                    rep.update(self.gcl.gc())

                t = threading.Thread(target=gc_now)
                t.start()
                barrier.wait()
                try:
                    for data in (cfg, layer):
                        self.bring(data, how)
                finally:
                    t.join(timeout=120 * SCALE)
                assert not t.is_alive(), "a GC pass hangs"
                if set(blobs) & {a["digest"] for a in rep.get("actions", [])
                                 if a["action"] == "delete-blob"}:
                    self.stats[f"raced_{how}"] += 1
            else:
                # the pass took what was brought (grace 0): bring it again, as clients do
                for data in (cfg, layer):
                    self.bring(data, "upload")
            body = self.manifest(cfg, layer, f"dst {i} {attempt}")
            if self.put_manifest(self.dst, f"t{i}", body):
                self.stats["acked_first" if attempt == 0 else "acked_retry"] += 1
                break
            self.stats["refused"] += 1
        else:
            raise AssertionError(f"destination manifest refused {RETRIES} times")
        self.check_pull(body, blobs)
        if self.rng.random() < 0.5:
            self.kept.append((body, blobs))
        else:
            r = self.cl.delete(f"/v2/{self.dst}/manifests/t{i}")
            assert r.status == 202, r

    def run(self):
        try:
            for i in range(ITERATIONS):
                self.iteration(i)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{type(e).__name__}: {e}")


def test_mount_and_upload_landing_on_blobs_gc_is_deleting(make_server):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    stats = {"mounted": 0, "mount_missed": 0, "uploaded": 0, "refused": 0,
             "raced_mount": 0, "raced_upload": 0, "acked_first": 0, "acked_retry": 0}
    workers = [Worker(srv.url, n, 1000 + n, stats) for n in range(WORKERS)]
    for w in workers:
        w.start()
    deadline = time.time() + 600 * SCALE
    for w in workers:
        w.join(timeout=max(1, deadline - time.time()))
    assert not any(w.is_alive() for w in workers), "a worker hangs"
    errors = [e for w in workers for e in w.errors]
    assert not errors, errors
    print(f"stats: {stats}")
    assert srv.alive(), f"arca died; log: {srv.log_path}"
    # the pass deleted the very content being mounted or uploaded, many times over
    assert stats["raced_mount"] + stats["raced_upload"] >= ITERATIONS, \
        f"the race was seldom exercised: {stats}"

    # a last pass, then every kept manifest pulls completely
    cl.gc()
    for w in workers:
        for body, blobs in w.kept:
            w.check_pull(body, blobs)
    srv.stop()
    p = run_arca("fsck", "--root", srv.root)
    bad = [l for l in (p.stdout + p.stderr).splitlines()
           if not l.startswith("debris: ") and any(k in l for k in (
               "missing-blob", "digest-mismatch", "dangling-reference", "manifest-digest"))]
    assert p.returncode == 0 and not bad, describe_run(p)
