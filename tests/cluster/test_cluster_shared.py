"""What three replicas on one PostgreSQL must agree on beyond the registry's records (issue 12):
accounts, grants and the audit stream live in the metadata database; a token one replica
issued verifies on the others (they share the signing keys, auth_keys_dir); artifact types
defined through the API and the type policy set through /arca/v1/policy reach every replica
within a second; replicas started together on a new store agree on its identity. Run under
tests/lib/with_pg.py --rgw (ctest cluster).
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from authlib import ADMIN_PASSWORD, bearer
from cluster import PSQL, Cluster
from arca_server import arca_bin
from testkit import wait_until

ADMIN = ("admin", ADMIN_PASSWORD)
GADGET = "application/vnd.example.gadget.config.v1+json"
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8"/></svg>'


@pytest.fixture(scope="module")
def cluster():
    keys = tempfile.mkdtemp(prefix="arca-keys-")
    try:
        with Cluster(n=3, extra_args=["--auth", "token", "--auth-keys-dir", keys],
                     env={"ARCA_ADMIN_PASSWORD": ADMIN_PASSWORD}) as c:
            yield c
    finally:
        shutil.rmtree(keys, ignore_errors=True)


def call(srv, method, path, auth=ADMIN, **kw):
    return requests.request(method, srv.url + path, auth=auth, timeout=60, **kw)


def within_a_second(check, what):
    """Waits for check() to hold: replicas poll the shared settings every 250 ms, so it should
    within a second. The wait is a hang guard, not a timing assertion (the machine may be
    loaded); how long it took is printed (pytest -s) for the record."""
    start = time.monotonic()
    wait_until(check, timeout=10, interval=0.02, what=what)
    print(f"{what}: {1000 * (time.monotonic() - start):.0f} ms")


def test_an_account_made_on_one_replica_logs_in_on_every_replica(cluster):
    a, b, c = cluster.replicas
    r = call(a, "POST", "/arca/v1/accounts", json={"name": "carol", "password": "carol-pw-1234"})
    assert r.status_code == 201, r.text
    r = call(b, "POST", "/arca/v1/grants",
             json={"subject": "user:carol", "repositories": "team/**", "permission": "push"})
    assert r.status_code == 201, r.text
    # A token from replica c, for a grant made on b, for an account made on a ...
    r = requests.get(c.url + "/token", params={"service": "arca",
                                               "scope": "repository:team/app:pull,push"},
                     auth=("carol", "carol-pw-1234"), timeout=60)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert sorted(r.json().get("access", [{}])[0].get("actions", [])) in ([], ["pull", "push"])
    # ... is honoured by a (the signing keys are shared) to push.
    body = b"shared-accounts"
    r = requests.post(a.url + "/v2/team/app/blobs/uploads/?digest=sha256:"
                      + hashlib.sha256(body).hexdigest(), data=body,
                      headers={**bearer(token), "Content-Type": "application/octet-stream"},
                      timeout=60)
    assert r.status_code == 201, r.text
    # Disabled on b: refused everywhere at once (each replica looks at the accounts' version).
    r = call(b, "PATCH", "/arca/v1/accounts/carol", json={"disabled": True})
    assert r.status_code in (200, 204), r.text
    for srv in cluster.replicas:
        wait_until(lambda: requests.get(srv.url + "/token", params={"service": "arca"},
                                        auth=("carol", "carol-pw-1234"),
                                        timeout=60).status_code == 401,
                   timeout=5, what="the disabled account to be refused")


def test_the_audit_stream_holds_every_replicas_changes(cluster):
    ids = []
    for i, srv in enumerate(cluster.replicas):
        r = call(srv, "POST", "/arca/v1/accounts", json={"name": f"robot-{i}", "kind": "robot"})
        assert r.status_code == 201, r.text
        ids.append(r.headers["X-Request-Id"])  # each replica's own id of the request
    a = cluster.replicas[0]

    def added():
        r = call(a, "GET", "/arca/v1/audit", params={"action": "account.add", "n": "100"})
        assert r.status_code == 200, r.text
        return {e["requestId"]: e for e in r.json()["entries"]}

    # The recorder writes in batches (every 200 ms).
    seen = wait_until(lambda: (lambda got: got if set(ids) <= set(got) else None)(added()),
                      timeout=10, what="every replica's account.add in the stream")
    for i in ids:
        assert seen[i]["principal"] == "user:admin" and seen[i]["status"] == 201, seen[i]


def test_the_account_commands_work_on_the_shared_database(cluster):
    p = subprocess.run([arca_bin(), "user", "add", "dave", "--password-stdin", "--root",
                        cluster.replicas[0].root, *cluster.store_args()],
                       input="dave-pw-12345\n", capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    r = requests.get(cluster.replicas[2].url + "/token", params={"service": "arca"},
                     auth=("dave", "dave-pw-12345"), timeout=60)
    assert r.status_code == 200, r.text


def gadget(title):
    return {"mediaType": GADGET, "title": title, "layerMediaTypes": ["application/octet-stream"],
            "logo": LOGO}


def test_a_type_defined_on_one_replica_reaches_every_replica_within_a_second(cluster):
    a, b, c = cluster.replicas
    r = call(a, "PUT", "/arca/v1/types/" + GADGET, json=gadget("Gadget"))
    assert r.status_code == 201, r.text
    for srv in (b, c):
        within_a_second(lambda: call(srv, "GET", "/arca/v1/types/" + GADGET).status_code == 200,
                        "the new type on another replica")
        t = call(srv, "GET", "/arca/v1/types/" + GADGET).json()
        assert t["title"] == "Gadget" and t["source"] == "api" and t["hasLogo"], t
        logo = call(srv, "GET", f"/arca/v1/types/{GADGET}/logo.svg")
        assert logo.status_code == 200 and b"<rect" in logo.content, logo.text
    r = call(b, "PUT", "/arca/v1/types/" + GADGET, json=gadget("Gadget v2"))
    assert r.status_code == 200, r.text
    within_a_second(lambda: call(c, "GET", "/arca/v1/types/" + GADGET).json().get("title")
                    == "Gadget v2", "the replaced type on another replica")
    r = call(c, "DELETE", "/arca/v1/types/" + GADGET)
    assert r.status_code == 202, r.text
    within_a_second(lambda: call(a, "GET", "/arca/v1/types/" + GADGET).status_code == 404,
                    "the deleted type gone from another replica")
    # Nothing was written to any replica's folder: the database holds it.
    for srv in cluster.replicas:
        assert not any(n.startswith("api--") for n in
                       os.listdir(os.path.join(srv.root, "types")))


def push_unknown(srv, token, repo, n):
    """An artifact of a type nobody defined; the response."""
    import hashlib
    cfg = json.dumps({"n": n}).encode()
    d = "sha256:" + hashlib.sha256(cfg).hexdigest()
    r = requests.post(f"{srv.url}/v2/{repo}/blobs/uploads/?digest={d}", data=cfg, timeout=60,
                      headers={**bearer(token), "Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "artifactType": "application/vnd.example.nobody-knows+json",
         "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": d,
                    "size": len(cfg)}, "layers": []}
    return requests.put(f"{srv.url}/v2/{repo}/manifests/t{n}", data=json.dumps(m), timeout=60,
                        headers={**bearer(token),
                                 "Content-Type": "application/vnd.oci.image.manifest.v1+json"})


def test_a_policy_set_on_one_replica_applies_on_every_replica_within_a_second(cluster):
    a, b, c = cluster.replicas
    r = requests.get(a.url + "/token", params={"service": "arca",
                                               "scope": "repository:pol/app:pull,push"},
                     auth=ADMIN, timeout=60)
    token = r.json()["token"]
    assert push_unknown(c, token, "pol/app", 0).status_code == 201
    r = call(a, "PUT", "/arca/v1/policy", data='rules:\n  - repositories: "pol/**"\n'
                                               '    unknown: deny\n')
    assert r.status_code == 200, r.text
    assert call(b, "GET", "/arca/v1/policy").json() == {
        "source": "stored", "policy": 'rules:\n  - repositories: "pol/**"\n    unknown: deny\n'}
    n = iter(range(1, 1000))
    within_a_second(lambda: push_unknown(c, token, "pol/app", next(n)).status_code == 400,
                    "the stored policy to refuse an unknown type on another replica")
    # An invalid policy is refused and changes nothing.
    r = call(b, "PUT", "/arca/v1/policy", data="rules: [ {repositories: 1, unknown: maybe} ]")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "MANIFEST_INVALID", r.text
    assert push_unknown(a, token, "pol/app", next(n)).status_code == 400
    # Dropped on b: each replica's file (none here) is in force again.
    assert call(b, "DELETE", "/arca/v1/policy").status_code == 202
    within_a_second(lambda: push_unknown(a, token, "pol/app", next(n)).status_code == 201,
                    "the dropped policy to stop applying on another replica")
    assert call(c, "GET", "/arca/v1/policy").json() == {"source": "file"}


def test_replicas_starting_together_on_a_new_store_agree_on_its_identity():
    """Three replicas started at the same instant on an empty database and an empty bucket:
    one makes the store (its identity in both), the others wait their turn and adopt it."""
    c = Cluster(n=3)
    try:
        c.start(together=True)
        made = []
        for srv in c.replicas:
            with open(srv.log_path, "rb") as f:
                made += [line for line in f.read().decode("utf-8", "replace").splitlines()
                         if line.startswith("arca: new store ")]
        assert len(made) == 1, made
        # Every replica serves what another stored, and fsck finds one store, consistent.
        body = b"one store"
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        r = requests.post(f"{c.replicas[2].url}/v2/together/app/blobs/uploads/?digest={digest}",
                          data=body, headers={"Content-Type": "application/octet-stream"},
                          timeout=60)
        assert r.status_code == 201, r.text
        for srv in c.replicas:
            assert requests.get(f"{srv.url}/v2/together/app/blobs/{digest}",
                                timeout=60).content == body
        p = subprocess.run([arca_bin(), "fsck", "--root", c.replicas[0].root, *c.store_args()],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        c.stop()


def test_the_accounts_of_an_auth_db_move_into_an_empty_database(tmp_path):
    """A store that ran auth: token on SQLite (accounts in <root>/auth.db) and moves its
    metadata to PostgreSQL: the first replica to start moves the accounts into the database,
    so that nobody is locked out, and makes no new admin. The move happens once: a grant the
    database had already is kept, auth.db is renamed, and an old copy put back later never
    brings back an account removed since."""
    c = Cluster(n=1, extra_args=["--auth", "token"],
                env={"ARCA_ADMIN_PASSWORD": ADMIN_PASSWORD})
    root = os.path.join(c.dir, "r0")
    os.makedirs(root)

    def cli(args, stdin=None, where=root, *extra):
        p = subprocess.run([arca_bin(), *args, "--root", where, *extra], input=stdin,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p

    for args, stdin in [(["user", "add", "erin", "--password-stdin"], "erin-pw-12345\n"),
                        (["grant", "add", "user:erin", "**", "admin"], None),
                        (["grant", "add", "group:devs", "team/**", "push"], None),
                        (["robot", "add", "ci"], None)]:
        cli(args, stdin)
    shutil.copy(os.path.join(root, "auth.db"), tmp_path / "auth.db.copy")
    try:
        # The database already holds a grant the import brings too (grants need no account).
        subprocess.run([PSQL, c.pg_url.replace("postgres://", "postgresql://", 1), "-qXc",
                        f"CREATE SCHEMA {c.schema}"], check=True, capture_output=True, timeout=60)
        cli(["grant", "add", "group:devs", "team/**", "push"], None, str(tmp_path / "elsewhere"),
            "--metadata", c.metadata)
        c.start()
        srv = c.replicas[0]
        with open(srv.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        assert "moved 2 accounts, 0 tokens and 2 grants" in log, log[-2000:]
        assert "created the user \"admin\"" not in log, log[-2000:]
        assert not os.path.exists(os.path.join(root, "auth.db"))
        assert os.path.exists(os.path.join(root, "auth.db.imported"))
        r = requests.get(srv.url + "/token", params={"service": "arca"},
                         auth=("erin", "erin-pw-12345"), timeout=60)
        assert r.status_code == 200, r.text
        erin = ("erin", "erin-pw-12345")
        r = call(srv, "GET", "/arca/v1/accounts", auth=erin)
        assert r.status_code == 200, r.text
        assert sorted(a["name"] for a in r.json()["accounts"]) == ["ci", "erin"], r.json()
        # ci is removed; an old copy of auth.db put back does not bring it back.
        assert call(srv, "DELETE", "/arca/v1/accounts/ci", auth=erin).status_code == 202
        srv.stop()
        shutil.copy(tmp_path / "auth.db.copy", os.path.join(root, "auth.db"))
        srv.start()
        r = call(srv, "GET", "/arca/v1/accounts", auth=erin)
        assert sorted(a["name"] for a in r.json()["accounts"]) == ["erin"], r.json()
        with open(srv.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        assert log.count("moved 2 accounts") == 1 and "is not read" in log, log[-2000:]
    finally:
        c.stop()


def test_files_are_imported_into_the_database_with_the_commands(cluster, tmp_path):
    """The import path: `arca types import` and `arca policy import|show|clear` write into the
    metadata database from any host; every replica applies it within a second."""
    a, b, c = cluster.replicas
    (tmp_path / "gizmo.svg").write_text(LOGO)
    gizmo = dict(gadget("Gizmo"), mediaType="application/vnd.example.gizmo.config.v1+json",
                 logo="gizmo.svg")
    (tmp_path / "gizmo.json").write_text(json.dumps(gizmo))

    def arca(*args, stdin=None):
        return subprocess.run([arca_bin(), *args, "--root", a.root, *cluster.store_args()],
                              input=stdin, capture_output=True, text=True, timeout=120)

    p = arca("types", "import", str(tmp_path / "gizmo.json"))
    assert p.returncode == 0 and "added " + gizmo["mediaType"] in p.stdout, p.stdout + p.stderr
    for srv in cluster.replicas:
        within_a_second(lambda: call(srv, "GET", "/arca/v1/types/" + gizmo["mediaType"])
                        .status_code == 200, "an imported type on every replica")
        logo = call(srv, "GET", f"/arca/v1/types/{gizmo['mediaType']}/logo.svg")
        assert logo.status_code == 200 and b"<rect" in logo.content
    # An invalid definition is refused, naming the file, and nothing of the batch is stored.
    (tmp_path / "bad.json").write_text(json.dumps({"mediaType": "not a media type"}))
    other = dict(gizmo, mediaType="application/vnd.example.other.config.v1+json")
    (tmp_path / "other.json").write_text(json.dumps(other))
    p = arca("types", "import", str(tmp_path / "other.json"), str(tmp_path / "bad.json"))
    assert p.returncode != 0 and "bad.json" in p.stderr, p.stdout + p.stderr
    assert call(b, "GET", "/arca/v1/types/" + other["mediaType"]).status_code == 404

    policy = 'rules:\n  - repositories: "imported/**"\n    unknown: deny\n'
    (tmp_path / "policy.yaml").write_text(policy)
    p = arca("policy", "import", str(tmp_path / "policy.yaml"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert arca("policy", "show").stdout == policy
    r = requests.get(a.url + "/token", params={"service": "arca",
                                               "scope": "repository:imported/x:pull,push"},
                     auth=ADMIN, timeout=60)
    token = r.json()["token"]
    n = iter(range(1000, 2000))
    within_a_second(lambda: push_unknown(c, token, "imported/x", next(n)).status_code == 400,
                    "an imported policy on another replica")
    (tmp_path / "broken.yaml").write_text("rules: [ {repositories: 1, unknown: maybe} ]")
    p = arca("policy", "import", str(tmp_path / "broken.yaml"))
    assert p.returncode != 0 and "broken.yaml" in p.stderr, p.stdout + p.stderr
    assert arca("policy", "show").stdout == policy
    assert arca("policy", "clear").returncode == 0
    assert arca("policy", "show").returncode == 1
    within_a_second(lambda: push_unknown(b, token, "imported/x", next(n)).status_code == 201,
                    "a cleared policy on another replica")
