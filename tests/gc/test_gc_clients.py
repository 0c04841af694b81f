"""Garbage collection with real clients (docs/gc.md): images and indexes pushed by crane and
regctl, artifacts and referrers by oras; tags and manifests removed by the clients' own
delete commands; then a GC pass, and the clients pull what must remain, completely."""
import hashlib
import io
import json
import os
import shutil
import tarfile

import pytest

from client_runner import Runner


@pytest.fixture(scope="module")
def tools(go_tools_bin):
    return go_tools_bin


@pytest.fixture
def run(tmp_path):
    return Runner(str(tmp_path / "client-env"))


def layer_tar(path, name, payload):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def crane_image(run, tools, tmp_path, ref, arch):
    """A single-platform image made by crane; returns its digest."""
    tar = tmp_path / f"{arch}.tar"
    layer_tar(tar, f"{arch}.bin", os.urandom(50_000))
    crane = os.path.join(tools, "crane")
    run(crane, "append", "--insecure", "-f", tar, "-t", ref)
    run(crane, "mutate", "--insecure", "--set-platform", f"linux/{arch}", ref)
    return run(crane, "digest", "--insecure", ref).stdout.strip()


def test_multi_arch_index_from_regctl_survives_untag_until_purged(make_server, tmp_path, run, tools):
    srv, c = make_server(["--gc-retention", "7d", "--gc-blob-grace", "0"])
    crane, regctl = os.path.join(tools, "crane"), os.path.join(tools, "regctl")
    run(regctl, "registry", "set", "--tls", "disabled", srv.addr)
    repo = f"{srv.addr}/multi/app"
    amd = crane_image(run, tools, tmp_path, f"{repo}:amd64", "amd64")
    arm = crane_image(run, tools, tmp_path, f"{repo}:arm64", "arm64")
    run(regctl, "index", "create", f"{repo}:multi", "--ref", f"{repo}:amd64", "--ref", f"{repo}:arm64")
    index = json.loads(run(regctl, "manifest", "get", "--format", "raw-body", f"{repo}:multi").stdout)
    assert {m["digest"] for m in index["manifests"]} == {amd, arm}
    index_digest = run(regctl, "image", "digest", f"{repo}:multi").stdout.strip()
    # Only the index keeps the children: their own tags go (regctl's tag delete).
    run(regctl, "tag", "delete", f"{repo}:amd64")
    run(regctl, "tag", "delete", f"{repo}:arm64")
    c.gc()
    out = tmp_path / "pulled.tar"
    run(crane, "pull", "--insecure", "--platform", "linux/arm64", f"{repo}:multi", out)
    assert out.stat().st_size > 50_000

    # Untagged index: in the recycle bin, children kept, still pullable by digest.
    run(regctl, "tag", "delete", f"{repo}:multi")
    rep = c.gc()
    assert rep["deleted"]["manifests"] == 0, rep
    run(crane, "pull", "--insecure", "--platform", "linux/amd64", f"{repo}@{index_digest}", out)
    trash = {t["digest"]: t for t in c.get("/arca/v1/repositories/multi/app/trash").json()["trash"]}
    assert trash[index_digest]["tags"] == ["multi"]
    assert amd not in trash and arm not in trash  # the index keeps them
    # (crane mutate left the pre-platform images untagged: they are in the bin too.)
    assert all(t["reason"] == "untagged" for t in trash.values())

    # Purged: the index and both children go, and their configs; their layers stay, because
    # the pre-platform images in the bin reference them too.
    children = [json.loads(run(crane, "manifest", "--insecure", f"{repo}@{d}").stdout) for d in (amd, arm)]
    configs = {m["config"]["digest"] for m in children}
    layers = {m["layers"][0]["digest"] for m in children}
    assert c.expire("multi/app", index_digest).status == 202
    rep = c.gc()
    gone = {a["digest"] for a in rep["actions"] if a["action"] == "delete-manifest"}
    assert gone == {index_digest, amd, arm}, rep
    assert {a["digest"] for a in rep["actions"] if a["action"] == "delete-blob"} == configs, rep
    for layer in layers:
        assert c.head(f"/v2/multi/app/blobs/{layer}").status == 200
    for d in (index_digest, amd, arm):
        proc = run(crane, "manifest", "--insecure", f"{repo}@{d}", check=False)
        assert proc.returncode != 0, f"{d} still served"


def test_oras_referrer_goes_with_its_deleted_subject(make_server, tmp_path, run, tools):
    srv, c = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"])
    oras = os.path.join(tools, "oras")
    repo = f"{srv.addr}/art/sbom"
    (tmp_path / "artifact.txt").write_text("the artifact\n")
    (tmp_path / "sig.txt").write_text("a signature\n")
    (tmp_path / "keep.txt").write_text("kept\n")
    run(oras, "push", "--plain-http", "--artifact-type", "application/vnd.example.thing",
        f"{repo}:v1", "artifact.txt:text/plain", cwd=tmp_path)
    run(oras, "push", "--plain-http", "--artifact-type", "application/vnd.example.thing",
        f"{repo}:keep", "keep.txt:text/plain", cwd=tmp_path)
    run(oras, "attach", "--plain-http", "--artifact-type", "application/vnd.example.sig",
        f"{repo}:v1", "sig.txt:text/plain", cwd=tmp_path)
    subject = run(oras, "resolve", "--plain-http", f"{repo}:v1").stdout.strip()
    found = json.loads(run(oras, "discover", "--plain-http", "--format", "json", f"{repo}:v1").stdout)
    referrers = found.get("referrers", found.get("manifests", []))
    assert len(referrers) == 1
    sig = referrers[0]["digest"]

    rep = c.gc()  # the subject is tagged: nothing goes
    assert rep["deleted"]["manifests"] == 0, rep
    run(oras, "manifest", "delete", "--plain-http", "--force", f"{repo}@{subject}")
    rep = c.gc()
    gone = {a["digest"] for a in rep["actions"] if a["action"] in ("delete-manifest", "purge-manifest")}
    assert gone == {subject, sig}, rep
    assert run(oras, "manifest", "fetch", "--plain-http", f"{repo}@{sig}", check=False).returncode != 0
    # The other artifact pulls completely.
    out = tmp_path / "out"
    run(oras, "pull", "--plain-http", "-o", out, f"{repo}:keep")
    assert (out / "keep.txt").read_text() == "kept\n"


def test_skopeo_delete_goes_to_the_recycle_bin_and_restores(make_server, tmp_path, run, tools):
    """skopeo (Debian's) deletes by digest; the manifest waits in the bin and comes back whole."""
    if not shutil.which("skopeo"):
        pytest.fail("skopeo is not installed (scripts/deps.sh test installs it)")
    srv, c = make_server(["--gc-retention", "7d", "--gc-blob-grace", "0"])
    src = f"{srv.addr}/bin/src"
    crane_image(run, tools, tmp_path, f"{src}:v1", "amd64")
    tls = "--src-tls-verify=false", "--dest-tls-verify=false"
    run("skopeo", "copy", *tls, f"docker://{src}:v1", f"docker://{srv.addr}/bin/copy:v1")
    digest = json.loads(run("skopeo", "inspect", "--tls-verify=false",
                            f"docker://{srv.addr}/bin/copy:v1").stdout)["Digest"]
    run("skopeo", "delete", "--tls-verify=false", f"docker://{srv.addr}/bin/copy:v1")
    assert run("skopeo", "inspect", "--tls-verify=false", f"docker://{srv.addr}/bin/copy:v1",
               check=False).returncode != 0
    rep = c.gc()  # within the retention: nothing of it goes
    assert digest not in {a["digest"] for a in rep["actions"]}, rep
    trash = c.get("/arca/v1/repositories/bin/copy/trash").json()["trash"]
    assert [(t["digest"], t["reason"], t["tags"]) for t in trash] == [(digest, "deleted", ["v1"])]
    assert c.restore("bin/copy", digest).json()["restored"] == ["v1"]
    out = tmp_path / "restored"
    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{srv.addr}/bin/copy:v1", f"dir:{out}")
    raw = (out / "manifest.json").read_bytes()  # dir: keeps the manifest as stored
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    for layer in json.loads(raw)["layers"]:  # and every layer came, whole
        data = (out / layer["digest"].split(":")[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]
