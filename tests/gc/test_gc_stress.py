"""GC online and crash-safe (docs/gc.md "How it stays online and safe"): passes in a loop
beside pushes, retags, untags and deletes; SIGKILL in the middle of a pass; `arca gc` on a
store no server holds (and asking the server that holds it).
"""
import collections
import os
import random
import re
import sqlite3
import threading
import time
import traceback

import pytest

from gclib import (OCI_INDEX, OCI_MANIFEST, Client, actions, acted_digests, blob_path,
                   check_report, describe_run, image, index, json_out, pull_problems,
                   push_image, run_arca, sha256)
from testkit import hang_guard, run_threads, wait_until

STRESS_SECONDS = float(os.environ.get("GC_STRESS_SECONDS", "20"))
KILL_ROUNDS = int(os.environ.get("GC_KILL_ROUNDS", "3"))


def fsck_clean(root):
    p = run_arca("fsck", "--root", root)
    assert p.returncode == 0, "fsck after the run" + describe_run(p)


def blob_files(root):
    """Every blob file on disk, of every digest algorithm the store keeps."""
    out = set()
    for algo, hexlen in (("sha256", 64), ("sha512", 128)):
        base = os.path.join(root, "blobs", algo)
        if not os.path.isdir(base):
            continue
        for sub in os.listdir(base):
            for name in os.listdir(os.path.join(base, sub)):
                if re.fullmatch(rf"[0-9a-f]{{{hexlen}}}", name):
                    out.add(f"{algo}:{name}")
    return out


# ------------------------------------------------------------------ concurrent stress

class Worker(threading.Thread):
    """Pushes, retags, untags and deletes its own images and indexes (tags `w<id>-…`) in
    shared repositories, tracking which tag names which manifest. Only this worker touches
    its tags, so a tag it holds must pull completely at any moment, GC or not."""

    def __init__(self, wid, cl, repos, pool, stop, retry_unknown=False):
        super().__init__(daemon=True)
        self.retry_unknown = retry_unknown
        self.wid, self.cl, self.repos, self.pool = wid, cl, repos, pool
        self.stop_ev = stop
        self.rnd = random.Random(1000 + wid)
        self.tags = {}                 # (repo, tag) -> Manifest
        self.index_children = set()    # digests any index of ours ever referenced
        self.ops = collections.Counter()
        self.errors = []
        self.n = 0

    def new_tag(self):
        self.n += 1
        return f"w{self.wid}-{self.n}"

    def fail(self, what):
        self.errors.append(what)

    def tagged_in(self, repo, images_only=False):
        return [(k, m) for k, m in self.tags.items() if k[0] == repo
                and (not images_only or m.media_type == OCI_MANIFEST)]

    def push(self, m, tag):
        for _ in range(10):
            r = self.cl.push_manifest(m.repo, tag, m.body, m.media_type, expect=None)
            # With no blob grace a pass may take a blob between its push and the manifest's:
            # the push then sees it gone and the client pushes it again (docs/gc.md).
            if not (self.retry_unknown and m.blobs and r.status == 400
                    and "MANIFEST_BLOB_UNKNOWN" in r.codes()):
                break
            self.ops["manifest_blob_unknown_retries"] += 1
            if os.environ.get("GC_STRESS_DEBUG"):
                age = time.time() - getattr(m, "blobs_pushed_at", 0)
                det = r.json()["errors"][0].get("detail", "")
                pool = any(sha256(p) in det for p in self.pool)
                print(f"MBU {m.repo}:{tag} {age:.3f}s after its blob pushes, pool={pool}: {det}")
            for data in m.blobs.values():
                self.cl.push_blob(m.repo, data)
        if r.status != 201:
            self.fail(f"push {m.repo}:{tag} ({m.digest}){r!r}")
            return False
        self.tags[(m.repo, tag)] = m
        return True

    def op_push_image(self):
        repo = self.rnd.choice(self.repos)
        shared = [self.rnd.choice(self.pool)] if self.rnd.random() < 0.5 else []
        img = image(self.cl, repo, layer_size=self.rnd.randint(64, 4096), shared=shared)
        img.blobs_pushed_at = time.time()
        self.push(img, self.new_tag())

    def op_retag(self):
        if not self.tags:
            return
        (repo, tag), m = self.rnd.choice(list(self.tags.items()))
        if self.rnd.random() < 0.5:
            self.push(m, self.new_tag())                      # one more tag
        else:
            others = self.tagged_in(repo)
            (_, t2), _m2 = self.rnd.choice(others)
            self.push(m, t2)                                  # move a tag to m

    def op_untag(self):
        if not self.tags:
            return
        (repo, tag), m = self.rnd.choice(list(self.tags.items()))
        r = self.cl.delete(f"/v2/{repo}/manifests/{tag}")
        if r.status != 202:
            self.fail(f"untag {repo}:{tag}{r!r}")
            return
        del self.tags[(repo, tag)]

    def op_delete(self):
        cands = [(k, m) for k, m in self.tags.items() if m.digest not in self.index_children]
        if not cands:
            return
        (repo, _), m = self.rnd.choice(cands)
        r = self.cl.delete(f"/v2/{repo}/manifests/{m.digest}")
        if r.status != 202:
            self.fail(f"delete {repo}@{m.digest}{r!r}")
            return
        for k in [k for k, v in self.tags.items() if k[0] == repo and v.digest == m.digest]:
            del self.tags[k]

    def op_push_index(self):
        repo = self.rnd.choice(self.repos)
        imgs = {m.digest: m for _, m in self.tagged_in(repo, images_only=True)}
        if not imgs:
            return
        children = self.rnd.sample(list(imgs.values()), min(len(imgs), self.rnd.randint(1, 3)))
        idx = index(repo, children)
        self.index_children.update(c.digest for c in children)
        self.push(idx, self.new_tag())

    def op_verify(self):
        if not self.tags:
            return
        (repo, tag), m = self.rnd.choice(list(self.tags.items()))
        p = pull_problems(self.cl, m, tag)
        if p:
            self.fail(f"{repo}:{tag} does not pull while GC runs: {p}")

    def run(self):
        ops = [(self.op_push_image, 30), (self.op_retag, 10), (self.op_untag, 15),
               (self.op_delete, 8), (self.op_push_index, 10), (self.op_verify, 15)]
        fns, weights = zip(*ops)
        while not self.stop_ev.is_set() and len(self.errors) < 20:
            fn = self.rnd.choices(fns, weights)[0]
            try:
                fn()
                self.ops[fn.__name__] += 1
            except Exception:
                self.fail(traceback.format_exc())


class GcLoop(threading.Thread):
    def __init__(self, cl, stop):
        super().__init__(daemon=True)
        self.cl, self.stop_ev = cl, stop
        self.passes, self.errors = 0, []
        self.deleted = collections.Counter()
        self.reports = []

    def run(self):
        while not self.stop_ev.is_set() and len(self.errors) < 20:
            try:
                r = self.cl.gc(expect=None)
                if r.status != 200:
                    self.errors.append(f"gc pass{r!r}")
                    continue
                rep = check_report(r.json(), False)
                self.passes += 1
                self.deleted.update(rep["deleted"])
                self.reports.append(rep)
            except Exception:
                self.errors.append(traceback.format_exc())


def _stress(make_server, repo, grace, seconds):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", grace,
                           "--access-log", "false"])
    repos = [repo("stress"), repo("stress")]
    pool = [os.urandom(2048) for _ in range(4)]
    for r in repos:
        for data in pool:
            cl.push_blob(r, data)
    stop_workers = threading.Event()
    workers = [Worker(i, Client(srv.url), repos, pool, stop_workers,
                      retry_unknown=(grace != "60s")) for i in range(4)]
    stop = threading.Event()
    gcl = GcLoop(Client(srv.url), stop)
    gcl.start()
    for w in workers:
        w.start()
    # `seconds` of work, then on until the GC loop has done what the checks below need (five
    # passes, manifests deleted): a slow machine takes longer, it does not fail for that
    time.sleep(seconds)
    wait_until(lambda: (gcl.passes >= 5 and gcl.deleted["manifests"] > 0) or gcl.errors
               or any(w.errors or not w.is_alive() for w in workers) or not gcl.is_alive(),
               timeout=600, interval=0.2, what="five GC passes deleting manifests beside the workers")
    stop_workers.set()
    for w in workers:
        w.join(hang_guard(120))
        assert not w.is_alive(), "hang: a worker still runs after its stop"
    stop.set()
    gcl.join(hang_guard(120))
    assert not gcl.is_alive(), "hang: the GC loop still runs after its stop"
    assert srv.alive(), f"arca died; log: {srv.log_path}"

    errors = [e for w in workers for e in w.errors] + gcl.errors
    ops = sum((w.ops for w in workers), collections.Counter())
    assert not errors, f"{len(errors)} errors ({dict(ops)}, {gcl.passes} passes):\n" + \
        "\n---\n".join(errors[:8])
    print(f"\nstress: {dict(ops)}; {gcl.passes} GC passes deleted {dict(gcl.deleted)}")
    assert gcl.passes >= 5, f"only {gcl.passes} GC passes ran beside the workers"
    assert gcl.deleted["manifests"] > 0, f"GC deleted nothing in {gcl.passes} passes: {ops}"

    # the final state: every tag pulls completely, and exactly our tags are there
    rep = cl.gc()
    expected = {}
    for w in workers:
        expected.update(w.tags)
    tagged_digests = {m.digest for m in expected.values()}
    tagged_digests |= {c.digest for m in expected.values() for c in m.children}
    assert not (acted_digests(rep, "delete-manifest") & tagged_digests), rep
    for r in repos:
        want = sorted(t for (rr, t) in expected if rr == r)
        got = sorted(cl.tags(r))
        assert got == want, f"tags of {r}: missing {set(want) - set(got)}, " \
                            f"unexpected {set(got) - set(want)}"
    problems = []
    for (r, tag), m in sorted(expected.items(), key=lambda kv: kv[0]):
        problems += pull_problems(cl, m, tag)
    assert not problems, f"{len(problems)} pull problems after the run:\n" + \
        "\n".join(problems[:20])
    if grace != "60s":
        # nothing unreferenced may stay: the blob files are exactly what the tags reach
        time.sleep(1.2)
        reps = [cl.gc()]
        while reps[-1]["actions"] and len(reps) < 4:
            reps.append(cl.gc())
        want = {d for m in expected.values() for d in m.all_blobs()}
        on_disk = blob_files(srv.root)
        assert on_disk == want, f"{len(on_disk - want)} unreferenced blob files left, " \
                                f"{len(want - on_disk)} referenced ones missing: {reps}"
    srv.stop()
    fsck_clean(srv.root)


def test_gc_in_a_loop_beside_concurrent_pushes_and_deletes(make_server, repo):
    _stress(make_server, repo, "60s", STRESS_SECONDS)


def test_gc_with_short_blob_grace_beside_concurrent_pushes(make_server, repo):
    """Blobs are unlinked and their bytes deleted while pushes re-upload and reference them
    (a 1 s grace: with none, a pass in a tight loop takes every blob before its manifest)."""
    _stress(make_server, repo, "1s", STRESS_SECONDS / 2)


# ------------------------------------------------------------------ SIGKILL during a pass

def _push_orphans(url, junk, pool, n_manifests, n_blobs):
    """Untagged manifests (half pushed by digest, half tagged then untagged) and loose blobs;
    returns (manifests, loose blob digests)."""
    def one_manifest(cl, i):
        m = image(cl, junk, layer_size=200, shared=[pool[i % len(pool)]])
        if i % 2:
            cl.push_manifest(junk, m.digest, m.body, OCI_MANIFEST)
        else:
            cl.push_manifest(junk, f"o{i}", m.body, OCI_MANIFEST)
            cl.delete_manifest(junk, f"o{i}")
        return m

    def one_blob(cl, i):
        return cl.push_blob(junk, os.urandom(100 + i % 50))

    def pusher(k, n, fn):
        cl = Client(url)
        try:
            return [fn(cl, i) for i in range(k, n, 8)]
        finally:
            cl.close()
    ms = run_threads([lambda k=k: pusher(k, n_manifests, one_manifest) for k in range(8)],
                     timeout=600, what="manifest pusher")
    blobs = run_threads([lambda k=k: pusher(k, n_blobs, one_blob) for k in range(8)],
                        timeout=600, what="blob pusher")
    return [m for part in ms for m in part], [b for part in blobs for b in part]


@pytest.mark.local_meta  # sees a pass begin through SQLite's data_version
def test_sigkill_during_gc_loses_nothing_tagged(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0",
                           "--access-log", "false"])
    name, junk = repo("keep"), repo("junk")
    pool = [os.urandom(1500) for _ in range(3)]
    keep = [push_image(cl, name, ref=f"keep{i}", shared=[pool[i % 3]]) for i in range(20)]
    kidx = index(name, keep[:3])
    cl.push_manifest(name, "multi", kidx.body, OCI_INDEX)
    for data in pool:                       # the junk repository holds the pool blobs too
        cl.push_blob(junk, data)
    rng = random.Random(42)
    orphans, loose = [], []
    hits, misses = 0, []
    db_path = os.path.join(srv.root, "meta.db")
    # Every round must kill a pass in the middle: begun (its first batch committed, which the
    # database's data_version shows to another connection) and not yet answered. A round whose
    # pass was quicker than the kill does not count and is made again, a bounded number of times.
    while hits < KILL_ROUNDS:
        assert len(misses) < 2 * KILL_ROUNDS, \
            f"only {hits} of {hits + len(misses)} kills landed inside a pass: {misses}"
        rnd = hits + len(misses)
        ms, bs = _push_orphans(srv.url, junk, pool, 150, 600)
        orphans += ms
        loose += bs
        answer = {}
        db = sqlite3.connect(db_path)
        try:
            version = lambda: db.execute("PRAGMA data_version").fetchone()[0]  # noqa: E731
            v0 = version()

            def run_gc():
                try:
                    answer["r"] = Client(srv.url).post("/arca/v1/admin/gc", retry=False)
                except Exception as e:             # the server died under it: expected
                    answer["e"] = e
            t = threading.Thread(target=run_gc, daemon=True)
            t.start()
            wait_until(lambda: version() != v0 or answer, 60, interval=0.002,
                       what="the GC pass to commit its first batch")
            begun = version() != v0
            time.sleep(rng.uniform(0, 0.05))
            srv.stop(kill=True)
        finally:
            db.close()
        t.join(hang_guard(30))
        assert not t.is_alive(), "hang: the GC request neither answered nor failed after the kill"
        if begun and "r" not in answer:
            hits += 1
            print(f"\nround {rnd}: the pass was killed in the middle ({answer.get('e')!r})")
        else:
            what = (f"answered {answer['r'].status} before the kill: {answer['r'].body[:200]!r}"
                    if "r" in answer else "had not begun")
            misses.append(f"round {rnd}: the pass {what}")
            print("\n" + misses[-1])
        cl.close()
        srv.start()
        problems = []
        for i, m in enumerate(keep):
            problems += pull_problems(cl, m, f"keep{i}")
        problems += pull_problems(cl, kidx, "multi")
        assert not problems, f"round {rnd}: tagged content lost after SIGKILL during GC:\n" + \
            "\n".join(problems[:20])

    # passes after the crashes finish the job
    reps = [cl.gc()]
    while reps[-1]["actions"] and len(reps) < 4:
        reps.append(cl.gc())
    assert not reps[-1]["actions"], f"GC does not settle: {reps[-1]}"
    print("passes after the crashes: " + ", ".join(
        f"{r['deleted']} in {r['durationMs']} ms" for r in reps))
    kept_digests = {m.digest for m in keep} | {kidx.digest}
    kept_blobs = {d for m in keep for d in m.blobs}
    for rep in reps:
        # (the junk repository holding the pool blobs lets go of them: that is right)
        bad = [a for a in rep["actions"]
               if a.get("digest") in kept_digests
               or (a.get("digest") in kept_blobs
                   and (a["action"] == "delete-blob" or a.get("repository") == name))]
        assert not bad, f"kept content was acted on: {bad[:5]}"
    problems = []
    for i, m in enumerate(keep):
        problems += pull_problems(cl, m, f"keep{i}")
    assert not problems, "\n".join(problems[:20])
    assert sorted(cl.tags(name)) == sorted([f"keep{i}" for i in range(20)] + ["multi"])
    for m in orphans[::10]:
        assert cl.manifest_status(junk, m.digest) == 404, m.digest
    for d in loose[::25]:
        assert cl.blob_status(junk, d) == 404, d
    # what is left on disk is exactly what the kept images reference (pending file
    # deletions of a killed pass are finished by the next one)
    want = {d for m in keep for d in m.blobs}
    on_disk = blob_files(srv.root)
    assert on_disk == want, f"{len(on_disk - want)} unreferenced blob files left " \
                            f"(e.g. {sorted(on_disk - want)[:3]}), {len(want - on_disk)} missing " \
                            f"({len(misses)} passes ended before their kill)"
    srv.stop()
    fsck_clean(srv.root)


# ------------------------------------------------------------------ arca gc

def test_arca_gc_command(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name, ref="v1")
    keep = push_image(cl, name, ref="keep")
    cl.delete_manifest(name, "v1")
    srv.stop()

    p = run_arca("gc", "--dry-run", "--root", srv.root, "--gc-blob-grace", "0")
    assert p.returncode == 0, describe_run(p)
    j = json_out(p)
    check_report(j, True)
    assert ("delete-manifest", name, m.digest) in actions(j), describe_run(p)
    for d in m.blobs:
        assert os.path.exists(blob_path(srv.root, d)), "a dry run deletes nothing"

    p = run_arca("gc", "--root", srv.root, "--gc-blob-grace", "0")
    assert p.returncode == 0, describe_run(p)
    j = json_out(p)
    check_report(j, False)
    assert "deleted" in j and j["deleted"]["manifests"] == 1, describe_run(p)
    assert set(m.blobs) <= acted_digests(j, "delete-blob"), describe_run(p)
    for d in m.blobs:
        assert not os.path.exists(blob_path(srv.root, d)), d
    for d in keep.blobs:
        assert os.path.exists(blob_path(srv.root, d)), d

    cl.close()
    srv.start()
    assert cl.manifest_status(name, m.digest) == 404
    assert pull_problems(cl, keep, "keep") == []

    # with a server holding the store, `arca gc` asks it to run the pass
    m2 = push_image(cl, name, ref="v2")
    cl.delete_manifest(name, "v2")
    p = run_arca("gc", "--root", srv.root, "--addr", srv.addr)
    assert p.returncode == 0, describe_run(p)
    j = json_out(p)
    assert ("delete-manifest", name, m2.digest) in actions(j), describe_run(p)
    assert cl.last_gc()["startedAt"] == j["startedAt"], "the pass ran in the server"
    assert cl.manifest_status(name, m2.digest) == 404
    assert pull_problems(cl, keep, "keep") == []
