"""Unicode in query values (issue 10, "Coverage"): the `artifactType` filter of the referrers
API and of /arca/v1, and `last=` of tags/list and _catalog.

Names, tags and media types are ASCII by their grammars, so a non-ASCII filter matches
nothing and a non-ASCII `last` sorts after every ASCII name (byte order of UTF-8, as SQLite
and std::string compare): the answer is a well-formed, correct listing — never a 500, never
"everything" (a signed-char comparison would put é before 'a'), never a broken Link. Values
that are not UTF-8 at all (%FF) or hold a NUL are handled the same way or refused cleanly.
Non-ASCII annotations of a referrer come back intact in the listing.
"""
import json
import urllib.parse

import pytest

from arca_server import ArcaServer
from ocihttp import (OCI_MANIFEST, Registry, assert_error, check_error_body, describe,
                     make_image, next_link, push_artifact, raw_exchange, build_request)

SBOM = "application/vnd.example.sbom.v1+json"
SIG = "application/vnd.example.sig.v1"

# percent-encoded query values and how they compare with ASCII names
FILTERS = {
    "latin": urllib.parse.quote("application/vnd.exämple.sbom.v1+json", safe=""),
    "nfd": urllib.parse.quote("application/vnd.exa\u0308mple.sbom.v1+json", safe=""),
    "emoji": urllib.parse.quote("application/\U0001f433+json", safe=""),
    "cjk": urllib.parse.quote("应用/类型", safe=""),
    "fullwidth": urllib.parse.quote(SBOM.replace("a", "\uff41"), safe=""),
    "not-utf8": "application%2Fvnd.example.sbom.v1%2Bjson%FF%FE",
    "nul": "application%2Fvnd.example.sbom.v1%2Bjson%00",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    root = tmp_path_factory.mktemp("unicode") / "root"
    root.mkdir()
    s = ArcaServer(root=str(root),
                   extra_args=["--gc-interval", "0"])
    s.start()
    yield s
    alive = s.proc is not None and s.proc.poll() is None
    s.stop()
    assert alive, f"arca died during the test; log: {s.log_path}"


@pytest.fixture(scope="module")
def world(srv):
    """Repositories a/x, b/y, c/z; tags in b/y; a subject with an SBOM and a signature."""
    reg = Registry(srv.url)
    for name in ("a/x", "b/y", "c/z"):
        img = make_image(reg, name)
        r = reg.put(f"/v2/{name}/manifests/v1", data=img.body,
                    headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201, describe(r)
    tags = ["0", "Z9", "_p", "a", "v1", "v10", "v2", "zeta"]
    img = make_image(reg, "b/y")
    for t in tags:
        r = reg.put(f"/v2/b/y/manifests/{t}", data=img.body, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201, describe(r)
    subject = make_image(reg, "c/z")
    r = reg.put("/v2/c/z/manifests/subject", data=subject.body,
                headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201
    sbom = push_artifact(reg, "c/z", subject=subject.desc(), artifact_type=SBOM,
                         annotations={"title": "Grüße aus Zürich 🐳", "名前": "値"})
    sig = push_artifact(reg, "c/z", subject=subject.desc(), artifact_type=SIG)
    return reg, subject, sbom, sig


def listed_json(r):
    assert r.status_code == 200, describe(r)
    return r.json()


# -------------------------------------------------------------- referrers artifactType

def test_referrers_ascii_filter_still_works(world):
    reg, subject, sbom, sig = world
    r = reg.get(f"/v2/c/z/referrers/{subject.digest}?artifactType={urllib.parse.quote(SBOM)}")
    body = listed_json(r)
    assert [m["digest"] for m in body["manifests"]] == [sbom.digest]
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"


@pytest.mark.parametrize("kind", sorted(FILTERS))
def test_referrers_unicode_filter_matches_nothing(world, kind):
    reg, subject, sbom, sig = world
    r = reg.get(f"/v2/c/z/referrers/{subject.digest}?artifactType={FILTERS[kind]}")
    if r.status_code == 400:                      # refusing a value that is no media type
        assert_error(r, 400)
        return
    body = listed_json(r)
    assert body["schemaVersion"] == 2 and body["manifests"] == [], describe(r)
    assert r.headers.get("OCI-Filters-Applied") == "artifactType", describe(r)
    assert next_link(r) is None


def test_referrer_annotations_keep_their_unicode(world):
    reg, subject, sbom, sig = world
    body = listed_json(reg.get(f"/v2/c/z/referrers/{subject.digest}"))
    got = {m["digest"]: m for m in body["manifests"]}
    assert got[sbom.digest]["annotations"] == {"title": "Grüße aus Zürich 🐳", "名前": "値"}
    assert got[sbom.digest]["artifactType"] == SBOM and got[sig.digest]["artifactType"] == SIG


def test_manifest_with_a_non_ascii_artifact_type_is_refused(world):
    reg, subject, sbom, sig = world
    img = make_image(reg, "c/z", artifact_type="application/vnd.exämple+json")
    r = reg.put("/v2/c/z/manifests/bad-type", data=img.body, headers={"Content-Type": OCI_MANIFEST})
    assert_error(r, 400, "MANIFEST_INVALID")
    assert reg.head("/v2/c/z/manifests/bad-type").status_code == 404


@pytest.mark.parametrize("kind", sorted(FILTERS))
def test_arca_listings_with_a_unicode_artifact_type(world, kind):
    reg, subject, sbom, sig = world
    for path in ("/arca/v1/repositories", "/arca/v1/repositories/c/z/artifacts"):
        r = reg.get(f"{path}?artifactType={FILTERS[kind]}")
        if r.status_code == 400:
            assert_error(r, 400)
            continue
        body = listed_json(r)
        (items,) = [v for v in body.values() if isinstance(v, list)]
        assert items == [], f"{path}: a non-ASCII type matched {items}"
        assert next_link(r) is None


def test_raw_utf8_in_the_request_target(srv, world):
    """Bytes above 0x7F sent unescaped in the query: answered (as the escaped form) or refused
    with 400; the server keeps serving."""
    reg, subject, sbom, sig = world
    target = f"/v2/c/z/referrers/{subject.digest}?artifactType=application/vnd.exämple+json"
    raw = raw_exchange(srv.port, build_request("GET", target.encode().decode("latin-1")))
    assert raw is not None and raw.status in (200, 400), raw
    if raw.status == 200:
        assert json.loads(raw.body)["manifests"] == []
    else:
        check_error_body(raw.body, raw.header("Content-Type", ""))
    raw = raw_exchange(srv.port, build_request("GET", "/v2/b/y/tags/list?last=é".encode().decode("latin-1")))
    assert raw is not None and raw.status in (200, 400), raw
    if raw.status == 200:
        assert json.loads(raw.body)["tags"] in ([], None)
    assert reg.get("/v2/").status_code == 200


# -------------------------------------------------------------------------- last=

def tags_after(reg, last, n=None):
    q = f"last={last}" + (f"&n={n}" if n else "")
    r = reg.get(f"/v2/b/y/tags/list?{q}")
    if r.status_code == 400:
        assert_error(r, 400)
        return None, r
    return listed_json(r).get("tags") or [], r


def test_tags_last_unicode_sorts_after_every_tag(world):
    reg = world[0]
    all_tags = listed_json(reg.get("/v2/b/y/tags/list"))["tags"]
    assert len(all_tags) == 8                       # v1 from the setup is one of them
    for value in ("é", "\U0001f433", "应用", "v1é", "\uff41"):
        got, r = tags_after(reg, urllib.parse.quote(value, safe=""))
        want = [t for t in all_tags if t.encode() > value.encode()]
        assert got == want, f"last={value!r}: {got} (want {want})" + describe(r)
        assert next_link(r) is None


def test_tags_last_unicode_with_pagination(world):
    reg = world[0]
    all_tags = listed_json(reg.get("/v2/b/y/tags/list"))["tags"]
    value = "v1é"                                  # between v10 and v2 in byte order
    got, r = tags_after(reg, urllib.parse.quote(value), n=1)
    want = [t for t in all_tags if t.encode() > value.encode()]
    assert got == want[:1], describe(r)
    link = next_link(r)
    assert link and urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["last"] == want[:1]
    rest = []
    while link:
        r = reg.get(link)
        rest += listed_json(r)["tags"]
        link = next_link(r)
    assert got + rest == want


@pytest.mark.parametrize("value", ["%FF", "%C3", "%00", "a%00b", "%ED%A0%80"])
def test_tags_last_not_utf8_or_nul(world, value):
    reg = world[0]
    all_tags = listed_json(reg.get("/v2/b/y/tags/list"))["tags"]
    got, r = tags_after(reg, value)
    if got is None:
        return                                      # refused with a proper 400
    raw = urllib.parse.unquote_to_bytes(value)
    want = [t for t in all_tags if t.encode() > raw]
    assert got == want, f"last={value}: {got} (want {want})" + describe(r)


def catalog(reg, query):
    r = reg.get(f"/v2/_catalog?{query}")
    if r.status_code == 400:
        assert_error(r, 400)
        return None, r
    return listed_json(r).get("repositories") or [], r


@pytest.mark.parametrize("value", ["é", "a/é", "b/\U0001f433", "\uff41", "应用/x"])
def test_catalog_last_unicode(world, value):
    reg = world[0]
    got, r = catalog(reg, "last=" + urllib.parse.quote(value, safe=""))
    want = [n for n in ("a/x", "b/y", "c/z") if n.encode() > value.encode()]
    assert got == want, f"last={value!r}: {got} (want {want})" + describe(r)
    if want:
        got, r = catalog(reg, "n=1&last=" + urllib.parse.quote(value, safe=""))
        assert got == want[:1]
        link = next_link(r)
        assert (link is not None) == (len(want) > 1), describe(r)


@pytest.mark.parametrize("value", ["%FF", "%00", "a%2F%00"])
def test_catalog_last_not_utf8_or_nul(world, value):
    reg = world[0]
    got, r = catalog(reg, "last=" + value)
    if got is None:
        return
    raw = urllib.parse.unquote_to_bytes(value)
    assert got == [n for n in ("a/x", "b/y", "c/z") if n.encode() > raw], describe(r)
