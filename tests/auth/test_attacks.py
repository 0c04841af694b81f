"""Attacks on authentication and authorization, each refused cleanly with the spec's error
(issue 11): forged and altered tokens, wrong claims, scope escalation, names that dodge the
check, password guessing, oversized headers."""
import base64
import hashlib
import hmac
import http.client
import json

import requests
from cryptography.hazmat.primitives.asymmetric import ec

from authlib import (ADMIN_PASSWORD, AuthServer, b64url, bearer, jwt_parts, now,
                     public_jwk, server_signing_key, sign_es256)
from ocihttp import random_bytes
from testkit import sha256


def setup_repo(srv, repo="atk/repo"):
    tok = srv.token([f"repository:{repo}:pull,push"], auth=("admin", ADMIN_PASSWORD))
    data = random_bytes(48)
    r = requests.post(f"{srv.url}/v2/{repo}/blobs/uploads/?digest={sha256(data)}", data=data,
                      headers=bearer(tok), timeout=30)
    assert r.status_code == 201
    return sha256(data), tok


def refused(srv, token, path):
    r = requests.get(srv.url + path, headers=bearer(token), timeout=30)
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "Bearer realm=" in r.headers["WWW-Authenticate"]
    return r


def test_altered_and_forged_tokens(srv):
    digest, tok = setup_repo(srv)
    path = f"/v2/atk/repo/blobs/{digest}"
    assert requests.get(srv.url + path, headers=bearer(tok), timeout=30).status_code == 200
    header, claims, sig = jwt_parts(tok)
    h64, p64, _ = tok.split(".")

    # tampered payload: another repository in the access list, signature kept
    claims2 = dict(claims, access=[{"type": "repository", "name": "atk/other", "actions": ["pull", "push"]}])
    refused(srv, tok, path.replace("atk/repo", "atk/other"))
    forged = h64 + "." + b64url(json.dumps(claims2).encode()) + "." + sig
    refused(srv, forged, path.replace("atk/repo", "atk/other"))
    # tampered signature
    bad_sig = sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")
    refused(srv, h64 + "." + p64 + "." + bad_sig, path)
    # alg none, with and without a signature
    none_h = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": header["kid"]}).encode())
    refused(srv, none_h + "." + p64 + ".", path)
    refused(srv, none_h + "." + p64 + "." + sig, path)
    # HS256 keyed with the public key (the classic confusion), as PEM and as JWK JSON
    kid, key = server_signing_key(srv.root)
    from cryptography.hazmat.primitives import serialization
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_h = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    for secret in (pem, json.dumps(public_jwk(key, kid)).encode()):
        mac = hmac.new(secret, (hs_h + "." + p64).encode(), hashlib.sha256).digest()
        refused(srv, hs_h + "." + p64 + "." + b64url(mac), path)
    # signed by a key that is not Arca's, naming Arca's kid
    other = ec.generate_private_key(ec.SECP256R1())
    refused(srv, sign_es256(other, {"alg": "ES256", "typ": "JWT", "kid": kid}, claims), path)
    # garbage
    for junk in ("x", "a.b", "a.b.c", "...", "ey." * 3, "é.é.é"):
        refused(srv, junk, path)


def test_claims_are_checked(srv):
    digest, _ = setup_repo(srv, "atk/claims")
    path = f"/v2/atk/claims/blobs/{digest}"
    kid, key = server_signing_key(srv.root)
    t = now()
    good = {"iss": "arca", "aud": "arca", "sub": "admin", "iat": t, "nbf": t - 5, "exp": t + 60,
            "jti": "x", "access": [{"type": "repository", "name": "atk/claims", "actions": ["pull"]}]}
    hdr = {"alg": "ES256", "typ": "JWT", "kid": kid}
    # The test's own well-formed token passes except for the account's secret version, which
    # it cannot know without the hash: so it is taken from a real token.
    real = srv.token(["repository:atk/claims:pull"], auth=("admin", ADMIN_PASSWORD))
    rc = jwt_parts(real)[1]
    good.update(sv=rc["sv"], kind=rc["kind"])
    assert requests.get(srv.url + path, headers=bearer(sign_es256(key, hdr, good)),
                        timeout=30).status_code == 200
    for change in ({"exp": t - 120}, {"nbf": t + 600}, {"aud": "other"}, {"iss": "other"},
                   {"aud": ["x", "y"]}, {"exp": str(t + 60)}, {"sv": "0" * 16},
                   {"sub": "no-such-account"}):
        refused(srv, sign_es256(key, hdr, dict(good, **change)), path)
    bad = dict(good)
    del bad["exp"]
    refused(srv, sign_es256(key, hdr, bad), path)
    # an audience list holding ours is fine
    assert requests.get(srv.url + path, headers=bearer(sign_es256(key, hdr, dict(good, aud=["x", "arca"]))),
                        timeout=30).status_code == 200
    # a "crit" header is refused
    refused(srv, sign_es256(key, dict(hdr, crit=["exp"]), good), path)


def test_expired_token_from_a_short_lifetime():
    with AuthServer(extra_args=["--token-ttl", "10s"]) as s:
        digest, tok = setup_repo(s, "atk/ttl")
        assert jwt_parts(tok)[1]["exp"] - jwt_parts(tok)[1]["iat"] == 10
        kid, key = server_signing_key(s.root)
        claims = jwt_parts(tok)[1]
        # the same token, re-signed with its times moved into the past beyond the leeway
        old = dict(claims, iat=claims["iat"] - 100, nbf=claims["nbf"] - 100, exp=claims["exp"] - 100)
        refused(s, sign_es256(key, {"alg": "ES256", "typ": "JWT", "kid": kid}, old),
                f"/v2/atk/ttl/blobs/{digest}")


def test_scope_escalation_in_token_requests(srv):
    srv.add_user("atk-user", "atk-password")
    srv.grant("user:atk-user", "atk/mine", "pull")
    a = ("atk-user", "atk-password")
    for scope in ("repository:atk/mine:push", "repository:atk/mine:*", "repository:atk/mine:admin",
                  "repository:atk/*:pull", "repository:atk/**:pull", "repository:**:pull",
                  "repository:ATK/mine:pull", "repository:atk/mine/../other:pull",
                  "repository:atk%2Fmine:pull", "registry:arca:admin", "registry:arca:*",
                  "repository(plugin):atk/other:pull", "repository:atk/other:pull,push"):
        tok = srv.token([scope], auth=a)
        for entry in jwt_parts(tok)[1]["access"]:
            assert entry == {"type": "repository", "name": "atk/mine", "actions": ["pull"]}, (scope, entry)
    # several scopes in one parameter, space-separated, and repeated parameters
    tok = srv.token(["repository:atk/mine:pull repository:atk/other:push"], auth=a)
    assert jwt_parts(tok)[1]["access"] == [{"type": "repository", "name": "atk/mine", "actions": ["pull"]}]


def test_names_that_dodge_the_check(srv):
    srv.add_user("atk-dodge", "dodge-password")
    srv.grant("user:atk-dodge", "atk/allowed/**", "push")
    a = ("atk-dodge", "dodge-password")
    basic = "Basic " + base64.b64encode(b"atk-dodge:dodge-password").decode()
    for path in ("/v2/atk/allowed/%2E%2E/secret/tags/list", "/v2/atk/allowed/../secret/tags/list",
                 "/v2/atk%2Fsecret/tags/list", "/v2/ATK/allowed/x/tags/list",
                 "/v2/atk/allowed//x/tags/list", "/v2/atk/allowed/./x/tags/list",
                 "/v2/atk/allowed/%2e%2e/%2e%2e/secret/manifests/latest"):
        # sent as written: requests would resolve the dots itself
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        c.request("GET", path, headers={"Authorization": basic})
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        assert r.status in (400, 404), (path, r.status)
        assert body["errors"][0]["code"] in ("NAME_INVALID", "UNSUPPORTED"), (path, body)


def test_referrers_of_a_forbidden_subject(srv):
    srv.add_user("atk-ref", "ref-password")
    r = requests.get(f"{srv.url}/v2/atk/repo/referrers/sha256:{'a' * 64}",
                     auth=("atk-ref", "ref-password"), timeout=30)
    assert r.status_code == 403


def test_password_guessing_until_429():
    with AuthServer() as s:
        s.add_user("atk-victim", "victim-password")
        codes = []
        for i in range(12):
            r = requests.get(f"{s.url}/v2/", auth=("atk-victim", f"guess-{i}"), timeout=30)
            codes.append(r.status_code)
        assert codes[:10] == [401] * 10 and codes[10] == 429, codes
        assert r.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
        assert 0 < int(r.headers["Retry-After"]) <= 300
        # the right password is refused too while the account is locked out
        r = requests.get(f"{s.url}/v2/", auth=("atk-victim", "victim-password"), timeout=30)
        assert r.status_code == 429
        # through /token as well
        r = requests.get(f"{s.url}/token?service=arca", auth=("atk-victim", "victim-password"), timeout=30)
        assert r.status_code == 429 and "Retry-After" in r.headers
        # another account from the same address is not locked (yet)
        s.add_user("atk-other", "other-password")
        r = requests.get(f"{s.url}/v2/", auth=("atk-other", "other-password"), timeout=30)
        assert r.status_code == 200
        # the log never holds a password
        s.stop()
        log = open(s.log_path, encoding="utf-8", errors="replace").read()
        assert "victim-password" not in log and "guess-3" not in log
        assert "other-password" not in log


def test_oversized_and_malformed_authorization(srv):
    for value in ("Bearer " + "a" * 9000, "Basic " + "A" * 9000, "Basic !!!", "Basic " +
                  base64.b64encode(b"no-colon").decode(), "Digest x", "Bearer"):
        r = requests.get(f"{srv.url}/v2/", headers={"Authorization": value}, timeout=30)
        assert r.status_code in (401, 431), (value[:20], r.status_code)
        if r.status_code == 401:
            assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    # a header far beyond the request limit is refused by the HTTP layer, and the server lives
    r = requests.get(f"{srv.url}/v2/", headers={"Authorization": "Bearer " + "a" * 200000}, timeout=30)
    assert r.status_code in (400, 431)
    assert requests.get(f"{srv.url}/v2/", auth=("admin", ADMIN_PASSWORD), timeout=30).status_code == 200
