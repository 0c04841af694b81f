"""A real CNAB bundle pushed with cnab-to-oci v0.4.1 (issue 9, interoperability).

cnab-to-oci sends the bundle's config manifest as an OCI image manifest with "layers": null
(Go's image-spec type has no omitempty) and no mediaType field. Arca used to refuse it
("layers must be an array"); the client then fell back to Docker schema2 and the bundle config
was stored and typed as a Docker image. Now the OCI form is stored as sent and typed as a CNAB
configuration, with its name and version indexed.

The images the bundle names are pushed first with crane; cnab-to-oci is built from the Go module
proxy by scripts/go-tools.sh like the other clients.
"""
import io
import json
import os
import re
import tarfile

import pytest

import ocihttp
from client_runner import Runner
from ocihttp import OCI_INDEX, OCI_MANIFEST, sha256
from testkit import CNAB_CONFIG, CNAB_TYPE


def built_tool(go_tools_bin, name):
    path = os.path.join(go_tools_bin, name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{name} is not built (scripts/go-tools.sh)", pytrace=False)
    return path


def layer_tar(path, name, content):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(content))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def test_cnab_to_oci_push_stores_the_oci_config_manifest(make_server, go_tools_bin, tmp_path):
    crane, cnab = built_tool(go_tools_bin, "crane"), built_tool(go_tools_bin, "cnab-to-oci")
    srv = make_server()
    reg = ocihttp.Registry(srv.url)
    run = Runner(str(tmp_path / "env"))
    host = srv.addr

    images = {}
    for repo, content in (("cnab/invoc", b"#!/bin/sh\necho install\n"), ("cnab/web", b"web\n")):
        tar = tmp_path / (repo.replace("/", "-") + ".tar")
        layer_tar(tar, "cnab/run" if repo == "cnab/invoc" else "srv/index.html", content)
        run(crane, "append", "--insecure", "--oci-empty-base", "-f", tar, "-t", f"{host}/{repo}:v1")
        images[repo] = run(crane, "digest", "--insecure", f"{host}/{repo}:v1").stdout.strip()

    bundle = {
        "schemaVersion": "v1.0.0",
        "name": "arca-hello",
        "version": "0.1.0",
        "description": "A bundle pushed by Arca's hardening tests",
        "invocationImages": [{"imageType": "docker", "image": f"{host}/cnab/invoc:v1"}],
        "images": {"web": {"imageType": "docker", "image": f"{host}/cnab/web:v1",
                           "description": "the web component"}},
        "actions": {"io.cnab.status": {}},
    }
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(json.dumps(bundle, indent=2))
    # --push-images=false: the images are in the registry already; there is no Docker daemon.
    # --auto-update-bundle: fill in the digests, sizes and media types the bundle leaves out
    # (as cnab-to-oci's own end-to-end test does).
    out = run(cnab, "push", bundle_path, "--target", f"{host}/cnab/bundle:v1",
              "--insecure-registries", host, "--push-images=false", "--auto-update-bundle",
              cwd=tmp_path)
    said = out.stdout + out.stderr
    m = re.search(r'digest "(sha256:[0-9a-f]{64})"', said)
    assert m, said

    # The bundle is an OCI index; one of its entries is the config manifest.
    r = reg.get_manifest("cnab/bundle", "v1", accept=OCI_INDEX)
    ocihttp.assert_status(r, 200)
    assert sha256(r.content) == m.group(1), said
    index = json.loads(r.content)
    # Go's types leave mediaType out of the body: the type is the one it was pushed with
    assert r.headers["Content-Type"].split(";")[0] == OCI_INDEX, ocihttp.describe(r)
    assert index["annotations"].get("org.opencontainers.artifactType") == CNAB_TYPE, index
    configs = [d for d in index["manifests"]
               if d.get("annotations", {}).get("io.cnab.manifest.type") == "config"]
    assert len(configs) == 1, index
    desc = configs[0]
    assert desc["mediaType"] == OCI_MANIFEST, \
        f"the config manifest fell back to {desc['mediaType']}: {said}"

    r = reg.get_manifest("cnab/bundle", desc["digest"], accept=OCI_MANIFEST)
    ocihttp.assert_status(r, 200)
    assert r.headers["Content-Type"].split(";")[0] == OCI_MANIFEST
    assert sha256(r.content) == desc["digest"]  # stored as sent
    body = json.loads(r.content)
    assert "layers" in body and body["layers"] is None, body  # the client's own form
    assert body["config"]["mediaType"] == CNAB_CONFIG, body
    assert json.loads(reg.get_blob("cnab/bundle", body["config"]["digest"]))["name"] == "arca-hello"

    # Arca types it as a CNAB configuration and indexes the bundle's name and version.
    r = reg.get("/arca/v1/repositories/cnab/bundle/artifacts")
    ocihttp.assert_status(r, 200)
    found = {a["digest"]: a for a in r.json()["artifacts"]}
    cfg = found[desc["digest"]]
    assert cfg["artifactType"] == CNAB_CONFIG, cfg
    assert cfg["title"] == "CNAB bundle configuration", cfg
    assert cfg["fields"] == {"name": "arca-hello", "version": "0.1.0"}, cfg
    assert found[m.group(1)]["artifactType"] == CNAB_TYPE, found[m.group(1)]

    # And the client reads its bundle back.
    pulled = tmp_path / "pulled.json"
    # (cwd: pull also writes relocation-map.json into the working directory)
    run(cnab, "pull", f"{host}/cnab/bundle:v1", "--bundle", pulled, "--insecure-registries", host,
        cwd=tmp_path)
    got = json.loads(pulled.read_text())
    assert got["name"] == "arca-hello" and got["version"] == "0.1.0", got
    assert got["images"]["web"]["contentDigest"] == images["cnab/web"], got
