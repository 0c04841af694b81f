"""`arca fsck [--repair [--force] [--max-delete-fraction F]] [--quick] --root DIR`
(docs/gc.md "fsck"): a clean store passes; missing, truncated and corrupt blob files are
damage (exit 1) and repaired; stray blob files and upload leftovers are debris, reported
apart (exit 0) and removed by --repair; a repair that would delete more than a fraction of
the blobs is refused without --force; --repair is refused while a server holds the store.
"""
import os
import time
import uuid

from gclib import (OCI_INDEX, blob_path, describe_run, index, pull_problems, push_image,
                   run_arca, sha256)

KINDS = ("missing-blob", "digest-mismatch", "orphan-file", "orphan-upload",
         "dangling-reference", "manifest-digest-mismatch")
OLD = time.time() - 3 * 86400        # well past any grace period


def fsck(root, *args):
    return run_arca("fsck", *args, "--root", root)


def lines(p, kind):
    return [l for l in (p.stdout + "\n" + p.stderr).splitlines() if kind in l]


def problems(p):
    return {k: lines(p, k) for k in KINDS if lines(p, k)}


def debris(p, kind):
    return [l for l in lines(p, kind) if l.startswith("debris: ")]


def summary(p):
    return [l for l in p.stdout.splitlines() if l.startswith("fsck: ") and "checked" in l][-1]


def layers_of(m, size):
    return [d for d, data in m.blobs.items() if len(data) == size]


def make_store(make_server, repo):
    srv, cl = make_server()
    name = repo()
    imgs = [push_image(cl, name, ref=f"v{i}", layers=2, layer_size=2000) for i in range(3)]
    idx = index(name, imgs[:2])
    cl.push_manifest(name, "multi", idx.body, OCI_INDEX)
    cl.push_blob(name, os.urandom(500))
    return srv, cl, name, imgs


def stray_blob(root, prefix="ab", old=True):
    hexd = prefix + uuid.uuid4().hex + uuid.uuid4().hex[:30]
    assert len(hexd) == 64
    path = blob_path(root, "sha256:" + hexd)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(777))
    if old:
        os.utime(path, (OLD, OLD))
    return hexd, path


def test_clean_store_passes(make_server, repo):
    srv, cl, name, imgs = make_store(make_server, repo)
    p = fsck(srv.root)
    assert p.returncode == 0, "checking may run beside a server" + describe_run(p)
    assert not problems(p), describe_run(p)
    srv.stop()
    for args in ((), ("--quick",)):
        p = fsck(srv.root, *args)
        assert p.returncode == 0, describe_run(p)
        assert not problems(p), describe_run(p)
    # a fresh stray file is within the grace period: not reported
    stray_blob(srv.root, old=False)
    p = fsck(srv.root)
    assert p.returncode == 0 and not problems(p), describe_run(p)


def test_damage_is_reported_and_repaired(make_server, repo):
    srv, cl, name, imgs = make_store(make_server, repo)
    srv.stop()
    missing = layers_of(imgs[0], 2000)[0]
    corrupt = layers_of(imgs[1], 2000)[0]
    truncated = layers_of(imgs[2], 2000)[0]
    os.remove(blob_path(srv.root, missing))
    with open(blob_path(srv.root, corrupt), "r+b") as f:
        f.write(os.urandom(2000))                           # same size, other content
    with open(blob_path(srv.root, truncated), "r+b") as f:
        f.truncate(1000)
    stray, stray_path = stray_blob(srv.root)
    fresh, fresh_path = stray_blob(srv.root, old=False)
    hexof = lambda d: d.split(":", 1)[1]                    # noqa: E731

    p = fsck(srv.root)
    assert p.returncode == 1, describe_run(p)
    assert any(hexof(missing) in l for l in lines(p, "missing-blob")), describe_run(p)
    assert any(hexof(truncated) in l for l in lines(p, "missing-blob")), \
        "a file of the wrong size is a missing blob" + describe_run(p)
    assert any(hexof(corrupt) in l for l in lines(p, "digest-mismatch")), describe_run(p)
    assert any(stray in l for l in lines(p, "orphan-file")), describe_run(p)
    assert not any(fresh in l for l in (p.stdout + p.stderr).splitlines()), \
        "a stray file within the grace period is not reported" + describe_run(p)
    for d in imgs[0].blobs:                                 # intact blobs are not reported
        if d != missing:
            assert not any(hexof(d) in l for l in lines(p, "missing-blob")), describe_run(p)

    q = fsck(srv.root, "--quick")
    assert q.returncode == 1, describe_run(q)
    assert not lines(q, "digest-mismatch"), "--quick skips hashing" + describe_run(q)
    assert any(hexof(missing) in l for l in lines(q, "missing-blob")), describe_run(q)

    # 4 of the 12 blobs (10 recorded, 2 strays) would go: over the default 10%
    refused = fsck(srv.root, "--repair")
    assert refused.returncode == 1, describe_run(refused)
    assert "--repair refused" in refused.stdout and "--force" in refused.stdout, \
        describe_run(refused)
    assert os.path.exists(stray_path) and os.path.exists(blob_path(srv.root, corrupt)), \
        "a refused repair changes nothing" + describe_run(refused)
    assert not any("(repaired)" in l or "(removed)" in l for l in refused.stdout.splitlines())

    r = fsck(srv.root, "--repair", "--force")
    assert r.returncode in (0, 1), describe_run(r)
    assert not os.path.exists(stray_path), "--repair removes the orphan file" + describe_run(r)
    assert os.path.exists(fresh_path), "a file within the grace period is left alone"
    assert not os.path.exists(blob_path(srv.root, corrupt)), \
        "--repair removes the corrupt file" + describe_run(r)

    p = fsck(srv.root)
    for k in ("orphan-file", "missing-blob", "digest-mismatch"):
        assert not lines(p, k), f"{k} after --repair" + describe_run(p)
    # the manifests that needed the dropped blobs are dangling now, and reported
    dangling = "\n".join(lines(p, "dangling-reference"))
    for m, d in ((imgs[0], missing), (imgs[1], corrupt), (imgs[2], truncated)):
        assert hexof(d) in dangling or hexof(m.digest) in dangling, describe_run(p)
    assert p.returncode == 1, "dangling references remain" + describe_run(p)


def test_repair_of_orphans_leaves_a_clean_store(make_server, repo):
    srv, cl, name, imgs = make_store(make_server, repo)
    srv.stop()
    stray, stray_path = stray_blob(srv.root, "00")
    upload_path = os.path.join(srv.root, "uploads", str(uuid.uuid4()))
    with open(upload_path, "wb") as f:
        f.write(os.urandom(100))
    os.utime(upload_path, (OLD, OLD))
    # a session whose file is gone
    srv.start()
    session = cl.start_upload(name)
    session_id = session.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    cl.close()
    srv.stop()
    os.remove(os.path.join(srv.root, "uploads", session_id))

    p = fsck(srv.root)
    assert p.returncode == 0, "leftovers alone are debris, not damage" + describe_run(p)
    assert any(stray in l for l in debris(p, "orphan-file")), describe_run(p)
    assert any(os.path.basename(upload_path) in l for l in debris(p, "orphan-upload")), \
        describe_run(p)
    assert any(session_id in l for l in debris(p, "orphan-upload")), \
        "a session with no file" + describe_run(p)
    assert "0 problems" in summary(p) and "3 debris" in summary(p), describe_run(p)
    r = fsck(srv.root, "--repair")
    assert r.returncode == 0, "everything found was removed" + describe_run(r)
    assert "3 debris, 3 removed" in summary(r), describe_run(r)
    assert not os.path.exists(stray_path) and not os.path.exists(upload_path), describe_run(r)
    p = fsck(srv.root)
    assert p.returncode == 0 and not problems(p), describe_run(p)

    srv.start()
    for i, m in enumerate(imgs):
        assert pull_problems(cl, m, f"v{i}") == []
    r = cl.get(session)
    assert r.status == 404 and "BLOB_UPLOAD_UNKNOWN" in r.codes(), r


def test_repair_refused_while_serving(make_server, repo):
    srv, cl, name, imgs = make_store(make_server, repo)
    stray, stray_path = stray_blob(srv.root)
    r = fsck(srv.root, "--repair")
    assert r.returncode != 0, "--repair needs the store to itself" + describe_run(r)
    assert (r.stdout + r.stderr).strip(), "the refusal must say why" + describe_run(r)
    assert os.path.exists(stray_path), "a refused repair changes nothing"
    p = fsck(srv.root)
    assert p.returncode == 0 and any(stray in l for l in debris(p, "orphan-file")), \
        describe_run(p)
    assert pull_problems(cl, imgs[0], "v0") == []


def test_crash_between_upload_commit_and_record_leaves_only_debris(make_server, repo):
    """The state a crash leaves between CommitUpload (the upload's bytes renamed to the
    blob's name) and LinkBlob (the blob's record, which ends the session): a session whose
    data is gone and a blob file no record names. No push was acknowledged."""
    srv, cl, name, imgs = make_store(make_server, repo)
    data = os.urandom(1500)
    digest = sha256(data)
    session = cl.start_upload(name)
    session_id = session.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    r = cl.request("PATCH", session, body=data,
                   headers={"Content-Type": "application/octet-stream"})
    assert r.status == 202, r
    cl.close()
    srv.stop()
    path = blob_path(srv.root, digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.rename(os.path.join(srv.root, "uploads", session_id), path)
    os.utime(path, (OLD, OLD))                   # found after the grace period

    p = fsck(srv.root)
    assert p.returncode == 0, "nothing acknowledged was lost" + describe_run(p)
    assert any(session_id in l for l in debris(p, "orphan-upload")), describe_run(p)
    assert any(digest.split(":")[1] in l for l in debris(p, "orphan-file")), describe_run(p)
    assert "0 problems" in summary(p) and "2 debris" in summary(p), describe_run(p)

    r = fsck(srv.root, "--repair")
    assert r.returncode == 0 and "2 debris, 2 removed" in summary(r), describe_run(r)
    assert not os.path.exists(path)
    p = fsck(srv.root)
    assert p.returncode == 0 and "0 debris" in summary(p), describe_run(p)

    srv.start()
    assert cl.get(session).status == 404
    assert cl.push_blob(name, data) == digest      # the client simply pushes again
    for i, m in enumerate(imgs):
        assert pull_problems(cl, m, f"v{i}") == []


def test_repair_over_the_fraction_needs_force(make_server, repo):
    srv, cl, name, imgs = make_store(make_server, repo)     # 10 blobs
    srv.stop()
    strays = [stray_blob(srv.root)[1] for _ in range(3)]     # 3 of 13: over 10%
    p = fsck(srv.root)
    assert p.returncode == 0 and len(debris(p, "orphan-file")) == 3, describe_run(p)

    r = fsck(srv.root, "--repair")
    assert r.returncode == 1, describe_run(r)
    assert "--repair refused" in r.stdout and "3 of the store's 13 blobs" in r.stdout, \
        describe_run(r)
    assert all(os.path.exists(s) for s in strays), "a refused repair changes nothing"

    r = fsck(srv.root, "--repair", "--max-delete-fraction", "0.25")
    assert r.returncode == 0, "3 of 13 is within 25%" + describe_run(r)
    assert not any(os.path.exists(s) for s in strays), describe_run(r)

    more = [stray_blob(srv.root)[1] for _ in range(3)]
    r = fsck(srv.root, "--repair", "--force")
    assert r.returncode == 0 and not any(os.path.exists(s) for s in more), describe_run(r)
    bad = fsck(srv.root, "--repair", "--max-delete-fraction", "lots")
    assert bad.returncode == 2 and "--max-delete-fraction" in bad.stderr, describe_run(bad)
    srv.start()
    for i, m in enumerate(imgs):
        assert pull_problems(cl, m, f"v{i}") == []
