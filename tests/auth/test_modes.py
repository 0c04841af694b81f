"""Modes and set-up (docs/auth.md): the open registry kept to loopback, the first admin, key
rotation, htpasswd import, trusted external issuers."""
import crypt
import json
import os
import re
import subprocess
import warnings

import requests
from cryptography.hazmat.primitives.asymmetric import ec

from arca_server import ArcaServer, arca_bin, sanitizer_env
from authlib import ADMIN_PASSWORD, AuthServer, bearer, jwt_parts, now, public_jwk, sign_es256
from testkit import wait_until


def serve_once(root, *args, env=None):
    """Starts arca serve expecting it to refuse: its exit status and output."""
    p = subprocess.run([arca_bin(), "serve", "--root", root, *args], capture_output=True,
                       text=True, timeout=60, env=sanitizer_env(dict(os.environ, **(env or {}))))
    return p.returncode, p.stderr


def test_open_registry_is_refused_beyond_loopback(tmp_path):
    rc, err = serve_once(str(tmp_path / "a"), "--addr", "0.0.0.0:0")
    assert rc == 2 and "refusing to serve an open registry beyond loopback" in err
    rc, err = serve_once(str(tmp_path / "b"), "--addr", "[::]:0")
    assert rc == 2 and "--insecure-open" in err
    # with --insecure-open it serves, and warns
    with ArcaServer(extra_args=["--insecure-open"]) as s:
        s.stop()
        log = open(s.log_path).read()
        assert "WARNING" not in log  # loopback: nothing to warn about
    p = subprocess.Popen([arca_bin(), "serve", "--root", str(tmp_path / "d"), "--addr", "0.0.0.0:0",
                          "--insecure-open"], stderr=subprocess.PIPE, text=True,
                         env=sanitizer_env(dict(os.environ)))
    try:
        line = ""
        for line in p.stderr:
            if "WARNING" in line or "serving on" in line:
                break
        assert "WARNING: auth is none on 0.0.0.0:0" in line
    finally:
        p.terminate()
        p.wait(timeout=60)
    # auth: token on any address is fine
    with AuthServer(root=str(tmp_path / "e")) as s:
        s.stop()
        s.start()


def test_first_admin_password_generated_and_printed_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ARCA_ADMIN_PASSWORD"}
    s = ArcaServer(root=str(tmp_path / "r"), extra_args=["--auth", "token"])
    s.env = env  # without ARCA_ADMIN_PASSWORD
    with s:
        log = open(s.log_path).read()
        m = re.search(r'created the user "admin" with the password (\S+) ', log)
        assert m, log
        password = m.group(1)
        assert len(password) >= 20
        r = requests.get(f"{s.url}/arca/v1/accounts", auth=("admin", password), timeout=60)
        assert r.status_code == 200
        s.stop()
        s.start()
        assert open(s.log_path).read().count('created the user "admin"') == 1


def test_key_rotation_keeps_old_tokens_valid():
    with AuthServer() as s:
        tok1 = s.token(["repository:rot/x:pull"], auth=("admin", ADMIN_PASSWORD))
        kid1 = jwt_parts(tok1)[0]["kid"]
        out = s.cli("keys", "rotate").stdout.strip()
        assert out and out != kid1
        tok2 = s.token(["repository:rot/x:pull"], auth=("admin", ADMIN_PASSWORD))
        assert jwt_parts(tok2)[0]["kid"] == out
        for t in (tok1, tok2):
            r = requests.get(f"{s.url}/v2/rot/x/tags/list", headers=bearer(t), timeout=30)
            assert r.status_code == 404, r.text  # authorized; the repository does not exist
        keys = os.listdir(os.path.join(s.root, "auth", "keys"))
        assert f"{kid1}.pem" in keys and f"{kid1}.retired" in keys
        assert oct(os.stat(os.path.join(s.root, "auth", "keys", f"{out}.pem")).st_mode & 0o777) == "0o600"


def test_htpasswd_import(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        hashed = crypt.crypt("migrated-password", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))
    assert hashed.startswith("$2b$")
    ht = tmp_path / "htpasswd"
    ht.write_text(f"# from distribution\nmigrated:{hashed}\n\nalso:{hashed.replace('$2b$', '$2y$', 1)}\n")
    with AuthServer() as s:
        out = s.cli("user", "import-htpasswd", str(ht)).stdout
        assert "imported 2 of 2" in out
        for user in ("migrated", "also"):
            r = requests.get(f"{s.url}/v2/", auth=(user, "migrated-password"), timeout=30)
            assert r.status_code == 200, (user, r.text)
            r = requests.get(f"{s.url}/v2/", auth=(user, "wrong-password"), timeout=30)
            assert r.status_code == 401
        bad = tmp_path / "md5"
        bad.write_text("old:$apr1$abc$defghijklmnopqrstuvwx\n")
        p = s.cli("user", "import-htpasswd", str(bad), check=False)
        assert p.returncode != 0 and "line 1" in p.stderr and "$apr1$abc" not in p.stderr


def external_issuer_files(tmp_path, keys):
    """jwks.json with keys ({kid: private key}) and issuers.json trusting it for
    https://idp.example / arca-prod; returns the jwks path and the server's arguments."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(k, kid) for kid, k in keys.items()]}))
    (tmp_path / "issuers.json").write_text(json.dumps(
        [{"issuer": "https://idp.example", "audience": "arca-prod", "jwks": "jwks.json"}]))
    return jwks, ["--trusted-issuers", str(tmp_path / "issuers.json")]


def push_as_admin(s, repo, data):
    """Pushes data as a blob of repo with the admin's token; returns its digest."""
    import hashlib
    admin = s.token([f"repository:{repo}:pull,push"], auth=("admin", ADMIN_PASSWORD))
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = requests.post(f"{s.url}/v2/{repo}/blobs/uploads/?digest={digest}", data=data,
                      headers=bearer(admin), timeout=30)
    assert r.status_code == 201
    return digest


def external_claims(repo, lifetime):
    t = now()
    return {"iss": "https://idp.example", "aud": "arca-prod", "sub": "ci@example",
            "iat": t, "nbf": t, "exp": t + lifetime,
            "access": [{"type": "repository", "name": repo, "actions": ["pull"]}]}


def test_trusted_external_issuer(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    _, args = external_issuer_files(tmp_path, {"ext-1": key})
    with AuthServer(extra_args=args) as s:
        data = b"external"
        digest = push_as_admin(s, "ext/app", data)
        claims = external_claims("ext/app", 60)
        t = claims["iat"]
        hdr = {"alg": "ES256", "typ": "JWT", "kid": "ext-1"}
        good = sign_es256(key, hdr, claims)
        r = requests.get(f"{s.url}/v2/ext/app/blobs/{digest}", headers=bearer(good), timeout=30)
        assert r.status_code == 200 and r.content == data
        # its access list is all it may do
        r = requests.post(f"{s.url}/v2/ext/app/blobs/uploads/", headers=bearer(good), timeout=30)
        assert r.status_code == 401
        for bad in (sign_es256(key, hdr, dict(claims, aud="arca")),
                    sign_es256(key, hdr, dict(claims, iss="https://other.example")),
                    sign_es256(key, dict(hdr, kid="ext-2"), claims),
                    sign_es256(ec.generate_private_key(ec.SECP256R1()), hdr, claims),
                    sign_es256(key, hdr, dict(claims, exp=t - 600))):
            r = requests.get(f"{s.url}/v2/ext/app/blobs/{digest}", headers=bearer(bad), timeout=30)
            assert r.status_code == 401
        # an external token cannot be traded at /token for one of Arca's
        r = requests.get(f"{s.url}/token?service=arca", headers=bearer(good), timeout=30)
        assert r.status_code == 401


def test_auth_none_keeps_todays_behaviour():
    with ArcaServer() as s:
        assert requests.get(f"{s.url}/v2/", timeout=30).status_code == 200
        assert requests.get(f"{s.url}/token", timeout=30).status_code == 404
        assert requests.get(f"{s.url}/arca/v1/accounts", timeout=30).status_code == 404


def test_trusted_issuers_are_reloaded_when_their_files_change(tmp_path):
    """An identity provider rotates its keys: the JWKS file is rewritten, and Arca follows
    without a restart; a broken file keeps the keys in force; a removed key stops at once
    (cached verifications of it included)."""
    old_key, new_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    jwks, args = external_issuer_files(tmp_path, {"k-old": old_key})
    with AuthServer(extra_args=args) as s:
        digest = push_as_admin(s, "rot/app", b"rotated")
        claims = external_claims("rot/app", 300)
        by_old = sign_es256(old_key, {"alg": "ES256", "typ": "JWT", "kid": "k-old"}, claims)
        by_new = sign_es256(new_key, {"alg": "ES256", "typ": "JWT", "kid": "k-new"}, claims)

        def status(tok):
            return requests.get(f"{s.url}/v2/rot/app/blobs/{digest}", headers=bearer(tok),
                                timeout=30).status_code
        assert status(by_old) == 200  # and now cached as verified
        assert status(by_new) == 401

        def log():
            return open(s.log_path, encoding="utf-8", errors="replace").read()
        # the provider publishes both keys during its rotation
        jwks.write_text(json.dumps({"keys": [public_jwk(old_key, "k-old"),
                                             public_jwk(new_key, "k-new")]}))
        wait_until(lambda: status(by_new) == 200, 15, what="the new key to be trusted")
        assert status(by_old) == 200
        # a half-written file is not taken: both keys stay
        jwks.write_text('{"keys": [')
        wait_until(lambda: "trusted_issuers not reloaded" in log(), 15,
                   what="the broken JWKS to be reported")
        assert status(by_old) == 200 and status(by_new) == 200
        # then the old key is withdrawn: its token stops at once, though it was cached
        jwks.write_text(json.dumps({"keys": [public_jwk(new_key, "k-new")]}))
        wait_until(lambda: status(by_old) == 401, 15, what="the withdrawn key to be refused")
        assert status(by_new) == 200
        assert log().count("trusted_issuers reloaded") == 2
