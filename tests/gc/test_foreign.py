"""Foreign content (docs/gc.md "Foreign content"): thin CNAB bundles whose children live in
another registry, non-distributable layers, sparse indexes; the per-repository policy
(`foreign: deny | allow | [prefixes]`, `sparse: true`) and GC never touching foreign digests.
"""
import json
import os
import socket
import threading

from testkit import hang_guard
from gclib import (CNAB_TYPE, DOCKER_FOREIGN, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, OCI_NONDIST,
                   acted_digests, image, index, pull_problems, push_image, sha256)

OTHER = "https://other.example.com/"
MIRROR = "https://mirror.example.org/"


def foreign_child(urls=None):
    """A child manifest that lives in another registry (absent here)."""
    d = sha256(os.urandom(32))
    return {"mediaType": OCI_MANIFEST, "digest": d, "size": 1234,
            "urls": urls if urls is not None else [f"{OTHER}v2/x/manifests/{d}"],
            "annotations": {"io.cnab.manifest.type": "component"}}


def absent_child():
    """A child manifest that is absent and has no urls (a sparse index entry)."""
    return {"mediaType": OCI_MANIFEST, "digest": sha256(os.urandom(32)), "size": 987,
            "platform": {"architecture": "riscv64", "os": "linux"}}


def foreign_layer(media_type=OCI_NONDIST, urls="default"):
    d = sha256(os.urandom(32))
    desc = {"mediaType": media_type, "digest": d, "size": 123456}
    if urls == "default":
        urls = [f"{OTHER}layers/{d}"]
    if urls is not None:
        desc["urls"] = urls
    return desc


def bundle(repo, local, foreign):
    """A thin CNAB bundle: an OCI index typed as CNAB over local and foreign children."""
    return index(repo, local, descs=foreign, artifact_type=CNAB_TYPE,
                 annotations={"io.cnab.runtime_version": "v1.0.0",
                              "org.opencontainers.artifactType": CNAB_TYPE})


def error_text(r):
    body = r.json()
    assert isinstance(body.get("errors"), list) and body["errors"], r
    return json.dumps(body["errors"])


def assert_refused(cl, m, r, code, *names):
    assert r.status == 400 and code in r.codes(), f"expected 400 {code}{r!r}"
    text = error_text(r)
    for n in names:
        assert n in text, f"the refusal must name {n!r}: {text}"
    assert cl.manifest_status(m.repo, m.digest) == 404, "a refused manifest is not stored"


def push(cl, m, ref=None):
    return cl.push_manifest(m.repo, ref or m.digest, m.body, m.media_type, expect=None)


def assert_accepted(cl, m, r, ref=None):
    assert r.status == 201, f"expected 201{r!r}"
    assert r.header("Docker-Content-Digest") == m.digest, r
    g = cl.get_manifest(m.repo, ref or m.digest)
    assert g.status == 200 and g.body == m.body, g


# ------------------------------------------------------------------ default policy

def test_default_policy_accepts_thin_bundle_and_foreign_layers(make_server, repo):
    srv, cl = make_server()                                 # no policy file
    name = repo("bundles")
    inv = image(cl, name, extra_layers=[foreign_layer()])   # absent non-distributable layer
    assert_accepted(cl, inv, push(cl, inv))
    b = bundle(name, [inv], [foreign_child()])
    assert_accepted(cl, b, push(cl, b, "0.1.0"), "0.1.0")
    assert pull_problems(cl, inv) == []

    # each kind of foreign candidate on its own
    for layer in (foreign_layer(urls=None),                          # by media type alone
                  foreign_layer(DOCKER_FOREIGN),                     # Docker foreign layer
                  foreign_layer(OCI_LAYER, urls=[f"{MIRROR}x"])):    # by urls alone
        m = image(cl, name, extra_layers=[layer])
        assert_accepted(cl, m, push(cl, m))

    # absent and not a candidate: as before
    m = image(cl, name, extra_layers=[foreign_layer(OCI_LAYER, urls=None)])
    assert_refused(cl, m, push(cl, m), "MANIFEST_BLOB_UNKNOWN")


def test_sparse_index_refused_by_default(make_server, repo):
    srv, cl = make_server()
    name = repo("apps")
    a = push_image(cl, name)
    s = index(name, [a], descs=[absent_child()])
    assert_refused(cl, s, push(cl, s, "v1"), "MANIFEST_BLOB_UNKNOWN")


# ------------------------------------------------------------------ policies

POLICY = f"""
rules:
  - repositories: "secure/**"
    foreign: deny
  - repositories: "pfx/**"
    foreign: ["{OTHER}", "{MIRROR}"]
  - repositories: "sparse/**"
    foreign: allow
    sparse: true
  - repositories: "bare/**"
    foreign: ["https://bare.example.com"]
"""


def test_foreign_deny(make_server, repo):
    srv, cl = make_server(policy=POLICY)
    name = repo("secure")
    layer = foreign_layer()
    inv = image(cl, name, extra_layers=[layer])
    assert_refused(cl, inv, push(cl, inv), "MANIFEST_INVALID", "secure/**", layer["digest"])

    plain = push_image(cl, name)
    child = foreign_child()
    b = bundle(name, [plain], [child])
    assert_refused(cl, b, push(cl, b, "0.1.0"), "MANIFEST_INVALID", "secure/**", child["digest"])

    # a foreign candidate that is present locally is an ordinary reference
    data = os.urandom(300)
    cl.push_blob(name, data)
    present = {"mediaType": OCI_NONDIST, "digest": sha256(data), "size": len(data),
               "urls": [f"{OTHER}layers/{sha256(data)}"]}
    m = image(cl, name, extra_layers=[present])
    assert_accepted(cl, m, push(cl, m, "v1"), "v1")
    ok = bundle(name, [plain, m], [])
    assert_accepted(cl, ok, push(cl, ok, "0.2.0"), "0.2.0")

    # other repositories: no rule matches, the default allows
    other = repo("open")
    inv2 = image(cl, other, extra_layers=[foreign_layer()])
    assert_accepted(cl, inv2, push(cl, inv2))


def test_foreign_url_prefix_list(make_server, repo):
    srv, cl = make_server(policy=POLICY)
    name = repo("pfx")
    plain = push_image(cl, name)
    d = sha256(os.urandom(8))
    good = foreign_child(urls=[f"{OTHER}v2/x/manifests/{d}", f"{MIRROR}v2/x/manifests/{d}"])
    b = bundle(name, [plain], [good])
    assert_accepted(cl, b, push(cl, b, "ok"), "ok")

    for urls in ([f"{OTHER}v2/x", "https://evil.example.net/v2/x"],      # one URL outside
                 ["https://other.example.com.evil.net/v2/x"],             # not a prefix match
                 ["https://evil.example.net/" + OTHER]):
        child = foreign_child(urls=urls)
        bad = bundle(name, [plain], [child])
        assert_refused(cl, bad, push(cl, bad), "MANIFEST_INVALID", "pfx/**", child["digest"])

    # a prefix without a trailing slash matches at a boundary only
    bare = repo("bare")
    base = push_image(cl, bare)
    for url, fine in (("https://bare.example.com/v2/x", True), ("https://bare.example.com", True),
                      ("https://bare.example.com.evil.net/v2/x", False),
                      ("https://bare.example.comx/v2/x", False)):
        child = foreign_child(urls=[url])
        b2 = bundle(bare, [base], [child])
        if fine:
            assert_accepted(cl, b2, push(cl, b2))
        else:
            assert_refused(cl, b2, push(cl, b2), "MANIFEST_INVALID", "bare/**", child["digest"])

    # layers: urls needed, every one within the list
    m = image(cl, name, extra_layers=[foreign_layer(urls=[f"{MIRROR}l/1"])])
    assert_accepted(cl, m, push(cl, m))
    layer = foreign_layer(urls=None)
    m = image(cl, name, extra_layers=[layer])
    assert_refused(cl, m, push(cl, m), "MANIFEST_INVALID", "pfx/**", layer["digest"])
    layer = foreign_layer(urls=["http://other.example.com/x"])
    m = image(cl, name, extra_layers=[layer])
    assert_refused(cl, m, push(cl, m), "MANIFEST_INVALID", layer["digest"])


def test_sparse_index_accepted_with_sparse_policy(make_server, repo):
    srv, cl = make_server(policy=POLICY)
    name = repo("sparse")
    a = push_image(cl, name)
    s = index(name, [a], descs=[absent_child(), absent_child()])
    assert_accepted(cl, s, push(cl, s, "v1"), "v1")
    assert pull_problems(cl, a) == []
    # in a repository without `sparse: true`, refused as before
    other = repo("pfx")
    b = push_image(cl, other)
    s2 = index(other, [b], descs=[absent_child()])
    assert_refused(cl, s2, push(cl, s2), "MANIFEST_BLOB_UNKNOWN")


# ------------------------------------------------------------------ under GC

class Listener:
    """A loopback port that counts the connections made to it (foreign content must never be
    fetched)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            c.close()

    def close(self):
        self.stop.set()
        self.t.join(hang_guard(10))
        assert not self.t.is_alive(), "hang: the listener thread still runs"
        self.sock.close()


def test_gc_never_touches_foreign_content(make_server, repo):
    srv, cl = make_server(["--gc-retention", "0", "--gc-blob-grace", "0"], policy=POLICY)
    listener = Listener()
    here = f"http://127.0.0.1:{listener.port}/"
    name = repo("bundles")
    layer = foreign_layer(urls=[here + "layer"])
    inv = image(cl, name, extra_layers=[layer])
    cl.push_manifest(name, inv.digest, inv.body, OCI_MANIFEST)
    child = foreign_child(urls=[here + "v2/x/manifests/" + sha256(b"x")])
    b = bundle(name, [inv], [child])
    cl.push_manifest(name, "0.1.0", b.body, OCI_INDEX)
    sname = repo("sparse")
    sa = push_image(cl, sname)
    sparse_child = absent_child()
    s = index(sname, [sa], descs=[sparse_child])
    cl.push_manifest(sname, "v1", s.body, OCI_INDEX)
    foreign = {layer["digest"], child["digest"], sparse_child["digest"]}

    reports = [cl.gc(dry_run=True), cl.gc()]
    for rep in reports:
        assert not (acted_digests(rep) & ({b.digest, inv.digest, s.digest, sa.digest}
                                          | set(inv.blobs) | set(sa.blobs))), \
            f"tagged bundles are kept whole: {rep}"
    g = cl.get_manifest(name, "0.1.0")
    assert g.status == 200 and g.body == b.body, g
    assert pull_problems(cl, inv) == []
    assert pull_problems(cl, sa) == []
    assert cl.get_manifest(sname, "v1").body == s.body

    cl.delete_manifest(name, "0.1.0")
    cl.delete_manifest(sname, "v1")
    reports += [cl.gc(dry_run=True), cl.gc(), cl.gc()]
    assert srv.alive(), f"arca died; log: {srv.log_path}"
    for rep in reports:
        assert not (acted_digests(rep) & foreign), f"a foreign digest was acted on: {rep}"
    for m in (b, inv, s, sa):
        assert cl.manifest_status(m.repo, m.digest) == 404, f"{m.digest} should be collected"
    for d in foreign:
        assert cl.manifest_status(name, d) == 404 and cl.blob_status(name, d) == 404
    assert cl.get("/v2/").status == 200
    listener.close()
    assert listener.connections == 0, "foreign content is never fetched"
