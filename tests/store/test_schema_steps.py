"""Versioned schema steps (src/meta/migrations.h, docs/deploy.md "Upgrades"): `arca migrate
status|up`, `migrate: manual`, a store of an earlier release brought forward, and a schema
made newer by a later arca: served after an expand step, refused after a contract step."""
import os
import re
import sqlite3
import subprocess
import tarfile
import tempfile

import pytest

from arca_server import arca_bin
from gclib import describe_run, run_arca

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def old_root(tmp_path, commit="b17cf15"):
    root = str(tmp_path / f"old-{commit}")
    os.makedirs(root)
    with tarfile.open(os.path.join(FIXTURES, f"store-{commit}.tar.gz")) as tar:
        tar.extractall(root)
    return root


def serve_once(root, *args):
    """Starts `arca serve` on root and returns (exit status or None if it served, output)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([arca_bin(), "serve", "--addr", "127.0.0.1:0", "--root", root,
                              "--gc-interval", "0", *args], stdout=out, stderr=subprocess.STDOUT)
        try:
            rc = p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
            p.terminate()
            p.wait(timeout=30)
        out.seek(0)
        return rc, out.read().decode()


def applied(root):
    with sqlite3.connect(os.path.join(root, "meta.db")) as db:
        return [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]


def test_a_new_store_is_at_the_newest_step(make_server):
    srv, _ = make_server()
    srv.stop()
    p = run_arca("migrate", "status", "--root", srv.root)
    assert p.returncode == 0, describe_run(p)
    assert "applied  1 baseline" in p.stdout and "applied  2 upload-parts" in p.stdout
    assert "applied  3 leases" in p.stdout and "applied  4 settings" in p.stdout
    assert "applied  5 accounts" in p.stdout
    assert "up to date" in p.stdout, describe_run(p)


def test_an_old_store_waits_for_migrate_up_under_manual(tmp_path, make_server):
    root = old_root(tmp_path)
    p = run_arca("migrate", "status", "--root", root)
    assert p.returncode == 0 and "pending  1 baseline" in p.stdout, describe_run(p)
    known = int(re.search(r"this arca knows up to (\d+)", p.stdout).group(1))
    assert known >= 5, describe_run(p)
    assert "pending  2 upload-parts" in p.stdout and f"{known} pending" in p.stdout
    rc, out = serve_once(root, "--migrate", "manual")
    assert rc not in (None, 0) and "arca migrate up" in out, out
    p = run_arca("fsck", "--root", root, "--migrate", "manual")
    assert p.returncode != 0 and "arca migrate up" in p.stdout + p.stderr, \
        "fsck under migrate: manual does not migrate either" + describe_run(p)
    assert "pending  2 upload-parts" in run_arca("migrate", "status", "--root", root).stdout
    assert not os.path.exists(os.path.join(root, "blobs", ".arca-store")), \
        "a refused start leaves the store as it was"
    p = run_arca("migrate", "up", "--root", root)
    assert p.returncode == 0 and "up to date" in p.stdout, describe_run(p)
    assert applied(root) == list(range(1, known + 1))
    srv, cl = make_server(root=root, extra_args=["--migrate", "manual"])
    r = cl.get("/v2/_catalog")
    assert r.status == 200 and r.json()["repositories"], r
    srv.stop()
    p = run_arca("fsck", "--root", root)
    assert p.returncode == 0, describe_run(p)


def test_a_newer_schema_is_served_after_expand_and_refused_after_contract(make_server):
    srv, _ = make_server()
    srv.stop()
    db = os.path.join(srv.root, "meta.db")
    with sqlite3.connect(db) as c:
        c.execute("CREATE INDEX later_index ON blobs(size)")
        c.execute("INSERT INTO schema_migrations VALUES(50, 'later-index', 0, 2)")
    srv.start()  # step 50 keeps code of version 2 serving
    srv.stop()
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO schema_migrations VALUES(51, 'later-drop', 0, 51)")
    rc, out = serve_once(srv.root)
    assert rc not in (None, 0), out
    assert "later-drop" in out and "run the newer arca" in out, out
    p = run_arca("migrate", "status", "--root", srv.root)
    assert p.returncode == 1 and "cannot serve" in p.stdout, describe_run(p)
    assert "[newer than this arca]" in p.stdout


def test_migrate_needs_a_store_and_a_verb(tmp_path):
    p = run_arca("migrate", "up", "--root", str(tmp_path / "nothing-here"))
    assert p.returncode != 0 and "meta.db" in p.stdout + p.stderr, describe_run(p)
    p = run_arca("migrate", "--root", str(tmp_path))
    assert p.returncode == 2 and "usage" in p.stderr, describe_run(p)


def schema_of(db_path):
    """Tables with their columns (name, type, not null, default, primary key position) and
    indexes with their columns, uniqueness and condition: what queries depend on, not the text
    of the statements that made them (ALTER TABLE ADD COLUMN leaves other text than CREATE)."""
    out = {}
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        for t in tables:
            cols = sorted((c[1], c[2].upper(), c[3], str(c[4]), c[5])
                          for c in db.execute(f"PRAGMA table_info('{t}')"))
            idx = {}
            for i in db.execute(f"PRAGMA index_list('{t}')"):
                name, unique, origin, partial = i[1], i[2], i[3], i[4]
                cols_of = [c[2] for c in db.execute(f"PRAGMA index_info('{name}')")]
                where = ""
                if partial:
                    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                                     (name,)).fetchone()[0]
                    where = " ".join(sql.split(" WHERE ", 1)[1].split())
                key = name if origin == "c" else f"{origin}:{','.join(cols_of)}"
                idx[key] = (tuple(cols_of), unique, where)
            out[t] = {"columns": cols, "indexes": idx}
    return out


@pytest.mark.parametrize("commit", ["845f746", "b17cf15"])
def test_a_migrated_old_store_has_the_schema_of_a_new_one(tmp_path, make_server, commit):
    """Every step on an old store's meta.db leaves the same tables, columns and indexes as a
    new store gets: nothing a fresh schema has is missing from a migrated one, or different."""
    root = old_root(tmp_path, commit)
    p = run_arca("migrate", "up", "--root", root)
    assert p.returncode == 0 and "up to date" in p.stdout, describe_run(p)
    srv, _ = make_server()
    srv.stop()
    fresh, migrated = schema_of(os.path.join(srv.root, "meta.db")), schema_of(
        os.path.join(root, "meta.db"))
    assert sorted(fresh) == sorted(migrated), (sorted(fresh), sorted(migrated))
    for table in fresh:
        assert migrated[table] == fresh[table], (table, fresh[table], migrated[table])
