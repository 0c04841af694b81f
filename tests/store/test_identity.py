"""The store's identity (README "Store identity"): meta.db and blobs/ carry the same store id,
and arca refuses to serve, collect or repair a store whose meta.db is missing, empty or
another store's; a meta.db removed or replaced while serving stops writes (503); a store
made before ids is adopted.
"""
import os
import sqlite3
import subprocess

import pytest

from arca_server import arca_bin, assert_no_sanitizer_report, free_port, sanitizer_env
from gclib import OCI_MANIFEST, describe_run, dumps, image, pull_problems, push_image, run_arca, \
    sha256, wait_until

MARKER = os.path.join("blobs", ".arca-store")


def marker_id(root):
    with open(os.path.join(root, MARKER)) as f:
        fields = dict(line.split(None, 1) for line in f.read().splitlines() if line.strip())
    return fields["id"].strip()


def db_id(root):
    with sqlite3.connect(os.path.join(root, "meta.db")) as db:
        rows = db.execute("SELECT id FROM store_identity").fetchall()
    return rows[0][0] if rows else None


def blob_files(root):
    out = []
    for top, _, names in os.walk(os.path.join(root, "blobs")):
        out += [os.path.join(top, n) for n in names if not n.startswith(".arca-store")]
    return sorted(out)


def serve_once(root, *args, timeout=60):
    """Runs `arca serve` expecting it to refuse: it must exit by itself."""
    p = subprocess.run([arca_bin(), "serve", "--root", root, "--addr", "127.0.0.1:0",
                        "--gc-interval", "0", *args], capture_output=True, text=True,
                       timeout=timeout, env=sanitizer_env(os.environ))
    assert_no_sanitizer_report(p.stdout + p.stderr, "a refused arca serve")
    return p


def wipe_db(root, how):
    for suffix in ("-wal", "-shm"):
        if os.path.exists(os.path.join(root, "meta.db" + suffix)):
            os.remove(os.path.join(root, "meta.db" + suffix))
    path = os.path.join(root, "meta.db")
    if how == "truncate":
        with open(path, "r+b") as f:
            f.truncate(0)
    else:
        os.remove(path)


def populated(make_server, repo, images=2):
    srv, cl = make_server()
    name = repo()
    imgs = [push_image(cl, name, ref=f"v{i}", layers=2, layer_size=3000) for i in range(images)]
    cl.close()
    return srv, cl, name, imgs


def test_a_new_store_gets_one_id_on_both_sides(make_server, repo):
    srv, cl, name, imgs = populated(make_server, repo, images=1)
    first = marker_id(srv.root)
    assert first and db_id(srv.root) == first
    srv.stop()
    srv.start()
    assert marker_id(srv.root) == first and db_id(srv.root) == first, "the id never changes"
    assert pull_problems(cl, imgs[0], "v0") == []


@pytest.mark.parametrize("how", ["truncate", "delete"])
def test_empty_or_missing_db_beside_blobs_is_refused_until_init(make_server, repo, how):
    srv, cl, name, imgs = populated(make_server, repo)
    store_id = marker_id(srv.root)
    srv.stop()
    files = blob_files(srv.root)
    wipe_db(srv.root, how)

    p = serve_once(srv.root)
    assert p.returncode != 0, "an empty meta.db beside blobs must not be served" + describe_run(p)
    err = p.stderr
    assert "meta.db" in err and "missing or empty" in err, describe_run(p)
    assert "backup" in err and "--init" in err, "the refusal names the remedies" + describe_run(p)
    assert store_id in err, describe_run(p)
    if how == "delete":
        assert not os.path.exists(os.path.join(srv.root, "meta.db")), \
            "a refused start leaves no new, empty meta.db behind"

    g = run_arca("gc", "--root", srv.root, "--addr", f"127.0.0.1:{free_port()}")
    assert g.returncode != 0 and "missing or empty" in g.stderr, describe_run(g)

    # --init: an empty registry over the blobs, which stay, under the same store id
    srv.extra_args.append("--init")
    srv.start()
    assert "new, empty meta.db" in srv.log_text()
    assert cl.get_manifest(name, "v0").status == 404
    assert blob_files(srv.root) == files, "--init deletes nothing"
    assert marker_id(srv.root) == store_id == db_id(srv.root)
    push_image(cl, name, ref="after", layers=1)
    srv.stop()
    srv.extra_args.remove("--init")
    srv.start()                                   # an ordinary start from now on
    assert cl.get_manifest(name, "after").status == 200


def test_fsck_on_an_empty_db_reports_it_and_repairs_nothing(make_server, repo):
    srv, cl, name, imgs = populated(make_server, repo)
    srv.stop()
    files = blob_files(srv.root)
    wipe_db(srv.root, "truncate")
    p = run_arca("fsck", "--root", srv.root)
    out = p.stdout + p.stderr
    assert p.returncode == 1, describe_run(p)
    assert "store-identity" in out and "missing or empty" in out, describe_run(p)
    assert "0 problems" not in out, describe_run(p)
    for args in (("--repair",), ("--repair", "--force")):
        r = run_arca("fsck", *args, "--root", srv.root)
        assert r.returncode == 1 and "store-identity" in r.stdout, describe_run(r)
        assert blob_files(srv.root) == files, "a repair over an empty meta.db deletes nothing"


def test_db_of_another_store_is_refused(make_server, repo):
    a, _, _, _ = populated(make_server, repo, images=1)
    b, _, _, _ = populated(make_server, repo, images=1)
    a.stop()
    b.stop()
    id_a, id_b = marker_id(a.root), marker_id(b.root)
    assert id_a != id_b
    wipe_db(a.root, "delete")
    with open(os.path.join(b.root, "meta.db"), "rb") as src, \
            open(os.path.join(a.root, "meta.db"), "wb") as dst:
        dst.write(src.read())
    for args in ((), ("--init",)):
        p = serve_once(a.root, *args)
        assert p.returncode != 0, describe_run(p)
        assert "another store" in p.stderr and id_a in p.stderr and id_b in p.stderr, \
            describe_run(p)
    p = run_arca("fsck", "--root", a.root)
    assert p.returncode == 1 and "another store" in p.stdout, describe_run(p)


def test_db_removed_while_serving_stops_writes(make_server, repo):
    srv, cl, name, imgs = populated(make_server, repo, images=1)
    assert pull_problems(cl, imgs[0], "v0") == []    # reads have a connection open
    os.remove(os.path.join(srv.root, "meta.db"))

    img = image(cl, name, push_blobs=False)
    data = next(iter(img.blobs.values()))
    r = cl.post(f"/v2/{name}/blobs/uploads/?digest={sha256(data)}", body=data,
                headers={"Content-Type": "application/octet-stream"})
    assert r.status == 503 and r.codes() == ["UNAVAILABLE"], r
    assert "meta.db" in r.json()["errors"][0]["detail"], r
    for attempt in range(3):
        r = cl.post(f"/v2/{name}/blobs/uploads/")
        assert r.status == 503 and r.codes() == ["UNAVAILABLE"], r
    r = cl.push_manifest(name, "new", imgs[0].body, OCI_MANIFEST, expect=None)
    assert r.status == 503 and r.codes() == ["UNAVAILABLE"], "nothing may claim success" + repr(r)
    r = cl.delete(f"/v2/{name}/manifests/{imgs[0].digest}")
    assert r.status == 503, r
    assert pull_problems(cl, imgs[0], "v0") == [], "reads go on"
    assert "removed or replaced" in srv.log_text()
    assert srv.alive()
    srv.stop()

    p = serve_once(srv.root)
    assert p.returncode != 0 and "missing or empty" in p.stderr, describe_run(p)


def test_db_replaced_while_serving_stops_writes(make_server, repo):
    srv, cl, name, imgs = populated(make_server, repo, images=1)
    path = os.path.join(srv.root, "meta.db")
    with open(path, "rb") as src, open(path + ".copy", "wb") as dst:
        dst.write(src.read())
    os.rename(path + ".copy", path)
    r = cl.push_manifest(name, "again", imgs[0].body, OCI_MANIFEST, expect=None)
    assert r.status == 503 and r.codes() == ["UNAVAILABLE"], r
    assert cl.get_manifest(name, "v0").status == 200


def test_a_store_from_before_ids_is_adopted(make_server, repo):
    srv, cl, name, imgs = populated(make_server, repo)
    srv.stop()
    # what the previous release left: no identity table, no marker (and no record of schema
    # steps, which came later still)
    with sqlite3.connect(os.path.join(srv.root, "meta.db")) as db:
        db.execute("DROP TABLE store_identity")
        db.execute("DROP TABLE schema_migrations")
    os.remove(os.path.join(srv.root, MARKER))

    srv.start()
    assert "adopted" in srv.log_text(), srv.log_text()
    new_id = marker_id(srv.root)
    assert new_id and db_id(srv.root) == new_id
    for i, m in enumerate(imgs):
        assert pull_problems(cl, m, f"v{i}") == []
    srv.stop()
    srv.start()
    assert marker_id(srv.root) == new_id == db_id(srv.root), "adopted once"
    p = run_arca("fsck", "--root", srv.root)
    assert p.returncode == 0, describe_run(p)


def test_a_lost_marker_is_written_again(make_server, repo):
    srv, cl, name, imgs = populated(make_server, repo, images=1)
    store_id = marker_id(srv.root)
    srv.stop()
    os.remove(os.path.join(srv.root, MARKER))
    p = run_arca("fsck", "--root", srv.root)
    assert p.returncode == 0, "checking writes nothing, and this is no damage" + describe_run(p)
    assert not os.path.exists(os.path.join(srv.root, MARKER))
    srv.start()
    wait_until(lambda: os.path.exists(os.path.join(srv.root, MARKER)), 10, what="the marker")
    assert marker_id(srv.root) == store_id
