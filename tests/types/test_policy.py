"""Policy (docs/arca-api.md "Policy"): allow lists, unknown types, layer media types and config
schemas, each enforced (400 MANIFEST_INVALID naming the rule) and warned (201, one
`Warning: 299 - "..."` per violation, an event in GET /arca/v1/events), per registry ("**") and
per repository pattern; the default open policy; reloading the policy file without a restart.

Every test runs its own server with its policy file written into <root>/policy.yaml.
"""
import json
import os
import subprocess
import time

from arca_server import arca_bin
from typelib import (CNAB_CONFIG, CNAB_TYPE, HELM_CHART, HELM_CONFIG, OCI_CONFIG, OCI_EMPTY,
                     OCI_LAYER, OCI_MANIFEST, OPA_CONFIG, UNKNOWN_TYPE, Pushed,
                     assert_error, build_artifact, build_helm, build_image, build_index, describe,
                     parse_rfc3339, sha256, wait_until, warnings_of)


# ------------------------------------------------------------------ helpers

def unknown_artifact(arca, repo):
    return build_artifact(arca, repo, OCI_EMPTY, b"{}",
                          [("application/octet-stream", os.urandom(32))],
                          artifact_type=UNKNOWN_TYPE)


def listed(arca, repo, digest):
    r = arca.get(f"/arca/v1/repositories/{repo}/artifacts")
    if r.status_code == 404:
        return False
    assert r.status_code == 200, describe(r)
    return digest in [a["digest"] for a in arca.artifacts(repo)]


def assert_refused(arca, r, pushed, *names):
    """An enforced violation: 400 MANIFEST_INVALID whose message names each of `names`, and
    nothing stored."""
    text = assert_error(r, 400, "MANIFEST_INVALID")
    for n in names:
        assert n in text, f"the refusal must name {n!r}: {text}"
    g = arca.get_manifest(pushed.repo, pushed.digest)
    assert g.status_code == 404, "a refused manifest must not be stored" + describe(g)
    assert not listed(arca, pushed.repo, pushed.digest)
    return text


def assert_accepted(r, pushed):
    assert r.status_code == 201, describe(r)
    assert r.headers.get("Docker-Content-Digest") == pushed.digest, describe(r)


def assert_clean(arca, r, pushed):
    """Accepted with no warning."""
    assert_accepted(r, pushed)
    assert warnings_of(r) == [], describe(r)
    assert listed(arca, pushed.repo, pushed.digest)


def events_for(arca, digest):
    return [e for e in arca.events() if e.get("digest") == digest]


def assert_warned(arca, r, pushed, *names, count=1):
    """A warned violation: accepted, `count` Warning headers naming each of `names`, stored,
    and an event recorded for it."""
    assert_accepted(r, pushed)
    ws = warnings_of(r)
    assert len(ws) == count, f"expected {count} Warning header(s), got {ws}" + describe(r)
    for n in names:
        assert any(n in w for w in ws), f"no warning names {n!r}: {ws}"
    g = arca.get_manifest(pushed.repo, pushed.digest)
    assert g.status_code == 200 and g.content == pushed.body, describe(g)
    assert listed(arca, pushed.repo, pushed.digest)
    evs = events_for(arca, pushed.digest)
    assert evs, f"no event recorded for {pushed.digest}: {arca.events()}"
    for e in evs:
        assert e.get("kind") == "policy.warn", e
        assert e.get("repository") == pushed.repo, e
        assert isinstance(e.get("id"), (str, int)) and isinstance(e.get("message"), str), e
        parse_rfc3339(e.get("time"))
    for n in names:
        assert any(n in e["message"] for e in evs), f"no event message names {n!r}: {evs}"
    return ws


# ------------------------------------------------------------------ allow lists

HELM_ONLY = f"""
rules:
  - repositories: "charts/**"
    allow: ["{HELM_CONFIG}"]
  - repositories: "**"
    unknown: allow
"""


def test_allow_list_enforced_per_repository(make_arca):
    srv, arca = make_arca(policy=HELM_ONLY)
    img = build_image(arca, "charts/web")
    text = assert_refused(arca, arca.push(img, ref="v1", expect=None), img,
                          "charts/**", "allow", HELM_CONFIG)
    assert arca.get_manifest("charts/web", "v1").status_code == 404, text
    # ** matches across path components
    deep = build_image(arca, "charts/team/a/web")
    assert_refused(arca, arca.push(deep, expect=None), deep, "charts/**", HELM_CONFIG)
    # unknown types are outside the allow list as well
    unk = unknown_artifact(arca, "charts/web")
    assert_refused(arca, arca.push(unk, expect=None), unk, "charts/**", HELM_CONFIG)

    chart = build_helm(arca, "charts/web", "web", "1.0.0")
    assert_clean(arca, arca.push(chart, ref="1.0.0", expect=None), chart)
    # other repositories fall to the "**" rule
    other = build_image(arca, "apps/web")
    assert_clean(arca, arca.push(other, ref="v1", expect=None), other)
    assert [e for e in arca.events() if e.get("kind") == "policy.warn"] == [], \
        "refusals and clean pushes record no policy.warn event"


def test_allow_list_warned(make_arca):
    srv, arca = make_arca(policy=f"""
rules:
  - repositories: "charts/**"
    allow: ["{HELM_CONFIG}"]
    disallowed: warn
""")
    img = build_image(arca, "charts/web")
    assert_warned(arca, arca.push(img, ref="v1", expect=None), img, "charts/**", "allow",
                  HELM_CONFIG)
    chart = build_helm(arca, "charts/web", "web", "1.0.0")
    assert_clean(arca, arca.push(chart, expect=None), chart)
    assert len(arca.events()) == 1


def test_allow_list_applies_to_index_types(make_arca):
    srv, arca = make_arca(policy=f"""
rules:
  - repositories: "bundles/**"
    allow: ["{CNAB_TYPE}", "{CNAB_CONFIG}", "{OCI_CONFIG}"]
""")
    repo = "bundles/hello"
    inv = build_image(arca, repo)
    assert_clean(arca, arca.push(inv, expect=None), inv)
    bundle = json.dumps({"schemaVersion": "v1.0.0", "name": "hello", "version": "0.1.0",
                         "invocationImages": []}, sort_keys=True, separators=(",", ":")).encode()
    cfg = build_artifact(arca, repo, CNAB_CONFIG, bundle, [])
    assert_clean(arca, arca.push(cfg, expect=None), cfg)
    cnab = build_index(repo, [cfg, inv], annotations={
        "org.opencontainers.artifactType": CNAB_TYPE})
    assert_clean(arca, arca.push(cnab, ref="0.1.0", expect=None), cnab)
    # a multi-platform index is not in the list
    multi = build_index(repo, [inv], platforms=[{"os": "linux", "architecture": "amd64"}])
    assert_refused(arca, arca.push(multi, expect=None), multi, "bundles/**", "allow", CNAB_TYPE)


# ------------------------------------------------------------------ unknown types

def test_unknown_denied_registry_wide(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "**"
    unknown: deny
""")
    unk = unknown_artifact(arca, "misc/thing")
    assert_refused(arca, arca.push(unk, ref="v1", expect=None), unk, "**", "unknown")
    # typed by an undefined config media type: unknown too
    cfgtyped = build_artifact(arca, "misc/thing", "application/vnd.example.nobody.config.v1+json",
                              b"{}", [("application/octet-stream", b"abc")])
    assert_refused(arca, arca.push(cfgtyped, expect=None), cfgtyped, "**", "unknown")
    # known types pass
    img = build_image(arca, "misc/thing")
    assert_clean(arca, arca.push(img, expect=None), img)
    chart = build_helm(arca, "misc/chart", "c", "1.0.0")
    assert_clean(arca, arca.push(chart, expect=None), chart)
    index = build_index("misc/thing", [img])
    assert_clean(arca, arca.push(index, expect=None), index)
    # a type defined afterwards through the API is no longer unknown
    r = arca.put_type({"mediaType": UNKNOWN_TYPE, "title": "Thing"})
    assert r.status_code == 201, describe(r)
    assert_clean(arca, arca.push(unk, ref="v1", expect=None), unk)


def test_unknown_warned(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "**"
    unknown: warn
""")
    unk = unknown_artifact(arca, "misc/thing")
    ws = assert_warned(arca, arca.push(unk, ref="v1", expect=None), unk, "**", "unknown")
    assert any(UNKNOWN_TYPE in w for w in ws), ws
    e = arca.artifact("misc/thing", unk.digest)
    assert e["artifactType"] == UNKNOWN_TYPE and e["title"] == "Unknown", e


def test_unknown_denied_per_repository_and_first_matching_rule_applies(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "open/**"
    unknown: allow
  - repositories: "team/*"
    unknown: deny
  - repositories: "**"
    unknown: warn
""")
    # the first matching rule decides: "open/**" allows although "**" would warn
    a = unknown_artifact(arca, "open/x/y")
    assert_clean(arca, arca.push(a, expect=None), a)
    # "*" matches within one path component only
    b = unknown_artifact(arca, "team/a")
    assert_refused(arca, arca.push(b, expect=None), b, "team/*", "unknown")
    c = unknown_artifact(arca, "team/a/b")
    assert_warned(arca, arca.push(c, expect=None), c, "**", "unknown")
    d = unknown_artifact(arca, "other/team/a")
    assert_warned(arca, arca.push(d, expect=None), d, "**", "unknown")


# ------------------------------------------------------------------ layers

GIZMO = "application/vnd.example.gizmo.config.v1+json"
GIZMO_DEF = json.dumps({"mediaType": GIZMO, "title": "Gizmo",
                        "layerMediaTypes": ["application/vnd.example.gizmo.layer.v1.tar",
                                            "text/*"],
                        "configSchema": {"type": "object", "required": ["model"],
                                         "properties": {"model": {"type": "string",
                                                                  "minLength": 1},
                                                        "count": {"type": "integer",
                                                                  "minimum": 0}}}})


def test_layers_enforced(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "**"
    layers: enforce
""", types={"gizmo.json": GIZMO_DEF})
    repo = "charts/web"
    # a Helm config with a layer media type its definition does not list
    bad = build_helm(arca, repo, "web", "1.0.0", layer_media_type=OCI_LAYER)
    assert_refused(arca, arca.push(bad, ref="1.0.0", expect=None), bad, "**", "layer", OCI_LAYER)
    good = build_helm(arca, repo, "web", "1.0.0")
    assert_clean(arca, arca.push(good, ref="1.0.0", expect=None), good)
    # an image with a Helm layer
    img = build_image(arca, "apps/web")
    doc = json.loads(img.body)
    doc["layers"][0]["mediaType"] = HELM_CHART
    odd = Pushed("apps/web", json.dumps(doc).encode(), OCI_MANIFEST, img.blobs)
    assert_refused(arca, arca.push(odd, expect=None), odd, "layer", HELM_CHART)
    assert_clean(arca, arca.push(img, expect=None), img)
    # wildcard entries ("text/*") and exact ones
    cfg = json.dumps({"model": "g1"}).encode()
    ok = build_artifact(arca, "gizmos/a", GIZMO, cfg,
                        [("application/vnd.example.gizmo.layer.v1.tar", b"t"),
                         ("text/markdown", b"# hi")])
    assert_clean(arca, arca.push(ok, expect=None), ok)
    nok = build_artifact(arca, "gizmos/a", GIZMO, cfg, [("application/json", b"{}")])
    assert_refused(arca, arca.push(nok, expect=None), nok, "layer", "application/json")
    # an index has no layers and is never checked
    multi = build_index("apps/web", [img], platforms=[{"os": "linux", "architecture": "amd64"}])
    assert_clean(arca, arca.push(multi, expect=None), multi)
    # unknown types have no definition to check against: stored (unknown defaults aside)
    unk = unknown_artifact(arca, "misc/x")
    r = arca.push(unk, expect=None)
    assert r.status_code == 201, describe(r)


def test_layers_warned(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "charts/**"
    layers: warn
""")
    bad = build_helm(arca, "charts/web", "web", "1.0.0", layer_media_type=OCI_LAYER)
    assert_warned(arca, arca.push(bad, ref="1.0.0", expect=None), bad, "charts/**", "layer",
                  OCI_LAYER)
    # outside charts/** nothing is checked
    other = build_helm(arca, "apps/web", "web", "1.0.0", layer_media_type=OCI_LAYER)
    assert_clean(arca, arca.push(other, expect=None), other)


# ------------------------------------------------------------------ config schema

def test_config_enforced(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "**"
    config: enforce
""", types={"gizmo.json": GIZMO_DEF})
    # a Helm config missing `version` against the Helm definition's configSchema
    bad = build_helm(arca, "charts/web", "web", "1.0.0", drop=("version",))
    assert_refused(arca, arca.push(bad, ref="1.0.0", expect=None), bad, "**", "config")
    doc = json.loads(build_helm(arca, "charts/web", "web", "1.0.0").body)
    garbage = b"apiVersion: v2\nname: web\nversion: 1.0.0\n"  # YAML, not JSON
    arca.push_blob("charts/web", garbage)
    doc["config"].update(digest=sha256(garbage), size=len(garbage))
    yaml_cfg = Pushed("charts/web", json.dumps(doc).encode(), OCI_MANIFEST)
    assert_refused(arca, arca.push(yaml_cfg, expect=None), yaml_cfg, "config")
    good = build_helm(arca, "charts/web", "web", "1.0.0")
    assert_clean(arca, arca.push(good, ref="1.0.0", expect=None), good)
    # a custom schema: types and minimum
    for cfg, fine in ((b'{"model":"g1","count":2}', True), (b'{"model":"g1","count":-1}', False),
                      (b'{"model":""}', False), (b'{"count":1}', False),
                      (b'{"model":"g1","count":"2"}', False), (b'[]', False)):
        art = build_artifact(arca, "gizmos/a", GIZMO, cfg,
                             [("application/vnd.example.gizmo.layer.v1.tar", cfg)])
        r = arca.push(art, expect=None)
        if fine:
            assert_clean(arca, r, art)
        else:
            assert_refused(arca, r, art, "config")
    # an image config is checked against the OCI image definition's schema: a real one passes
    img = build_image(arca, "apps/web")
    assert_clean(arca, arca.push(img, expect=None), img)
    # types without a configSchema are not checked (the OPA bundle's empty config)
    opa = build_artifact(arca, "policies/p", OPA_CONFIG, b"",
                         [("application/vnd.cncf.openpolicyagent.layer.v1.tar+gzip", b"tgz")])
    assert_clean(arca, arca.push(opa, expect=None), opa)


def test_config_warned(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "charts/**"
    config: warn
""")
    bad = build_helm(arca, "charts/web", "web", "1.0.0", drop=("version",))
    assert_warned(arca, arca.push(bad, ref="1.0.0", expect=None), bad, "charts/**", "config")
    e = arca.artifact("charts/web", bad.digest)
    assert e["artifactType"] == HELM_CONFIG, e


def test_one_warning_header_per_violation(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "**"
    layers: warn
    config: warn
""")
    bad = build_helm(arca, "charts/web", "web", "1.0.0", drop=("version",),
                     layer_media_type=OCI_LAYER)
    ws = assert_warned(arca, arca.push(bad, ref="1.0.0", expect=None), bad, count=2)
    assert any("layer" in w for w in ws) and any("config" in w for w in ws), ws


# ------------------------------------------------------------------ default, reload, setting

def test_no_policy_means_everything_is_stored(make_arca):
    srv, arca = make_arca()
    cases = [unknown_artifact(arca, "open/a"),
             build_helm(arca, "open/b", "x", "1", drop=("version",), layer_media_type=OCI_LAYER),
             build_artifact(arca, "open/c", "application/vnd.example.nobody.v1", b"not json",
                            [("x/y", b"z")])]
    for p in cases:
        assert_clean(arca, arca.push(p, expect=None), p)
    assert arca.events() == []


def test_no_matching_rule_means_everything_is_stored(make_arca):
    srv, arca = make_arca(policy="""
rules:
  - repositories: "locked/**"
    unknown: deny
    layers: enforce
    config: enforce
""")
    unk = unknown_artifact(arca, "free/a")
    assert_clean(arca, arca.push(unk, expect=None), unk)
    bad = build_helm(arca, "free/b", "x", "1", drop=("version",), layer_media_type=OCI_LAYER)
    assert_clean(arca, arca.push(bad, expect=None), bad)
    locked = unknown_artifact(arca, "locked/a")
    assert_refused(arca, arca.push(locked, expect=None), locked, "locked/**", "unknown")


def test_policy_file_changes_apply_without_restart(make_arca):
    srv, arca = make_arca()
    path = os.path.join(srv.root, "policy.yaml")
    first = unknown_artifact(arca, "misc/a")
    assert_clean(arca, arca.push(first, expect=None), first)

    def write(text):
        tmp = path + ".tmp~"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    def attempt():
        p = unknown_artifact(arca, "misc/a")
        return p, arca.push(p, expect=None)

    write('rules:\n  - repositories: "**"\n    unknown: deny\n')
    p, r = wait_until(lambda: (lambda pr: pr if pr[1].status_code == 400 else None)(attempt()),
                      what="the new policy (deny) to apply")
    assert_refused(arca, r, p, "**", "unknown")

    write('rules:\n  - repositories: "**"\n    unknown: warn\n')
    p, r = wait_until(lambda: (lambda pr: pr if pr[1].status_code == 201 else None)(attempt()),
                      what="the changed policy (warn) to apply")
    assert_warned(arca, r, p, "unknown")

    os.remove(path)
    p, r = wait_until(lambda: (lambda pr: pr if not warnings_of(pr[1]) else None)(attempt()),
                      what="the removed policy to stop applying")
    assert_clean(arca, r, p)


def test_stored_policy_takes_precedence_over_the_file_until_deleted(make_arca):
    """/arca/v1/policy (docs/arca-api.md#policy): a policy stored in the metadata applies at
    once, survives a restart, wins over the file, and DELETE gives the file back its say."""
    srv, arca = make_arca(policy='rules:\n  - repositories: "**"\n    unknown: warn\n')
    assert arca.get("/arca/v1/policy").json() == {"source": "file"}
    stored = 'rules:\n  - repositories: "misc/**"\n    unknown: deny\n'
    r = arca.put("/arca/v1/policy", data=stored)
    assert r.status_code == 200, r.text
    assert arca.get("/arca/v1/policy").json() == {"source": "stored", "policy": stored}
    unk = unknown_artifact(arca, "misc/a")
    assert_refused(arca, arca.push(unk, expect=None), unk, "misc/**", "unknown")
    other = unknown_artifact(arca, "free/a")  # the file's warn rule no longer applies
    assert_clean(arca, arca.push(other, expect=None), other)

    # Invalid documents are refused with the rule and field named, and change nothing.
    for bad, named in [("rules: [ {repositories: 1, unknown: maybe} ]", "unknown"),
                       ("not: [valid", "YAML"), ("rules: 3", "rules")]:
        r = arca.put("/arca/v1/policy", data=bad)
        assert r.status_code == 400, r.text
        err = r.json()["errors"][0]
        assert err["code"] == "MANIFEST_INVALID" and named in err["detail"], err
    assert arca.get("/arca/v1/policy").json()["policy"] == stored

    srv.stop()
    srv.start()
    unk = unknown_artifact(arca, "misc/a")
    assert_refused(arca, arca.push(unk, expect=None), unk, "misc/**", "unknown")

    r = arca.delete("/arca/v1/policy")
    assert r.status_code == 202, r.text
    assert arca.get("/arca/v1/policy").json() == {"source": "file"}
    unk = unknown_artifact(arca, "misc/a")
    assert_warned(arca, arca.push(unk, expect=None), unk, "unknown")


def test_policy_commands_store_the_policy_a_running_server_applies(make_arca, tmp_path):
    """`arca policy import|show|clear` beside a running server (docs/arca-api.md#policy)."""
    srv, arca = make_arca()

    def cli(*args):
        return subprocess.run([arca_bin(), "policy", *args, "--root", srv.root],
                              capture_output=True, text=True, timeout=120)

    assert cli("show").returncode == 1
    (tmp_path / "p.yaml").write_text('rules:\n  - repositories: "cli/**"\n    unknown: deny\n')
    p = cli("import", str(tmp_path / "p.yaml"))
    assert p.returncode == 0 and "1 rules" in p.stdout, p.stdout + p.stderr
    # the first attempts may come before the server's next look (a quarter second)
    unk = wait_until(lambda: (lambda u: (lambda r: (u, r) if r.status_code == 400 else None)(
        arca.push(u, expect=None)))(unknown_artifact(arca, "cli/a")),
        what="the imported policy to apply")
    assert_refused(arca, unk[1], unk[0], "cli/**", "unknown")
    assert arca.get("/arca/v1/policy").json()["source"] == "stored"
    assert cli("clear").returncode == 0
    p = subprocess.run([arca_bin(), "types", "import", str(tmp_path / "p.yaml"), "--root",
                        srv.root], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "PostgreSQL" in p.stderr, p.stderr


def test_a_stored_policy_this_arca_cannot_read_stops_pushes_not_the_server(make_arca):
    """A stored policy written by a newer release that this one cannot parse: pushes fail
    closed with 503 (the policy may deny what they push) instead of falling back to the file,
    and go on once a readable policy is stored."""
    srv, arca = make_arca()
    import sqlite3
    with sqlite3.connect(os.path.join(srv.root, "meta.db"), timeout=30) as db:
        db.execute("INSERT INTO settings(name, value, updated_at) VALUES('policy', "
                   "'rules: [ {repositories: \"**\", unknown: maybe-later} ]', 0)")
        db.execute("UPDATE settings_changes SET version = version + 1")

    def push_status():
        return arca.push(unknown_artifact(arca, "later/a"), expect=None)

    # (a tuple: a 503 Response is falsy)
    r, = wait_until(lambda: (lambda r: (r,) if r.status_code == 503 else None)(push_status()),
                    what="pushes to wait for the unreadable policy")
    assert r.json()["errors"][0]["code"] == "UNAVAILABLE" and r.headers["Retry-After"] == "1", \
        r.text
    assert "cannot be read" in r.json()["errors"][0]["detail"], r.text
    srv.stop()
    srv.start()  # it starts all the same
    assert push_status().status_code == 503
    assert arca.put("/arca/v1/policy", data="rules: []\n").status_code == 200
    assert push_status().status_code == 201


def test_stored_policy_writes_need_the_admin_token(make_arca):
    srv, arca = make_arca(extra_args=["--admin-token", "policy-admin-token"])
    assert arca.get("/arca/v1/policy").status_code == 200, "reads need no token"
    r = arca.put("/arca/v1/policy", data="rules: []\n")
    assert r.status_code == 401, r.text
    assert arca.delete("/arca/v1/policy").status_code == 401
    assert arca.get("/arca/v1/policy").json() == {"source": "file"}
    r = arca.put("/arca/v1/policy", data="rules: []\n", token="policy-admin-token")
    assert r.status_code == 200, r.text


def test_policy_file_setting(make_arca, tmp_path):
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text('rules:\n  - repositories: "**"\n    unknown: deny\n')
    srv, arca = make_arca(extra_args=["--policy-file", str(elsewhere)])
    unk = unknown_artifact(arca, "misc/a")
    assert_refused(arca, arca.push(unk, expect=None), unk, "unknown")


def test_events_are_listed_newest_last(make_arca):
    srv, arca = make_arca(policy='rules:\n  - repositories: "**"\n    unknown: warn\n')
    pushed = []
    for i in range(3):
        p = unknown_artifact(arca, f"misc/r{i}")
        assert_warned(arca, arca.push(p, expect=None), p, "unknown")
        pushed.append(p)
        time.sleep(0.01)
    evs = arca.events()
    assert [e["digest"] for e in evs] == [p.digest for p in pushed], evs
    assert [e["repository"] for e in evs] == [p.repo for p in pushed], evs
    assert len({e["id"] for e in evs}) == 3, evs
    times = [parse_rfc3339(e["time"]) for e in evs]
    assert times == sorted(times), evs
    for e in evs:
        assert set(e) >= {"id", "time", "kind", "repository", "digest", "message"}, e
    # paginated like every listing
    r = arca.get("/arca/v1/events", params={"n": 2})
    assert r.status_code == 200 and len(r.json()["events"]) == 2, describe(r)
    assert r.headers.get("Link"), "a next link while more events remain" + describe(r)
    assert [e["digest"] for e in r.json()["events"]] == [p.digest for p in pushed[:2]]
