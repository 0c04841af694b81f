"""Opening a store made by an earlier release (issue 10, "Coverage"; README "Store identity";
src/meta/sqlite/schema.h "Columns added after version 1").

tests/store/fixtures/store-<commit>.tar.gz is a small store (meta.db and blobs/) made by the
arca of <commit> with make_migration_fixture.py, and store-<commit>.json what was pushed into
it (README.md there says how they were made):

* 845f746, the last commit before the most recent schema change (82c3643: store identity):
  every manifest column exists already; opening it adopts the store (an id written to meta.db
  and to blobs/.arca-store), and everything it held — tags, referrers, the recycle bin, the
  facts indexed at push — is served as before;
* b17cf15, the last commit before the first schema change (88aa57e), so schema version 1 as
  first written: opening it adds every later column and table with its backfill: `type` (the identified artifact type, which the
  artifactType filters of /arca/v1 use), `manifest_references.repository_id` (which GC relies
  on to know what a repository references), tags_generation, the GC and identity tables.

Each fixture is unpacked into a fresh root and opened by today's binary; the checks read
only the API and `arca fsck`, except the identity, which README defines on disk.
"""
import json
import os
import sqlite3
import tarfile
import urllib.parse

import pytest

from gclib import ACCEPT, describe_run, run_arca, sha256

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
COMMITS = ["845f746", "b17cf15"]
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def load(commit):
    with open(os.path.join(FIXTURES, f"store-{commit}.json")) as f:
        return json.load(f)


@pytest.fixture(params=COMMITS)
def old_store(request, tmp_path, make_server):
    commit = request.param
    root = str(tmp_path / f"old-{commit}")
    os.makedirs(root)
    with tarfile.open(os.path.join(FIXTURES, f"store-{commit}.tar.gz")) as tar:
        tar.extractall(root)
    assert not os.path.exists(os.path.join(root, "blobs", ".arca-store")), \
        "the fixture predates store ids"
    exp = load(commit)
    srv, cl = make_server(root=root, extra_args=["--gc-retention", "0", "--gc-blob-grace", "0"])
    return commit, srv, cl, exp


def marker_id(root):
    with open(os.path.join(root, "blobs", ".arca-store")) as f:
        fields = dict(line.split(None, 1) for line in f.read().splitlines() if line.strip())
    return fields["id"].strip()


def identity(root):
    with sqlite3.connect(os.path.join(root, "meta.db")) as db:
        return db.execute("SELECT id, schema_version FROM store_identity").fetchall()


def pull(cl, repo, ref, body, blobs):
    r = cl.get(f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
    assert r.status == 200 and r.body == body, f"{repo}@{ref}{r!r}"
    assert r.header("Docker-Content-Digest") == sha256(body)
    for d in blobs:
        b = cl.get(f"/v2/{repo}/blobs/{d}")
        assert b.status == 200 and sha256(b.body) == d, f"blob {repo}@{d}{b!r}"


def artifacts(cl, repo, query=""):
    r = cl.get(f"/arca/v1/repositories/{repo}/artifacts?n=1000{query}")
    assert r.status == 200, r
    return {a["digest"]: a for a in r.json()["artifacts"]}


def test_opened_store_is_adopted_with_one_id(old_store, make_server):
    commit, srv, cl, exp = old_store
    ids = identity(srv.root)
    assert len(ids) == 1 and ids[0][0] == marker_id(srv.root), (ids, marker_id(srv.root))
    # the schema version recorded is today's: the same a new store gets
    fresh, _ = make_server()
    assert identity(fresh.root)[0][1] == ids[0][1]
    srv.stop()
    srv.start()
    assert identity(srv.root) == ids and marker_id(srv.root) == ids[0][0], "the id is kept"


def test_everything_pushed_is_served_byte_identical(old_store):
    commit, srv, cl, exp = old_store
    for m in exp["manifests"]:
        body = m["body"].encode()
        pull(cl, m["repository"], m["digest"], body, m["blobs"])
        for t in m["tags"]:
            pull(cl, m["repository"], t, body, [])
    for repo, tags in exp["repositories"].items():
        assert cl.tags(repo) == tags, repo
    r = cl.get("/v2/_catalog")
    assert r.json()["repositories"] == sorted(exp["repositories"]), r
    p = run_arca("fsck", "--root", srv.root)
    assert p.returncode == 0 and "problems" in p.stdout and " 0 problems" in p.stdout, \
        describe_run(p)


def test_referrers_and_their_types(old_store):
    commit, srv, cl, exp = old_store
    for subject, want in exp["referrers"].items():
        repo = "mig/app"
        r = cl.get(f"/v2/{repo}/referrers/{subject}")
        assert r.status == 200, r
        got = {m["digest"]: m.get("artifactType") for m in r.json()["manifests"]}
        assert got == want, r
        for d, t in want.items():
            r = cl.get(f"/v2/{repo}/referrers/{subject}?artifactType={urllib.parse.quote(t)}")
            assert [m["digest"] for m in r.json()["manifests"]] == [d], r


def test_backfilled_artifact_types_drive_the_type_filters(old_store):
    """The `type` column: what IdentifyArtifactType gives a manifest pushed today."""
    commit, srv, cl, exp = old_store
    by_repo = {}
    for m in exp["manifests"]:
        by_repo.setdefault(m["repository"], []).append(m)
    for repo, ms in by_repo.items():
        listed = artifacts(cl, repo)
        for m in ms:
            if m["mediaType"] == OCI_INDEX:
                continue                          # test_backfilled_index_type
            assert listed[m["digest"]]["artifactType"] == m["type"], (repo, listed[m["digest"]])
            assert listed[m["digest"]]["tags"] == m["tags"], (repo, listed[m["digest"]])
    helm = "application/vnd.cncf.helm.config.v1+json"
    r = cl.get(f"/arca/v1/repositories?artifactType={urllib.parse.quote(helm)}")
    assert r.status == 200 and [x["name"] for x in r.json()["repositories"]] == ["mig/charts"], r
    sbom = "application/vnd.example.sbom.v1+json"
    got = artifacts(cl, "mig/app", f"&artifactType={urllib.parse.quote(sbom)}")
    assert set(got) == {d for d, t in exp["referrers"][next(iter(exp["referrers"]))].items()
                        if t == sbom}


def test_backfilled_index_type(old_store):
    """An index of images is typed as an OCI index, as a push today types it
    (IdentifyArtifactType). The column's backfill gave it '' (an index has neither
    artifactType nor config), so a migrated index was listed untyped and no artifactType
    filter found it (schema.h kRepairIndexType)."""
    commit, srv, cl, exp = old_store
    listed = artifacts(cl, "mig/app")
    for m in exp["manifests"]:
        if m["mediaType"] == OCI_INDEX:
            assert listed[m["digest"]]["artifactType"] == OCI_INDEX, listed[m["digest"]]
    r = cl.get(f"/arca/v1/repositories?artifactType={urllib.parse.quote(OCI_INDEX)}")
    assert r.status == 200 and "mig/app" in [x["name"] for x in r.json()["repositories"]], r


def test_facts_indexed_at_push(old_store, request):
    """Platforms and creation times of images and indexes, as a push today indexes them."""
    commit, srv, cl, exp = old_store
    if commit == "b17cf15":
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "stores made before 88aa57e get the platforms, created and fields columns "
            "empty: schema.h adds them without a backfill (the index's platforms could be "
            "read from its own bytes, an image's from its config blob), so /arca/v1 lists "
            "such images without platform or created, and indexes with no platforms")))
    listed = artifacts(cl, "mig/app")
    for m in exp["manifests"]:
        if m["repository"] != "mig/app":
            continue
        a = listed[m["digest"]]
        if "platform" in m:
            assert a.get("platform") == m["platform"], a
            assert a.get("created") == m["created"], a
        if "platforms" in m:
            children = [c["digest"] for c in json.loads(m["body"])["manifests"]]
            got = a.get("platforms") or []
            assert [p.get("digest") for p in got] == children, a
            assert [{k: v for k, v in p.items() if k != "digest"} for p in got] == \
                m["platforms"], a


def test_gc_after_migration_keeps_everything_referenced(old_store):
    """manifest_references.repository_id backfilled: a pass (grace 0) must see every blob that
    a manifest of its repository references; the repository that shares layers lets go of
    them without taking them from the other."""
    commit, srv, cl, exp = old_store
    referenced = {d for m in exp["manifests"] for d in m["blobs"]}
    # Pushing each referenced blob again queues its link for review: with a grace of 0 the
    # pass then asks, for each, whether a manifest of that repository references it.
    for m in exp["manifests"]:
        for d in m["blobs"]:
            b = cl.get(f"/v2/{m['repository']}/blobs/{d}")
            assert b.status == 200, b
            r = cl.post(f"/v2/{m['repository']}/blobs/uploads/?digest={d}", body=b.body,
                        headers={"Content-Type": "application/octet-stream"})
            assert r.status == 201, r
    rep = cl.gc()
    assert rep["reviewed"] >= len(referenced), f"the pass reviewed too little to tell: {rep}"
    gone = {a["digest"] for a in rep["actions"] if a["action"] in ("unlink-blob", "delete-blob")}
    assert not referenced & gone, f"GC took referenced blobs after the migration: {rep}"
    shared = next(m for m in exp["manifests"] if m["repository"] == "mig/shared")
    cl.delete_manifest("mig/shared", shared["digest"])
    rep = cl.gc()
    deleted = {a["digest"] for a in rep["actions"] if a["action"] == "delete-blob"}
    app_blobs = {d for m in exp["manifests"] if m["repository"] == "mig/app" for d in m["blobs"]}
    assert not app_blobs & deleted, f"bytes mig/app references were deleted: {rep}"
    for m in exp["manifests"]:
        if m["repository"] != "mig/shared":
            pull(cl, m["repository"], m["digest"], m["body"].encode(), m["blobs"])


def test_tags_change_after_migration(old_store):
    """tags_generation backfilled: the tag listing follows changes made after opening."""
    commit, srv, cl, exp = old_store
    m = next(m for m in exp["manifests"] if m["repository"] == "mig/app" and "v1" in m["tags"])
    assert cl.tags("mig/app") == exp["repositories"]["mig/app"]
    cl.push_manifest("mig/app", "added", m["body"].encode(), m["mediaType"])
    assert cl.tags("mig/app") == sorted(exp["repositories"]["mig/app"] + ["added"])
    cl.delete_manifest("mig/app", "latest")
    want = sorted(set(exp["repositories"]["mig/app"] + ["added"]) - {"latest"})
    assert cl.tags("mig/app") == want


@pytest.mark.parametrize("old_store", ["845f746"], indirect=True)   # the first had no bin
def test_recycle_bin_survives(old_store):
    commit, srv, cl, exp = old_store
    assert exp["trash"], "the fixture has a recycle bin"
    for d, t in exp["trash"].items():
        entries = {e["digest"]: e for e in cl.trash(t["repository"])}
        assert d in entries and entries[d]["reason"] == t["reason"], entries
        assert entries[d]["tags"] == t["tags"], entries[d]
    for d, t in exp["trash"].items():
        r = cl.restore(t["repository"], d)
        assert r.status in (200, 201), r
        pull(cl, t["repository"], d, t["body"].encode(), t["blobs"])
        pull(cl, t["repository"], t["tags"][0], t["body"].encode(), [])
