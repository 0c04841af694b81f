"""Identification at push (docs/arca-api.md "Identification") of real-shaped artifacts, checked
through GET /arca/v1/repositories/<name>/artifacts: type, title, size, tags, referrers, indexed
fields, platform and creation time, and the type's logo.

Issue 4: "Push real-shaped artifacts built to their published formats — a Helm chart, a SIF
image, a CNAB bundle as a typed index over images, an OPA bundle, a cosign-style signature and
an SBOM as referrers — and check identification, listing, filtering, indexed fields and logos."
"""
import json
import os
import re
import uuid

from typelib import (ARTIFACT_TYPE_ANNOTATION, CNAB_CONFIG, CNAB_TYPE, COSIGN_SIG,
                     COSIGN_SIMPLESIGNING, DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST,
                     HELM_CHART, HELM_CONFIG, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
                     OPA_CONFIG, OPA_LAYER, SIF_CONFIG, SIF_LAYER, SPDX_JSON, UNKNOWN_TYPE,
                     Pushed, assert_error, assert_svg_response, build_artifact, build_helm,
                     build_image, build_index, check_artifact, describe, manifest_size,
                     opa_bundle, parse_rfc3339, sha256, sif_file, tar_gz)


def fetch(arca, repo, ref):
    r = arca.get_manifest(repo, ref)
    assert r.status_code == 200, describe(r)
    return r.content


def blob(arca, repo, digest):
    r = arca.get(f"/v2/{repo}/blobs/{digest}")
    assert r.status_code == 200, describe(r)
    return r.content


def check_logo(arca, type_id):
    """The type has a logo (every built-in type in issue 4 has one) and it is served as SVG,
    with the identifier written as is and percent-encoded."""
    summary = [t for t in arca.types() if t["mediaType"] == type_id]
    assert len(summary) == 1, f"{type_id} is not in GET /arca/v1/types"
    assert summary[0].get("hasLogo") is True, summary[0]
    r1 = arca.logo(type_id)
    assert_svg_response(r1)
    r2 = arca.logo(type_id, encoded=True)
    assert_svg_response(r2)
    assert r1.content == r2.content


# ------------------------------------------------------------------ Helm (the real client)

def test_helm_chart_pushed_with_helm(arca, arca_server, run, tool, tmp_path):
    helm = tool("helm")
    chart = f"arca-chart-{uuid.uuid4().hex[:8]}"
    run(helm, "create", chart, cwd=tmp_path)
    run(helm, "package", chart, cwd=tmp_path)
    tgz = tmp_path / f"{chart}-0.1.0.tgz"
    assert tgz.exists(), os.listdir(tmp_path)
    out = run(helm, "push", tgz, f"oci://{arca_server.addr}/charts", "--plain-http", cwd=tmp_path)
    repo = f"charts/{chart}"
    m = re.search(r"Digest:\s*(sha256:[0-9a-f]{64})", out.stdout + out.stderr)
    assert m, out.stdout + out.stderr
    digest = m.group(1)

    body = fetch(arca, repo, "0.1.0")
    assert sha256(body) == digest
    doc = json.loads(body)
    # what helm published (helm.sh/docs/topics/registries): the Helm config and chart layer
    assert doc["config"]["mediaType"] == HELM_CONFIG
    assert [l["mediaType"] for l in doc["layers"]] == [HELM_CHART]
    config = blob(arca, repo, doc["config"]["digest"])
    assert json.loads(config)["name"] == chart and json.loads(config)["version"] == "0.1.0"

    a = check_artifact(arca, repo, digest, OCI_MANIFEST, HELM_CONFIG, size=manifest_size(body),
                       tags=["0.1.0"], config=config)
    assert "Helm" in a["title"] or "helm" in a["title"].lower(), a
    # issue 4: the chart's name and version are indexed
    assert chart in a["fields"].values() and "0.1.0" in a["fields"].values(), a
    assert a.get("platform") in (None, {}), "a chart has no platform"

    # filters: the chart is listed under its type, not under the image type
    assert [x["digest"] for x in arca.artifacts(repo, HELM_CONFIG)] == [digest]
    assert arca.artifacts(repo, OCI_CONFIG) == []
    repos = {r["name"]: r for r in arca.repositories(HELM_CONFIG)}
    assert repo in repos and HELM_CONFIG in repos[repo]["types"], repos.get(repo)
    assert repo not in {r["name"] for r in arca.repositories(SIF_CONFIG)}
    check_logo(arca, HELM_CONFIG)


# ------------------------------------------------------------------ SIF (oras)

def test_sif_image_pushed_with_oras(arca, arca_server, run, tool, repo, tmp_path):
    oras = tool("oras")
    name = repo("sif")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "lolcow_latest.sif").write_bytes(sif_file())
    # what `singularity push oras://` publishes: an empty JSON config of the SIF config type and
    # the SIF file as the one layer, titled with its file name
    run(oras, "push", "--plain-http", "--no-tty", f"{arca_server.addr}/{name}:latest",
        "--config", f"config.json:{SIF_CONFIG}", f"lolcow_latest.sif:{SIF_LAYER}", cwd=tmp_path)
    body = fetch(arca, name, "latest")
    doc = json.loads(body)
    assert doc["config"]["mediaType"] == SIF_CONFIG and doc.get("artifactType") is None
    assert doc["layers"][0]["mediaType"] == SIF_LAYER
    check_artifact(arca, name, sha256(body), OCI_MANIFEST, SIF_CONFIG, size=manifest_size(body),
                   tags=["latest"], config=b"{}")
    assert [a["digest"] for a in arca.artifacts(name, SIF_CONFIG)] == [sha256(body)]
    check_logo(arca, SIF_CONFIG)


# ------------------------------------------------------------------ OPA bundle (oras)

def test_opa_bundle_pushed_with_oras(arca, arca_server, run, tool, repo, tmp_path):
    oras = tool("oras")
    name = repo("policies")
    (tmp_path / "bundle.tar.gz").write_bytes(opa_bundle())
    # as OPA's docs and trivy-checks push bundles: an empty config of the OPA config type
    run(oras, "push", "--plain-http", "--no-tty", f"{arca_server.addr}/{name}:v1",
        "--config", f"/dev/null:{OPA_CONFIG}", f"bundle.tar.gz:{OPA_LAYER}", cwd=tmp_path)
    body = fetch(arca, name, "v1")
    doc = json.loads(body)
    assert doc["config"]["mediaType"] == OPA_CONFIG and doc["config"]["size"] == 0
    check_artifact(arca, name, sha256(body), OCI_MANIFEST, OPA_CONFIG, size=manifest_size(body),
                   tags=["v1"], config=b"")
    assert [a["digest"] for a in arca.artifacts(name, OPA_CONFIG)] == [sha256(body)]
    check_logo(arca, OPA_CONFIG)


# ------------------------------------------------------------------ CNAB: a typed index

def cnab_bundle_json(invocation, component):
    """bundle.json (cnab-spec 101) in canonical JSON (sorted keys, no spaces)."""
    b = {"schemaVersion": "v1.0.0", "name": "helloworld", "version": "0.1.1",
         "description": "A short description of your bundle",
         "keywords": ["helloworld", "cnab", "tutorial"],
         "maintainers": [{"name": "Jane Doe", "email": "jane.doe@example.com"}],
         "invocationImages": [{"imageType": "docker", "image": "example.com/hello:0.1.1-invoc",
                               "contentDigest": invocation.digest, "size": len(invocation.body),
                               "mediaType": OCI_MANIFEST}],
         "images": {"web": {"imageType": "docker", "image": "example.com/web:1",
                            "contentDigest": component.digest, "size": len(component.body),
                            "mediaType": OCI_MANIFEST, "description": "web"}}}
    return json.dumps(b, sort_keys=True, separators=(",", ":")).encode()


def test_cnab_bundle_is_a_typed_index_over_images(arca, repo):
    name = repo("bundles")
    # invocation and component images share their base layer, as real bundles do
    base, _ = tar_gz({"bin/busybox": os.urandom(4096)})
    inv_top, _ = tar_gz({"cnab/app/run": b"#!/bin/sh\necho install\n"})
    web_top, _ = tar_gz({"srv/index.html": b"<h1>hello</h1>\n"})
    invocation = build_image(arca, name, layers=[base, inv_top])
    component = build_image(arca, name, layers=[base, web_top])
    arca.push(invocation)
    arca.push(component)

    # the bundle.json "config manifest" exactly as cnab-to-oci writes it (converter/types.go:
    # an OCI manifest without mediaType whose config is the bundle.json)
    bundle = cnab_bundle_json(invocation, component)
    arca.push_blob(name, bundle)
    cfg_doc = {"schemaVersion": 2,
               "config": {"mediaType": CNAB_CONFIG, "digest": sha256(bundle), "size": len(bundle)},
               "layers": []}
    cfg_manifest = Pushed(name, json.dumps(cfg_doc, separators=(",", ":")).encode(), OCI_MANIFEST,
                          {sha256(bundle): len(bundle)})
    arca.push(cfg_manifest)

    # the top-level index (cnab-spec 201 / cnab-to-oci converter/convert.go): config manifest,
    # invocation image, component images, typed by the org.opencontainers.artifactType annotation
    idx_doc = {"schemaVersion": 2, "manifests": [
        dict(cfg_manifest.desc(), annotations={"io.cnab.manifest.type": "config"}),
        dict(invocation.desc(), annotations={"io.cnab.manifest.type": "invocation"}),
        dict(component.desc(), annotations={"io.cnab.manifest.type": "component",
                                            "io.cnab.component.name": "web"})],
        "annotations": {"io.cnab.keywords": "[\"helloworld\",\"cnab\",\"tutorial\"]",
                        "io.cnab.runtime_version": "v1.0.0",
                        ARTIFACT_TYPE_ANNOTATION: CNAB_TYPE,
                        "org.opencontainers.image.authors":
                            "[{\"name\":\"Jane Doe\",\"email\":\"jane.doe@example.com\"}]",
                        "org.opencontainers.image.description": "A short description of your bundle",
                        "org.opencontainers.image.title": "helloworld",
                        "org.opencontainers.image.version": "0.1.1"}}
    index = Pushed(name, json.dumps(idx_doc, separators=(",", ":")).encode(), OCI_INDEX,
                   children=[cfg_manifest, invocation, component])
    arca.push(index, ref="0.1.1")

    a = check_artifact(arca, name, index.digest, OCI_INDEX, CNAB_TYPE, tags=["0.1.1"])
    assert "CNAB" in a["title"] or "bundle" in a["title"].lower(), a
    # the children keep their own types
    check_artifact(arca, name, invocation.digest, OCI_MANIFEST, OCI_CONFIG,
                   size=invocation.total_size(), tags=[])
    c = arca.artifact(name, cfg_manifest.digest)
    assert c["artifactType"] == CNAB_CONFIG and c["size"] == cfg_manifest.total_size(), c
    assert [x["digest"] for x in arca.artifacts(name, CNAB_TYPE)] == [index.digest]
    assert sorted(x["digest"] for x in arca.artifacts(name, OCI_CONFIG)) == \
        sorted([invocation.digest, component.digest])
    assert arca.artifacts(name, OCI_INDEX) == [], "a CNAB index is not a multi-platform index"
    check_logo(arca, CNAB_TYPE)


# ------------------------------------------------------------------ images and indexes

def test_multi_platform_index_and_its_images(arca, repo):
    name = repo("multi")
    amd = build_image(arca, name, "amd64", created="2024-03-01T10:00:00Z")
    arm = build_image(arca, name, "arm64", variant="v8", created="2024-03-02T11:30:00.5Z")
    arca.push(amd)
    arca.push(arm)
    index = build_index(name, [amd, arm], platforms=[
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64", "variant": "v8"}])
    arca.push(index, ref="latest")

    a = check_artifact(arca, name, index.digest, OCI_INDEX, OCI_INDEX, tags=["latest"])
    assert a["title"] != arca.title_of(OCI_CONFIG), "the index has the index type's title"
    # the index lists the platform of each child image (from the index's descriptors)
    assert a.get("platforms") == [
        {"digest": amd.digest, "os": "linux", "architecture": "amd64"},
        {"digest": arm.digest, "os": "linux", "architecture": "arm64", "variant": "v8"}], a
    # platforms and creation time per child image, read from each image's config
    x = check_artifact(arca, name, amd.digest, OCI_MANIFEST, OCI_CONFIG, size=amd.total_size(),
                       tags=[])
    assert x.get("platform") == {"os": "linux", "architecture": "amd64"}, x
    assert parse_rfc3339(x.get("created")) == parse_rfc3339("2024-03-01T10:00:00Z"), x
    y = check_artifact(arca, name, arm.digest, OCI_MANIFEST, OCI_CONFIG, size=arm.total_size(),
                       tags=[])
    assert y.get("platform") == {"os": "linux", "architecture": "arm64", "variant": "v8"}, y
    assert parse_rfc3339(y.get("created")) == parse_rfc3339("2024-03-02T11:30:00.5Z"), y
    assert [e["digest"] for e in arca.artifacts(name, OCI_INDEX)] == [index.digest]
    assert sorted(e["digest"] for e in arca.artifacts(name, OCI_CONFIG)) == \
        sorted([amd.digest, arm.digest])
    check_logo(arca, OCI_INDEX)
    check_logo(arca, OCI_CONFIG)


def test_docker_manifest_list_of_docker_images_is_a_multi_platform_index(arca, repo):
    name = repo("docker")
    amd = build_image(arca, name, "amd64", docker=True, created="2023-12-24T18:00:00Z")
    ppc = build_image(arca, name, "ppc64le", docker=True)
    arca.push(amd, ref="amd64")
    arca.push(ppc)
    lst = build_index(name, [amd, ppc], docker=True, platforms=[
        {"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "ppc64le"}])
    arca.push(lst, ref="list")
    e = check_artifact(arca, name, lst.digest, DOCKER_LIST, OCI_INDEX, tags=["list"])
    assert e.get("platforms") == [
        {"digest": amd.digest, "os": "linux", "architecture": "amd64"},
        {"digest": ppc.digest, "os": "linux", "architecture": "ppc64le"}], e
    a = check_artifact(arca, name, amd.digest, DOCKER_MANIFEST, DOCKER_CONFIG,
                       size=amd.total_size(), tags=["amd64"])
    assert a.get("platform") == {"os": "linux", "architecture": "amd64"}, a
    assert parse_rfc3339(a.get("created")) == parse_rfc3339("2023-12-24T18:00:00Z"), a
    b = arca.artifact(name, ppc.digest)
    assert b.get("platform") == {"os": "linux", "architecture": "ppc64le"}, b
    check_logo(arca, DOCKER_CONFIG)


def test_index_types_artifact_type_then_annotation_then_children(arca, repo):
    name = repo("indexes")
    img = build_image(arca, name)
    arca.push(img)

    # artifactType wins over the legacy annotation
    both = build_index(name, [img], artifact_type="application/vnd.example.bundle.v1",
                       annotations={ARTIFACT_TYPE_ANNOTATION: CNAB_TYPE})
    arca.push(both)
    assert arca.artifact(name, both.digest)["artifactType"] == "application/vnd.example.bundle.v1"
    # an index of indexes is not "every child an image manifest": its own media type
    nested = build_index(name, [build_index(name, [img], docker=True)], docker=True)
    arca.push(nested.children[0])
    arca.push(nested)
    assert arca.artifact(name, nested.digest)["artifactType"] == DOCKER_LIST
    assert arca.artifact(name, nested.children[0].digest)["artifactType"] == OCI_INDEX


def test_manifest_artifact_type_wins_over_config_media_type(arca, repo):
    name = repo("manifests")
    art = build_artifact(arca, name, OCI_EMPTY, b"{}", [(SPDX_JSON, b'{"spdxVersion":"SPDX-2.3"}')],
                         artifact_type=SPDX_JSON)
    arca.push(art, ref="sbom")
    check_artifact(arca, name, art.digest, OCI_MANIFEST, SPDX_JSON, size=art.total_size(),
                   tags=["sbom"])
    # no artifactType: the config media type
    helm = build_helm(arca, name, "web", "2.3.4")
    arca.push(helm, ref="2.3.4")
    config = blob(arca, name, json.loads(helm.body)["config"]["digest"])
    a = check_artifact(arca, name, helm.digest, OCI_MANIFEST, HELM_CONFIG, size=helm.total_size(),
                       tags=["2.3.4"], config=config)
    assert "web" in a["fields"].values() and "2.3.4" in a["fields"].values(), a


# ------------------------------------------------------------------ referrers (oras attach)

def test_signature_and_sbom_attached_as_referrers(arca, arca_server, run, tool, repo, tmp_path):
    oras = tool("oras")
    name = repo("app")
    img = build_image(arca, name)
    arca.push(img, ref="v1")
    ref = f"{arca_server.addr}/{name}:v1"

    # a cosign-style signature (cosign --registry-referrers-mode=oci-1-1): the simple-signing
    # payload as the layer, the base64 signature as its annotation
    payload = {"critical": {"identity": {"docker-reference": f"{arca_server.addr}/{name}"},
                            "image": {"docker-manifest-digest": img.digest},
                            "type": "cosign container image signature"}, "optional": None}
    (tmp_path / "payload.json").write_text(json.dumps(payload, separators=(",", ":")))
    (tmp_path / "annotations.json").write_text(json.dumps({"payload.json": {
        "dev.cosignproject.cosign/signature": "MEUCIQDx2+dGVzdHNpZ25hdHVyZQ=="}}))
    out = run(oras, "attach", "--plain-http", "--no-tty", "--format", "json",
              "--artifact-type", COSIGN_SIG, "--annotation-file", "annotations.json",
              ref, f"payload.json:{COSIGN_SIMPLESIGNING}", cwd=tmp_path)
    sig = json.loads(out.stdout)["digest"]

    spdx = {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
            "name": name, "documentNamespace": f"https://example.com/spdx/{uuid.uuid4()}",
            "creationInfo": {"created": "2024-05-01T12:00:00Z", "creators": ["Tool: typelib"]},
            "packages": [{"name": "busybox", "SPDXID": "SPDXRef-Package-busybox",
                          "versionInfo": "1.36.1", "downloadLocation": "NOASSERTION"}]}
    (tmp_path / "sbom.spdx.json").write_text(json.dumps(spdx, indent=2))
    out = run(oras, "attach", "--plain-http", "--no-tty", "--format", "json",
              "--artifact-type", SPDX_JSON, ref, f"sbom.spdx.json:{SPDX_JSON}", cwd=tmp_path)
    sbom = json.loads(out.stdout)["digest"]

    check_artifact(arca, name, img.digest, OCI_MANIFEST, OCI_CONFIG, size=img.total_size(),
                   tags=["v1"], referrers=2)
    s = check_artifact(arca, name, sig, OCI_MANIFEST, COSIGN_SIG)
    assert "cosign" in s["title"].lower() or "signature" in s["title"].lower(), s
    check_artifact(arca, name, sbom, OCI_MANIFEST, SPDX_JSON)
    assert [a["digest"] for a in arca.artifacts(name, COSIGN_SIG)] == [sig]
    assert [a["digest"] for a in arca.artifacts(name, SPDX_JSON)] == [sbom]

    # the referrers API and its filter use the same identification
    r = arca.referrers(name, img.digest)
    got = {d["digest"]: d["artifactType"] for d in r.json()["manifests"]}
    assert got == {sig: COSIGN_SIG, sbom: SPDX_JSON}, r.json()
    r = arca.referrers(name, img.digest, SPDX_JSON)
    assert [d["digest"] for d in r.json()["manifests"]] == [sbom], r.json()
    assert r.headers.get("OCI-Filters-Applied") == "artifactType", describe(r)
    r = arca.referrers(name, img.digest, COSIGN_SIG)
    assert [d["digest"] for d in r.json()["manifests"]] == [sig], r.json()
    check_logo(arca, COSIGN_SIG)
    check_logo(arca, SPDX_JSON)


def test_index_referrer_follows_the_distribution_spec(arca, repo):
    """docs/arca-api.md: the referrers API uses the same identification "except where the
    distribution-spec rules otherwise: an index without an artifactType is listed without one
    ... so it matches no artifactType filter" (spec: "If the artifactType is empty or missing
    in an index, the artifactType MUST be omitted"). The Arca API still shows the identified
    type of such an index."""
    name = repo("subject")
    subject = build_image(arca, name)
    arca.push(subject, ref="v1")
    child = build_image(arca, name, "s390x")
    arca.push(child)
    ref_index = build_index(name, [child], annotations={ARTIFACT_TYPE_ANNOTATION: CNAB_TYPE},
                            subject=subject.desc())
    r = arca.push(ref_index)
    assert r.headers.get("OCI-Subject") == subject.digest, describe(r)
    plain_index = build_index(name, [child], subject=subject.desc())
    arca.push(plain_index)
    assert arca.artifact(name, ref_index.digest)["artifactType"] == CNAB_TYPE
    assert arca.artifact(name, plain_index.digest)["artifactType"] == OCI_INDEX
    assert arca.artifact(name, subject.digest)["referrers"] == 2

    listed = arca.referrers(name, subject.digest).json()["manifests"]
    assert sorted(d["digest"] for d in listed) == sorted([ref_index.digest, plain_index.digest]), listed
    assert all("artifactType" not in d for d in listed), listed
    for t in (CNAB_TYPE, OCI_INDEX):
        assert arca.referrers(name, subject.digest, t).json()["manifests"] == [], t


# ------------------------------------------------------------------ unknown types

def test_unknown_type_is_stored_and_listed_as_unknown(arca, arca_server, run, tool, repo, tmp_path):
    oras = tool("oras")
    name = repo("misc")
    (tmp_path / "thing.bin").write_bytes(os.urandom(300))
    run(oras, "push", "--plain-http", "--no-tty", "--artifact-type", UNKNOWN_TYPE,
        f"{arca_server.addr}/{name}:v1", "thing.bin:application/octet-stream", cwd=tmp_path)
    body = fetch(arca, name, "v1")
    check_artifact(arca, name, sha256(body), OCI_MANIFEST, UNKNOWN_TYPE, size=manifest_size(body),
                   tags=["v1"], title="Unknown")
    assert_error(arca.get_type(UNKNOWN_TYPE), 404, "NAME_UNKNOWN")
    assert [a["digest"] for a in arca.artifacts(name, UNKNOWN_TYPE)] == [sha256(body)]

    # no artifactType and a config type nobody defined: typed by the config, still "Unknown"
    other = build_artifact(arca, name, "application/vnd.example.nobody.config.v1+json",
                           b'{"a":1}', [("application/octet-stream", b"x" * 10)])
    arca.push(other, ref="v2")
    check_artifact(arca, name, other.digest, OCI_MANIFEST,
                   "application/vnd.example.nobody.config.v1+json", size=other.total_size(),
                   tags=["v2"], title="Unknown")
