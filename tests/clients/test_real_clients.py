"""Real clients against a running arca: skopeo, podman (Debian packages), oras, crane, regctl.

Images are built locally with umoci (there is no network to pull from); see conftest.py.
Issue 2: "an image built with umoci copied to Arca with skopeo copy and back, byte-identical
digests; skopeo copy --all of a multi-platform index; skopeo inspect, list-tags, delete;
podman push and podman pull (vfs storage)".
"""
import json
import os
import re

import pytest
import requests

from client_helpers import Layout, require_tool
from testkit import ALL_MANIFEST_TYPES, DOCKER_LIST, DOCKER_MANIFEST
from testkit import sha256 as digest_of

MANIFEST_ACCEPT = ", ".join(ALL_MANIFEST_TYPES)


def get_manifest(arca, repo, ref):
    r = requests.get(f"{arca.url}/v2/{repo}/manifests/{ref}",
                     headers={"Accept": MANIFEST_ACCEPT}, timeout=30)
    return r


def skopeo_push(run, layout, ref, arca, repo, tag, *extra):
    require_tool("skopeo")
    run("skopeo", "copy", "--dest-tls-verify=false", *extra,
        f"oci:{layout.path}:{ref}", f"docker://{arca.addr}/{repo}:{tag}")


# ---------------------------------------------------------------------------- skopeo

def test_skopeo_copy_roundtrip_is_byte_identical(run, arca, layout, tmp_path):
    repo = "clients/skopeo/roundtrip"
    src = layout.descriptor("amd64")
    skopeo_push(run, layout, "amd64", arca, repo, "v1", "--preserve-digests")

    # what the registry serves is exactly what umoci wrote
    r = get_manifest(arca, repo, "v1")
    assert r.status_code == 200
    assert r.content == layout.blob(src["digest"])
    assert r.headers.get("Docker-Content-Digest") == src["digest"]
    assert r.headers.get("Content-Type") == src["mediaType"]

    out = Layout(str(tmp_path / "back"))
    run("skopeo", "copy", "--src-tls-verify=false", "--preserve-digests",
        f"docker://{arca.addr}/{repo}:v1", f"oci:{out.path}:v1")
    back = out.descriptor("v1")
    assert back["digest"] == src["digest"]
    assert back["size"] == src["size"]
    for d in layout.closure(src["digest"]):
        assert out.has_blob(d), f"{d} missing after the round trip"
        assert out.blob(d) == layout.blob(d), f"{d} differs after the round trip"
        assert digest_of(out.blob(d)) == d


def test_skopeo_copy_all_multi_platform_index(run, arca, layout, tmp_path):
    repo = "clients/skopeo/multi"
    idx = layout.descriptor("multi")
    skopeo_push(run, layout, "multi", arca, repo, "latest", "--all", "--preserve-digests")

    r = get_manifest(arca, repo, "latest")
    assert r.status_code == 200
    assert r.content == layout.blob(idx["digest"])
    assert r.headers.get("Docker-Content-Digest") == idx["digest"]
    assert r.headers.get("Content-Type") == "application/vnd.oci.image.index.v1+json"
    for child in json.loads(r.content)["manifests"]:
        c = get_manifest(arca, repo, child["digest"])
        assert c.status_code == 200 and c.content == layout.blob(child["digest"])

    raw = run("skopeo", "inspect", "--tls-verify=false", "--raw",
              f"docker://{arca.addr}/{repo}:latest").stdout
    assert raw.encode() == layout.blob(idx["digest"])

    out = Layout(str(tmp_path / "multi-back"))
    run("skopeo", "copy", "--all", "--src-tls-verify=false", "--preserve-digests",
        f"docker://{arca.addr}/{repo}:latest", f"oci:{out.path}:multi")
    assert out.descriptor("multi")["digest"] == idx["digest"]
    for d in layout.closure(idx["digest"]):
        assert out.has_blob(d) and out.blob(d) == layout.blob(d), f"{d} differs"

    # a single platform picked out of the index by a client
    one = Layout(str(tmp_path / "arm64-only"))
    run("skopeo", "--override-arch", "arm64", "--override-os", "linux", "copy",
        "--src-tls-verify=false", f"docker://{arca.addr}/{repo}:latest", f"oci:{one.path}:arm")
    assert one.descriptor("arm")["digest"] == layout.descriptor("arm64")["digest"]


def test_skopeo_inspect_list_tags_delete(run, arca, layout):
    repo = "clients/skopeo/manage"
    amd = layout.descriptor("amd64")
    arm = layout.descriptor("arm64")
    for tag in ("one", "two", "three"):
        skopeo_push(run, layout, "amd64", arca, repo, tag)
    skopeo_push(run, layout, "arm64", arca, repo, "other")
    ref = f"docker://{arca.addr}/{repo}"

    info = json.loads(run("skopeo", "inspect", "--tls-verify=false", f"{ref}:one").stdout)
    manifest = layout.manifest("amd64")
    assert info["Digest"] == amd["digest"]
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Labels"]["org.example.arca"] == "amd64"
    assert info["Layers"] == [layer["digest"] for layer in manifest["layers"]]
    assert sorted(info["RepoTags"]) == ["one", "other", "three", "two"]

    config = run("skopeo", "inspect", "--tls-verify=false", "--config", "--raw",
                 f"{ref}:one").stdout
    assert config.encode() == layout.blob(manifest["config"]["digest"])

    tags = json.loads(run("skopeo", "list-tags", "--tls-verify=false", ref).stdout)
    assert tags["Tags"] == ["one", "other", "three", "two"]

    # skopeo delete resolves the tag and deletes the manifest by digest: every tag on it goes
    run("skopeo", "delete", "--tls-verify=false", f"{ref}:two")
    assert get_manifest(arca, repo, amd["digest"]).status_code == 404
    for tag in ("one", "two", "three"):
        assert get_manifest(arca, repo, tag).status_code == 404, tag
    failed = run("skopeo", "inspect", "--tls-verify=false", f"{ref}:one", check=False)
    assert failed.returncode != 0
    tags = json.loads(run("skopeo", "list-tags", "--tls-verify=false", ref).stdout)
    assert tags["Tags"] == ["other"]
    assert get_manifest(arca, repo, "other").headers.get("Docker-Content-Digest") == arm["digest"]


def test_skopeo_docker_manifest_list_and_schema1_refusal(run, arca, layout, tmp_path):
    repo = "clients/skopeo/docker"
    ref = f"docker://{arca.addr}/{repo}"
    # skopeo converts the OCI index and its images to a Docker manifest list of schema2 images
    skopeo_push(run, layout, "multi", arca, repo, "list", "--all", "--format", "v2s2")
    r = get_manifest(arca, repo, "list")
    assert r.status_code == 200
    assert r.headers.get("Content-Type") == DOCKER_LIST
    doc = json.loads(r.content)
    assert doc["mediaType"] == DOCKER_LIST
    assert sorted(m["platform"]["architecture"] for m in doc["manifests"]) == ["amd64", "arm64"]
    for child in doc["manifests"]:
        c = get_manifest(arca, repo, child["digest"])
        assert c.status_code == 200 and c.headers.get("Content-Type") == DOCKER_MANIFEST
        assert digest_of(c.content) == child["digest"]
    raw = run("skopeo", "inspect", "--tls-verify=false", "--raw", f"{ref}:list").stdout
    assert raw.encode() == r.content
    info = json.loads(run("skopeo", "--override-arch", "arm64", "inspect", "--tls-verify=false",
                          f"{ref}:list").stdout)
    assert info["Architecture"] == "arm64" and info["Labels"]["org.example.arca"] == "arm64"
    back = Layout(str(tmp_path / "from-list"))
    run("skopeo", "copy", "--all", "--src-tls-verify=false", f"{ref}:list", f"oci:{back.path}:l")

    # schema1 is refused with a clear error and nothing is stored
    failed = run("skopeo", "copy", "--dest-tls-verify=false", "--format", "v2s1",
                 f"oci:{layout.path}:amd64", f"{ref}:schema1", check=False)
    assert failed.returncode != 0, "a schema1 manifest was accepted"
    assert re.search(r"schema ?1|schema version 1|schemaVersion", failed.stderr, re.I), \
        f"the refusal does not say why: {failed.stderr[-600:]}"
    assert get_manifest(arca, repo, "schema1").status_code == 404


# ---------------------------------------------------------------------------- podman

def test_podman_push_and_pull(run, arca, layout, podman):
    repo = "clients/podman"
    image_id = podman("pull", f"oci:{layout.path}:amd64").stdout.strip().splitlines()[-1]
    podman("tag", image_id, f"{arca.addr}/{repo}:oci", f"{arca.addr}/{repo}:docker")
    diff_ids = json.loads(layout.blob(layout.manifest("amd64")["config"]["digest"]))[
        "rootfs"]["diff_ids"]

    pushed = {}
    for tag, fmt in (("oci", "oci"), ("docker", "v2s2")):
        digest_file = os.path.join(run.root, f"podman-{tag}.digest")
        podman("push", "--tls-verify=false", "--format", fmt, "--digestfile", digest_file,
               f"{arca.addr}/{repo}:{tag}")
        with open(digest_file) as f:
            pushed[tag] = f.read().strip()
        r = get_manifest(arca, repo, tag)
        assert r.status_code == 200
        assert r.headers.get("Docker-Content-Digest") == pushed[tag]
        assert digest_of(r.content) == pushed[tag]
        want_type = (DOCKER_MANIFEST if fmt == "v2s2"
                     else "application/vnd.oci.image.manifest.v1+json")
        assert r.headers.get("Content-Type") == want_type
        # mediaType is optional in an OCI manifest and required in a Docker one
        assert json.loads(r.content).get("mediaType", want_type) == want_type

    for tag in ("oci", "docker"):
        podman("rmi", "--all", "--force")
        podman("pull", "--tls-verify=false", f"{arca.addr}/{repo}:{tag}")
        inspect = json.loads(podman("image", "inspect", f"{arca.addr}/{repo}:{tag}").stdout)[0]
        assert inspect["Digest"] == pushed[tag]
        assert f"{arca.addr}/{repo}@{pushed[tag]}" in inspect["RepoDigests"]
        # the layers podman unpacked are the ones umoci built
        assert inspect["RootFS"]["Layers"] == diff_ids
        assert inspect["Architecture"] == "amd64"
        assert inspect["Config"]["Labels"]["org.example.arca"] == "amd64"
    # and by digest
    podman("rmi", "--all", "--force")
    podman("pull", "--tls-verify=false", f"{arca.addr}/{repo}@{pushed['docker']}")
    inspect = json.loads(podman("image", "inspect", f"{arca.addr}/{repo}@{pushed['docker']}").stdout)[0]
    assert inspect["RootFS"]["Layers"] == diff_ids


# ---------------------------------------------------------------------------- Go clients

@pytest.fixture(scope="module")
def pushed_base(run, arca, layout):
    """amd64 and the multi-platform index pushed once with skopeo, for the Go clients."""
    repo = "clients/base"
    skopeo_push(run, layout, "amd64", arca, repo, "amd64")
    skopeo_push(run, layout, "multi", arca, repo, "multi", "--all")
    return repo


def test_oras_artifact_push_pull_attach_discover(run, arca, go_tools_bin, tmp_path, monkeypatch):
    oras = os.path.join(go_tools_bin, "oras")
    repo = "clients/oras"
    ref = f"{arca.addr}/{repo}:v1"
    work = tmp_path / "oras"
    work.mkdir()
    (work / "notes.txt").write_text("an artifact, not an image\n")
    (work / "signature.txt").write_text("signed, honestly\n")
    monkeypatch.chdir(work)  # oras pushes files by relative path and records that name

    run(oras, "push", "--plain-http", "--no-tty", "--artifact-type",
        "application/vnd.arca.test.notes.v1", ref, "notes.txt:text/plain",
        "--annotation", "org.example.kind=notes")
    man = json.loads(run(oras, "manifest", "fetch", "--plain-http", ref).stdout)
    assert man["artifactType"] == "application/vnd.arca.test.notes.v1"
    assert man["layers"][0]["mediaType"] == "text/plain"
    subject = get_manifest(arca, repo, "v1").headers["Docker-Content-Digest"]

    out = tmp_path / "pulled"
    run(oras, "pull", "--plain-http", "--no-tty", ref, "-o", out)
    assert (out / "notes.txt").read_text() == "an artifact, not an image\n"

    attached = json.loads(run(
        oras, "attach", "--plain-http", "--no-tty", "--artifact-type",
        "application/vnd.arca.test.signature.v1", "--annotation", "org.example.signer=tests",
        "--format", "json", ref, "signature.txt:text/plain").stdout)
    referrer = attached.get("digest") or attached.get("Digest")
    assert referrer, attached

    disc = json.loads(run(oras, "discover", "--plain-http", "--no-tty", "--format", "json",
                          "--distribution-spec", "v1.1-referrers-api", ref).stdout)
    found = disc.get("referrers", disc.get("manifests", []))
    assert [d["digest"] for d in found] == [referrer], disc
    assert found[0]["artifactType"] == "application/vnd.arca.test.signature.v1"
    assert found[0].get("annotations", {}).get("org.example.signer") == "tests"

    # filtered discovery goes through the referrers API's artifactType filter
    disc = json.loads(run(oras, "discover", "--plain-http", "--no-tty", "--format", "json",
                          "--distribution-spec", "v1.1-referrers-api",
                          "--artifact-type", "application/vnd.other", ref).stdout)
    assert not disc.get("referrers", disc.get("manifests", [])), disc

    # the registry advertised referrers support (OCI-Subject), so no fallback tag was made
    tags = requests.get(f"{arca.url}/v2/{repo}/tags/list", timeout=30).json()["tags"]
    assert tags == ["v1"], f"oras fell back to the referrers tag schema: {tags}"
    r = requests.get(f"{arca.url}/v2/{repo}/referrers/{subject}", timeout=30)
    assert r.status_code == 200
    assert [d["digest"] for d in r.json()["manifests"]] == [referrer]


def test_crane_copy_digest_ls(run, arca, layout, pushed_base, go_tools_bin):
    crane = os.path.join(go_tools_bin, "crane")
    src = f"{arca.addr}/{pushed_base}"
    dst_repo = "clients/crane"
    dst = f"{arca.addr}/{dst_repo}"

    # same registry: crane mounts the blobs across repositories
    run(crane, "copy", "--insecure", f"{src}:amd64", f"{dst}:copied")
    run(crane, "copy", "--insecure", f"{src}:multi", f"{dst}:multi")
    amd = layout.descriptor("amd64")["digest"]
    multi = layout.descriptor("multi")["digest"]
    assert run(crane, "digest", "--insecure", f"{dst}:copied").stdout.strip() == amd
    assert run(crane, "digest", "--insecure", f"{dst}:multi").stdout.strip() == multi
    arm = run(crane, "digest", "--insecure", "--platform", "linux/arm64", f"{dst}:multi")
    assert arm.stdout.strip() == layout.descriptor("arm64")["digest"]
    body = run(crane, "manifest", "--insecure", f"{dst}:copied").stdout
    assert body.encode() == layout.blob(amd)

    run(crane, "tag", "--insecure", f"{dst}:copied", "also")
    assert run(crane, "ls", "--insecure", dst).stdout.split() == ["also", "copied", "multi"]
    catalog = run(crane, "catalog", "--insecure", arca.addr).stdout.split()
    assert dst_repo in catalog and pushed_base in catalog

    for d in layout.closure(amd):
        r = requests.head(f"{arca.url}/v2/{dst_repo}/blobs/{d}", timeout=30)
        if d != amd:
            assert r.status_code == 200, f"blob {d} not in {dst_repo} after crane copy"

    run(crane, "delete", "--insecure", f"{dst}@{multi}")
    assert get_manifest(arca, dst_repo, "multi").status_code == 404
    assert run(crane, "ls", "--insecure", dst).stdout.split() == ["also", "copied"]


def test_regctl_manifest_get(run, arca, layout, pushed_base, go_tools_bin):
    regctl = os.path.join(go_tools_bin, "regctl")
    run(regctl, "registry", "set", "--tls", "disabled", arca.addr)
    ref = f"{arca.addr}/{pushed_base}"
    amd = layout.descriptor("amd64")["digest"]

    raw = run(regctl, "manifest", "get", "--format", "raw-body", f"{ref}:amd64").stdout
    assert raw.encode() == layout.blob(amd)
    assert run(regctl, "manifest", "head", f"{ref}:amd64").stdout.strip() == amd
    got = json.loads(run(regctl, "manifest", "get", "--format", "{{json .}}",
                         "--platform", "linux/arm64", f"{ref}:multi").stdout)
    assert got["config"]["digest"] == layout.manifest("arm64")["config"]["digest"]
    assert run(regctl, "tag", "ls", ref).stdout.split() == ["amd64", "multi"]
    cfg = run(regctl, "blob", "get", ref, layout.manifest("amd64")["config"]["digest"]).stdout
    assert cfg.encode() == layout.blob(layout.manifest("amd64")["config"]["digest"])
