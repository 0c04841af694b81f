"""Helpers for suites that run arca with `auth: token` (docs/auth.md): a server with an admin,
accounts and grants made through the admin API, tokens from /token, and JWTs the test signs
itself (python3-cryptography) to attack the verifier or to play an external issuer."""
import base64
import contextlib
import json
import os
import subprocess
import time

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from arca_server import ArcaServer, arca_bin

ADMIN_PASSWORD = "admin-password-for-tests"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def sign_es256(private_key, header: dict, claims: dict) -> str:
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    der = private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def public_jwk(private_key, kid):
    nums = private_key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": b64url(nums.x.to_bytes(32, "big")), "y": b64url(nums.y.to_bytes(32, "big"))}


def server_signing_key(root):
    """Arca's current signing key, read from its root as an attacker with disk access would
    (the tests use it to sign tokens with wrong claims that only the claims checks can stop)."""
    keys = os.path.join(root, "auth", "keys")
    kid = open(os.path.join(keys, "current")).read().strip()
    with open(os.path.join(keys, kid + ".pem"), "rb") as f:
        return kid, serialization.load_pem_private_key(f.read(), password=None)


class AuthServer(ArcaServer):
    """arca serve --auth token, with "admin" (ADMIN_PASSWORD) made at first start."""

    def __init__(self, extra_args=(), env=None, **kw):
        env = dict(env or {}, ARCA_ADMIN_PASSWORD=ADMIN_PASSWORD)
        super().__init__(extra_args=["--auth", "token", *extra_args], env=env, **kw)

    def cli(self, *args, input=None, check=True):
        """Runs `arca <args> --root <root>` (the account commands)."""
        p = subprocess.run([arca_bin(), *args, "--root", self.root], input=input,
                           capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"arca {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def admin(self, method, path, **kw):
        return requests.request(method, self.url + path, auth=("admin", ADMIN_PASSWORD),
                                timeout=60, verify=self.verify, **kw)

    def add_user(self, name, password):
        r = self.admin("POST", "/arca/v1/accounts", json={"name": name, "password": password})
        assert r.status_code == 201, r.text
        return name

    def add_robot(self, name):
        r = self.admin("POST", "/arca/v1/accounts", json={"name": name, "kind": "robot"})
        assert r.status_code == 201, r.text
        return r.json()["secret"]

    def grant(self, subject, repositories, permission):
        r = self.admin("POST", "/arca/v1/grants", json={
            "subject": subject, "repositories": repositories, "permission": permission})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def token(self, scopes, auth=None, expect=200):
        params = [("service", "arca")] + [("scope", s) for s in scopes]
        r = requests.get(self.url + "/token", params=params, auth=auth, timeout=60,
                         verify=self.verify)
        assert r.status_code == expect, r.text
        return r.json()["token"] if expect == 200 else r

    def granted(self, token):
        return jwt_parts(token)[1]["access"]


# The teams of the real-client suites (tests/clients): alice pushes to team-a, reader pulls
# from it, bob pushes to team-b.
TEAM_USER = ("alice", "alice-password")
TEAM_READER = ("reader", "reader-password")
TEAM_OTHER = ("bob", "bob-password")


@contextlib.contextmanager
def team_server(pki_dir, **kw):
    """An AuthServer over HTTPS (a CA made in pki_dir, tlslib) with the three team accounts."""
    from tlslib import ServerTls
    with AuthServer(tls=ServerTls(pki_dir), **kw) as s:
        s.add_user(*TEAM_USER)
        s.grant(f"user:{TEAM_USER[0]}", "team-a/**", "push")
        s.add_user(*TEAM_READER)
        s.grant(f"user:{TEAM_READER[0]}", "team-a/**", "pull")
        s.add_user(*TEAM_OTHER)
        s.grant(f"user:{TEAM_OTHER[0]}", "team-b/**", "push")
        yield s


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def challenge_params(resp):
    """The parameters of a Bearer WWW-Authenticate header, as a dict."""
    value = resp.headers.get("WWW-Authenticate", "")
    assert value.startswith("Bearer "), f"no Bearer challenge: {value!r}"
    out = {}
    for part in value[7:].split('",'):
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip().strip('"')
    return out


def now():
    return int(time.time())
