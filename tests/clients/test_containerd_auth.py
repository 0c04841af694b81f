"""containerd (Debian's 1.6, driven by its `ctr`) against `auth: token` over HTTPS: it asks
/token with the OAuth2 POST form (grant_type=password), as containerd and BuildKit do, pulls
and pushes as a user, and meets each permission boundary both ways.

A private containerd runs for the module: its own root, state and socket under the test's
temporary folder, CRI and the snapshotters it cannot use here turned off. Images are fetched
(`ctr content fetch`, no unpacking: unpacking needs mounts, which the registry does not care
about) and pushed (`ctr images push`) from its content store."""
import json
import os
import subprocess

import pytest
import requests

from authlib import TEAM_OTHER, TEAM_READER, TEAM_USER, team_server
from client_helpers import require_tool
from client_runner import Runner
from testkit import hang_guard, wait_until

USER, READER, OTHER = TEAM_USER, TEAM_READER, TEAM_OTHER


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with team_server(str(tmp_path_factory.mktemp("pki"))) as s:
        s.grant("anonymous", "ctd-public/**", "pull")
        yield s


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    require_tool("containerd")
    require_tool("ctr")
    # A short folder: the socket path must fit in sun_path (108 bytes).
    base = tmp_path_factory.mktemp("ctd")
    sock = os.path.join(base, "c.sock")
    cfg = os.path.join(base, "config.toml")
    with open(cfg, "w") as f:
        f.write(f'''version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
''')
    log = open(os.path.join(base, "containerd.log"), "wb")
    proc = subprocess.Popen(["containerd", "--config", cfg], stdout=log, stderr=log)
    try:
        wait_until(lambda: proc.poll() is not None or os.path.exists(sock), 30,
                   what="containerd's socket")
        assert proc.poll() is None, open(log.name).read()[-3000:]
        yield sock
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=hang_guard(30))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def ctr(containerd, srv, tmp_path_factory):
    run = Runner(str(tmp_path_factory.mktemp("ctr-env")))

    def call(*args, check=True, namespace="arca-test"):
        return run("ctr", "--address", containerd, "--namespace", namespace, *args, check=check)
    # containerd speaks plain HTTP to a loopback host unless told otherwise: the host's
    # hosts.toml (what /etc/containerd/certs.d holds) names https and the CA, as an operator
    # would write it.
    hosts = os.path.join(run.root, "certs.d")
    os.makedirs(os.path.join(hosts, srv.addr))
    with open(os.path.join(hosts, srv.addr, "hosts.toml"), "w") as f:
        f.write(f'server = "https://{srv.addr}"\n\n[host."https://{srv.addr}"]\n'
                f'  capabilities = ["pull", "resolve", "push"]\n  ca = "{srv.tls.ca_path}"\n')
    no_ca = os.path.join(run.root, "certs.d-no-ca")
    os.makedirs(os.path.join(no_ca, srv.addr))
    with open(os.path.join(no_ca, srv.addr, "hosts.toml"), "w") as f:
        f.write(f'server = "https://{srv.addr}"\n\n[host."https://{srv.addr}"]\n'
                f'  capabilities = ["pull", "resolve"]\n')
    call.tls = ["--hosts-dir", hosts]
    call.no_ca = ["--hosts-dir", no_ca]
    return call


@pytest.fixture(scope="module")
def pushed(srv, layout, tmp_path_factory):
    """team A's image (amd64) and a public one, pushed by skopeo."""
    require_tool("skopeo")
    run = Runner(str(tmp_path_factory.mktemp("skopeo-env")))
    for dest, creds in ((f"{srv.addr}/team-a/app:v1", USER),
                        (f"{srv.addr}/ctd-public/app:v1", ("admin", "admin-password-for-tests"))):
        run("skopeo", "copy", "--dest-cert-dir", srv.tls.cert_dir, "--dest-creds",
            ":".join(creds), "--preserve-digests", f"oci:{layout.path}:amd64", f"docker://{dest}")
    return layout.manifest("amd64")


def token_posts(srv):
    """(POST /token requests, all /token requests) in arca's access log so far."""
    posts = total = 0
    with open(srv.log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("path", "").startswith("/token"):
                total += 1
                posts += rec.get("method") == "POST" and rec.get("status") == 200
    return posts, total


def refused(proc):
    assert proc.returncode != 0, f"expected a refusal:\n{proc.stdout}\n{proc.stderr}"
    text = (proc.stdout + proc.stderr).lower()
    assert any(w in text for w in ("unauthorized", "denied", "forbidden", "401", "403",
                                   "not found", "insufficient")), text[-1500:]


def test_containerd_pulls_with_the_oauth2_post_form(srv, ctr, pushed):
    ref = f"{srv.addr}/team-a/app:v1"
    posts_before, _ = token_posts(srv)
    ctr("content", "fetch", *ctr.tls, "--user", ":".join(READER), ref)
    # the image's manifest, config and layers are in containerd's store now
    listed = ctr("content", "ls").stdout
    assert pushed["config"]["digest"] in listed
    for layer in pushed["layers"]:
        assert layer["digest"] in listed
    posts_after, _ = token_posts(srv)
    assert posts_after > posts_before, "containerd did not use POST /token (grant_type=password)"


def test_containerd_push_needs_push(srv, ctr, pushed):
    src = f"{srv.addr}/team-a/app:v1"
    ctr("content", "fetch", *ctr.tls, "--user", ":".join(USER), src)
    # the fetch recorded the image: tag it for the pushes below
    assert src in ctr("images", "ls", "-q").stdout.split()
    ctr("images", "tag", "--force", src, f"{srv.addr}/team-a/app:copy")
    ctr("images", "tag", "--force", src, f"{srv.addr}/team-b/app:copy")
    # the reader may pull but not push
    refused(ctr("images", "push", *ctr.tls, "--user", ":".join(READER),
                f"{srv.addr}/team-a/app:copy", check=False))
    # bob may push to team B, not to team A
    refused(ctr("images", "push", *ctr.tls, "--user", ":".join(OTHER),
                f"{srv.addr}/team-a/app:copy", check=False))
    ctr("images", "push", *ctr.tls, "--user", ":".join(OTHER), f"{srv.addr}/team-b/app:copy")
    # alice pushes to team A; the copy is the same manifest
    ctr("images", "push", *ctr.tls, "--user", ":".join(USER), f"{srv.addr}/team-a/app:copy")
    tok = srv.token(["repository:team-a/app:pull"], auth=USER)
    r = requests.head(f"{srv.url}/v2/team-a/app/manifests/copy", verify=srv.verify, timeout=30,
                      headers={"Authorization": f"Bearer {tok}",
                               "Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 200
    r1 = requests.head(f"{srv.url}/v2/team-a/app/manifests/v1", verify=srv.verify, timeout=30,
                       headers={"Authorization": f"Bearer {tok}",
                                "Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.headers["Docker-Content-Digest"] == r1.headers["Docker-Content-Digest"]


def test_containerd_anonymous_and_other_teams(srv, ctr, pushed):
    # anonymous: the public repository yes, team A no
    ctr("content", "fetch", *ctr.tls, f"{srv.addr}/ctd-public/app:v1", namespace="anon")
    refused(ctr("content", "fetch", *ctr.tls, f"{srv.addr}/team-a/app:v1", check=False,
                namespace="anon"))
    # bob sees nothing of team A (the answer is the same as for a repository that is not there)
    refused(ctr("content", "fetch", *ctr.tls, "--user", ":".join(OTHER),
                f"{srv.addr}/team-a/app:v1", check=False, namespace="bob"))
    # a wrong password is refused
    refused(ctr("content", "fetch", *ctr.tls, "--user", f"{USER[0]}:wrong",
                f"{srv.addr}/team-a/app:v1", check=False, namespace="wrong"))


def test_containerd_verifies_the_certificate(srv, ctr, pushed):
    bad = ctr("content", "fetch", *ctr.no_ca, "--user", ":".join(READER),
              f"{srv.addr}/team-a/app:v1", check=False, namespace="noca")
    assert bad.returncode != 0 and "certificate" in (bad.stdout + bad.stderr).lower(), bad.stderr
