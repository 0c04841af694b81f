"""skopeo copies typed artifacts in and out of Arca unchanged (issue 4: "skopeo copies such
artifacts in and out unchanged (byte-identical manifests)").

Each artifact is pushed, copied with skopeo to an OCI layout, then from the layout into another
repository with --preserve-digests; the manifest bytes and digests must be identical at every
step and the copy must be identified exactly like the original. containers/image copies OCI
artifacts (non-image configs) since containers/image#1574; what it refuses by design is
inspecting them and converting their format, which these tests do not ask for.
"""
import json
import os

import pytest

from typelib import (ARTIFACT_TYPE_ANNOTATION, CNAB_CONFIG, CNAB_TYPE, COSIGN_SIG,
                     COSIGN_SIMPLESIGNING, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OPA_CONFIG, OPA_LAYER,
                     SIF_CONFIG, SIF_LAYER, SPDX_JSON, UNKNOWN_TYPE, build_artifact, build_helm,
                     build_image, build_index, describe, opa_bundle, sha256, sif_file)


def helm(arca, repo):
    return [build_helm(arca, repo, "web", "1.2.3")]


def sif(arca, repo):
    return [build_artifact(arca, repo, SIF_CONFIG, b"{}", [(SIF_LAYER, sif_file())],
                           annotations={"org.opencontainers.image.title": "lolcow.sif"})]


def opa(arca, repo):
    return [build_artifact(arca, repo, OPA_CONFIG, b"", [(OPA_LAYER, opa_bundle())])]


def unknown(arca, repo):
    return [build_artifact(arca, repo, OCI_EMPTY, b"{}",
                           [("application/octet-stream", os.urandom(100))],
                           artifact_type=UNKNOWN_TYPE)]


def signed_image(arca, repo):
    """An image and a cosign-style signature referring to it (pushed in that order)."""
    img = build_image(arca, repo)
    sig = build_artifact(arca, repo, OCI_EMPTY, b"{}",
                         [(COSIGN_SIMPLESIGNING, json.dumps({"critical": {"image": {
                             "docker-manifest-digest": img.digest}}}).encode())],
                         artifact_type=COSIGN_SIG, subject=img.desc())
    return [img, sig]


def sbom(arca, repo):
    img = build_image(arca, repo)
    doc = build_artifact(arca, repo, OCI_EMPTY, b"{}",
                         [(SPDX_JSON, b'{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}')],
                         artifact_type=SPDX_JSON, subject=img.desc())
    return [img, doc]


def multi_platform(arca, repo):
    amd = build_image(arca, repo, "amd64")
    arm = build_image(arca, repo, "arm64", variant="v8")
    idx = build_index(repo, [amd, arm], platforms=[
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64", "variant": "v8"}])
    return [amd, arm, idx]


def cnab(arca, repo):
    inv = build_image(arca, repo)
    bundle = json.dumps({"schemaVersion": "v1.0.0", "name": "hello", "version": "0.1.0",
                         "invocationImages": [{"imageType": "docker",
                                               "image": "example.com/hello:0.1.0",
                                               "contentDigest": inv.digest}]},
                        sort_keys=True, separators=(",", ":")).encode()
    cfg = build_artifact(arca, repo, CNAB_CONFIG, bundle, [])
    idx = build_index(repo, [cfg, inv], child_annotations=[
        {"io.cnab.manifest.type": "config"}, {"io.cnab.manifest.type": "invocation"}],
        annotations={ARTIFACT_TYPE_ANNOTATION: CNAB_TYPE, "io.cnab.runtime_version": "v1.0.0",
                     "org.opencontainers.image.title": "hello"})
    return [inv, cfg, idx]


# (builder, expected type of the copied top manifest, copy with --all)
CASES = {
    "helm": (helm, "application/vnd.cncf.helm.config.v1+json", False),
    "sif": (sif, SIF_CONFIG, False),
    "opa": (opa, OPA_CONFIG, False),
    "unknown": (unknown, UNKNOWN_TYPE, False),
    "cosign-signature": (signed_image, COSIGN_SIG, False),
    "spdx-sbom": (sbom, SPDX_JSON, False),
    "multi-platform": (multi_platform, OCI_INDEX, True),
    "cnab": (cnab, CNAB_TYPE, True),
}


def comparable(entry):
    """What must be equal between an artifact and its copy."""
    return {k: entry.get(k) for k in ("mediaType", "artifactType", "title", "size", "fields",
                                      "platform", "created", "tags")}


@pytest.mark.parametrize("kind", list(CASES))
def test_skopeo_copies_typed_artifacts_unchanged(kind, arca, arca_server, run, tool, tmp_path,
                                                 repo):
    skopeo = tool("skopeo")
    build, top_type, copy_all = CASES[kind]
    src = repo("skopeo-src")
    dst = repo("skopeo-dst")
    manifests = build(arca, src)
    for m in manifests[:-1]:
        arca.push(m)
    top = manifests[-1]
    arca.push(top, ref="v1")
    src_entry = arca.artifact(src, top.digest)
    assert src_entry["artifactType"] == top_type, src_entry

    layout = tmp_path / "layout"
    extra = ["--all"] if copy_all else []
    run(skopeo, "copy", "--src-tls-verify=false", "--preserve-digests", *extra,
        f"docker://{arca_server.addr}/{src}:v1", f"oci:{layout}:v1")
    with open(layout / "index.json") as f:
        desc = [d for d in json.load(f)["manifests"]
                if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == "v1"]
    assert len(desc) == 1 and desc[0]["digest"] == top.digest, desc
    with open(layout / "blobs" / "sha256" / top.digest.split(":")[1], "rb") as f:
        assert f.read() == top.body, "skopeo changed the manifest on the way out"

    run(skopeo, "copy", "--dest-tls-verify=false", "--preserve-digests", *extra,
        f"oci:{layout}:v1", f"docker://{arca_server.addr}/{dst}:v1")
    r = arca.get_manifest(dst, "v1")
    assert r.status_code == 200, describe(r)
    assert r.content == top.body and sha256(r.content) == top.digest, \
        "skopeo changed the manifest on the way back in"
    assert r.headers.get("Docker-Content-Digest") == top.digest
    assert comparable(arca.artifact(dst, top.digest)) == comparable(src_entry)
    if copy_all:
        for child in top.children:
            c = arca.get_manifest(dst, child.digest)
            assert c.status_code == 200 and c.content == child.body, describe(c)
            assert comparable(arca.artifact(dst, child.digest)) == \
                comparable(arca.artifact(src, child.digest))
        assert sorted(a["digest"] for a in arca.artifacts(dst)) == \
            sorted([top.digest] + [c.digest for c in top.children])
    # the subject of a referrer is not copied along: skopeo copies what it is given
    if kind in ("cosign-signature", "spdx-sbom"):
        subject = manifests[0]
        assert json.loads(r.content)["subject"]["digest"] == subject.digest
        run(skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
            "--preserve-digests", f"docker://{arca_server.addr}/{src}@{subject.digest}",
            f"docker://{arca_server.addr}/{dst}:subject")
        e = arca.artifact(dst, subject.digest)
        assert e["referrers"] == 1 and e["artifactType"] == OCI_CONFIG, e
        listed = arca.referrers(dst, subject.digest, top_type).json()["manifests"]
        assert [d["digest"] for d in listed] == [top.digest], listed
