"""Garbage collection and the recycle bin (docs/gc.md "Garbage collection", "Recycle bin").

Every test runs its own server with the GC settings it needs; passes are started with
POST /arca/v1/admin/gc (the schedule is off) except in the schedule test.
"""
import datetime
import os
import sqlite3
import time

import pytest

from gclib import (OCI_INDEX, OCI_MANIFEST, actions, acted_digests, blob_path, check_report,
                   image, index, next_link, parse_rfc3339, pull_problems, push_image, referrer,
                   sha256, trash_entries, wait_until)
from testkit import retry_scenario

DAY = 86400


def _entries(cl, name):
    return {e["digest"]: e for e in cl.trash(name)}


def _check_entry(e, m, reason, tags, retention_s):
    assert e["reason"] == reason, e
    assert e["tags"] == tags, e
    assert e["mediaType"] == m.media_type, e
    assert e["size"] == len(m.body), e
    assert isinstance(e.get("type"), str) and e["type"], e
    trashed, expires = parse_rfc3339(e["trashedAt"]), parse_rfc3339(e["expiresAt"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - trashed).total_seconds()) < 120, e
    assert abs((expires - trashed).total_seconds() - retention_s) < 5, \
        f"expiresAt should be trashedAt + {retention_s} s: {e}"


def _restore(cl, name, digest):
    r = cl.restore(name, digest)
    assert r.status in (200, 201), f"restore{r!r}"
    body = r.json()
    assert isinstance(body.get("restored"), list) and isinstance(body.get("skipped"), list), r
    return body


def _assert_gone(cl, srv, m):
    assert cl.manifest_status(m.repo, m.digest) == 404, f"{m.digest} should be deleted"
    for d in m.blobs:
        assert cl.blob_status(m.repo, d) == 404, f"blob {d} of {m.digest} should be deleted"
        assert not os.path.exists(blob_path(srv.root, d)), f"blob file of {d} is still there"


def _assert_kept(cl, srv, m, ref=None):
    assert pull_problems(cl, m, ref) == []
    for d in m.all_blobs():
        assert os.path.exists(blob_path(srv.root, d)), f"blob file of {d} is gone"


# ------------------------------------------------------------------ multi-arch index

def test_untagged_index_waits_in_bin_then_goes_with_its_unshared_child(make_server, repo):
    srv, cl = make_server(["--gc-blob-grace", "0"])       # retention: the default 7d
    name = repo()
    a = push_image(cl, name)                               # children pushed by digest
    b = push_image(cl, name)
    idx = index(name, [a, b])
    cl.push_manifest(name, "v1", idx.body, OCI_INDEX)
    other = index(name, [a])
    cl.push_manifest(name, "other", other.body, OCI_INDEX)
    assert cl.gc()["actions"] == [], "nothing is garbage yet"

    cl.delete_manifest(name, "v1")
    assert cl.manifest_status(name, "v1") == 404
    rep = cl.gc()
    touched = acted_digests(rep)
    for m in (idx, a, b):
        assert m.digest not in touched, f"retention 7d: nothing may go yet: {rep}"
        assert not set(m.all_blobs()) & touched, rep
        _assert_kept(cl, srv, m)

    entries = _entries(cl, name)
    assert idx.digest in entries, f"the untagged index must be in the bin: {entries}"
    _check_entry(entries[idx.digest], idx, "untagged", ["v1"], 7 * DAY)
    assert a.digest not in entries and b.digest not in entries, \
        f"children an index references are not listed: {entries}"
    assert other.digest not in entries, entries

    body = _restore(cl, name, idx.digest)
    assert body["restored"] == ["v1"] and body["skipped"] == [], body
    r = cl.get_manifest(name, "v1")
    assert r.status == 200 and r.body == idx.body, r
    assert idx.digest not in _entries(cl, name)

    cl.delete_manifest(name, "v1")
    assert idx.digest in _entries(cl, name)
    r = cl.expire(name, idx.digest)
    assert r.status in (200, 202, 204), f"expire{r!r}"
    assert idx.digest not in _entries(cl, name), "an expired entry is no longer listed"
    rep = cl.gc()
    assert cl.manifest_status(name, idx.digest) == 404
    _assert_gone(cl, srv, b)
    _assert_kept(cl, srv, a)
    _assert_kept(cl, srv, other, "other")
    assert _restore_fails(cl, name, idx.digest)

    acts = actions(rep)
    assert ({("delete-manifest", name, idx.digest), ("purge-manifest", name, idx.digest)}
            & acts), rep
    assert ("delete-manifest", name, b.digest) in acts, rep
    assert set(b.blobs) <= acted_digests(rep, "delete-blob"), rep
    assert set(b.blobs) <= acted_digests(rep, "unlink-blob"), rep
    kept = {a.digest, other.digest, *a.blobs}
    assert not kept & acted_digests(rep), f"a kept object was acted on: {rep}"
    assert rep["deleted"]["manifests"] == 2, rep
    assert rep["deleted"]["blobs"] == 2, rep
    assert rep["deleted"]["bytes"] == sum(len(v) for v in b.blobs.values()), rep


def _restore_fails(cl, name, digest):
    r = cl.restore(name, digest)
    return r.status in (400, 404, 409, 410)


# ------------------------------------------------------------------ deleted manifests

def test_deleted_manifest_is_restorable_with_its_tags_except_a_reused_one(make_server, repo):
    srv, cl = make_server(["--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name, ref="t1")
    cl.push_manifest(name, "t2", m.body, OCI_MANIFEST)
    keep = push_image(cl, name, ref="keep")

    cl.delete_manifest(name, m.digest)
    assert cl.manifest_status(name, m.digest) == 404
    assert cl.manifest_status(name, "t1") == 404
    assert sorted(cl.tags(name)) == ["keep"]

    rep = cl.gc()
    assert m.digest not in acted_digests(rep), rep
    # a manifest in the bin keeps its blobs, grace 0 or not
    assert not set(m.blobs) & acted_digests(rep), rep
    for d in m.blobs:
        assert cl.blob_status(name, d) == 200
    assert cl.manifest_status(name, m.digest) == 404, "a deleted manifest is not served"

    e = _entries(cl, name).get(m.digest)
    assert e is not None, cl.trash(name)
    _check_entry(e, m, "deleted", ["t1", "t2"], 7 * DAY)

    n = push_image(cl, name, ref="t2")                     # t2 now names another manifest
    body = _restore(cl, name, m.digest)
    assert body["restored"] == ["t1"], body
    assert body["skipped"] == ["t2"], body

    r = cl.get_manifest(name, m.digest)
    assert r.status == 200 and r.body == m.body, "restore must give back the exact bytes" + repr(r)
    assert r.header("Docker-Content-Digest") == m.digest
    assert pull_problems(cl, m, "t1") == []
    assert pull_problems(cl, n, "t2") == []
    assert pull_problems(cl, keep, "keep") == []
    assert sorted(cl.tags(name)) == ["keep", "t1", "t2"]
    assert m.digest not in _entries(cl, name)


def test_restore_of_a_deleted_manifest_with_no_conflict_restores_every_tag(make_server, repo):
    srv, cl = make_server()
    name = repo()
    m = push_image(cl, name, ref="a")
    cl.push_manifest(name, "b", m.body, OCI_MANIFEST)
    cl.delete_manifest(name, m.digest)
    body = _restore(cl, name, m.digest)
    assert sorted(body["restored"]) == ["a", "b"] and body["skipped"] == [], body
    assert sorted(cl.tags(name)) == ["a", "b"]
    assert pull_problems(cl, m, "a") == []
    # restoring something not in the bin fails
    assert _restore_fails(cl, name, m.digest)
    assert _restore_fails(cl, name, sha256(b"never pushed"))


# ------------------------------------------------------------------ retention

def test_retention_zero_untag_then_gc_deletes(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name, ref="v1")
    keep = push_image(cl, name, ref="keep")
    cl.delete_manifest(name, "v1")
    rep = cl.gc()
    _assert_gone(cl, srv, m)
    assert ("delete-manifest", name, m.digest) in actions(rep), rep
    assert m.digest not in _entries(cl, name), "retention 0: not restorable"
    assert _restore_fails(cl, name, m.digest)
    _assert_kept(cl, srv, keep, "keep")
    assert not ({keep.digest, *keep.blobs} & acted_digests(rep)), rep
    # Followers of the event log learn of it.
    events = cl.get("/arca/v1/events?n=1000").json()["events"]
    gone = [e for e in events if e["kind"] == "gc.delete"]
    assert [(e["repository"], e["digest"]) for e in gone] == [(name, m.digest)], events
    assert "retention" in gone[0]["message"]


def test_retention_zero_deleted_manifest_is_purged(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name, ref="v1")
    keep = push_image(cl, name, ref="keep")
    cl.delete_manifest(name, m.digest)
    rep = cl.gc()
    _assert_gone(cl, srv, m)
    assert ({("purge-manifest", name, m.digest), ("delete-manifest", name, m.digest)}
            & actions(rep)), rep
    _assert_kept(cl, srv, keep, "keep")


POLICY_RETENTION = """
rules:
  - repositories: "short/**"
    retention: 0
  - repositories: "mid/**"
    retention: 30d
"""


def test_retention_per_repository_from_policy(make_server, repo):
    srv, cl = make_server(["--gc-blob-grace", "0"], policy=POLICY_RETENTION)
    short, mid, long_ = repo("short"), repo("mid"), repo("long")
    ms = push_image(cl, short, ref="v1")
    mm = push_image(cl, mid, ref="v1")
    ml = push_image(cl, long_, ref="v1")
    for m in (ms, mm, ml):
        cl.delete_manifest(m.repo, "v1")
    rep = cl.gc()
    _assert_gone(cl, srv, ms)
    assert ("delete-manifest", short, ms.digest) in actions(rep), rep
    for m in (mm, ml):
        assert m.digest not in acted_digests(rep), rep
        _assert_kept(cl, srv, m)
    _check_entry(_entries(cl, mid)[mm.digest], mm, "untagged", ["v1"], 30 * DAY)
    _check_entry(_entries(cl, long_)[ml.digest], ml, "untagged", ["v1"], 7 * DAY)
    assert ms.digest not in _entries(cl, short)


# ------------------------------------------------------------------ dry run

def test_dry_run_reports_and_deletes_nothing_then_real_pass_deletes_the_same(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name, ref="v1")
    keep = push_image(cl, name, ref="keep")
    loose = cl.push_blob(name, os.urandom(200))
    cl.delete_manifest(name, "v1")

    dry = cl.gc(dry_run=True)
    assert dry["dryRun"] is True
    acts = actions(dry)
    assert ("delete-manifest", name, m.digest) in acts, dry
    assert set(m.blobs) | {loose} <= acted_digests(dry, "delete-blob"), dry
    assert set(m.blobs) | {loose} <= acted_digests(dry, "unlink-blob"), dry
    assert not ({keep.digest, *keep.blobs} & acted_digests(dry)), dry
    # nothing deleted
    r = cl.get_manifest(name, m.digest)
    assert r.status == 200 and r.body == m.body, "a dry run must not delete" + repr(r)
    for d in list(m.blobs) + [loose]:
        assert cl.blob_status(name, d) == 200, d
        assert os.path.exists(blob_path(srv.root, d)), d
    # a second dry run reports the same
    assert actions(cl.gc(dry_run=True)) == acts

    real = cl.gc()
    assert real["dryRun"] is False
    assert actions(real) == acts, f"dry run {dry}\nreal pass {real}"
    assert real["deleted"]["manifests"] == 1, real
    assert real["deleted"]["blobs"] == 3, real
    assert real["deleted"]["bytes"] == sum(len(v) for v in m.blobs.values()) + 200, real
    _assert_gone(cl, srv, m)
    assert cl.blob_status(name, loose) == 404
    _assert_kept(cl, srv, keep, "keep")
    after = cl.gc(dry_run=True)
    assert not (acted_digests(after) & acted_digests(real)), after


# ------------------------------------------------------------------ blobs

def test_unreferenced_blob_kept_within_grace_then_deleted(make_server, repo):
    """The first pass must come within the 2 s grace of the pushes. On a machine too slow for
    that nothing can be concluded from it: the scenario starts over on a new server (and fails
    when it never managed to)."""
    def scenario(attempt):
        srv, cl = make_server(["--gc-blob-grace", "2s"])
        name, other = repo(), repo()
        t0 = time.time()
        m = push_image(cl, name, ref="v1")
        x = cl.push_blob(name, os.urandom(300))
        # y: unreferenced in `name`, referenced by a tagged manifest in `other`
        ydata = os.urandom(400)
        y = cl.push_blob(name, ydata)
        o = push_image(cl, other, ref="v1", shared=[ydata])
        rep = cl.gc()
        took = time.time() - t0
        if took >= 2:
            return f"setup and first pass took {took:.2f} s"
        assert not ({x, y} & acted_digests(rep)), f"within the grace period: {rep}"
        # (looked at on disk: a HEAD would renew the grace)
        assert os.path.exists(blob_path(srv.root, x)) and os.path.exists(blob_path(srv.root, y))

        time.sleep(max(0, t0 + 3.1 - time.time()))   # past the grace of every push
        rep = cl.gc()
        acts = actions(rep)
        assert ("unlink-blob", name, x) in acts and x in acted_digests(rep, "delete-blob"), rep
        assert cl.blob_status(name, x) == 404
        assert not os.path.exists(blob_path(srv.root, x))
        # y leaves `name` but its bytes stay: `other` holds it
        assert ("unlink-blob", name, y) in acts, rep
        assert y not in acted_digests(rep, "delete-blob"), rep
        assert cl.blob_status(name, y) == 404
        assert os.path.exists(blob_path(srv.root, y))
        # referenced blobs are never deleted, however old
        assert not ({m.digest, o.digest, *m.blobs} & acted_digests(rep)), rep
        assert not ({("unlink-blob", other, d) for d in o.blobs} & acts), rep
        _assert_kept(cl, srv, m, "v1")
        _assert_kept(cl, srv, o, "v1")
        assert rep["deleted"]["blobs"] == 1 and rep["deleted"]["bytes"] == 300, rep
        return True
    retry_scenario(scenario, what="a first pass within the 2 s grace of the pushes")


def test_pushing_a_blob_again_renews_its_grace(make_server, repo):
    srv, cl = make_server(["--gc-blob-grace", "2s"])

    def scenario(attempt):
        name = repo()
        data = os.urandom(128)
        z = cl.push_blob(name, data)
        time.sleep(1.5)
        cl.push_blob(name, data)
        t1 = time.time()
        time.sleep(1.0)                  # past the first push's grace, within the second's
        rep = cl.gc()
        if time.time() - t1 >= 2:
            return f"the pass ended {time.time() - t1:.2f} s after the second push"
        assert z not in acted_digests(rep), f"a re-pushed blob gets a new grace period: {rep}"
        assert os.path.exists(blob_path(srv.root, z))  # not a HEAD: it would renew the grace
        time.sleep(max(0, t1 + 3.1 - time.time()))
        rep = cl.gc()
        assert z in acted_digests(rep, "delete-blob"), rep
        assert cl.blob_status(name, z) == 404
        return True
    retry_scenario(scenario, what="a pass within 2 s of the second push")


def test_blob_grace_is_not_cut_short_by_rounding(make_server, repo):
    """A blob pushed late in a second must still get its whole grace period, not whatever
    is left of it once times are rounded to seconds. Checked twice; a try where the push or
    the pass came too late to tell is made again."""
    srv, cl = make_server(["--gc-blob-grace", "1s"])
    name = repo()
    last = []

    def scenario(attempt):
        t0 = _late_in_a_second()
        x = cl.push_blob(name, os.urandom(100))
        last[:] = [x]
        pushed = time.time()
        _just_into_the_next_second(t0)
        rep = cl.gc()
        age = time.time() - t0
        if age >= 0.9 or int(pushed) != int(t0):
            return f"pushed at +{pushed - t0:.2f} s, the pass ended at +{age:.2f} s"
        assert x not in acted_digests(rep), \
            f"a blob {age:.2f} s old was taken with a 1 s grace: {rep}"
        assert os.path.exists(blob_path(srv.root, x))  # not a HEAD: it would renew the grace
        return True
    for _ in range(2):
        retry_scenario(scenario, tries=6, what="a push and a pass within 0.9 s across a second")
    time.sleep(2.1)   # past the grace, however times are rounded
    assert last[0] in acted_digests(cl.gc(), "delete-blob")


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_finding_a_blob_renews_its_grace(make_server, repo, method):
    """A client that finds a blob (HEAD, or GET) skips uploading it and pushes a manifest that
    references it next. A GC pass in between must not take the blob, or the manifest push
    fails with MANIFEST_BLOB_UNKNOWN (quay#6318, distribution#2190)."""
    srv, cl = make_server(["--gc-blob-grace", "2s"])
    name = repo()
    img = image(cl, name)                     # config and layer pushed, manifest not yet
    _wait_until_collectable(cl, name, img.blobs)
    for d in img.blobs:
        assert cl.request(method, f"/v2/{name}/blobs/{d}").status == 200
    rep = cl.gc()
    assert not (set(img.blobs) & acted_digests(rep)), f"a blob just found was collected: {rep}"
    cl.push_manifest(name, "v1", img.body, img.media_type)
    assert pull_problems(cl, img, "v1") == []


def test_without_finding_it_a_blob_past_its_grace_is_collected(make_server, repo):
    """The control of the test above: the same steps without the HEAD."""
    srv, cl = make_server(["--gc-blob-grace", "2s"])
    name = repo()
    img = image(cl, name)
    _wait_until_collectable(cl, name, img.blobs)
    rep = cl.gc()
    assert set(img.blobs) <= acted_digests(rep, "unlink-blob"), rep
    r = cl.push_manifest(name, "v1", img.body, img.media_type, expect=400)
    assert "MANIFEST_BLOB_UNKNOWN" in r.codes(), r


def test_finding_a_blob_renews_it_in_that_repository_only(make_server, repo):
    srv, cl = make_server(["--gc-blob-grace", "2s"])
    a, b = repo(), repo()
    data = os.urandom(100)
    d = cl.push_blob(a, data)
    cl.push_blob(b, data)
    _wait_until_collectable(cl, a, [d])
    _wait_until_collectable(cl, b, [d])
    assert cl.blob_status(a, d) == 200
    acts = actions(cl.gc())
    assert ("unlink-blob", b, d) in acts and ("unlink-blob", a, d) not in acts, acts
    assert cl.blob_status(a, d) == 200 and cl.blob_status(b, d) == 404


@pytest.mark.local_meta  # counts commits by SQLite's data_version
def test_a_head_heavy_client_costs_at_most_one_write_per_tenth_of_the_grace(make_server, repo):
    """Renewing on every HEAD would turn reads into writes: it happens at most once per
    grace/10 per repository and blob (here 10 s / 10: once a second). Every commit by the
    server changes the database's data_version as another connection sees it."""
    srv, cl = make_server(["--gc-blob-grace", "10s"])
    name = repo()
    d = cl.push_blob(name, os.urandom(64))
    db = sqlite3.connect(os.path.join(srv.root, "meta.db"))
    try:
        version = lambda: db.execute("PRAGMA data_version").fetchone()[0]  # noqa: E731
        last, writes, heads, t0 = version(), 0, 0, time.time()
        while time.time() - t0 < 2.5 or heads < 200:
            assert cl.blob_status(name, d) == 200
            heads += 1
            v = version()
            if v != last:
                writes, last = writes + 1, v
        elapsed = time.time() - t0
    finally:
        db.close()
    assert writes >= 1, f"{heads} HEADs over {elapsed:.1f} s never renewed the link"
    assert writes <= int(elapsed) + 2, \
        f"{writes} writes for {heads} HEADs over {elapsed:.1f} s: more than one a second"


def _wait_until_collectable(cl, name, digests):
    """Polls dry runs (which change nothing, and renew nothing) until a pass would unlink
    every one of digests from name."""
    want = {("unlink-blob", name, d) for d in digests}
    wait_until(lambda: want <= actions(cl.gc(dry_run=True), "unlink-blob"), timeout=30,
               interval=0.2, what="the blobs to outlive their grace")


def _late_in_a_second():
    while time.time() % 1 < 0.8:
        time.sleep(0.01)
    return time.time()


def _just_into_the_next_second(t0):
    time.sleep(max(0, int(t0) + 1.1 - time.time()))


def test_upload_ttl_is_not_cut_short_by_rounding(make_server, repo):
    """An upload session opened late in a second and looked at by a pass just into the next
    one is less than the 1 s TTL old: it stays. A try where the machine was too slow for that
    window starts over on a new server (sessions of the old try are past the TTL by then)."""
    def scenario(attempt):
        srv, cl = make_server(["--gc-upload-ttl", "1s"])
        name = repo()
        t0 = _late_in_a_second()
        loc = cl.start_upload(name)
        opened = time.time()
        _just_into_the_next_second(t0)
        rep = cl.gc()
        age = time.time() - t0
        if age >= 0.9 or int(opened) != int(t0):
            return f"opened at +{opened - t0:.2f} s, the pass ended at +{age:.2f} s"
        assert rep["deleted"]["uploads"] == 0, \
            f"an upload session {age:.2f} s old was deleted with a 1 s TTL: {rep}"
        assert cl.get(loc).status == 204
        return True
    retry_scenario(scenario, tries=6, what="an upload and a pass within 0.9 s across a second")


def test_retention_is_not_cut_short_by_rounding(make_server, repo):
    srv, cl = make_server(["--gc-retention", "1s", "--gc-blob-grace", "0"])

    def scenario(attempt):
        name = repo()
        m = image(cl, name)
        t0 = _late_in_a_second()
        cl.push_manifest(name, "v1", m.body, OCI_MANIFEST)
        cl.delete_manifest(name, "v1")
        trashed = time.time()
        _just_into_the_next_second(t0)
        rep = cl.gc()
        age = time.time() - t0
        if age >= 0.9 or int(trashed) != int(t0):
            return f"trashed at +{trashed - t0:.2f} s, the pass ended at +{age:.2f} s"
        assert m.digest not in acted_digests(rep), \
            f"a manifest {age:.2f} s in the bin went with a 1 s retention: {rep}"
        assert m.digest in _entries(cl, name)
        return True
    retry_scenario(scenario, tries=6, what="an untag and a pass within 0.9 s across a second")


# ------------------------------------------------------------------ uploads

def test_abandoned_upload_session_is_deleted(make_server, repo):
    """A session past the 1 s TTL goes; one opened just before the pass stays. The second half
    needs the pass within the TTL of the new session: when the machine stalled longer than
    that, the scenario starts over on a new server."""
    def scenario(attempt):
        srv, cl = make_server(["--gc-upload-ttl", "1s"])
        name = repo()
        old = cl.start_upload(name)
        r = cl.request("PATCH", old, body=os.urandom(1000),
                       headers={"Content-Type": "application/octet-stream"})
        assert r.status == 202, r
        assert cl.get(old).status == 204
        old_id = old.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        assert os.path.exists(os.path.join(srv.root, "uploads", old_id))
        time.sleep(2.1)                  # past the TTL of `old`
        opened = time.time()
        fresh = cl.start_upload(name)
        rep = cl.gc()
        took = time.time() - opened
        r = cl.get(old)
        assert r.status == 404 and "BLOB_UPLOAD_UNKNOWN" in r.codes(), r
        assert not os.path.exists(os.path.join(srv.root, "uploads", old_id))
        if took >= 0.9:
            return f"the pass ended {took:.2f} s after the new session opened"
        assert rep["deleted"]["uploads"] == 1, rep
        assert cl.get(fresh).status == 204, "a session younger than the TTL stays"
        return True
    retry_scenario(scenario, what="a pass within 0.9 s of opening a session")


# ------------------------------------------------------------------ referrers

def _referrer_after_subject_deleted(make_server, name, extra):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0", *extra])
    s = push_image(cl, name, ref="v1")
    ref = referrer(cl, name, s)
    cl.push_manifest(name, ref.digest, ref.body, OCI_MANIFEST)
    rep = cl.gc()
    assert ref.digest not in acted_digests(rep), \
        f"an untagged referrer of a present subject is kept: {rep}"
    assert pull_problems(cl, ref) == []
    cl.delete_manifest(name, s.digest)
    rep = cl.gc()
    assert cl.manifest_status(name, s.digest) == 404
    return srv, cl, s, ref, rep


def test_referrer_collected_when_its_subject_is_deleted(make_server, repo):
    name = repo()
    srv, cl, s, ref, rep = _referrer_after_subject_deleted(make_server, name, [])
    assert ref.digest in acted_digests(rep), f"the referrer goes with its subject: {rep}"
    _assert_gone(cl, srv, ref)


def test_referrer_kept_with_gc_referrers_false(make_server, repo):
    name = repo()
    srv, cl, s, ref, rep = _referrer_after_subject_deleted(make_server, name,
                                                           ["--gc-referrers", "false"])
    rep2 = cl.gc()
    for r in (rep, rep2):
        assert ref.digest not in acted_digests(r), r
        assert not (set(ref.blobs) & acted_digests(r)), r
    assert pull_problems(cl, ref) == []


# ------------------------------------------------------------------ tags and indexes

def test_untagging_a_child_never_deletes_it_while_an_index_references_it(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    c = push_image(cl, name, ref="c")
    i = index(name, [c])
    cl.push_manifest(name, "i", i.body, OCI_INDEX)
    cl.delete_manifest(name, "c")
    rep = cl.gc()
    assert not ({c.digest, *c.blobs} & acted_digests(rep)), rep
    _assert_kept(cl, srv, c)
    _assert_kept(cl, srv, i, "i")
    assert c.digest not in _entries(cl, name), "an untagged child of an index is not listed"
    # once the index goes for good, so does the child
    cl.delete_manifest(name, "i")
    rep = cl.gc()
    assert cl.manifest_status(name, i.digest) == 404
    _assert_gone(cl, srv, c)


def test_child_pushed_by_digest_is_in_bin_until_an_index_references_it(make_server, repo):
    srv, cl = make_server(["--gc-blob-grace", "0"])        # retention 7d
    name = repo()
    c = push_image(cl, name)
    e = _entries(cl, name).get(c.digest)
    assert e is not None, f"a manifest pushed by digest alone counts as untagged: {cl.trash(name)}"
    _check_entry(e, c, "untagged", [], 7 * DAY)
    i = index(name, [c])
    cl.push_manifest(name, "i", i.body, OCI_INDEX)
    assert c.digest not in _entries(cl, name), "an index push takes its child out of the bin"
    # expiring it now must not delete it while the index references it
    cl.expire(name, c.digest)
    rep = cl.gc()
    assert c.digest not in acted_digests(rep), rep
    _assert_kept(cl, srv, i, "i")


def test_manifest_pushed_by_digest_alone_is_collected_with_retention_zero(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name)
    keep = push_image(cl, name, ref="keep")
    rep = cl.gc()
    assert ("delete-manifest", name, m.digest) in actions(rep), rep
    _assert_gone(cl, srv, m)
    _assert_kept(cl, srv, keep, "keep")


def test_retagging_moves_the_old_manifest_to_the_bin(make_server, repo):
    srv, cl = make_server(["--gc-blob-grace", "0"])        # retention 7d
    name = repo()
    old = push_image(cl, name, ref="latest")
    new = push_image(cl, name, ref="latest")
    e = _entries(cl, name).get(old.digest)
    assert e is not None, f"the manifest that lost its tag is in the bin: {cl.trash(name)}"
    _check_entry(e, old, "untagged", ["latest"], 7 * DAY)
    assert new.digest not in _entries(cl, name)
    assert cl.expire(name, old.digest).status in (200, 202, 204)
    rep = cl.gc()
    _assert_gone(cl, srv, old)
    _assert_kept(cl, srv, new, "latest")
    assert not ({new.digest, *new.blobs} & acted_digests(rep)), rep


def test_nested_indexes_are_kept_whole_then_collected_whole(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    c1, c2 = push_image(cl, name), push_image(cl, name)
    inner = index(name, [c1, c2])
    cl.push_manifest(name, inner.digest, inner.body, OCI_INDEX)
    outer = index(name, [inner])
    cl.push_manifest(name, "o", outer.body, OCI_INDEX)
    keep = push_image(cl, name, ref="keep")
    rep = cl.gc()
    assert rep["actions"] == [], f"everything is reachable from tag o: {rep}"
    _assert_kept(cl, srv, outer, "o")
    cl.delete_manifest(name, "o")
    rep = cl.gc()
    for m in (outer, inner, c1, c2):
        assert cl.manifest_status(name, m.digest) == 404, f"{m.digest} should go"
    _assert_gone(cl, srv, c1)
    _assert_gone(cl, srv, c2)
    assert rep["deleted"]["manifests"] == 4 and rep["deleted"]["blobs"] == 4, rep
    _assert_kept(cl, srv, keep, "keep")


def test_trash_listing_is_sorted_and_paginated(make_server, repo):
    srv, cl = make_server()
    name = repo()
    ms = [push_image(cl, name, ref=f"t{i}") for i in range(5)]
    for i in range(5):
        cl.delete_manifest(name, f"t{i}")
    r = cl.get(f"/arca/v1/repositories/{name}/trash?n=2")
    assert r.status == 200, r
    assert len(trash_entries(r)) == 2 and next_link(r), r
    entries = cl.trash(name, n=2)
    digests = [e["digest"] for e in entries]
    assert digests == sorted(m.digest for m in ms), entries
    r = cl.get(f"/arca/v1/repositories/{name}/trash?n=10&last={digests[2]}")
    assert [e["digest"] for e in trash_entries(r)] == digests[3:], r


# ------------------------------------------------------------------ reports

def test_get_gc_returns_the_last_report(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name, ref="v1")
    cl.delete_manifest(name, "v1")
    t0 = time.time()
    rep = cl.gc()
    t1 = time.time()
    wall_ms = (t1 - t0) * 1000
    assert rep["durationMs"] <= wall_ms + 1, (rep, wall_ms)
    started = parse_rfc3339(rep["startedAt"])
    assert t0 - 1 <= started.timestamp() <= t1 + 1, (rep, t0, t1)
    last = cl.last_gc()
    check_report(last, False)
    for k in ("dryRun", "startedAt", "deleted", "reviewed", "actions", "actionsTruncated"):
        assert last[k] == rep[k], f"{k}: POST answered {rep}, GET shows {last}"
    assert ("delete-manifest", name, m.digest) in actions(last)
    rep2 = cl.gc()
    assert cl.last_gc()["startedAt"] == rep2["startedAt"]


def test_a_pass_reviews_what_changed_not_the_store(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    name = repo()
    ms = [push_image(cl, name, ref=f"t{i}") for i in range(40)]
    cl.gc()
    idle = cl.gc()
    assert idle["actions"] == [] and idle["reviewed"] <= 2, f"nothing changed: {idle}"
    cl.delete_manifest(name, "t7")
    rep = cl.gc()
    assert ("delete-manifest", name, ms[7].digest) in actions(rep), rep
    assert rep["reviewed"] <= 10, f"one untagged manifest in a store of 40: {rep}"
    assert rep["deleted"]["manifests"] == 1 and rep["deleted"]["blobs"] == 2, rep
    for i in (0, 6, 8, 39):
        assert pull_problems(cl, ms[i], f"t{i}") == []


# ------------------------------------------------------------------ schedule

def test_background_schedule_collects_without_a_request(make_server, repo):
    srv, cl = make_server(["--gc-interval", "1s", "--gc-retention", "0",
                           "--gc-blob-grace", "0"])
    name = repo()
    m = push_image(cl, name, ref="v1")
    keep = push_image(cl, name, ref="keep")
    cl.delete_manifest(name, "v1")
    wait_until(lambda: cl.manifest_status(name, m.digest) == 404, 10,
               what="the scheduled pass to delete the untagged manifest")
    wait_until(lambda: all(cl.blob_status(name, d) == 404 for d in m.blobs), 10,
               what="the scheduled pass to delete its blobs")
    _assert_kept(cl, srv, keep, "keep")
    last = cl.last_gc()
    check_report(last, False)


def test_bad_input_on_gc_and_trash_endpoints_gets_oci_errors(make_server, repo):
    srv, cl = make_server()
    name = repo()
    m = push_image(cl, name, ref="v1")
    zero = "sha256:" + "0" * 64
    cases = [
        ("POST", "/arca/v1/admin/gc?dry_run=maybe", 400, "UNSUPPORTED"),
        ("PUT", "/arca/v1/admin/gc", 405, "UNSUPPORTED"),
        ("GET", "/arca/v1/repositories/no/such/repo/trash", 404, "NAME_UNKNOWN"),
        ("GET", f"/arca/v1/repositories/{name}/trash?n=abc", 400, "UNSUPPORTED"),
        ("POST", f"/arca/v1/repositories/{name}/trash/sha256:zz/restore", 400, "DIGEST_INVALID"),
        ("POST", f"/arca/v1/repositories/{name}/trash/{zero}/restore", 404, "MANIFEST_UNKNOWN"),
        ("DELETE", f"/arca/v1/repositories/{name}/trash/{zero}", 404, "MANIFEST_UNKNOWN"),
        ("GET", f"/arca/v1/repositories/{name}/trash/{zero}/restore", 405, "UNSUPPORTED"),
        ("GET", "/arca/v1/repositories/UPPER/trash", 400, "NAME_INVALID"),
    ]
    for method, path, status, code in cases:
        r = cl.request(method, path)
        assert r.status == status, (method, path, r)
        assert code in r.codes(), (method, path, r)
    # Nothing stored was touched.
    assert cl.manifest_status(name, "v1") == 200
    assert cl.get_manifest(name, m.digest).body == m.body
