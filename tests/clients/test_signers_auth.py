"""Real signers against `auth: token` over HTTPS (docs/auth.md): cosign and notation log in,
sign an image pushed by skopeo, store the signature as an OCI 1.1 referrer (or, in each tool's
older mode, under a tag) and verify it. Each permission boundary is tried both ways: the
owner signs and verifies; a pull-only user cannot sign but can verify and list; a user of
another team and an anonymous caller can do neither, as the image is not visible to them.

Where the signature went is checked on the registry itself: Arca's referrers API
(GET /v2/<repo>/referrers/<digest>) with a token from /token, and the tag list. Each tool is
also shown a key or certificate it must not trust, and refuses, so a success means that the
signature it fetched from Arca really verified.

The test CA reaches both tools through SSL_CERT_FILE (Go's system pool); no insecure or
plain-HTTP flag is ever given. No network beyond loopback is used: cosign signs with a key
pair of its own, without Rekor or Fulcio (--tlog-upload=false, --insecure-ignore-tlog), and
notation with a test certificate it makes (`notation cert generate-test`)."""
import json
import os
import re

import pytest
import requests

from authlib import TEAM_OTHER, TEAM_READER, TEAM_USER, bearer, team_server
from client_helpers import require_tool
from client_runner import Runner

USER, READER, OTHER = TEAM_USER, TEAM_READER, TEAM_OTHER

COSIGN_SIG_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
NOTATION_SIG_TYPE = "application/vnd.cncf.notary.signature"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with team_server(str(tmp_path_factory.mktemp("pki"))) as s:
        yield s


@pytest.fixture
def fresh(tmp_path, srv):
    """A Runner with its own HOME and XDG folders (so its logins, keys and notation config are
    its own), whose Go clients trust the test CA (and only it)."""
    def make(name):
        r = Runner(str(tmp_path / name))
        r.env["SSL_CERT_FILE"] = srv.tls.ca_path
        for var in list(r.env):
            if var.startswith(("COSIGN_", "SIGSTORE_", "NOTATION_")):
                del r.env[var]
        r.env["TUF_ROOT"] = os.path.join(r.root, "tuf")
        return r
    return make


def failed(proc):
    assert proc.returncode != 0, f"expected a refusal:\n{proc.stdout}\n{proc.stderr}"
    text = (proc.stdout + proc.stderr).lower()
    assert re.search(r"unauthori[sz]ed|denied|forbidden|\b401\b|\b403\b|authentication required",
                     text), text[-1500:]


def push_image(srv, layout, run, repo, tag="v1"):
    """skopeo pushes the amd64 image of `layout` to repo:tag as alice; returns its digest."""
    require_tool("skopeo")
    digest_file = os.path.join(run.root, f"{repo.replace('/', '_')}.digest")
    run("skopeo", "copy", "--dest-cert-dir", srv.tls.cert_dir, "--dest-creds", ":".join(USER),
        "--preserve-digests", "--digestfile", digest_file, f"oci:{layout.path}:amd64",
        f"docker://{srv.addr}/{repo}:{tag}")
    digest = open(digest_file).read().strip()
    assert digest == layout.descriptor("amd64")["digest"]
    return digest


def registry_get(srv, repo, path, who=USER, accept=None):
    """GET /v2/<repo>/<path> with a pull token of `who`."""
    token = srv.token([f"repository:{repo}:pull"], auth=who)
    headers = bearer(token)
    if accept:
        headers["Accept"] = accept
    return requests.get(f"{srv.url}/v2/{repo}/{path}", headers=headers, timeout=60,
                        verify=srv.verify)


def referrers(srv, repo, digest, artifact_type=None, who=USER):
    """The descriptors Arca's referrers API lists for repo@digest."""
    path = f"referrers/{digest}"
    if artifact_type:
        path += f"?artifactType={artifact_type}"
    r = registry_get(srv, repo, path, who=who)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith(OCI_INDEX), r.headers
    if artifact_type:
        assert r.headers.get("OCI-Filters-Applied") == "artifactType", r.headers
    body = r.json()
    assert body["mediaType"] == OCI_INDEX and body["schemaVersion"] == 2, body
    return body["manifests"]


def manifest(srv, repo, ref, who=USER):
    r = registry_get(srv, repo, f"manifests/{ref}", who=who,
                     accept="application/vnd.oci.image.manifest.v1+json, " + OCI_INDEX)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def manifest_digest(srv, repo, ref, who=USER):
    """The digest of repo:ref (from a HEAD), or None where there is no such manifest."""
    token = srv.token([f"repository:{repo}:pull"], auth=who)
    r = requests.head(f"{srv.url}/v2/{repo}/manifests/{ref}", timeout=60, verify=srv.verify,
                      headers={**bearer(token), "Accept": OCI_INDEX})
    assert r.status_code in (200, 404), (r.status_code, r.text)
    return r.headers["Docker-Content-Digest"] if r.status_code == 200 else None


def tags(srv, repo, who=USER):
    r = registry_get(srv, repo, "tags/list", who=who)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json().get("tags") or []


def referrers_tag(digest):
    """The tag of the referrers tag schema (and cosign's legacy prefix) for a digest."""
    return digest.replace(":", "-")


# ---------------------------------------------------------------------------- cosign

COSIGN_KEY_PASSWORD = "cosign-key-password"


def cosign_runner(fresh, tool, srv, name, login=None, keys=True):
    """A Runner for cosign with a key pair of its own (cosign.key / cosign.pub in its root),
    logged in as `login` (user, password) if given."""
    cosign = tool("cosign")
    run = fresh(name)
    run.env["COSIGN_PASSWORD"] = COSIGN_KEY_PASSWORD
    run.env["COSIGN_EXPERIMENTAL"] = "1"  # needed for --registry-referrers-mode=oci-1-1
    if keys:
        run(cosign, "generate-key-pair", cwd=run.root)
        assert os.path.exists(os.path.join(run.root, "cosign.key"))
    if login:
        out = run(cosign, "login", srv.addr, "-u", login[0], "-p", login[1])
        assert "logged in" in (out.stdout + out.stderr).lower(), out.stderr
    return cosign, run


# A Sigstore trusted root that trusts nothing: given to `cosign verify`, which otherwise
# fetches Sigstore's public one over TUF (a network beyond loopback), even with --key and
# --insecure-ignore-tlog. The key is then the only thing trusted.
EMPTY_TRUSTED_ROOT = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}


def offline(proc):
    """A cosign run touched no Sigstore service (no TUF, Rekor or Fulcio)."""
    text = proc.stdout + proc.stderr
    assert "sigstore.dev" not in text and "TUF" not in text, text[-1500:]
    return proc


def cosign_sign(cosign, run, ref, key, *extra, check=True):
    return offline(run(cosign, "sign", "--yes", "--key", key, "--tlog-upload=false", *extra, ref,
                       cwd=run.root, check=check))


def cosign_verify(cosign, run, ref, pub, *extra, check=True):
    trusted_root = os.path.join(run.root, "trusted_root.json")
    if not os.path.exists(trusted_root):
        with open(trusted_root, "w") as f:
            json.dump(EMPTY_TRUSTED_ROOT, f)
    return offline(run(cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true",
                       "--trusted-root", trusted_root, "--output", "json", *extra, ref,
                       cwd=run.root, check=check))


def test_cosign_sign_verify_as_oci_referrer(srv, layout, fresh, tool):
    repo = "team-a/cosign-img"
    cosign, alice = cosign_runner(fresh, tool, srv, "alice", login=USER)
    digest = push_image(srv, layout, alice, repo)
    ref = f"{srv.addr}/{repo}@{digest}"
    key, pub = os.path.join(alice.root, "cosign.key"), os.path.join(alice.root, "cosign.pub")

    # not signed yet: nothing to verify
    bad = cosign_verify(cosign, alice, ref, pub, "--experimental-oci11", check=False)
    assert bad.returncode != 0 and "no signatures found" in bad.stderr.lower(), bad.stderr
    assert referrers(srv, repo, digest) == []

    cosign_sign(cosign, alice, ref, key, "--registry-referrers-mode=oci-1-1",
                "-a", "signed-by=alice")

    # stored as an OCI 1.1 referrer of the image, not under cosign's legacy .sig tag
    found = referrers(srv, repo, digest)
    assert len(found) == 1, found
    sig = found[0]
    assert sig["artifactType"] == COSIGN_SIG_TYPE, sig
    assert referrers(srv, repo, digest, artifact_type=COSIGN_SIG_TYPE) == found
    assert referrers(srv, repo, digest, artifact_type=NOTATION_SIG_TYPE) == []
    body = manifest(srv, repo, sig["digest"])
    assert body["subject"]["digest"] == digest, body
    assert body["layers"][0]["mediaType"] == COSIGN_SIMPLESIGNING, body
    assert "dev.cosignproject.cosign/signature" in body["layers"][0]["annotations"], body
    assert sorted(tags(srv, repo)) == ["v1"]

    # verified through the referrers API: there is no legacy tag to fall back on
    out = cosign_verify(cosign, alice, ref, pub, "--experimental-oci11")
    claims = json.loads(out.stdout)
    assert claims[0]["critical"]["image"]["docker-manifest-digest"] == digest, claims
    assert claims[0]["optional"]["signed-by"] == "alice", claims
    # by tag too (cosign resolves it to the digest first)
    cosign_verify(cosign, alice, f"{srv.addr}/{repo}:v1", pub, "--experimental-oci11")

    # another key pair's public key does not verify this signature (with --experimental-oci11
    # cosign then falls back to the legacy tag, finds none and says "no signatures found")
    cosign2, other_keys = cosign_runner(fresh, tool, srv, "other-keys", login=USER)
    bad = cosign_verify(cosign2, other_keys, ref, os.path.join(other_keys.root, "cosign.pub"),
                        "--experimental-oci11", check=False)
    assert bad.returncode != 0 and re.search("no matching signatures|no signatures found",
                                             bad.stderr.lower()), bad.stderr

    # the reader verifies but cannot sign; nothing is added by its attempt
    _, reader = cosign_runner(fresh, tool, srv, "reader", login=READER)
    cosign_verify(cosign, reader, ref, pub, "--experimental-oci11")
    failed(cosign_sign(cosign, reader, ref, os.path.join(reader.root, "cosign.key"),
                       "--registry-referrers-mode=oci-1-1", check=False))
    assert referrers(srv, repo, digest) == found

    # team B's user and an anonymous caller see nothing of team A: no verify, no sign
    _, bob = cosign_runner(fresh, tool, srv, "bob", login=OTHER)
    failed(cosign_verify(cosign, bob, ref, pub, "--experimental-oci11", check=False))
    failed(cosign_sign(cosign, bob, ref, os.path.join(bob.root, "cosign.key"),
                       "--registry-referrers-mode=oci-1-1", check=False))
    _, anon = cosign_runner(fresh, tool, srv, "anon")
    failed(cosign_verify(cosign, anon, ref, pub, "--experimental-oci11", check=False))
    failed(cosign_sign(cosign, anon, ref, os.path.join(anon.root, "cosign.key"),
                       "--registry-referrers-mode=oci-1-1", check=False))
    assert referrers(srv, repo, digest) == found
    # ... and the referrers API itself refuses them
    r = requests.get(f"{srv.url}/v2/{repo}/referrers/{digest}", timeout=60, verify=srv.verify)
    assert r.status_code == 401, (r.status_code, r.text)
    bob_token = srv.token([f"repository:{repo}:pull"], auth=OTHER)
    assert srv.granted(bob_token) == []
    r = requests.get(f"{srv.url}/v2/{repo}/referrers/{digest}", headers=bearer(bob_token),
                     timeout=60, verify=srv.verify)
    assert r.status_code in (401, 403), (r.status_code, r.text)


def test_cosign_legacy_tag_mode(srv, layout, fresh, tool):
    """cosign's default: the signature is an image under the tag sha256-<hex>.sig."""
    repo = "team-a/cosign-legacy"
    cosign, alice = cosign_runner(fresh, tool, srv, "alice", login=USER)
    digest = push_image(srv, layout, alice, repo)
    ref = f"{srv.addr}/{repo}@{digest}"
    key, pub = os.path.join(alice.root, "cosign.key"), os.path.join(alice.root, "cosign.pub")
    cosign_sign(cosign, alice, ref, key)
    sig_tag = referrers_tag(digest) + ".sig"
    assert sorted(tags(srv, repo)) == sorted(["v1", sig_tag])
    body = manifest(srv, repo, sig_tag)
    assert "subject" not in body and body["layers"][0]["mediaType"] == COSIGN_SIMPLESIGNING, body
    assert referrers(srv, repo, digest) == []
    out = cosign_verify(cosign, alice, ref, pub)
    assert json.loads(out.stdout)[0]["critical"]["image"]["docker-manifest-digest"] == digest
    # cosign tree finds it
    tree = alice(cosign, "tree", ref).stdout
    assert sig_tag in tree, tree
    _, reader = cosign_runner(fresh, tool, srv, "reader", login=READER)
    cosign_verify(cosign, reader, ref, pub)
    failed(cosign_sign(cosign, reader, ref, os.path.join(reader.root, "cosign.key"),
                       check=False))
    _, bob = cosign_runner(fresh, tool, srv, "bob", login=OTHER)
    failed(cosign_verify(cosign, bob, ref, pub, check=False))
    _, anon = cosign_runner(fresh, tool, srv, "anon", keys=False)
    failed(cosign_verify(cosign, anon, ref, pub, check=False))
    assert sorted(tags(srv, repo)) == sorted(["v1", sig_tag])


# ---------------------------------------------------------------------------- notation

NOTATION_KEY = "arca-test"


def notation_dir(run):
    return os.path.join(run.env["XDG_CONFIG_HOME"], "notation")


# `notation login` refuses to keep a password in plaintext (unlike cosign, oras, crane...): it
# needs a credentials store, a docker-credential-<name> helper. The test gives each Runner
# one of its own, speaking the helper protocol (store/get/erase/list over stdin/stdout) and
# keeping what it is given in a JSON file beside it, so that login itself (which checks the
# password with the registry before it stores it) runs as a user would run it.
CRED_HELPER = """#!/usr/bin/env python3
import json, os, sys
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "credentials.json")
creds = json.load(open(path)) if os.path.exists(path) else {}
op, data = sys.argv[1], sys.stdin.read()
if op == "store":
    c = json.loads(data)
    creds[c["ServerURL"]] = {"Username": c["Username"], "Secret": c["Secret"]}
elif op == "get":
    url = data.strip()
    if url not in creds:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps({"ServerURL": url, **creds[url]}))
elif op == "erase":
    creds.pop(data.strip(), None)
elif op == "list":
    print(json.dumps({u: c["Username"] for u, c in creds.items()}))
else:
    sys.exit(f"unknown operation {op}")
json.dump(creds, open(path, "w"))
"""


def stored_credentials(run):
    path = os.path.join(run.root, "credhelper", "credentials.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def notation_runner(fresh, tool, srv, name, login=None, key=None, trust_cert=None):
    """A Runner for notation with its own config dir ($XDG_CONFIG_HOME/notation) and
    credentials store (CRED_HELPER): a test key and certificate `key` made by generate-test
    (the default signing key), `trust_cert` (a certificate file) added to the CA trust store
    NOTATION_KEY, a trust policy that trusts that store for every repository, and a login as
    `login` if given."""
    notation = tool("notation")
    run = fresh(name)
    helper_dir = os.path.join(run.root, "credhelper")
    os.makedirs(helper_dir, exist_ok=True)
    helper = os.path.join(helper_dir, "docker-credential-arca-test")
    with open(helper, "w") as f:
        f.write(CRED_HELPER)
    os.chmod(helper, 0o755)
    run.env["PATH"] = helper_dir + os.pathsep + run.env["PATH"]
    os.makedirs(notation_dir(run), exist_ok=True)
    with open(os.path.join(notation_dir(run), "config.json"), "w") as f:
        json.dump({"credsStore": "arca-test"}, f)
    if key:
        run(notation, "cert", "generate-test", "--default", key)
    if trust_cert:
        run(notation, "cert", "add", "--type", "ca", "--store", NOTATION_KEY, trust_cert)
    policy = {
        "version": "1.0",
        "trustPolicies": [{
            "name": "arca-tests",
            "registryScopes": ["*"],
            "signatureVerification": {"level": "strict"},
            "trustStores": [f"ca:{NOTATION_KEY}"],
            "trustedIdentities": ["*"],
        }],
    }
    with open(os.path.join(notation_dir(run), "trustpolicy.json"), "w") as f:
        json.dump(policy, f, indent=2)
    if login:
        out = run(notation, "login", "-u", login[0], "--password-stdin", srv.addr,
                  input=login[1])
        assert "login succeeded" in out.stdout.lower(), out.stdout
        assert stored_credentials(run) == {
            srv.addr: {"Username": login[0], "Secret": login[1]}}, stored_credentials(run)
    return notation, run


def test_notation_sign_verify_as_oci_referrer(srv, layout, fresh, tool):
    repo = "team-a/notation-img"
    notation, alice = notation_runner(fresh, tool, srv, "alice", login=USER, key=NOTATION_KEY)
    cert = os.path.join(notation_dir(alice), "localkeys", NOTATION_KEY + ".crt")
    assert os.path.exists(cert)
    # generate-test put its certificate into the trust store the policy names
    assert NOTATION_KEY in alice(notation, "cert", "ls").stdout
    digest = push_image(srv, layout, alice, repo)
    ref = f"{srv.addr}/{repo}@{digest}"

    bad = alice(notation, "verify", ref, check=False)
    assert bad.returncode != 0 and "no signature" in (bad.stdout + bad.stderr).lower(), bad.stderr
    assert referrers(srv, repo, digest) == []

    # through the referrers API (notation's default is the referrers tag schema, below)
    alice(notation, "sign", "--force-referrers-tag=false", "-m", "signed-by=alice", ref)
    found = referrers(srv, repo, digest)
    assert len(found) == 1, found
    sig = found[0]
    assert sig["artifactType"] == NOTATION_SIG_TYPE, sig
    assert referrers(srv, repo, digest, artifact_type=NOTATION_SIG_TYPE) == found
    body = manifest(srv, repo, sig["digest"])
    assert body["subject"]["digest"] == digest, body
    assert body["layers"][0]["mediaType"] == "application/jose+json", body
    assert sorted(tags(srv, repo)) == ["v1"]  # no referrers-tag index was written

    out = alice(notation, "ls", ref).stdout
    assert NOTATION_SIG_TYPE in out and sig["digest"] in out, out
    out = alice(notation, "verify", "-m", "signed-by=alice", ref)
    assert "successfully verified" in out.stdout.lower(), out.stdout
    assert digest in out.stdout, out.stdout
    # metadata the signature does not carry is not accepted
    bad = alice(notation, "verify", "-m", "signed-by=mallory", ref, check=False)
    assert bad.returncode != 0, bad.stdout

    # a trust store holding another certificate does not verify it
    _, stranger = notation_runner(fresh, tool, srv, "stranger", login=USER, key=NOTATION_KEY)
    bad = stranger(notation, "verify", ref, check=False)
    assert bad.returncode != 0 and "signature verification failed" in \
        (bad.stdout + bad.stderr).lower(), bad.stdout + bad.stderr

    # the reader lists and verifies, cannot sign; its attempt adds nothing
    _, reader = notation_runner(fresh, tool, srv, "reader", login=READER, key="reader-key",
                                trust_cert=cert)
    assert sig["digest"] in reader(notation, "ls", ref).stdout
    out = reader(notation, "verify", ref)
    assert "successfully verified" in out.stdout.lower(), out.stdout
    failed(reader(notation, "sign", "--force-referrers-tag=false", ref, check=False))
    failed(reader(notation, "sign", ref, check=False))
    assert referrers(srv, repo, digest) == found

    # team B's user and anonymous callers: the image is not visible
    _, bob = notation_runner(fresh, tool, srv, "bob", login=OTHER, key="bob-key",
                             trust_cert=cert)
    failed(bob(notation, "verify", ref, check=False))
    failed(bob(notation, "ls", ref, check=False))
    failed(bob(notation, "sign", "--force-referrers-tag=false", ref, check=False))
    _, anon = notation_runner(fresh, tool, srv, "anon", key="anon-key", trust_cert=cert)
    failed(anon(notation, "verify", ref, check=False))
    failed(anon(notation, "ls", ref, check=False))
    failed(anon(notation, "sign", ref, check=False))
    assert referrers(srv, repo, digest) == found
    assert sorted(tags(srv, repo)) == ["v1"]

    # notation checks a password with the registry before it stores it: a wrong one is refused
    # and nothing is kept
    _, wrong = notation_runner(fresh, tool, srv, "wrong")
    failed(wrong(notation, "login", "-u", USER[0], "--password-stdin", srv.addr,
                 input="not-the-password", check=False))
    assert stored_credentials(wrong) == {}
    # logout forgets alice's credential: she is then anonymous, and refused
    alice(notation, "logout", srv.addr)
    assert stored_credentials(alice) == {}
    failed(alice(notation, "verify", ref, check=False))


def test_notation_referrers_tag_schema(srv, layout, fresh, tool):
    """notation's default (--force-referrers-tag): the signature has a subject and is also
    listed in an image index under the tag sha256-<hex>."""
    repo = "team-a/notation-tagschema"
    notation, alice = notation_runner(fresh, tool, srv, "alice", login=USER, key=NOTATION_KEY)
    cert = os.path.join(notation_dir(alice), "localkeys", NOTATION_KEY + ".crt")
    digest = push_image(srv, layout, alice, repo)
    ref = f"{srv.addr}/{repo}@{digest}"
    alice(notation, "sign", ref)
    tag = referrers_tag(digest)
    assert sorted(tags(srv, repo)) == sorted(["v1", tag])
    index = manifest(srv, repo, tag)
    assert index["mediaType"] == OCI_INDEX and len(index["manifests"]) == 1, index
    sig = index["manifests"][0]
    assert sig["artifactType"] == NOTATION_SIG_TYPE, sig
    assert manifest(srv, repo, sig["digest"])["subject"]["digest"] == digest
    # Arca indexes the subject as well, so the referrers API lists the same signature
    assert [d["digest"] for d in referrers(srv, repo, digest)] == [sig["digest"]]
    out = alice(notation, "verify", ref)
    assert "successfully verified" in out.stdout.lower(), out.stdout
    assert sig["digest"] in alice(notation, "ls", ref).stdout

    # a second signature: both listed in the tag's new index and by the referrers API. The
    # client then deletes the index it replaced; alice may push but not delete, so that is
    # refused and the old index stays (untagged)
    first_index = manifest_digest(srv, repo, tag)
    out = alice(notation, "sign", "--signature-format", "cose", ref)
    assert "removal of outdated referrers index from remote registry failed" in \
        out.stderr.lower(), out.stderr
    index = manifest(srv, repo, tag)
    assert len(index["manifests"]) == 2, index
    assert sorted(d["digest"] for d in index["manifests"]) == \
        sorted(d["digest"] for d in referrers(srv, repo, digest))
    alice(notation, "verify", ref)
    second_index = manifest_digest(srv, repo, tag)
    assert second_index != first_index
    assert manifest_digest(srv, repo, first_index) == first_index
    # with delete granted, the replaced index is deleted
    srv.grant("user:alice", repo, "delete")
    out = alice(notation, "sign", ref)
    assert "removal of outdated referrers index" not in out.stderr.lower(), out.stderr
    assert len(manifest(srv, repo, tag)["manifests"]) == 3
    assert manifest_digest(srv, repo, second_index) is None
    assert len(referrers(srv, repo, digest)) == 3
    alice(notation, "verify", ref)

    _, reader = notation_runner(fresh, tool, srv, "reader", login=READER, key="reader-key",
                                trust_cert=cert)
    reader(notation, "verify", ref)
    failed(reader(notation, "sign", ref, check=False))
    _, bob = notation_runner(fresh, tool, srv, "bob", login=OTHER, key="bob-key",
                             trust_cert=cert)
    failed(bob(notation, "verify", ref, check=False))
    assert len(manifest(srv, repo, tag)["manifests"]) == 3


# ---------------------------------------------------------------------------- TLS itself

def test_signers_without_the_ca_are_refused(srv, fresh, tool):
    """Without the test CA in SSL_CERT_FILE both tools fail, so their successes above were
    over verified TLS (they are never told to skip verification)."""
    cosign, notation = tool("cosign"), tool("notation")
    run = fresh("no-ca")
    del run.env["SSL_CERT_FILE"]
    ref = f"{srv.addr}/team-a/anything@sha256:{'0' * 64}"
    run.env["COSIGN_PASSWORD"] = COSIGN_KEY_PASSWORD
    run(cosign, "generate-key-pair", cwd=run.root)
    bad = cosign_verify(cosign, run, ref, os.path.join(run.root, "cosign.pub"), check=False)
    # go-containerregistry (cosign's registry client) tries plain HTTP after HTTPS for a
    # loopback registry; Arca's TLS port answers that with a refusal, never with content
    assert bad.returncode != 0 and re.search(r"certificate|serves https, not plain http",
                                             bad.stderr.lower()), bad.stderr
    bad = run(notation, "login", "-u", USER[0], "--password-stdin", srv.addr, input=USER[1],
              check=False)
    assert bad.returncode != 0 and "certificate" in (bad.stdout + bad.stderr).lower(), bad.stderr
