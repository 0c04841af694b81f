"""Real clients with login against `auth: token` (issue 11, docs/auth.md): skopeo, podman,
oras, crane, regctl and helm each push and pull as a user, a robot and anonymously, and each
permission boundary is tried both ways: pull-only cannot push, team A cannot see team B,
delete needs delete, and the catalog is filtered.

Over HTTPS with a CA the test makes (tlslib): the containers tools are given it with
--cert-dir, the Go clients through SSL_CERT_FILE, and no client is told to skip verification;
a client without the CA is refused (test_clients_without_the_ca_are_refused)."""
import json
import re

import pytest

from authlib import ADMIN_PASSWORD, TEAM_OTHER, TEAM_READER, TEAM_USER, team_server
from client_helpers import require_tool
from client_runner import Runner

USER, READER, OTHER = TEAM_USER, TEAM_READER, TEAM_OTHER


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with team_server(str(tmp_path_factory.mktemp("pki"))) as s:
        s.robot = ("ci-a", s.add_robot("ci-a"))
        s.grant("robot:ci-a", "team-a/**", "push")
        s.grant("anonymous", "public/**", "pull")
        yield s


@pytest.fixture
def fresh(tmp_path, srv):
    """A Runner with its own HOME, so that logins of one identity do not leak to the next,
    whose Go clients trust the test CA (and only it)."""
    def make(name):
        r = Runner(str(tmp_path / name))
        r.env["SSL_CERT_FILE"] = srv.tls.ca_path
        return r
    return make


def who(srv, kind):
    return {"user": USER, "robot": srv.robot}[kind]


def failed(proc):
    assert proc.returncode != 0, f"expected a refusal:\n{proc.stdout}\n{proc.stderr}"
    text = (proc.stdout + proc.stderr).lower()
    assert re.search(r"unauthori[sz]ed|denied|forbidden|401|403|authentication required|invalid username/password", text), text[-800:]


# ---------------------------------------------------------------------------- skopeo

@pytest.mark.parametrize("kind", ["user", "robot"])
def test_skopeo_with_creds(srv, layout, fresh, kind):
    require_tool("skopeo")
    run = fresh(kind)
    user, secret = who(srv, kind)
    dest = f"docker://{srv.addr}/team-a/skopeo-{kind}:v1"
    run("skopeo", "copy", "--dest-cert-dir", srv.tls.cert_dir, "--dest-creds", f"{user}:{secret}",
        "--preserve-digests", f"oci:{layout.path}:amd64", dest)
    out = json.loads(run("skopeo", "inspect", "--raw", "--cert-dir", srv.tls.cert_dir, "--creds",
                         f"{user}:{secret}", dest).stdout)
    assert out["config"]["digest"] == layout.manifest("amd64")["config"]["digest"]
    # the reader pulls and cannot push; bob sees nothing of team A; nobody anonymous either
    run("skopeo", "inspect", "--raw", "--cert-dir", srv.tls.cert_dir, "--creds", ":".join(READER), dest)
    failed(run("skopeo", "copy", "--dest-cert-dir", srv.tls.cert_dir, "--dest-creds", ":".join(READER),
               f"oci:{layout.path}:amd64", f"docker://{srv.addr}/team-a/reader-push:v1", check=False))
    failed(run("skopeo", "inspect", "--raw", "--cert-dir", srv.tls.cert_dir, "--creds", ":".join(OTHER), dest,
               check=False))
    failed(run("skopeo", "inspect", "--raw", "--cert-dir", srv.tls.cert_dir, "--no-creds", dest, check=False))


def test_skopeo_anonymous_pull_of_public(srv, layout, fresh):
    require_tool("skopeo")
    run = fresh("anon")
    run("skopeo", "copy", "--dest-cert-dir", srv.tls.cert_dir, "--dest-creds", f"admin:{ADMIN_PASSWORD}",
        f"oci:{layout.path}:arm64", f"docker://{srv.addr}/public/base:arm64")
    run("skopeo", "copy", "--src-cert-dir", srv.tls.cert_dir, "--src-no-creds",
        f"docker://{srv.addr}/public/base:arm64", f"oci:{run.root}/out:arm64")
    failed(run("skopeo", "copy", "--dest-cert-dir", srv.tls.cert_dir, "--dest-no-creds",
               f"oci:{layout.path}:arm64", f"docker://{srv.addr}/public/base:mine", check=False))


# ---------------------------------------------------------------------------- podman

def test_podman_login_push_pull(srv, layout, podman, run):
    image_id = podman("pull", f"oci:{layout.path}:amd64").stdout.strip().splitlines()[-1]
    ref = f"{srv.addr}/team-a/podman:v1"
    podman("tag", image_id, ref)
    podman("login", "--cert-dir", srv.tls.cert_dir, "-u", USER[0], "--password-stdin", srv.addr,
           input=USER[1] + "\n")
    podman("push", "--cert-dir", srv.tls.cert_dir, ref)
    podman("rmi", "--force", ref)
    podman("pull", "--cert-dir", srv.tls.cert_dir, ref)
    podman("logout", srv.addr)
    podman("login", "--cert-dir", srv.tls.cert_dir, "-u", READER[0], "--password-stdin", srv.addr,
           input=READER[1] + "\n")
    podman("tag", image_id, f"{srv.addr}/team-a/podman:reader")
    failed(podman("push", "--cert-dir", srv.tls.cert_dir, f"{srv.addr}/team-a/podman:reader", check=False))
    podman("pull", "--cert-dir", srv.tls.cert_dir, ref)
    podman("logout", srv.addr)
    # a wrong password fails at login
    failed(podman("login", "--cert-dir", srv.tls.cert_dir, "-u", USER[0], "--password-stdin", srv.addr,
                  input="wrong-password\n", check=False))


# ---------------------------------------------------------------------------- Go clients

@pytest.mark.parametrize("kind", ["user", "robot"])
def test_oras_login_push_pull(srv, fresh, tool, tmp_path, kind):
    oras = tool("oras")
    run = fresh(kind)
    user, secret = who(srv, kind)
    run(oras, "login", "-u", user, "--password-stdin", srv.addr, input=secret)
    art = tmp_path / "artifact.txt"
    art.write_text(f"pushed by {kind}\n")
    ref = f"{srv.addr}/team-a/oras-{kind}:v1"
    run(oras, "push", "--no-tty", "--artifact-type", "application/vnd.example.note",
        ref, "artifact.txt:text/plain", cwd=tmp_path)
    out = tmp_path / "out"
    run(oras, "pull", "--no-tty", ref, "-o", out)
    assert (out / "artifact.txt").read_text() == f"pushed by {kind}\n"
    # team B is out of reach
    failed(run(oras, "push", "--no-tty", f"{srv.addr}/team-b/oras:v1",
               "artifact.txt:text/plain", cwd=tmp_path, check=False))


def test_oras_reader_and_anonymous(srv, fresh, tool, tmp_path):
    oras = tool("oras")
    (tmp_path / "a.txt").write_text("a\n")
    admin = fresh("admin")
    admin(oras, "login", "-u", "admin", "--password-stdin", srv.addr,
          input=ADMIN_PASSWORD)
    admin(oras, "push", "--no-tty", f"{srv.addr}/public/notes:v1", "a.txt:text/plain",
          cwd=tmp_path)
    anon = fresh("anon")
    anon(oras, "pull", "--no-tty", f"{srv.addr}/public/notes:v1", "-o", tmp_path / "o")
    assert (tmp_path / "o" / "a.txt").read_text() == "a\n"
    failed(anon(oras, "push", "--no-tty", f"{srv.addr}/public/notes:v2",
                "a.txt:text/plain", cwd=tmp_path, check=False))
    reader = fresh("reader")
    reader(oras, "login", "-u", READER[0], "--password-stdin", srv.addr, input=READER[1])
    failed(reader(oras, "push", "--no-tty", f"{srv.addr}/team-a/oras-reader:v1",
                  "a.txt:text/plain", cwd=tmp_path, check=False))
    failed(anon(oras, "login", "-u", USER[0], "--password-stdin", srv.addr,
                input="wrong", check=False))


def test_crane_login_copy_catalog_delete(srv, layout, fresh, tool):
    crane = tool("crane")
    require_tool("skopeo")
    run = fresh("crane")
    run("skopeo", "copy", "--dest-cert-dir", srv.tls.cert_dir, "--dest-creds", ":".join(USER),
        f"oci:{layout.path}:multi", f"docker://{srv.addr}/team-a/crane-src:multi", "--all")
    run(crane, "auth", "login", srv.addr, "-u", USER[0], "--password-stdin", input=USER[1])
    run(crane, "copy", f"{srv.addr}/team-a/crane-src:multi", f"{srv.addr}/team-a/crane-dst:multi")
    digest = run(crane, "digest", f"{srv.addr}/team-a/crane-dst:multi").stdout.strip()
    assert digest.startswith("sha256:")
    catalog = run(crane, "catalog", srv.addr).stdout.split()
    assert "team-a/crane-dst" in catalog
    # team A's and what anonymous callers may pull (everyone may), nothing of team B
    assert all(c.startswith(("team-a/", "public/")) for c in catalog), catalog
    # delete needs delete
    failed(run(crane, "delete", f"{srv.addr}/team-a/crane-dst@{digest}", check=False))
    srv.grant("user:alice", "team-a/crane-dst", "delete")
    run(crane, "delete", f"{srv.addr}/team-a/crane-dst@{digest}")
    bob = fresh("crane-bob")
    bob(crane, "auth", "login", srv.addr, "-u", OTHER[0], "--password-stdin", input=OTHER[1])
    assert not [c for c in bob(crane, "catalog", srv.addr).stdout.split()
                if c.startswith("team-a/")]
    failed(bob(crane, "manifest", f"{srv.addr}/team-a/crane-src:multi", check=False))


@pytest.mark.parametrize("kind", ["user", "robot"])
def test_regctl_login_copy(srv, layout, fresh, tool, kind):
    regctl = tool("regctl")
    run = fresh(f"regctl-{kind}")
    user, secret = who(srv, kind)
    run(regctl, "registry", "login", srv.addr, "-u", user, "--pass-stdin", input=secret)
    ref = f"{srv.addr}/team-a/regctl-{kind}:v1"
    run(regctl, "image", "copy", f"ocidir://{layout.path}:arm64", ref)
    body = json.loads(run(regctl, "manifest", "get", "--format", "raw-body", ref).stdout)
    assert body["config"]["digest"] == layout.manifest("arm64")["config"]["digest"]
    failed(run(regctl, "image", "copy", f"ocidir://{layout.path}:arm64",
               f"{srv.addr}/team-b/regctl:v1", check=False))


def test_helm_login_push_pull(srv, fresh, tool, tmp_path):
    helm = tool("helm")
    run = fresh("helm")
    run(helm, "create", "authchart", cwd=tmp_path)
    run(helm, "package", "authchart", cwd=tmp_path)
    run(helm, "registry", "login", "-u", USER[0], "--password-stdin", srv.addr,
        input=USER[1], cwd=tmp_path)
    run(helm, "push", tmp_path / "authchart-0.1.0.tgz", f"oci://{srv.addr}/team-a/charts",
        cwd=tmp_path)
    out = tmp_path / "pulled"
    out.mkdir()
    run(helm, "pull", f"oci://{srv.addr}/team-a/charts/authchart", "--version", "0.1.0",
        "-d", out, cwd=tmp_path)
    assert (out / "authchart-0.1.0.tgz").exists()
    failed(run(helm, "push", tmp_path / "authchart-0.1.0.tgz", f"oci://{srv.addr}/team-b/charts",
               cwd=tmp_path, check=False))


# ---------------------------------------------------------------------------- TLS itself

def test_clients_without_the_ca_are_refused(srv, fresh, tool, tmp_path):
    """The clients above verify the server: without the test CA, each refuses the certificate
    (so their successes above were over verified TLS, not a fallback)."""
    require_tool("skopeo")
    oras = tool("oras")
    run = fresh("no-ca")
    del run.env["SSL_CERT_FILE"]
    bad = run("skopeo", "inspect", "--raw", "--creds", ":".join(USER),
              f"docker://{srv.addr}/team-a/anything:v1", check=False)
    assert bad.returncode != 0 and "certificate" in bad.stderr.lower(), bad.stderr
    bad = run(oras, "login", "-u", USER[0], "--password-stdin", srv.addr, input=USER[1],
              check=False)
    assert bad.returncode != 0 and "certificate" in (bad.stdout + bad.stderr).lower(), bad.stderr
    # a Go client that trusts the CA but is sent to the plain-HTTP scheme gets a clear answer
    bad = run(oras, "login", "--plain-http", "-u", USER[0], "--password-stdin", srv.addr,
              input=USER[1], check=False)
    assert bad.returncode != 0
    assert "serves HTTPS" in bad.stdout + bad.stderr or "400" in bad.stdout + bad.stderr, \
        bad.stdout + bad.stderr
