"""The token protocol as clients meet it (docs/auth.md): challenges, /token by GET and POST,
Basic on /v2, anonymous tokens, scopes cut down to grants, filtered listings, revocation."""
import json

import requests

from authlib import ADMIN_PASSWORD, bearer, challenge_params, jwt_parts, now
from ocihttp import Registry, random_bytes
from testkit import parse_rfc3339, sha256


def push_blob(srv, repo, token=None, auth=None, data=None):
    data = data or random_bytes(64)
    headers = bearer(token) if token else {}
    r = requests.post(f"{srv.url}/v2/{repo}/blobs/uploads/?digest={sha256(data)}", data=data,
                      headers=headers, auth=auth, timeout=30)
    return r, sha256(data)


def test_no_credentials_get_a_challenge_naming_the_scope(srv):
    r = requests.get(f"{srv.url}/v2/", timeout=30)
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    c = challenge_params(r)
    assert c["realm"] == f"{srv.url}/token"
    assert c["service"] == "arca"
    assert "scope" not in c
    r = requests.get(f"{srv.url}/v2/some/repo/manifests/latest", timeout=30)
    assert r.status_code == 401
    assert challenge_params(r)["scope"] == "repository:some/repo:pull"
    r = requests.post(f"{srv.url}/v2/some/repo/blobs/uploads/", timeout=30)
    assert challenge_params(r)["scope"] == "repository:some/repo:pull,push"
    r = requests.delete(f"{srv.url}/v2/some/repo/manifests/sha256:{'0' * 64}", timeout=30)
    assert challenge_params(r)["scope"] == "repository:some/repo:delete"
    r = requests.get(f"{srv.url}/v2/_catalog", timeout=30)
    assert challenge_params(r)["scope"] == "registry:catalog:*"
    r = requests.post(f"{srv.url}/arca/v1/admin/gc", timeout=30)
    assert r.status_code == 401
    assert challenge_params(r)["scope"] == "registry:arca:admin"


def test_realm_follows_the_host_the_client_used(srv):
    r = requests.get(f"{srv.url}/v2/", headers={"Host": "registry.example:8443"}, timeout=30)
    assert challenge_params(r)["realm"] == "http://registry.example:8443/token"
    # a Host that would break out of the quoted value is not echoed
    r = requests.get(f"{srv.url}/v2/", headers={"Host": 'evil", error="x'}, timeout=30)
    assert 'evil' not in r.headers["WWW-Authenticate"]


def test_token_scope_is_cut_down_to_grants(srv):
    srv.add_user("flow-reader", "reader-password")
    srv.grant("user:flow-reader", "flow/readable", "pull")
    tok = srv.token(["repository:flow/readable:pull,push,delete",
                     "repository:flow/other:pull", "registry:arca:admin"],
                    auth=("flow-reader", "reader-password"))
    header, claims, _ = jwt_parts(tok)
    assert header["alg"] == "ES256" and header["kid"]
    assert claims["access"] == [{"type": "repository", "name": "flow/readable", "actions": ["pull"]}]
    assert claims["sub"] == "flow-reader"
    assert claims["iss"] == "arca" and claims["aud"] == "arca"
    assert claims["exp"] - claims["iat"] == 300
    for k in ("nbf", "jti"):
        assert k in claims


def test_pull_with_token_and_push_refused(srv):
    srv.add_user("flow-puller", "puller-password")
    srv.grant("user:flow-puller", "flow/pullonly", "pull")
    admin_tok = srv.token(["repository:flow/pullonly:pull,push"], auth=("admin", ADMIN_PASSWORD))
    r, digest = push_blob(srv, "flow/pullonly", token=admin_tok)
    assert r.status_code == 201, r.text
    tok = srv.token(["repository:flow/pullonly:pull,push"], auth=("flow-puller", "puller-password"))
    r = requests.get(f"{srv.url}/v2/flow/pullonly/blobs/{digest}", headers=bearer(tok), timeout=30)
    assert r.status_code == 200 and sha256(r.content) == digest
    r, _ = push_blob(srv, "flow/pullonly", token=tok)
    assert r.status_code == 401
    c = challenge_params(r)
    assert c["error"] == "insufficient_scope" and c["scope"] == "repository:flow/pullonly:pull,push"
    # the same with Basic credentials straight to /v2: 403, as the caller is known
    r, _ = push_blob(srv, "flow/pullonly", auth=("flow-puller", "puller-password"))
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED"
    r = requests.get(f"{srv.url}/v2/flow/pullonly/blobs/{digest}",
                     auth=("flow-puller", "puller-password"), timeout=30)
    assert r.status_code == 200


def test_token_for_one_repository_does_not_open_another(srv):
    srv.add_user("flow-ab", "ab-password")
    srv.grant("user:flow-ab", "flow/a", "push")
    srv.grant("user:flow-ab", "flow/b", "push")
    tok = srv.token(["repository:flow/a:pull,push"], auth=("flow-ab", "ab-password"))
    assert push_blob(srv, "flow/a", token=tok)[0].status_code == 201
    assert push_blob(srv, "flow/b", token=tok)[0].status_code == 401


def test_anonymous_token_reaches_public_repositories_only(srv):
    srv.grant("anonymous", "public/**", "pull")
    admin_tok = srv.token(["repository:public/x:pull,push", "repository:flow/private:pull,push"],
                          auth=("admin", ADMIN_PASSWORD))
    _, pub = push_blob(srv, "public/x", token=admin_tok)
    _, priv = push_blob(srv, "flow/private", token=admin_tok)
    anon = srv.token(["repository:public/x:pull,push", "repository:flow/private:pull"])
    assert jwt_parts(anon)[1]["sub"] == ""
    assert jwt_parts(anon)[1]["access"] == [
        {"type": "repository", "name": "public/x", "actions": ["pull"]}]
    r = requests.get(f"{srv.url}/v2/public/x/blobs/{pub}", headers=bearer(anon), timeout=30)
    assert r.status_code == 200
    r = requests.get(f"{srv.url}/v2/flow/private/blobs/{priv}", headers=bearer(anon), timeout=30)
    assert r.status_code == 401
    # without any credentials at all what anonymous may pull is served (curl needs no token);
    # the rest answers with a challenge
    assert requests.get(f"{srv.url}/v2/public/x/blobs/{pub}", timeout=30).status_code == 200
    r = requests.get(f"{srv.url}/v2/flow/private/blobs/{priv}", timeout=30)
    assert r.status_code == 401 and "error" not in challenge_params(r)


def same_answer(a, b, name_a, name_b):
    """Equal but for the repository name each one echoes."""
    assert a.status_code == b.status_code
    assert a.text.replace(name_a, "N") == b.text.replace(name_b, "N")
    assert (a.headers.get("WWW-Authenticate", "").replace(name_a, "N") ==
            b.headers.get("WWW-Authenticate", "").replace(name_b, "N"))


def test_forbidden_and_missing_repositories_answer_alike(srv):
    srv.add_user("flow-none", "none-password")
    tok = srv.token(["repository:flow/pullonly:pull", "repository:no/such/repo:pull"],
                    auth=("flow-none", "none-password"))
    a = requests.get(f"{srv.url}/v2/flow/pullonly/tags/list", headers=bearer(tok), timeout=30)
    b = requests.get(f"{srv.url}/v2/no/such/repo/tags/list", headers=bearer(tok), timeout=30)
    assert a.status_code == 401
    same_answer(a, b, "flow/pullonly", "no/such/repo")
    a = requests.get(f"{srv.url}/v2/flow/pullonly/tags/list", auth=("flow-none", "none-password"), timeout=30)
    b = requests.get(f"{srv.url}/v2/no/such/repo/tags/list", auth=("flow-none", "none-password"), timeout=30)
    assert a.status_code == 403
    same_answer(a, b, "flow/pullonly", "no/such/repo")


def test_catalog_lists_only_what_the_caller_may_pull(srv):
    admin_tok = srv.token([f"repository:cat/{n}:pull,push" for n in ("team-a/x", "team-b/y", "open")],
                          auth=("admin", ADMIN_PASSWORD))
    for n in ("team-a/x", "team-b/y", "open"):
        assert push_blob(srv, f"cat/{n}", token=admin_tok)[0].status_code == 201
    srv.add_user("cat-a", "cat-a-password")
    srv.grant("user:cat-a", "cat/team-a/**", "pull")
    srv.grant("authenticated", "cat/open", "pull")
    tok = srv.token(["registry:catalog:*"], auth=("cat-a", "cat-a-password"))
    r = requests.get(f"{srv.url}/v2/_catalog?n=1000", headers=bearer(tok), timeout=30)
    assert r.status_code == 200
    repos = [x for x in r.json()["repositories"] if x.startswith("cat/")]
    assert repos == ["cat/open", "cat/team-a/x"]
    # paginated one at a time, the filter still holds and the pages link on
    seen, url = [], f"{srv.url}/v2/_catalog?n=1"
    while url and len(seen) < 50:
        r = requests.get(url, headers=bearer(tok), timeout=30)
        seen += r.json()["repositories"]
        link = r.headers.get("Link")
        url = srv.url + link[1:link.index(">")] if link else None
    assert [x for x in seen if x.startswith("cat/")] == ["cat/open", "cat/team-a/x"]
    assert not any(x.startswith("cat/team-b") for x in seen)
    # a token without the catalog scope is sent for one
    tok2 = srv.token(["repository:cat/open:pull"], auth=("cat-a", "cat-a-password"))
    r = requests.get(f"{srv.url}/v2/_catalog", headers=bearer(tok2), timeout=30)
    assert r.status_code == 401 and challenge_params(r)["scope"] == "registry:catalog:*"
    # the Arca listing is filtered the same way
    r = requests.get(f"{srv.url}/arca/v1/repositories", auth=("cat-a", "cat-a-password"), timeout=30)
    names = [x["name"] for x in r.json()["repositories"] if x["name"].startswith("cat/")]
    assert "cat/team-b/y" not in names


def test_post_password_grant_and_refresh(srv):
    srv.add_user("flow-post", "post-password")
    srv.grant("user:flow-post", "flow/post", "push")
    r = requests.post(f"{srv.url}/token", data={
        "grant_type": "password", "username": "flow-post", "password": "post-password",
        "service": "arca", "scope": "repository:flow/post:pull,push", "client_id": "test"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["access_token"] == body["token"] and body["expires_in"] == 300 and body["issued_at"]
    assert jwt_parts(body["access_token"])[1]["access"][0]["actions"] == ["pull", "push"]
    refresh = body["refresh_token"]
    r = requests.post(f"{srv.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh, "service": "arca",
        "scope": "repository:flow/post:pull"}, timeout=30)
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["access_token"])[1]["access"][0]["actions"] == ["pull"]
    # a refresh token is no access token, and an access token no refresh token
    r = requests.get(f"{srv.url}/v2/flow/post/tags/list", headers=bearer(refresh), timeout=30)
    assert r.status_code == 401
    r = requests.post(f"{srv.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": body["access_token"]}, timeout=30)
    assert r.status_code == 401
    # a new password ends the refresh token
    r = srv.admin("PUT", "/arca/v1/accounts/flow-post/secret", json={"password": "another-password"})
    assert r.status_code == 204, r.text
    r = requests.post(f"{srv.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh}, timeout=30)
    assert r.status_code == 401
    # GET with offline_token=true also gives one
    r = requests.get(f"{srv.url}/token?service=arca&offline_token=true",
                     auth=("flow-post", "another-password"), timeout=30)
    assert r.status_code == 200 and r.json().get("refresh_token")
    r = requests.get(f"{srv.url}/token?service=arca", auth=("flow-post", "another-password"), timeout=30)
    assert "refresh_token" not in r.json()


def test_robot_secret_and_revocation_take_effect_at_once(srv):
    secret = srv.add_robot("flow-ci")
    assert len(secret) >= 40
    srv.grant("robot:flow-ci", "flow/ci/**", "push")
    tok = srv.token(["repository:flow/ci/app:pull,push"], auth=("flow-ci", secret))
    assert push_blob(srv, "flow/ci/app", token=tok)[0].status_code == 201
    assert push_blob(srv, "flow/ci/app", auth=("flow-ci", secret))[0].status_code == 201
    r = srv.admin("POST", "/arca/v1/accounts/flow-ci/secret")
    assert r.status_code == 200
    new_secret = r.json()["secret"]
    # the token made with the old secret, and the old secret, stop at once
    assert push_blob(srv, "flow/ci/app", token=tok)[0].status_code == 401
    assert push_blob(srv, "flow/ci/app", auth=("flow-ci", secret))[0].status_code == 401
    assert push_blob(srv, "flow/ci/app", auth=("flow-ci", new_secret))[0].status_code == 201
    tok = srv.token(["repository:flow/ci/app:pull,push"], auth=("flow-ci", new_secret))
    r = srv.admin("PATCH", "/arca/v1/accounts/flow-ci", json={"disabled": True})
    assert r.status_code == 204
    assert push_blob(srv, "flow/ci/app", token=tok)[0].status_code == 401
    srv.token([], auth=("flow-ci", new_secret), expect=401)


def test_robot_with_an_expiry(srv):
    r = srv.admin("POST", "/arca/v1/accounts", json={"name": "flow-temp-bot", "kind": "robot",
                                                    "expiresIn": 3600})
    assert r.status_code == 201, r.text
    listed = [a for a in srv.admin("GET", "/arca/v1/accounts").json()["accounts"]
              if a["name"] == "flow-temp-bot"][0]
    expires = parse_rfc3339(listed["expiresAt"]).timestamp()
    assert 3500 < expires - now() <= 3600 + 5
    srv.token([], auth=("flow-temp-bot", r.json()["secret"]))  # works now
    r = srv.admin("POST", "/arca/v1/accounts", json={"name": "flow-bad-bot", "kind": "robot",
                                                    "expiresIn": -5})
    assert r.status_code == 400


def test_personal_access_token(srv):
    srv.add_user("flow-pat", "pat-password")
    srv.grant("user:flow-pat", "flow/pat", "push")
    r = srv.admin("POST", "/arca/v1/accounts/flow-pat/tokens",
                  json={"description": "ci", "expiresIn": 3600})
    assert r.status_code == 201, r.text
    pat, pat_id = r.json()["token"], r.json()["id"]
    assert pat.startswith("arca_pat_")
    listed = srv.admin("GET", "/arca/v1/accounts/flow-pat/tokens").json()["tokens"]
    assert [t["id"] for t in listed] == [pat_id] and "token" not in listed[0]
    tok = srv.token(["repository:flow/pat:pull,push"], auth=("flow-pat", pat))
    assert push_blob(srv, "flow/pat", token=tok)[0].status_code == 201
    assert push_blob(srv, "flow/pat", auth=("flow-pat", pat))[0].status_code == 201
    # a token is bound to its account
    srv.add_user("flow-pat2", "pat2-password")
    srv.token([], auth=("flow-pat2", pat), expect=401)
    assert srv.admin("DELETE", f"/arca/v1/accounts/flow-pat/tokens/{pat_id}").status_code == 202
    assert push_blob(srv, "flow/pat", token=tok)[0].status_code == 401
    assert push_blob(srv, "flow/pat", auth=("flow-pat", pat))[0].status_code == 401


def test_groups_grant_to_their_members(srv):
    srv.add_user("flow-g1", "g1-password")
    assert srv.admin("PUT", "/arca/v1/groups/flow-devs/members/flow-g1").status_code == 204
    srv.grant("group:flow-devs", "flow/devs/*", "push")
    assert push_blob(srv, "flow/devs/app", auth=("flow-g1", "g1-password"))[0].status_code == 201
    # '*' is one component: deeper is not granted
    assert push_blob(srv, "flow/devs/app/sub", auth=("flow-g1", "g1-password"))[0].status_code == 403
    assert srv.admin("DELETE", "/arca/v1/groups/flow-devs/members/flow-g1").status_code == 202
    assert push_blob(srv, "flow/devs/app", auth=("flow-g1", "g1-password"))[0].status_code == 403


def test_delete_needs_delete(srv):
    srv.add_user("flow-pusher", "pusher-password")
    srv.grant("user:flow-pusher", "flow/del", "push")
    reg = Registry(srv.url)
    reg.s.auth = ("flow-pusher", "pusher-password")
    digest = reg.push_blob("flow/del", random_bytes(32))
    assert reg.delete(f"/v2/flow/del/blobs/{digest}").status_code == 403
    srv.grant("user:flow-pusher", "flow/del", "delete")
    assert reg.delete(f"/v2/flow/del/blobs/{digest}").status_code == 202


def test_admin_routes_need_admin(srv):
    srv.add_user("flow-notadmin", "notadmin-password")
    srv.grant("user:flow-notadmin", "**", "delete")  # everything but admin
    a = ("flow-notadmin", "notadmin-password")
    for method, path in [("POST", "/arca/v1/admin/gc?dry_run=true"), ("GET", "/arca/v1/accounts"),
                         ("POST", "/arca/v1/grants"), ("GET", "/arca/v1/grants"),
                         ("PUT", "/arca/v1/types/application%2Fx.test")]:
        r = requests.request(method, srv.url + path, auth=a, timeout=30)
        assert r.status_code == 403, (method, path, r.status_code)
    assert srv.admin("POST", "/arca/v1/admin/gc?dry_run=true").status_code == 200
    # admin on a pattern other than "**" is not registry-wide
    srv.add_user("flow-subadmin", "subadmin-password")
    srv.grant("user:flow-subadmin", "*", "admin")
    r = requests.get(srv.url + "/arca/v1/accounts", auth=("flow-subadmin", "subadmin-password"), timeout=30)
    assert r.status_code == 403
    tok = srv.token(["registry:arca:admin"], auth=("flow-subadmin", "subadmin-password"))
    assert jwt_parts(tok)[1]["access"] == []
    tok = srv.token(["registry:arca:admin"], auth=("admin", ADMIN_PASSWORD))
    r = requests.get(srv.url + "/arca/v1/accounts", headers=bearer(tok), timeout=30)
    assert r.status_code == 200 and any(a["name"] == "admin" for a in r.json()["accounts"])


def test_mount_needs_pull_on_the_source(srv):
    admin_tok = srv.token(["repository:mnt/secret:pull,push"], auth=("admin", ADMIN_PASSWORD))
    r, digest = push_blob(srv, "mnt/secret", token=admin_tok)
    assert r.status_code == 201
    srv.add_user("mnt-user", "mnt-password")
    srv.grant("user:mnt-user", "mnt/mine", "push")
    a = ("mnt-user", "mnt-password")
    for query in (f"mount={digest}&from=mnt/secret", f"mount={digest}"):
        r = requests.post(f"{srv.url}/v2/mnt/mine/blobs/uploads/?{query}", auth=a, timeout=30)
        assert r.status_code == 202, (query, r.status_code)  # an upload, not a mount
    assert requests.head(f"{srv.url}/v2/mnt/mine/blobs/{digest}", auth=a, timeout=30).status_code == 404
    srv.grant("user:mnt-user", "mnt/secret", "pull")
    # a token scoped to the target alone does not reach the source, though the account may
    narrow = srv.token(["repository:mnt/mine:pull,push"], auth=a)
    for query in (f"mount={digest}&from=mnt/secret", f"mount={digest}"):
        r = requests.post(f"{srv.url}/v2/mnt/mine/blobs/uploads/?{query}", headers=bearer(narrow), timeout=30)
        assert r.status_code == 202, (query, r.status_code)
    wide = srv.token(["repository:mnt/mine:pull,push", "repository:mnt/secret:pull"], auth=a)
    r = requests.post(f"{srv.url}/v2/mnt/mine/blobs/uploads/?mount={digest}&from=mnt/secret",
                      headers=bearer(wide), timeout=30)
    assert r.status_code == 201
    r = requests.post(f"{srv.url}/v2/mnt/mine2/blobs/uploads/?mount={digest}", auth=a, timeout=30)
    assert r.status_code == 403  # no push on mine2 yet
    srv.grant("user:mnt-user", "mnt/mine2", "push")
    r = requests.post(f"{srv.url}/v2/mnt/mine2/blobs/uploads/?mount={digest}", auth=a, timeout=30)
    assert r.status_code == 201  # automatic mount from a repository it may pull


def test_accounts_changed_by_the_cli_while_serving(srv):
    srv.cli("user", "add", "flow-cli", "--password-stdin", input="cli-password\n")
    srv.cli("grant", "add", "user:flow-cli", "flow/cli", "push")
    assert push_blob(srv, "flow/cli", auth=("flow-cli", "cli-password"))[0].status_code == 201
    listed = srv.cli("grant", "list").stdout
    gid = [l.split("\t")[0] for l in listed.splitlines() if "user:flow-cli" in l][0]
    srv.cli("grant", "rm", gid)
    assert push_blob(srv, "flow/cli", auth=("flow-cli", "cli-password"))[0].status_code == 403
    srv.cli("user", "rm", "flow-cli")
    assert push_blob(srv, "flow/cli", auth=("flow-cli", "cli-password"))[0].status_code == 401


def test_bad_account_input_is_refused_cleanly(srv):
    for body in ({"name": "Bad Name", "password": "long-enough"}, {"name": "x", "password": "short"},
                 {"name": "x", "kind": "wizard"}):
        r = srv.admin("POST", "/arca/v1/accounts", json=body)
        assert r.status_code == 400, (body, r.text)
    assert srv.admin("POST", "/arca/v1/accounts", data=b"[1,2").status_code == 400
    srv.add_user("flow-dup", "dup-password")
    r = srv.admin("POST", "/arca/v1/accounts", json={"name": "flow-dup", "password": "dup-password"})
    assert r.status_code == 409
    for body in ({"subject": "user:x", "repositories": "team-*", "permission": "pull"},
                 {"subject": "user:x", "repositories": "**/x", "permission": "pull"},
                 {"subject": "nobody", "repositories": "x", "permission": "pull"},
                 {"subject": "user:x", "repositories": "x", "permission": "write"},
                 {"subject": "anonymous", "repositories": "**", "permission": "admin"}):
        r = srv.admin("POST", "/arca/v1/grants", json=body)
        assert r.status_code == 400, (body, r.text)
    assert srv.admin("DELETE", "/arca/v1/grants/999999").status_code == 404
    assert srv.admin("DELETE", "/arca/v1/accounts/no-such-account").status_code == 404
    r = srv.admin("POST", "/arca/v1/grants",
                  json={"subject": "user:no-such-user", "repositories": "x", "permission": "pull"})
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    # the last administrator stays: not removed, not disabled, its grant not taken
    admin_grant = [g for g in srv.admin("GET", "/arca/v1/grants").json()["grants"]
                   if g["subject"] == "user:admin" and g["repositories"] == "**"][0]
    for method, path, body in (("DELETE", "/arca/v1/accounts/admin", None),
                               ("PATCH", "/arca/v1/accounts/admin", {"disabled": True}),
                               ("DELETE", f"/arca/v1/grants/{admin_grant['id']}", None)):
        r = srv.admin(method, path, json=body)
        assert r.status_code == 409, (method, path, r.text)
    assert srv.admin("GET", "/arca/v1/accounts").status_code == 200


def test_audit_stream_records_changes_and_failed_logins(srv):
    srv.add_user("aud-user", "aud-password")
    srv.grant("user:aud-user", "aud/app", "delete")
    srv.grant("user:aud-user", "aud/app", "push")
    reg = Registry(srv.url)
    reg.s.auth = ("aud-user", "aud-password")
    config = reg.push_blob("aud/app", b"{}")
    manifest = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                '"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},'
                '"layers":[]}' % config).encode()
    r = reg.put("/v2/aud/app/manifests/v1", data=manifest,
                headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    digest = r.headers["Docker-Content-Digest"]
    assert reg.delete("/v2/aud/app/manifests/v1").status_code == 202
    requests.get(f"{srv.url}/v2/", auth=("aud-user", "not-the-password"), timeout=30)
    r = srv.admin("GET", "/arca/v1/audit?repository=aud/app")
    assert r.status_code == 200, r.text
    entries = r.json()["entries"]
    got = [(e["principal"], e["action"], e["target"], e["status"]) for e in entries]
    assert ("user:aud-user", "manifest.put", "v1", 201) in got
    assert ("user:aud-user", "manifest.delete", "v1", 202) in got
    put = [e for e in entries if e["action"] == "manifest.put"][0]
    assert put["detail"] == digest and put["remote"].startswith("127.") and put["requestId"]
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    logins = srv.admin("GET", "/arca/v1/audit?action=login").json()["entries"]
    assert any(e["principal"] == "user:aud-user" and e["status"] == 401 for e in logins)
    assert not any("not-the-password" in json.dumps(e) for e in logins)
    grants = srv.admin("GET", "/arca/v1/audit?action=grant.add&principal=user:admin").json()["entries"]
    assert any("aud/app" in e["detail"] for e in grants)
    # reads are not recorded
    assert not [e for e in entries if e["action"] in ("", "manifest.get")]
    # paginated newest first with a Link
    r = srv.admin("GET", "/arca/v1/audit?n=2")
    assert len(r.json()["entries"]) == 2 and "rel=\"next\"" in r.headers["Link"]
    # admins only
    r = requests.get(f"{srv.url}/arca/v1/audit", auth=("aud-user", "aud-password"), timeout=30)
    assert r.status_code == 403
