"""Helpers for the garbage-collection suite (contract: docs/gc.md).

Standard library only: a keep-alive HTTP client (one connection per thread), manifest
builders, the admin GC / recycle-bin endpoints, and `arca gc` / `arca fsck` runners.
"""
import http.client
import json
import os
import subprocess
import threading
import urllib.parse
import uuid

from arca_server import (arca_bin, assert_no_sanitizer_report, blobs_args, metadata_args,
                         sanitizer_env)
from testkit import (  # noqa: F401  (re-exported for the suites)
    CNAB_CONFIG, CNAB_TYPE, DOCKER_FOREIGN, MANIFEST_ACCEPT, OCI_CONFIG, OCI_EMPTY, OCI_INDEX,
    OCI_LAYER, OCI_MANIFEST, OCI_NONDIST, blob_path, dumps, hang_guard, next_link,
    parse_rfc3339, path_of, sha256, wait_until)

ACCEPT = MANIFEST_ACCEPT

ACTIONS = {"delete-manifest", "purge-manifest", "unlink-blob", "delete-blob", "delete-upload"}


# ------------------------------------------------------------------ HTTP

class Resp:
    def __init__(self, method, path, status, reason, headers, body):
        self.method, self.path = method, path
        self.status, self.reason = status, reason
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        return json.loads(self.body)

    def codes(self):
        try:
            return [e.get("code") for e in self.json().get("errors", [])]
        except (ValueError, AttributeError):
            return []

    def __repr__(self):
        return (f"\n{self.method} {self.path}\n-> {self.status} {self.reason}\n"
                f"headers: {dict(self.headers)}\nbody: {self.body[:1500]!r}")


class Client:
    """One keep-alive connection per thread; safe to share between threads."""

    def __init__(self, url, timeout=None):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.timeout = hang_guard(120) if timeout is None else timeout  # a request that hangs
        self._local = threading.local()

    def _conn(self):
        c = getattr(self._local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = c
        return c

    def close(self):
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def request(self, method, path, body=None, headers=None, retry=True):
        hdrs = {"Accept-Encoding": "identity"}
        hdrs.update(headers or {})
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        for attempt in (0, 1):
            c = self._conn()
            reused = c.sock is not None
            try:
                c.request(method, path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.BadStatusLine):
                self.close()
                # a keep-alive connection the server closed meanwhile: try once on a new one
                if attempt == 0 and reused and retry:
                    continue
                raise
            except Exception:
                self.close()
                raise
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return Resp(method, path, r.status, r.reason, r.msg, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # ------------------------------------------------------------ /v2/
    def push_blob(self, repo, data):
        d = sha256(data)
        r = self.post(f"/v2/{repo}/blobs/uploads/?digest={d}", body=data,
                      headers={"Content-Type": "application/octet-stream"})
        assert r.status == 201, f"blob push failed{r!r}"
        return d

    def start_upload(self, repo):
        r = self.post(f"/v2/{repo}/blobs/uploads/")
        assert r.status == 202, r
        loc = r.header("Location")
        assert loc, r
        return path_of(loc)

    def push_manifest(self, repo, ref, body, media_type, expect=201):
        r = self.put(f"/v2/{repo}/manifests/{ref}", body=body,
                     headers={"Content-Type": media_type})
        if expect is not None:
            assert r.status == expect, f"manifest push: expected {expect}{r!r}"
            if expect == 201:
                assert r.header("Docker-Content-Digest") == sha256(body), r
        return r

    def get_manifest(self, repo, ref):
        return self.get(f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})

    def manifest_status(self, repo, ref):
        return self.head(f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}).status

    def delete_manifest(self, repo, ref, expect=202):
        r = self.delete(f"/v2/{repo}/manifests/{ref}")
        if expect is not None:
            assert r.status == expect, f"manifest delete: expected {expect}{r!r}"
        return r

    def blob_status(self, repo, digest):
        return self.head(f"/v2/{repo}/blobs/{digest}").status

    def get_blob(self, repo, digest):
        return self.get(f"/v2/{repo}/blobs/{digest}")

    def tags(self, repo):
        """Every tag of repo (following Link rel=next); [] for an unknown repository."""
        path, out = f"/v2/{repo}/tags/list?n=1000", []
        while path:
            r = self.get(path)
            if r.status == 404 and not out:
                return []
            assert r.status == 200, r
            out.extend(r.json().get("tags") or [])
            path = path_of(next_link(r))
        return out

    # ------------------------------------------------------------ GC admin
    def gc(self, dry_run=False, expect=200):
        path = "/arca/v1/admin/gc" + ("?dry_run=true" if dry_run else "")
        r = self.post(path)
        if expect is None:
            return r
        assert r.status == expect, f"gc pass: expected {expect}{r!r}"
        rep = r.json()
        check_report(rep, dry_run)
        return rep

    def last_gc(self):
        r = self.get("/arca/v1/admin/gc")
        assert r.status == 200, r
        return r.json()

    def trash(self, repo, n=None):
        """Every entry of the recycle bin of `repo`, following Link rel=next."""
        path = f"/arca/v1/repositories/{repo}/trash" + (f"?n={n}" if n else "")
        out, pages = [], 0
        while path:
            r = self.get(path)
            if r.status == 404 and not out:
                return []
            assert r.status == 200, r
            out.extend(trash_entries(r))
            path = path_of(next_link(r))
            pages += 1
            assert pages < 1000, "trash pagination does not terminate"
        return out

    def restore(self, repo, digest):
        return self.post(f"/arca/v1/repositories/{repo}/trash/{digest}/restore")

    def expire(self, repo, digest):
        return self.delete(f"/arca/v1/repositories/{repo}/trash/{digest}")


def trash_entries(resp):
    """The entries of a trash listing page. docs/gc.md gives the entry fields but not the name
    of the list; take the one list of objects with a `digest` the body holds."""
    body = resp.json()
    if isinstance(body, list):
        return body
    assert isinstance(body, dict), resp
    lists = [v for v in body.values() if isinstance(v, list)
             and all(isinstance(e, dict) for e in v)]
    assert len(lists) == 1, f"trash listing should hold one list of entries{resp!r}"
    for e in lists[0]:
        assert isinstance(e.get("digest"), str), resp
    return lists[0]


def check_report(rep, dry_run=None):
    """The shape of a GC report (docs/gc.md "Running it")."""
    assert isinstance(rep, dict), rep
    assert isinstance(rep.get("dryRun"), bool), rep
    if dry_run is not None:
        assert rep["dryRun"] is bool(dry_run), rep
    parse_rfc3339(rep.get("startedAt"))
    assert isinstance(rep.get("durationMs"), (int, float)) and rep["durationMs"] >= 0, rep
    d = rep.get("deleted")
    assert isinstance(d, dict), rep
    for k in ("manifests", "blobs", "bytes", "uploads"):
        assert isinstance(d.get(k), int) and d[k] >= 0, f"deleted.{k}: {rep}"
    assert isinstance(rep.get("reviewed"), int) and rep["reviewed"] >= 0, rep
    assert isinstance(rep.get("actions"), list), rep
    assert isinstance(rep.get("actionsTruncated"), bool), rep
    for a in rep["actions"]:
        assert a.get("action") in ACTIONS, f"unknown action {a}"
        assert isinstance(a.get("digest"), str) or a["action"] == "delete-upload", a
    return rep


def actions(rep, kind=None):
    """{(action, repository, digest)} of a report (optionally one kind of action)."""
    return {(a.get("action"), a.get("repository"), a.get("digest"))
            for a in rep["actions"] if kind is None or a.get("action") == kind}


def acted_digests(rep, kind=None):
    return {a.get("digest") for a in rep["actions"] if kind is None or a.get("action") == kind}


# ------------------------------------------------------------------ builders

class Manifest:
    def __init__(self, repo, body, media_type, blobs=None, children=()):
        self.repo = repo
        self.body = body
        self.media_type = media_type
        self.digest = sha256(body)
        self.blobs = dict(blobs or {})      # digest -> bytes (what it references directly)
        self.children = list(children)      # Manifest of each child (indexes)

    def desc(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.body)}
        d.update(extra)
        return d

    def all_blobs(self):
        out = dict(self.blobs)
        for c in self.children:
            out.update(c.all_blobs())
        return out


def image(cl, repo, layer_size=64, layers=1, push_blobs=True, extra_layers=(), subject=None,
          artifact_type=None, shared=()):
    """An image manifest with its own config and random layers (blobs pushed, manifest not).
    extra_layers: raw descriptors added as is (foreign layers); shared: bytes of layers
    shared with other images."""
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "nonce": uuid.uuid4().hex}).encode()
    blobs = {sha256(cfg): cfg}
    lds = []
    for data in [os.urandom(layer_size) for _ in range(layers)] + list(shared):
        blobs[sha256(data)] = data
        lds.append({"mediaType": OCI_LAYER, "digest": sha256(data), "size": len(data)})
    if push_blobs:
        for data in blobs.values():
            cl.push_blob(repo, data)
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if artifact_type:
        m["artifactType"] = artifact_type
    m["config"] = {"mediaType": OCI_CONFIG, "digest": sha256(cfg), "size": len(cfg)}
    m["layers"] = lds + list(extra_layers)
    if subject is not None:
        m["subject"] = subject
    return Manifest(repo, dumps(m), OCI_MANIFEST, blobs)


def push_image(cl, repo, ref=None, **kw):
    img = image(cl, repo, **kw)
    cl.push_manifest(repo, ref or img.digest, img.body, img.media_type)
    return img


def index(repo, children, descs=None, artifact_type=None, annotations=None):
    """An index over Manifest children (plus raw descriptors `descs`)."""
    m = {"schemaVersion": 2, "mediaType": OCI_INDEX}
    if artifact_type:
        m["artifactType"] = artifact_type
    plats = [("amd64", "linux"), ("arm64", "linux"), ("s390x", "linux"), ("ppc64le", "linux")]
    ms = []
    for i, c in enumerate(children):
        arch, os_ = plats[i % len(plats)]
        ms.append(c.desc(platform={"architecture": arch, "os": os_}))
    m["manifests"] = ms + list(descs or [])
    if annotations:
        m["annotations"] = annotations
    return Manifest(repo, dumps(m), OCI_INDEX, {}, children)


def referrer(cl, repo, subject, artifact_type="application/vnd.example.sbom.v1+json"):
    """A small artifact whose subject is `subject` (blobs pushed, manifest not)."""
    cl.push_blob(repo, b"{}")
    data = os.urandom(24)
    cl.push_blob(repo, data)
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
         "config": {"mediaType": OCI_EMPTY, "digest": sha256(b"{}"), "size": 2},
         "layers": [{"mediaType": "application/vnd.example.data", "digest": sha256(data),
                     "size": len(data)}],
         "subject": subject.desc()}
    return Manifest(repo, dumps(m), OCI_MANIFEST, {sha256(b"{}"): b"{}", sha256(data): data})


# ------------------------------------------------------------------ pulling

def pull_problems(cl, m, ref=None):
    """Pulls m completely (manifest by ref or digest, every blob with its digest checked,
    every child likewise); returns a list of what went wrong (empty: all good)."""
    out = []
    ref = ref or m.digest
    r = cl.get_manifest(m.repo, ref)
    if r.status != 200:
        return [f"manifest {m.repo}@{ref}: {r.status} {r.codes()}"]
    if r.body != m.body:
        out.append(f"manifest {m.repo}@{ref}: other bytes (digest {sha256(r.body)}, want {m.digest})")
    for d, data in m.blobs.items():
        b = cl.get_blob(m.repo, d)
        if b.status != 200:
            out.append(f"blob {m.repo}@{d} of {m.digest}: {b.status} {b.codes()}")
        elif sha256(b.body) != d:
            out.append(f"blob {m.repo}@{d} of {m.digest}: content hashes to {sha256(b.body)}")
    for c in m.children:
        out.extend(pull_problems(cl, c))
    return out


def pull_raw(cl, repo, ref, seen=None):
    """Pulls whatever `ref` names, following the manifest's own references (config, layers,
    children); returns problems. For checks where the test did not keep the objects."""
    seen = set() if seen is None else seen
    out = []
    r = cl.get_manifest(repo, ref)
    if r.status != 200:
        return [f"manifest {repo}@{ref}: {r.status} {r.codes()}"]
    d = r.header("Docker-Content-Digest")
    if d != sha256(r.body):
        out.append(f"manifest {repo}@{ref}: Docker-Content-Digest {d} but body hashes to {sha256(r.body)}")
    if ref.startswith("sha256:") and sha256(r.body) != ref:
        out.append(f"manifest {repo}@{ref}: body hashes to {sha256(r.body)}")
    m = json.loads(r.body)
    for desc in ([m["config"]] if "config" in m else []) + m.get("layers", []):
        if desc["digest"] in seen or desc.get("urls"):
            continue
        seen.add(desc["digest"])
        b = cl.get_blob(repo, desc["digest"])
        if b.status != 200:
            out.append(f"blob {repo}@{desc['digest']} of {ref}: {b.status} {b.codes()}")
        elif sha256(b.body) != desc["digest"]:
            out.append(f"blob {repo}@{desc['digest']} of {ref}: hashes to {sha256(b.body)}")
    for desc in m.get("manifests", []):
        if desc["digest"] not in seen:
            seen.add(desc["digest"])
            out.extend(pull_raw(cl, repo, desc["digest"], seen))
    return out


# ------------------------------------------------------------------ commands

def run_arca(*args, timeout=300, env=None):
    """Runs the arca binary; returns CompletedProcess (text). timeout: a hang guard (scaled).
    A command on a --root gets the blob and metadata stores a server on that root would
    (ARCA_TEST_BLOBS, ARCA_TEST_PG_URL: arca_server.blobs_args, metadata_args)."""
    args = list(args)
    if "--root" in args and args.index("--root") + 1 < len(args):
        root = args[args.index("--root") + 1]
        if "--blobs" not in args:
            args += blobs_args(root)
        if "--metadata" not in args:
            args += metadata_args(root)
    p = subprocess.run([arca_bin(), *args], capture_output=True, text=True,
                       timeout=hang_guard(timeout),
                       env=sanitizer_env(dict(os.environ, **(env or {}))))
    # An ASan exit (1) looks like a refusal (1): the output must hold no sanitizer report.
    assert_no_sanitizer_report(p.stdout + p.stderr, "arca " + " ".join(args[:1]))
    return p


def describe_run(p):
    return (f"\n$ {' '.join(p.args)}\nexit {p.returncode}\nstdout:\n{p.stdout[-4000:]}"
            f"\nstderr:\n{p.stderr[-4000:]}")


def json_out(p):
    """The JSON object `arca gc` printed (the whole stdout, or its last JSON line)."""
    text = p.stdout.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = text.find("{")
    assert start >= 0, "arca gc printed no JSON" + describe_run(p)
    try:
        return json.loads(text[start:])
    except ValueError:
        raise AssertionError("arca gc output is not JSON" + describe_run(p))
