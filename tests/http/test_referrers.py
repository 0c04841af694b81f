"""Referrers: GET /v2/<name>/referrers/<digest> (end-12a, end-12b)."""
import collections
import hashlib

import pytest

from ocihttp import (EMPTY_JSON, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, assert_error, assert_status,
                     bogus_digest, descriptor, describe, image_manifest, index_manifest, make_image, next_link,
                     push_artifact, push_image, random_bytes, unique_tag)

SBOM = "application/vnd.example.sbom.v1+json"      # '+' must survive query decoding
SIG = "application/vnd.example.signature.v1"
CFG_TYPE = "application/vnd.example.config.v1+json"


def _referrers(reg, repo, digest, **params):
    r = reg.get(f"/v2/{repo}/referrers/{digest}", params=params or None)
    assert_status(r, 200)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == OCI_INDEX, describe(r)
    body = r.json()
    assert body.get("schemaVersion") == 2, body
    assert body.get("mediaType") == OCI_INDEX, body
    assert isinstance(body.get("manifests"), list), body
    return r, body


def _all_referrers(reg, first_path, check=None):
    """Follows Link rel=next and returns every descriptor."""
    out, path, pages = [], first_path, 0
    while path:
        r = reg.get(path)
        assert_status(r, 200)
        assert r.headers.get("Content-Type", "").split(";")[0].strip() == OCI_INDEX, describe(r)
        if check:
            check(r)
        out.extend(r.json()["manifests"])
        path = next_link(r)
        pages += 1
        assert pages < 1000
    return out


@pytest.fixture
def subject(reg, repo):
    img = push_image(reg, repo, ref="subject")
    return repo, img


def _desc_by_digest(manifests):
    return {m["digest"]: m for m in manifests}


def test_referrers_list_descriptors_with_artifact_type_and_annotations(reg, subject):
    repo, img = subject
    subj = img.desc()
    sbom = push_artifact(reg, repo, subject=subj, artifact_type=SBOM,
                         annotations={"org.example.kind": "sbom", "org.opencontainers.image.created": "2024-01-01T00:00:00Z"})
    # No artifactType: the descriptor takes config.mediaType.
    plain = push_artifact(reg, repo, subject=subj, config_media_type=CFG_TYPE,
                          annotations={"org.example.kind": "plain"})
    _, body = _referrers(reg, repo, img.digest)
    got = _desc_by_digest(body["manifests"])
    assert set(got) == {sbom.digest, plain.digest}, body
    d = got[sbom.digest]
    assert d["mediaType"] == OCI_MANIFEST
    assert d["size"] == len(sbom.body)
    assert d["artifactType"] == SBOM
    assert d["annotations"] == {"org.example.kind": "sbom",
                                "org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
    d = got[plain.digest]
    assert d["artifactType"] == CFG_TYPE
    assert d["size"] == len(plain.body)
    assert d["annotations"] == {"org.example.kind": "plain"}


def test_put_with_subject_returns_oci_subject(reg, subject):
    repo, img = subject
    reg.push_blob(repo, EMPTY_JSON)
    layer = random_bytes(10)
    reg.push_blob(repo, layer)
    body = image_manifest(descriptor(OCI_EMPTY, EMPTY_JSON), [descriptor("application/x", layer)],
                          artifact_type=SIG, subject=img.desc())
    r = reg.put(f"/v2/{repo}/manifests/{unique_tag()}", data=body, headers={"Content-Type": OCI_MANIFEST})
    assert_status(r, 201)
    assert r.headers.get("OCI-Subject") == img.digest, describe(r)


def test_index_referrer(reg, subject):
    repo, img = subject
    child = push_image(reg, repo)
    with_type = index_manifest([child.desc()], artifact_type=SIG, subject=img.desc(),
                               annotations={"k": "v"})
    without_type = index_manifest([child.desc()], subject=img.desc(), annotations={"k": "w"})
    for body in (with_type, without_type):
        r = reg.put(f"/v2/{repo}/manifests/{descriptor(OCI_INDEX, body)['digest']}", data=body,
                    headers={"Content-Type": OCI_INDEX})
        assert_status(r, 201)
        assert r.headers.get("OCI-Subject") == img.digest, describe(r)
    _, listing = _referrers(reg, repo, img.digest)
    got = _desc_by_digest(listing["manifests"])
    d1 = got[descriptor(OCI_INDEX, with_type)["digest"]]
    assert d1["mediaType"] == OCI_INDEX and d1["artifactType"] == SIG and d1["annotations"] == {"k": "v"}
    d2 = got[descriptor(OCI_INDEX, without_type)["digest"]]
    # spec: "If the artifactType is empty or missing in an index, the artifactType MUST be omitted."
    assert "artifactType" not in d2, d2
    assert d2["annotations"] == {"k": "w"}


def test_artifact_type_filter(reg, subject):
    repo, img = subject
    subj = img.desc()
    s1 = push_artifact(reg, repo, subject=subj, artifact_type=SBOM)
    s2 = push_artifact(reg, repo, subject=subj, artifact_type=SBOM)
    push_artifact(reg, repo, subject=subj, artifact_type=SIG)
    cfg = push_artifact(reg, repo, subject=subj, config_media_type=CFG_TYPE)
    r, body = _referrers(reg, repo, img.digest, artifactType=SBOM)
    assert r.headers.get("OCI-Filters-Applied") == "artifactType", describe(r)
    assert {m["digest"] for m in body["manifests"]} == {s1.digest, s2.digest}, body
    assert all(m["artifactType"] == SBOM for m in body["manifests"])
    # the config.mediaType fallback is what the filter matches for untyped manifests
    r, body = _referrers(reg, repo, img.digest, artifactType=CFG_TYPE)
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"
    assert [m["digest"] for m in body["manifests"]] == [cfg.digest]


def test_filter_without_matches_is_empty(reg, subject):
    repo, img = subject
    push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG)
    r, body = _referrers(reg, repo, img.digest, artifactType="application/vnd.nothing")
    assert body["manifests"] == []
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"


def test_unfiltered_response_has_no_filters_applied_header(reg, subject):
    repo, img = subject
    push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG)
    r, _ = _referrers(reg, repo, img.digest)
    assert "OCI-Filters-Applied" not in r.headers, describe(r)


def test_no_referrers_is_empty_index_not_404(reg, subject):
    repo, img = subject
    _, body = _referrers(reg, repo, img.digest)
    assert body["manifests"] == []
    _, body = _referrers(reg, repo, bogus_digest())
    assert body["manifests"] == []


def test_referrer_pushed_before_its_subject(reg, repo):
    future = push_image(reg, repo)  # pushed only so its blobs exist; we use a fresh subject
    ghost = {"mediaType": OCI_MANIFEST, "digest": bogus_digest(), "size": 321}
    art = push_artifact(reg, repo, subject=ghost, artifact_type=SIG)
    _, body = _referrers(reg, repo, ghost["digest"])
    assert [m["digest"] for m in body["manifests"]] == [art.digest]
    assert future.digest not in [m["digest"] for m in body["manifests"]]


def test_deleted_referrer_disappears(reg, subject):
    repo, img = subject
    a = push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG)
    b = push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG)
    assert_status(reg.delete(f"/v2/{repo}/manifests/{a.digest}"), 202)
    _, body = _referrers(reg, repo, img.digest)
    assert [m["digest"] for m in body["manifests"]] == [b.digest]


def test_referrers_are_scoped_to_the_repository(reg, subject, new_repo):
    repo, img = subject
    other = new_repo("other")
    mine = push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG)
    push_artifact(reg, other, subject=img.desc(), artifact_type=SIG)
    _, body = _referrers(reg, repo, img.digest)
    assert [m["digest"] for m in body["manifests"]] == [mine.digest]


def test_tagged_referrer_listed_once(reg, subject):
    repo, img = subject
    art = push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG, ref="sig-tag")
    r = reg.put(f"/v2/{repo}/manifests/sig-tag-2", data=art.body, headers={"Content-Type": OCI_MANIFEST})
    assert_status(r, 201)
    _, body = _referrers(reg, repo, img.digest)
    assert [m["digest"] for m in body["manifests"]] == [art.digest]


def test_unknown_repository_is_not_a_5xx(reg):
    r = reg.get(f"/v2/no/such/{unique_tag('repo')}/referrers/{bogus_digest()}")
    # spec: a registry supporting referrers MUST NOT 404 "assuming a repository is found";
    # for a missing repository 404 NAME_UNKNOWN or an empty index are both acceptable.
    if r.status_code == 200:
        assert r.json()["manifests"] == []
    else:
        assert_error(r, 404, "NAME_UNKNOWN")


@pytest.mark.parametrize("bad", ["sha256:nothex", "notadigest", "sha256:" + "0" * 10])
def test_invalid_digest_is_400(reg, subject, bad):
    repo, _ = subject
    # spec: "If the request is invalid, such as a <digest> with an invalid syntax, a 400 Bad Request MUST be returned."
    assert_error(reg.get(f"/v2/{repo}/referrers/{bad}"), 400)


def test_pagination_yields_every_referrer_exactly_once(reg, subject):
    repo, img = subject
    subj = img.desc()
    pushed = [push_artifact(reg, repo, subject=subj, artifact_type=(SBOM if i % 3 == 0 else SIG),
                            annotations={"i": str(i)}).digest for i in range(30)]

    def check(r):
        if next_link(r):
            assert r.json()["manifests"], "a page followed by another must not be empty"

    # The spec defines no page-size parameter for referrers; `n` is honoured if the
    # server supports it and otherwise ignored. Either way following Link must give
    # every referrer exactly once.
    for first in (f"/v2/{repo}/referrers/{img.digest}", f"/v2/{repo}/referrers/{img.digest}?n=7"):
        got = [m["digest"] for m in _all_referrers(reg, first, check)]
        counts = collections.Counter(got)
        assert all(c == 1 for c in counts.values()), [d for d, c in counts.items() if c > 1]
        assert set(got) == set(pushed)

    sboms = {d for i, d in enumerate(pushed) if i % 3 == 0}

    def check_filtered(r):
        assert r.headers.get("OCI-Filters-Applied") == "artifactType", describe(r)
        assert all(m["artifactType"] == SBOM for m in r.json()["manifests"])

    got = [m["digest"] for m in _all_referrers(
        reg, f"/v2/{repo}/referrers/{img.digest}?n=3&artifactType={SBOM.replace('+', '%2B')}",
        check_filtered)]
    assert sorted(got) == sorted(sboms)


def test_annotations_with_unicode_survive_in_descriptors(reg, subject):
    repo, img = subject
    ann = {"org.example.text": "h\u00e9llo \u2713 \U0001F600 \"q\" \\", "empty": ""}
    art = push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG, annotations=ann)
    _, body = _referrers(reg, repo, img.digest)
    got = _desc_by_digest(body["manifests"])[art.digest]
    assert got["annotations"] == ann


def test_sha512_subject(reg, repo):
    img = make_image(reg, repo)
    d512 = "sha512:" + hashlib.sha512(img.body).hexdigest()
    assert_status(reg.put(f"/v2/{repo}/manifests/{d512}", data=img.body,
                          headers={"Content-Type": OCI_MANIFEST}), 201)
    subj = {"mediaType": OCI_MANIFEST, "digest": d512, "size": len(img.body)}
    art = push_artifact(reg, repo, subject=subj, artifact_type=SIG)
    _, body = _referrers(reg, repo, d512)
    assert [m["digest"] for m in body["manifests"]] == [art.digest]


def test_referrers_survive_subject_deletion(reg, subject):
    repo, img = subject
    art = push_artifact(reg, repo, subject=img.desc(), artifact_type=SIG)
    assert_status(reg.delete(f"/v2/{repo}/manifests/{img.digest}"), 202)
    _, body = _referrers(reg, repo, img.digest)
    # spec: never 404; the referrer itself was not deleted.
    assert art.digest in [m["digest"] for m in body["manifests"]] or body["manifests"] == []
