"""Deep JSON at every entry point that parses it (issue 9, "Crashes" 1).

Before the fix a ~200 KB config nesting "os" 100,000 arrays deep killed the server with SIGSEGV
on the manifest PUT, and so did a type definition whose configSchema nests as deep, through the
API or a file in types_dir (there on every restart). One limit now applies while parsing
(types/json_limits.h, kMaxJsonDepth = 100): a manifest or definition past it is a 400 naming the
limit; a config past it is stored but not indexed. Every test ends by checking the server is
still up and serving.
"""
import json
import os
import subprocess

import pytest

import ocihttp
from ocihttp import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, image_manifest, sha256
from arca_server import arca_bin
from testkit import hang_guard, wait_until
from hardlib import (ATTACK_DEPTH, MAX_JSON_DEPTH, assert_names_limit, deep_arrays, deep_objects,
                     deep_schema, type_file_path)

GIZMO = "application/vnd.example.gizmo.config.v1+json"


def gizmo_definition(schema_text, media_type=GIZMO):
    return ('{"mediaType":"%s","title":"Gizmo","configSchema":%s,'
            '"indexFields":{"model":"/model"}}' % (media_type, schema_text))


def push_config_image(reg, repo, config_bytes, ref="v1", config_type=OCI_CONFIG):
    """Pushes config_bytes and one layer, then the manifest; returns (response, body)."""
    layer = os.urandom(64)
    reg.push_blob(repo, config_bytes)
    reg.push_blob(repo, layer)
    body = image_manifest(descriptor(config_type, config_bytes), [descriptor(OCI_LAYER, layer)])
    r = reg.put(f"/v2/{repo}/manifests/{ref}", data=body, headers={"Content-Type": OCI_MANIFEST})
    return r, body


def artifact_entry(reg, repo, digest):
    r = reg.get(f"/arca/v1/repositories/{repo}/artifacts")
    ocihttp.assert_status(r, 200)
    found = [a for a in r.json()["artifacts"] if a["digest"] == digest]
    assert len(found) == 1, r.json()
    return found[0]


# ------------------------------------------------------------------------- manifests
def test_deep_manifest_is_manifest_invalid_naming_the_limit(reg, repo, alive):
    name = repo()
    cfg = b"{}"
    reg.push_blob(name, cfg)
    base = json.loads(image_manifest(descriptor(OCI_CONFIG, cfg), []))
    for deep in (deep_arrays(ATTACK_DEPTH), deep_objects(ATTACK_DEPTH),
                 deep_arrays(MAX_JSON_DEPTH)):  # + the manifest's own object: one past
        body = json.dumps(base)[:-1] + ',"x-extension":' + deep + "}"
        r = reg.put(f"/v2/{name}/manifests/deep", data=body.encode(),
                    headers={"Content-Type": OCI_MANIFEST})
        assert_names_limit(r)
    # a 4 MiB body of "[" (the most a manifest may be) stops at the limit too
    r = reg.put(f"/v2/{name}/manifests/deep", data=b"[" * ((4 << 20) - 1),
                headers={"Content-Type": OCI_MANIFEST})
    assert_names_limit(r)
    # the limit itself is accepted: the manifest object plus 99 levels
    body = json.dumps(base)[:-1] + ',"x-extension":' + deep_arrays(MAX_JSON_DEPTH - 1) + "}"
    r = reg.put(f"/v2/{name}/manifests/at-limit", data=body.encode(),
                headers={"Content-Type": OCI_MANIFEST})
    ocihttp.assert_status(r, 201)
    assert reg.get_manifest(name, "at-limit").content == body.encode()
    assert reg.tags(name) == ["at-limit"]
    alive()


def test_wide_documents_are_answered(reg, repo, alive):
    """The bounded parse stays linear in a document's length. (nlohmann's callback parser,
    tried first, rescans the parent after every closing object: 40,000 objects in a 1 MiB
    config took 11 s, and 200,000 would take minutes; the client's 60 s timeout fails this test
    then.)"""
    name = repo()
    cfg = b'{"architecture":"amd64","os":"linux","x":[' + b",".join([b"{}"] * 150_000) + b"]}"
    assert len(cfg) < 1 << 20  # read and indexed
    r, _ = push_config_image(reg, name, cfg)
    ocihttp.assert_status(r, 201)
    base = json.loads(image_manifest(descriptor(OCI_CONFIG, cfg), []))
    body = (json.dumps(base)[:-1] + ',"x-extension":[' + ",".join(["{}"] * 200_000) + "]}").encode()
    assert len(body) < 4 << 20
    r = reg.put(f"/v2/{name}/manifests/wide", data=body, headers={"Content-Type": OCI_MANIFEST})
    ocihttp.assert_status(r, 201)
    assert reg.get_manifest(name, "wide").content == body
    alive()


# --------------------------------------------------------------------------- configs
def test_deep_config_is_stored_but_not_indexed(reg, repo, alive):
    """The attack of the report: "os" 100,000 arrays deep in an OCI image config (~200 KB).
    image-spec asks registries to store configs they cannot read; CNCF Distribution answers 201.
    Arca does too, and indexes nothing from that config."""
    name = repo()
    config = ('{"architecture":"amd64","os":' + deep_arrays(ATTACK_DEPTH, '"linux"') +
              ',"rootfs":{"type":"layers","diff_ids":[]}}').encode()
    assert 190_000 < len(config) < 1 << 20  # under kMaxIndexedConfigBytes: it is read
    r, body = push_config_image(reg, name, config)
    ocihttp.assert_status(r, 201)
    digest = sha256(body)
    assert r.headers.get("Docker-Content-Digest") == digest
    alive()
    assert reg.get_manifest(name, "v1").content == body
    assert reg.get_blob(name, sha256(config)) == config
    entry = artifact_entry(reg, name, digest)
    assert entry["artifactType"] == OCI_CONFIG, entry
    assert not entry.get("platform") and not entry.get("fields"), entry
    # deep objects, and a Docker config, the same
    docker_cfg = ('{"architecture":"amd64","os":"linux","config":' +
                  deep_objects(ATTACK_DEPTH) + "}").encode()
    r, _ = push_config_image(reg, name, docker_cfg, ref="v2",
                             config_type="application/vnd.docker.container.image.v1+json")
    ocihttp.assert_status(r, 201)
    # a shallow config in the same repository is still indexed
    r, body = push_config_image(reg, name, b'{"architecture":"arm64","os":"linux","rootfs":{}}',
                                ref="v3")
    ocihttp.assert_status(r, 201)
    entry = artifact_entry(reg, name, sha256(body))
    assert entry["fields"].get("architecture") == "arm64", entry
    alive()


def test_deep_config_under_an_enforced_config_policy_is_refused(make_server, repo):
    """Where the operator asked configs to be checked against their type's schema, a config
    that cannot be read is refused, and the refusal names the limit."""
    srv = make_server(policy='rules:\n  - repositories: "**"\n    config: enforce\n')
    reg = ocihttp.Registry(srv.url)
    name = repo()
    config = ('{"architecture":"amd64","os":' + deep_arrays(ATTACK_DEPTH, '"linux"') + "}").encode()
    r, _ = push_config_image(reg, name, config)
    ocihttp.assert_error(r, 400, "MANIFEST_INVALID")
    assert f"deeper than {MAX_JSON_DEPTH} levels" in r.text, ocihttp.describe(r)
    ocihttp.assert_status(reg.get("/v2/"), 200)


# ------------------------------------------------------------------ type definitions
def test_deep_type_definition_via_the_api(reg, alive):
    for deep in (deep_schema(ATTACK_DEPTH), deep_arrays(ATTACK_DEPTH), deep_schema(MAX_JSON_DEPTH)):
        r = reg.put(f"/arca/v1/types/{GIZMO}", data=gizmo_definition(deep).encode(),
                    headers={"Content-Type": "application/json"})
        assert_names_limit(r)
        ocihttp.assert_error(reg.get(f"/arca/v1/types/{GIZMO}"), 404, "NAME_UNKNOWN")
    # a deep body that is not even an object
    r = reg.put(f"/arca/v1/types/{GIZMO}", data=b"[" * (1 << 20))
    assert_names_limit(r)
    alive()
    # as deep as the limit allows: the definition object, configSchema and 98 more levels
    ok = "application/vnd.example.deepok.config.v1+json"
    r = reg.put(f"/arca/v1/types/{ok}", data=gizmo_definition(deep_schema(MAX_JSON_DEPTH - 1), ok).encode())
    ocihttp.assert_status(r, 201)
    r = reg.get(f"/arca/v1/types/{ok}")
    ocihttp.assert_status(r, 200)
    assert r.json()["configSchema"] == json.loads(deep_schema(MAX_JSON_DEPTH - 1))
    ocihttp.assert_status(reg.delete(f"/arca/v1/types/{ok}"), 202)
    alive()


def test_deep_type_definition_file_in_types_dir(make_server):
    deep_file = gizmo_definition(deep_schema(ATTACK_DEPTH))
    good = "application/vnd.example.fine.config.v1+json"
    srv = make_server(types={"deep.json": deep_file,
                             "fine.json": gizmo_definition('{"type":"object"}', good)})
    reg = ocihttp.Registry(srv.url)
    ocihttp.assert_status(reg.get("/v2/"), 200)
    listed = [t["mediaType"] for t in reg.get("/arca/v1/types").json()["types"]]
    assert good in listed and GIZMO not in listed, listed
    assert "deep.json" in srv.log_text() and f"deeper than {MAX_JSON_DEPTH} levels" in srv.log_text()
    # dropped in while running: logged and skipped, the server keeps serving
    with open(type_file_path(srv, "deeper.json"), "w") as f:
        f.write(gizmo_definition(deep_arrays(ATTACK_DEPTH), "application/vnd.example.b.config.v1+json"))
    wait_until(lambda: "deeper.json" in srv.log_text(), what="the bad file to be reported")
    ocihttp.assert_status(reg.get("/v2/"), 200)
    ocihttp.assert_status(reg.get(f"/arca/v1/types/{good}"), 200)
    # and restarts keep working with the files still there
    srv.stop()
    srv.start()
    ocihttp.assert_status(reg.get(f"/arca/v1/types/{good}"), 200)
    ocihttp.assert_error(reg.get(f"/arca/v1/types/{GIZMO}"), 404, "NAME_UNKNOWN")


# ------------------------------------------------------------- other /arca/v1 bodies
ARCA_JSON_ENDPOINTS = [
    ("PUT", f"/arca/v1/types/{GIZMO}"),
    ("POST", "/arca/v1/admin/gc?dry_run=true"),  # a dry run: the shared store stays as it is
    ("POST", "/arca/v1/repositories/h/none/trash/sha256:" + "0" * 64 + "/restore"),
    ("PUT", "/arca/v1/types"),
    ("POST", "/arca/v1/types"),
]


@pytest.mark.parametrize("method,path", ARCA_JSON_ENDPOINTS)
def test_deep_bodies_on_arca_endpoints(reg, alive, method, path):
    """Only the type API reads a JSON body today; the others must not be disturbed by one."""
    r = reg.request(method, path, data=deep_arrays(ATTACK_DEPTH).encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code < 500, ocihttp.describe(r)
    if r.status_code >= 400:
        ocihttp.check_error_body(r.content, r.headers.get("Content-Type", ""), ocihttp.describe(r))
    if path.startswith("/arca/v1/types/"):
        assert_names_limit(r)
    alive()


# -------------------------------------------------------------------------- policy
def deep_policy_flow():
    return 'rules:\n  - repositories: "**"\n    allow: ' + deep_arrays(ATTACK_DEPTH, '"a/b"') + "\n"


def deep_policy_block(depth=2000):
    lines = ["rules:"] + [" " * (i + 2) + "-" for i in range(depth)]
    return "\n".join(lines) + "\n"


def test_deep_policy_at_start_is_a_clear_error(tmp_path):
    """yaml-cpp stops itself at 500 levels; arca refuses to start on it (an operator's file,
    as for any malformed policy) with a message naming the limit, and does not crash."""
    for i, text in enumerate((deep_policy_flow(), deep_policy_block())):
        root = tmp_path / f"root{i}"
        root.mkdir()
        (root / "policy.yaml").write_text(text)
        p = subprocess.run([arca_bin(), "serve", "--addr", "127.0.0.1:1", "--root", str(root)],
                           capture_output=True, timeout=hang_guard(60))
        assert p.returncode > 0, (p.returncode, p.stderr[-2000:])
        assert b"nest deeper than 500 levels" in p.stderr, p.stderr[-2000:]


def test_deep_policy_reload_keeps_the_previous_one(make_server, repo):
    srv = make_server(policy='rules:\n  - repositories: "**"\n    allow: ["application/x.only"]\n')
    reg = ocihttp.Registry(srv.url)
    name = repo()
    r, _ = push_config_image(reg, name, b'{"architecture":"amd64","os":"linux"}')
    ocihttp.assert_error(r, 400, "MANIFEST_INVALID")
    for n, text in enumerate((deep_policy_flow(), deep_policy_block())):
        with open(os.path.join(srv.root, "policy.yaml"), "w") as f:
            f.write(text)
        wait_until(lambda: srv.log_text().count("nest deeper than 500 levels") > n,
                   what="the deep policy to be reported")
        ocihttp.assert_status(reg.get("/v2/"), 200)
        r, _ = push_config_image(reg, name, b'{"architecture":"amd64","os":"linux"}')
        ocihttp.assert_error(r, 400, "MANIFEST_INVALID")  # the previous policy still holds
