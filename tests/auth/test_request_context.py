"""The request context travels from the API into the registry (issue 11): what the registry
records of a change names who made it and the request that did, as the audit stream does."""
import os

import requests

from authlib import ADMIN_PASSWORD, AuthServer, bearer
from ocihttp import Registry, descriptor, image_manifest, OCI_MANIFEST

WARN_POLICY = """
rules:
  - repositories: "ctx/**"
    allow: ["application/vnd.example.allowed.v1+json"]
    disallowed: warn
"""


def root_with_warn_policy(tmp_path):
    root = str(tmp_path / "root")
    os.makedirs(root)
    with open(os.path.join(root, "policy.yaml"), "w") as f:
        f.write(WARN_POLICY)
    return root


def test_registry_events_name_the_principal_and_request(tmp_path):
    with AuthServer(root=root_with_warn_policy(tmp_path)) as srv:
        srv.add_user("ctx-alice", "alice-password")
        srv.grant("user:ctx-alice", "ctx/**", "push")
        tok = srv.token(["repository:ctx/app:pull,push"], auth=("ctx-alice", "alice-password"))
        reg = Registry(srv.url, token=tok)
        # an image where the policy allows only another type: accepted with a warning
        r = push_warned_image(reg, "ctx/app", "v1")
        assert r.headers.get("Warning"), r.headers
        body = reg.get("/v2/ctx/app/manifests/v1",
                       headers={"Accept": OCI_MANIFEST}).content
        request_id = r.headers["X-Request-Id"]
        digest = r.headers["Docker-Content-Digest"]

        r = requests.get(srv.url + "/arca/v1/events", auth=("admin", ADMIN_PASSWORD), timeout=30)
        assert r.status_code == 200, r.text
        warned = [e for e in r.json()["events"] if e["kind"] == "policy.warn"]
        assert len(warned) == 1, warned
        e = warned[0]
        assert e["repository"] == "ctx/app" and e["digest"] == digest
        assert e["principal"] == "user:ctx-alice"
        assert e["requestId"] == request_id

        # the same push by Basic credentials straight on /v2 names the same principal and
        # its own request
        r = requests.put(f"{srv.url}/v2/ctx/app/manifests/v2", data=body,
                         headers={"Content-Type": OCI_MANIFEST},
                         auth=("ctx-alice", "alice-password"), timeout=30)
        assert r.status_code == 201, r.text
        r2 = requests.get(srv.url + "/arca/v1/events", auth=("admin", ADMIN_PASSWORD), timeout=30)
        warned = [e for e in r2.json()["events"] if e["kind"] == "policy.warn"]
        assert [(e["principal"], e["requestId"]) for e in warned][-1] == \
            ("user:ctx-alice", r.headers["X-Request-Id"])
        assert len({e["requestId"] for e in warned}) == 2


def push_warned_image(reg, repo, tag):
    cfg = b'{"architecture":"amd64","os":"linux"}'
    layer = os.urandom(100)
    reg.push_blob(repo, cfg)
    reg.push_blob(repo, layer)
    body = image_manifest(descriptor("application/vnd.oci.image.config.v1+json", cfg),
                          [descriptor("application/vnd.oci.image.layer.v1.tar", layer)])
    r = reg.put(f"/v2/{repo}/manifests/{tag}", data=body, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201, r.text
    return r


def test_gc_asked_for_by_an_admin_names_the_admin(tmp_path):
    with AuthServer(extra_args=["--gc-retention", "0", "--gc-interval", "0"]) as srv:
        tok = srv.token(["repository:ctx/gone:pull,push,delete"], auth=("admin", ADMIN_PASSWORD))
        reg = Registry(srv.url, token=tok)
        digest = push_warned_image(reg, "ctx/gone", "v1").headers["Docker-Content-Digest"]
        assert reg.delete(f"/v2/ctx/gone/manifests/{digest}").status_code == 202
        r = requests.post(srv.url + "/arca/v1/admin/gc", auth=("admin", ADMIN_PASSWORD), timeout=60)
        assert r.status_code == 200, r.text
        gc_request = r.headers["X-Request-Id"]
        events = requests.get(srv.url + "/arca/v1/events", auth=("admin", ADMIN_PASSWORD),
                              timeout=30).json()["events"]
        gone = [e for e in events if e["kind"] == "gc.delete" and e["digest"] == digest]
        assert len(gone) == 1, events
        assert gone[0]["principal"] == "user:admin" and gone[0]["requestId"] == gc_request


def test_without_auth_events_name_no_one(tmp_path):
    from arca_server import ArcaServer
    with ArcaServer(root=root_with_warn_policy(tmp_path)) as srv:
        r = push_warned_image(Registry(srv.url), "ctx/open", "v1")
        events = requests.get(srv.url + "/arca/v1/events", timeout=30).json()["events"]
        warned = [e for e in events if e["kind"] == "policy.warn"]
        assert len(warned) == 1 and warned[0]["principal"] == ""
        assert warned[0]["requestId"] == r.headers["X-Request-Id"]
