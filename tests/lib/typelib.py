"""Helpers for the artifact-types suite (issue 4): a small client for the OCI /v2/ API and the
Arca /arca/v1/ API, builders for real-shaped artifacts, and a sandboxed command runner.

The contract under test is docs/arca-api.md; media types come from each project's published
format (cited where they are built).
"""
import datetime
import gzip
import io
import json
import os
import re
import tarfile
import urllib.parse
import uuid

import ocihttp
from client_runner import CMD_TIMEOUT, Runner  # noqa: F401  (tests/lib)
from testkit import (  # noqa: F401  (re-exported for the suites)
    ALL_MANIFEST_TYPES, CNAB_CONFIG, CNAB_TYPE, DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST, DOCKER_MANIFEST, HELM_CHART,
    HELM_CONFIG, HELM_PROV, LINK_RE, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER, OCI_MANIFEST,
    describe, dumps, hang_guard, header_values, next_link, parse_rfc3339, sha256, wait_until)

# Singularity/Apptainer SIF (sylabs/singularity internal/pkg/client/oras: SifConfigMediaTypeV1,
# SifLayerMediaTypeV1)
SIF_CONFIG = "application/vnd.sylabs.sif.config.v1+json"
SIF_LAYER = "application/vnd.sylabs.sif.layer.v1.sif"
# OPA bundles as pushed with oras (OPA docs "OCI" bundle service, trivy-checks)
OPA_CONFIG = "application/vnd.cncf.openpolicyagent.config.v1+json"
OPA_LAYER = "application/vnd.cncf.openpolicyagent.layer.v1.tar+gzip"
# cosign signatures stored as OCI 1.1 referrers (cosign --registry-referrers-mode=oci-1-1)
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SPDX_JSON = "application/spdx+json"

UNKNOWN_TYPE = "application/x.unknown.thing"

ARTIFACT_TYPE_ANNOTATION = "org.opencontainers.artifactType"


# ------------------------------------------------------------------ small utils
WARNING_RE = re.compile(r'^299 - "((?:[^"\\]|\\.)*)"$')


def warnings_of(resp):
    """The texts of `Warning: 299 - "<text>"` headers (asserting each has exactly that form)."""
    out = []
    for v in header_values(resp, "Warning"):
        m = WARNING_RE.match(v.strip())
        assert m, f"Warning header is not `299 - \"<text>\"`: {v!r}" + describe(resp)
        out.append(m.group(1))
    return out


def error_text(resp):
    """The OCI error body (asserting its shape) flattened to one string, plus its codes."""
    ctype = resp.headers.get("Content-Type", "").split(";")[0].strip()
    assert ctype == "application/json", "error body must be JSON" + describe(resp)
    body = resp.json()
    assert isinstance(body.get("errors"), list) and body["errors"], describe(resp)
    codes = []
    for e in body["errors"]:
        assert isinstance(e.get("code"), str) and isinstance(e.get("message"), str), describe(resp)
        codes.append(e["code"])
    return json.dumps(body["errors"]), codes


def assert_error(resp, status, code):
    """ocihttp.assert_error (status, OCI error body, code), then the errors as one string."""
    ocihttp.assert_error(resp, status, code)
    return error_text(resp)[0]


def type_path(type_id, encoded=False):
    """/arca/v1/types/<id>: written as is, or percent-encoded (both must work)."""
    if encoded:
        return "/arca/v1/types/" + urllib.parse.quote(type_id, safe="")
    return "/arca/v1/types/" + type_id


# ------------------------------------------------------------------ the client
class Pushed:
    """A manifest pushed to the registry, with what it references (for size checks)."""

    def __init__(self, repo, body, media_type, blobs=(), children=()):
        self.repo = repo
        self.body = body
        self.media_type = media_type
        self.digest = sha256(body)
        self.blobs = dict(blobs)        # digest -> size of every blob it references
        self.children = list(children)  # Pushed of every child manifest (indexes)

    def desc(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.body)}
        d.update(extra)
        return d

    def closure(self):
        """digest -> size of the manifest, every blob and child it references, once each."""
        out = {self.digest: len(self.body)}
        out.update(self.blobs)
        for c in self.children:
            out.update(c.closure())
        return out

    def total_size(self):
        return sum(self.closure().values())


class Arca(ocihttp.Registry):
    """The registry client (ocihttp.Registry) with the /arca/v1/ API. It sends no Accept
    header unless a call asks for one."""

    def __init__(self, url, token=None):
        super().__init__(url, token=token)
        del self.s.headers["Accept"]

    # ---------------------------------------------------------------- /v2/
    def push_blob(self, repo, data):
        """A single-request upload (POST with the digest), finished with a PUT when declined."""
        digest = sha256(data)
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/", params={"digest": digest},
                         data=data, headers={"Content-Type": "application/octet-stream"})
        if r.status_code == 202:  # no monolithic POST: finish with a PUT
            loc = r.headers["Location"]
            loc = loc + ("&" if "?" in loc else "?") + urllib.parse.urlencode({"digest": digest})
            if not loc.startswith("http"):
                loc = self.url + loc
            r = self.request("PUT", loc, data=data,
                             headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, "blob upload failed" + describe(r)
        return digest

    def put_manifest(self, repo, ref, body, media_type):
        return self.request("PUT", f"/v2/{repo}/manifests/{ref}", data=body,
                            headers={"Content-Type": media_type})

    def push(self, pushed, ref=None, expect=201):
        """PUTs a Pushed manifest (its blobs must be there); returns the response."""
        r = self.put_manifest(pushed.repo, ref or pushed.digest, pushed.body, pushed.media_type)
        if expect is not None:
            assert r.status_code == expect, describe(r)
            if expect == 201:
                assert r.headers.get("Docker-Content-Digest") == pushed.digest, describe(r)
        return r

    def get_manifest(self, repo, ref):
        return super().get_manifest(repo, ref, accept=", ".join(ALL_MANIFEST_TYPES))

    def referrers(self, repo, digest, artifact_type=None):
        params = {"artifactType": artifact_type} if artifact_type else None
        r = self.get(f"/v2/{repo}/referrers/{digest}", params=params)
        assert r.status_code == 200, describe(r)
        return r

    # ------------------------------------------------------------ /arca/v1/
    def follow(self, path, key, params=None):
        """GETs a paginated listing and every Link rel=next after it."""
        items, pages = [], 0
        r = self.get(path, params=params)
        while True:
            assert r.status_code == 200, describe(r)
            assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", \
                describe(r)
            body = r.json()
            assert isinstance(body.get(key), list), describe(r)
            items.extend(body[key])
            pages += 1
            assert pages < 1000, "pagination does not end"
            link = next_link(r)
            if not link:
                return items
            r = self.get(urllib.parse.urljoin(self.url + path, link))

    def artifacts(self, repo, artifact_type=None):
        params = {"artifactType": artifact_type} if artifact_type else None
        return self.follow(f"/arca/v1/repositories/{repo}/artifacts", "artifacts", params)

    def artifact(self, repo, digest):
        found = [a for a in self.artifacts(repo) if a.get("digest") == digest]
        assert len(found) == 1, f"{digest} listed {len(found)} times in {repo}: {self.artifacts(repo)}"
        return found[0]

    def repositories(self, artifact_type=None):
        params = {"artifactType": artifact_type} if artifact_type else None
        return self.follow("/arca/v1/repositories", "repositories", params)

    def types(self):
        r = self.get("/arca/v1/types")
        assert r.status_code == 200, describe(r)
        body = r.json()
        assert isinstance(body.get("types"), list), describe(r)
        return body["types"]

    def type_ids(self):
        return [t["mediaType"] for t in self.types()]

    def get_type(self, type_id, encoded=False):
        return self.get(type_path(type_id, encoded))

    def type_def(self, type_id):
        r = self.get_type(type_id)
        assert r.status_code == 200, describe(r)
        return r.json()

    def title_of(self, type_id):
        return self.type_def(type_id)["title"]

    def put_type(self, definition, type_id=None, token=None, raw=None, encoded=False):
        type_id = type_id or definition["mediaType"]
        data = raw if raw is not None else json.dumps(definition).encode()
        return self.request("PUT", type_path(type_id, encoded), token=token, data=data,
                            headers={"Content-Type": "application/json"})

    def delete_type(self, type_id, token=None, encoded=False):
        return self.request("DELETE", type_path(type_id, encoded), token=token)

    def logo(self, type_id, encoded=False):
        return self.get(type_path(type_id, encoded) + "/logo.svg")

    def events(self):
        return self.follow("/arca/v1/events", "events")


def assert_svg_response(r):
    assert r.status_code == 200, describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "image/svg+xml", describe(r)
    head = r.content.lstrip()
    assert head.startswith(b"<svg") or head.startswith(b"<?xml"), describe(r)
    assert b"<svg" in r.content and b"</svg>" in r.content, describe(r)
    # a second line of defence behind the logo check: an SVG opened on its own runs nothing
    csp = [d.strip() for d in r.headers.get("Content-Security-Policy", "").split(";")]
    assert "default-src 'none'" in csp and not any("script-src" in d for d in csp), describe(r)
    assert r.headers.get("X-Content-Type-Options") == "nosniff", describe(r)


# ------------------------------------------------------------------ builders
def image_config(arch="amd64", os_name="linux", variant=None, created=None, labels=None):
    """An OCI image config (image-spec config.md) with one layer's diff_id filled later."""
    cfg = {"architecture": arch, "os": os_name}
    if variant:
        cfg["variant"] = variant
    if created:
        cfg["created"] = created
    cfg["config"] = {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"],
                     "Labels": labels or {"org.example.nonce": uuid.uuid4().hex}}
    cfg["rootfs"] = {"type": "layers", "diff_ids": []}
    cfg["history"] = [{"created": created or "2024-01-01T00:00:00Z", "created_by": "typelib"}]
    return cfg


def tar_gz(files):
    """A deterministic .tar.gz of {name: bytes}; returns (gzipped, uncompressed tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    tar = raw.getvalue()
    return gzip.compress(tar, mtime=0), tar


def build_image(arca, repo, arch="amd64", variant=None, created="2024-05-01T12:00:00Z",
                docker=False, layers=None, extra_files=None):
    """Pushes the blobs of a single-platform image and returns it (manifest not pushed).
    `layers` may pass already built layer blobs (bytes) to share them between images."""
    if layers is None:
        files = {"etc/os-release": f"ID=arca-test\nARCH={arch}\n".encode(),
                 "opt/nonce": uuid.uuid4().bytes}
        files.update(extra_files or {})
        gz, _ = tar_gz(files)
        layers = [gz]
    cfg = image_config(arch, "linux", variant, created)
    cfg["rootfs"]["diff_ids"] = [sha256(gzip.decompress(l)) for l in layers]
    cfg_bytes = dumps(cfg)
    arca.push_blob(repo, cfg_bytes)
    for l in layers:
        arca.push_blob(repo, l)
    if docker:
        mt, cmt, lmt = DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER
    else:
        mt, cmt, lmt = OCI_MANIFEST, OCI_CONFIG, OCI_LAYER
    doc = {"schemaVersion": 2, "mediaType": mt,
           "config": {"mediaType": cmt, "digest": sha256(cfg_bytes), "size": len(cfg_bytes)},
           "layers": [{"mediaType": lmt, "digest": sha256(l), "size": len(l)} for l in layers]}
    blobs = {sha256(cfg_bytes): len(cfg_bytes)}
    blobs.update({sha256(l): len(l) for l in layers})
    return Pushed(repo, dumps(doc), mt, blobs)


def build_index(repo, children, platforms=None, docker=False, artifact_type=None,
                annotations=None, child_annotations=None, subject=None):
    mt = DOCKER_LIST if docker else OCI_INDEX
    descs = []
    for i, c in enumerate(children):
        d = c.desc()
        if platforms and platforms[i]:
            d["platform"] = platforms[i]
        if child_annotations and child_annotations[i]:
            d["annotations"] = child_annotations[i]
        descs.append(d)
    doc = {"schemaVersion": 2, "mediaType": mt}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["manifests"] = descs
    if subject:
        doc["subject"] = subject
    if annotations:
        doc["annotations"] = annotations
    return Pushed(repo, dumps(doc), mt, children=children)


def build_artifact(arca, repo, config_media_type, config_bytes, layers, artifact_type=None,
                   subject=None, annotations=None):
    """An OCI image manifest used as an artifact: layers is [(media_type, bytes)]."""
    arca.push_blob(repo, config_bytes)
    blobs = {sha256(config_bytes): len(config_bytes)}
    for _, data in layers:
        arca.push_blob(repo, data)
        blobs[sha256(data)] = len(data)
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["config"] = {"mediaType": config_media_type, "digest": sha256(config_bytes),
                     "size": len(config_bytes)}
    doc["layers"] = [{"mediaType": mt, "digest": sha256(d), "size": len(d)} for mt, d in layers]
    if subject:
        doc["subject"] = subject
    if annotations:
        doc["annotations"] = annotations
    return Pushed(repo, dumps(doc), OCI_MANIFEST, blobs)


def helm_chart_files(name="mychart", version="0.1.0", app_version="1.16.0"):
    """The config and chart layer of a Helm chart as `helm push` writes them: the config is
    Chart.yaml's metadata as JSON, the layer the packaged .tgz (helm.sh registries docs)."""
    meta = {"apiVersion": "v2", "appVersion": app_version,
            "description": "A Helm chart for Kubernetes", "name": name, "type": "application",
            "version": version}
    chart_yaml = (f"apiVersion: v2\nname: {name}\ndescription: A Helm chart for Kubernetes\n"
                  f"type: application\nversion: {version}\nappVersion: \"{app_version}\"\n").encode()
    tgz, _ = tar_gz({f"{name}/Chart.yaml": chart_yaml,
                     f"{name}/values.yaml": b"replicaCount: 1\n",
                     f"{name}/templates/NOTES.txt": b"installed\n"})
    return meta, tgz


def build_helm(arca, repo, name="mychart", version="0.1.0", config=None, layer_media_type=HELM_CHART,
               drop=()):
    meta, tgz = helm_chart_files(name, version)
    for k in drop:
        meta.pop(k)
    if config is not None:
        meta = config
    cfg = json.dumps(meta, separators=(",", ":")).encode()
    return build_artifact(arca, repo, HELM_CONFIG, cfg, [(layer_media_type, tgz)],
                          annotations={"org.opencontainers.image.title": name,
                                       "org.opencontainers.image.version": version})


def sif_file(arch_code="02"):
    """A SIF-shaped file: the global header of sylabs/sif (launch script padded to 32 bytes,
    "SIF_MAGIC\\0", version "01\\0", arch, a UUID) then a small payload."""
    hdr = b"#!/usr/bin/env run-singularity\n".ljust(32, b"\0")
    hdr += b"SIF_MAGIC\0" + b"01\0" + arch_code.encode() + b"\0" + uuid.uuid4().bytes
    hdr = hdr.ljust(4096, b"\0")
    return hdr + os.urandom(2048)


def opa_bundle():
    """An OPA bundle tarball (OPA docs "Bundle File Format": .manifest, policy, data)."""
    gz, _ = tar_gz({
        "/.manifest": json.dumps({"revision": uuid.uuid4().hex, "roots": ["authz"]}).encode(),
        "/authz/policy.rego": b"package authz\n\ndefault allow := false\n\n"
                              b"allow if input.user == \"admin\"\n",
        "/authz/data.json": b"{\"admins\": [\"admin\"]}\n"})
    return gz


# ------------------------------------------------------------------ commands
# Runner lives in tests/lib/client_runner.py, shared by every suite that runs clients.


# ------------------------------------------------------------------ definitions
_MISSING = object()


def json_pointer(doc, pointer):
    """RFC 6901: the value at pointer in doc, or _MISSING."""
    if pointer == "":
        return doc
    assert pointer.startswith("/"), pointer
    cur = doc
    for tok in pointer[1:].split("/"):
        tok = tok.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            return _MISSING
    return cur


def index_fields(definition):
    """indexFields of a definition as [(name, pointer)] (an object of name -> JSON pointer)."""
    f = definition.get("indexFields") or {}
    assert isinstance(f, dict), f"indexFields is not an object: {f!r}"
    return sorted(f.items())


def expected_fields(definition, config_bytes):
    """What `fields` must hold for an artifact of this type with this config blob."""
    try:
        cfg = json.loads(config_bytes)
    except ValueError:
        return {}
    out = {}
    for name, pointer in index_fields(definition):
        v = json_pointer(cfg, pointer)
        if v is not _MISSING:
            out[name] = v
    return out


def assert_fields(entry, definition, config_bytes):
    """entry["fields"] holds exactly the type's indexFields found in the config (a field the
    config lacks may be absent or null)."""
    want = expected_fields(definition, config_bytes)
    got = entry.get("fields") or {}
    assert isinstance(got, dict), entry
    got = {k: v for k, v in got.items() if v is not None}
    assert got == want, f"fields {got} != {want} (indexFields {definition.get('indexFields')})"


def check_artifact(arca, repo, digest, media_type, artifact_type, size=None, tags=None,
                   referrers=0, config=None, title=None):
    """The listing entry of digest in repo, checked against docs/arca-api.md "Discovery"."""
    a = arca.artifact(repo, digest)
    assert a.get("mediaType") == media_type, a
    assert a.get("artifactType") == artifact_type, a
    want_title = title if title is not None else arca.title_of(artifact_type)
    assert a.get("title") == want_title, a
    if title is None:
        assert want_title and want_title != "Unknown", f"{artifact_type} has title {want_title!r}"
    if size is not None:
        assert a.get("size") == size, f"size {a.get('size')} != {size} (manifest + blobs + children)"
    if tags is not None:
        assert a.get("tags") == sorted(tags), a
    assert a.get("referrers") == referrers, a
    pushed = parse_rfc3339(a.get("pushedAt"))
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - pushed).total_seconds()) < 3600, f"pushedAt {a.get('pushedAt')} is not now"
    if config is not None:
        assert_fields(a, arca.type_def(artifact_type), config)
    return a


def manifest_size(body):
    """Size of a manifest fetched from the registry: itself, its config and layers, once each."""
    doc = json.loads(body)
    sizes = {sha256(body): len(body)}
    if "config" in doc:
        sizes[doc["config"]["digest"]] = doc["config"]["size"]
    for l in doc.get("layers") or []:
        sizes[l["digest"]] = l["size"]
    return sum(sizes.values())
