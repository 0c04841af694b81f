"""Discovery (docs/arca-api.md "Discovery" and the listing rules at its top): repositories and
artifacts listings, the artifactType filter, sorting, keyset pagination with Link rel="next",
sizes, push times, tags and referrer counts as they change.
"""
import datetime
import json
import urllib.parse

from typelib import (COSIGN_SIG, HELM_CONFIG, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
                     SIF_CONFIG, SIF_LAYER, SPDX_JSON, Pushed, assert_error, assert_fields,
                     build_artifact,
                     build_helm, build_image, build_index, describe, next_link, parse_rfc3339,
                     sha256, sif_file)


def attach(arca, repo, subject, artifact_type, payload):
    art = build_artifact(arca, repo, OCI_EMPTY, b"{}", [(artifact_type, payload)],
                         artifact_type=artifact_type, subject=subject.desc())
    r = arca.push(art)
    assert r.headers.get("OCI-Subject") == subject.digest, describe(r)
    return art


def page(arca, path, **params):
    r = arca.get(path, params=params)
    assert r.status_code == 200, describe(r)
    return r


def test_artifacts_listing_sorted_paginated_and_filtered(arca, repo):
    name = repo("mixed")
    pushed = []
    for i in range(3):
        c = build_helm(arca, name, "web", f"1.{i}.0")
        arca.push(c, ref=f"1.{i}.0")
        pushed.append(c)
    img = build_image(arca, name)
    arca.push(img, ref="latest")
    pushed.append(img)
    sif = build_artifact(arca, name, SIF_CONFIG, b"{}", [(SIF_LAYER, sif_file())])
    arca.push(sif)
    pushed.append(sif)

    everything = arca.artifacts(name)
    digests = [a["digest"] for a in everything]
    assert digests == sorted(p.digest for p in pushed), "artifacts are sorted by digest"

    # pagination: n=2 then follow Link rel="next" (keyset on the last digest)
    path = f"/arca/v1/repositories/{name}/artifacts"
    r = page(arca, path, n=2)
    first = r.json()["artifacts"]
    assert [a["digest"] for a in first] == digests[:2]
    link = next_link(r)
    assert link, "a Link rel=next while more remain" + describe(r)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert q.get("n") == ["2"] and q.get("last") == [digests[1]], link
    r = arca.get(urllib.parse.urljoin(arca.url + path, link))
    assert [a["digest"] for a in r.json()["artifacts"]] == digests[2:4], describe(r)
    r = page(arca, path, n=2, last=digests[3])
    assert [a["digest"] for a in r.json()["artifacts"]] == digests[4:]
    assert next_link(r) is None, "no Link on the last page" + describe(r)
    r = page(arca, path, n=5)
    assert len(r.json()["artifacts"]) == 5 and next_link(r) is None, describe(r)
    r = page(arca, path, n=5000)  # n is capped, not refused
    assert len(r.json()["artifacts"]) == 5

    # the filter (with '+' percent-encoded by requests) and its pagination
    charts = arca.artifacts(name, HELM_CONFIG)
    assert [a["digest"] for a in charts] == sorted(c.digest for c in pushed[:3])
    assert all(a["artifactType"] == HELM_CONFIG for a in charts)
    r = page(arca, path, artifactType=HELM_CONFIG, n=1)
    link = next_link(r)
    assert link and "artifactType=" in link, f"the next link keeps the filter: {link}"
    assert arca.artifacts(name, HELM_CONFIG) == [e for e in everything
                                                  if e["artifactType"] == HELM_CONFIG]
    assert [a["digest"] for a in arca.artifacts(name, SIF_CONFIG)] == [sif.digest]
    assert arca.artifacts(name, "application/vnd.example.none") == []
    # tags are sorted, an untagged manifest has none
    r = arca.put_manifest(name, "0-first", img.body, img.media_type)
    assert r.status_code == 201, describe(r)
    assert arca.artifact(name, img.digest)["tags"] == ["0-first", "latest"]
    assert arca.artifact(name, sif.digest)["tags"] == []


def test_entries_have_size_push_time_and_platform(arca, repo):
    name = repo("entry")
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    # one blob referenced twice counts once
    img = build_image(arca, name, "riscv64", created="2025-01-02T03:04:05Z")
    doc = json.loads(img.body)
    doc["layers"].append(dict(doc["layers"][0]))
    twice = Pushed(name, json.dumps(doc).encode(), OCI_MANIFEST, img.blobs)
    arca.push(twice, ref="twice")
    after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
    e = arca.artifact(name, twice.digest)
    assert e["size"] == len(twice.body) + sum(img.blobs.values()), e
    assert e["mediaType"] == OCI_MANIFEST and e["artifactType"] == OCI_CONFIG, e
    assert before <= parse_rfc3339(e["pushedAt"]) <= after, e
    assert e["platform"] == {"os": "linux", "architecture": "riscv64"}, e
    assert parse_rfc3339(e["created"]) == parse_rfc3339("2025-01-02T03:04:05Z"), e
    assert e["referrers"] == 0 and e["tags"] == ["twice"], e
    # the OCI image definition indexes architecture/os/created from the config
    assert_fields(e, arca.type_def(OCI_CONFIG),
                  arca.get(f"/v2/{name}/blobs/{doc['config']['digest']}").content)


def test_index_size_counts_children_and_their_blobs_once(arca, repo):
    """docs/arca-api.md: size = "the manifest plus every blob and manifest it reaches - for an
    index, its children and their blobs - each distinct one once": a base layer shared by two
    platforms is counted once."""
    name = repo("index-size")
    img = build_image(arca, name, "riscv64")
    doc = json.loads(img.body)
    arca.push(img)
    other = build_image(arca, name, "s390x")
    arca.push(other)
    shared_doc = json.loads(other.body)
    shared_doc["layers"] = doc["layers"][:1]
    shared = Pushed(name, json.dumps(shared_doc).encode(), OCI_MANIFEST,
                    {shared_doc["config"]["digest"]: shared_doc["config"]["size"],
                     doc["layers"][0]["digest"]: doc["layers"][0]["size"]})
    arca.push(shared)
    idx = build_index(name, [img, shared])
    arca.push(idx, ref="idx")
    closure = {img.digest: len(img.body), shared.digest: len(shared.body), idx.digest:
               len(idx.body)}
    closure.update(img.blobs)
    closure.update(shared.blobs)
    assert idx.total_size() == sum(closure.values())
    e = arca.artifact(name, idx.digest)
    assert e["artifactType"] == OCI_INDEX
    assert e["size"] == sum(closure.values()), \
        f"size {e['size']}: index {len(idx.body)} + children {len(img.body) + len(shared.body)} " \
        f"+ their blobs {sum(closure.values()) - len(idx.body) - len(img.body) - len(shared.body)}"


def test_referrer_counts_follow_pushes_and_deletes(arca, repo):
    name = repo("refs")
    subject = build_image(arca, name)
    arca.push(subject, ref="v1")
    sig = attach(arca, name, subject, COSIGN_SIG, b'{"critical":{}}')
    sbom = attach(arca, name, subject, SPDX_JSON, b'{"spdxVersion":"SPDX-2.3"}')
    assert arca.artifact(name, subject.digest)["referrers"] == 2
    # a referrer of a referrer counts for its own subject only
    attach(arca, name, sig, SPDX_JSON, b'{"spdxVersion":"SPDX-2.3","name":"of-sig"}')
    assert arca.artifact(name, subject.digest)["referrers"] == 2
    assert arca.artifact(name, sig.digest)["referrers"] == 1
    r = arca.request("DELETE", f"/v2/{name}/manifests/{sbom.digest}")
    assert r.status_code == 202, describe(r)
    assert arca.artifact(name, subject.digest)["referrers"] == 1
    assert sbom.digest not in [a["digest"] for a in arca.artifacts(name)]
    assert sbom.digest not in [a["digest"] for a in arca.artifacts(name, SPDX_JSON)]
    # a referrer pushed before its subject is counted once the subject arrives
    late = build_image(arca, name, "mips64le")
    attach(arca, name, late, SPDX_JSON, b'{"spdxVersion":"SPDX-2.3","name":"early"}')
    arca.push(late)
    assert arca.artifact(name, late.digest)["referrers"] == 1


def test_tags_follow_moves_and_deletes(arca, repo):
    name = repo("tags")
    a = build_helm(arca, name, "web", "1.0.0")
    b = build_helm(arca, name, "web", "2.0.0")
    arca.push(a, ref="stable")
    arca.push(b, ref="2.0.0")
    assert arca.artifact(name, a.digest)["tags"] == ["stable"]
    arca.push(b, ref="stable")  # the tag moves
    assert arca.artifact(name, a.digest)["tags"] == []
    assert arca.artifact(name, b.digest)["tags"] == ["2.0.0", "stable"]
    r = arca.request("DELETE", f"/v2/{name}/manifests/{b.digest}")
    assert r.status_code == 202, describe(r)
    assert [x["digest"] for x in arca.artifacts(name)] == [a.digest]


def test_repositories_listing_and_filter(make_arca):
    srv, arca = make_arca()  # an empty registry of its own, to know every repository
    assert arca.repositories() == []
    c = build_helm(arca, "charts/web", "web", "1.0.0")
    arca.push(c, ref="1.0.0")
    c2 = build_helm(arca, "charts/web", "web", "1.1.0")
    arca.push(c2)
    img = build_image(arca, "apps/web")
    arca.push(img, ref="v1")
    sig = attach(arca, "apps/web", img, COSIGN_SIG, b"{}")
    idx = build_index("apps/web", [img])
    arca.push(idx, ref="multi")
    s = build_artifact(arca, "hpc/sim", SIF_CONFIG, b"{}", [(SIF_LAYER, sif_file())])
    arca.push(s, ref="latest")

    repos = {r["name"]: r for r in arca.repositories()}
    assert set(repos) == {"charts/web", "apps/web", "hpc/sim"}, repos
    for n, count in (("charts/web", 2), ("apps/web", 3), ("hpc/sim", 1)):
        got = repos[n]["artifacts"]  # a count (or the artifacts themselves)
        assert (got if isinstance(got, int) else len(got)) == count, repos[n]
    assert sorted(repos["charts/web"]["types"]) == [HELM_CONFIG], repos
    assert sorted(repos["apps/web"]["types"]) == sorted([OCI_CONFIG, COSIGN_SIG, OCI_INDEX]), repos
    assert sorted(repos["hpc/sim"]["types"]) == [SIF_CONFIG], repos
    assert [r["name"] for r in arca.repositories(HELM_CONFIG)] == ["charts/web"]
    assert [r["name"] for r in arca.repositories(COSIGN_SIG)] == ["apps/web"]
    assert sorted(r["name"] for r in arca.repositories(OCI_CONFIG)) == ["apps/web"]
    assert arca.repositories("application/vnd.example.none") == []

    # paginated: n=1 three times
    r = page(arca, "/arca/v1/repositories", n=1)
    names = [x["name"] for x in r.json()["repositories"]]
    while next_link(r):
        r = arca.get(urllib.parse.urljoin(arca.url + "/arca/v1/repositories", next_link(r)))
        assert r.status_code == 200, describe(r)
        assert len(r.json()["repositories"]) <= 1
        names += [x["name"] for x in r.json()["repositories"]]
    assert sorted(names) == sorted(repos) and len(names) == 3, names

    # a repository whose manifests are all deleted is no longer listed
    for d in (s.digest,):
        assert arca.request("DELETE", f"/v2/hpc/sim/manifests/{d}").status_code == 202
    assert "hpc/sim" not in [r["name"] for r in arca.repositories()]
    assert sig.digest in [a["digest"] for a in arca.artifacts("apps/web", COSIGN_SIG)]


def test_listing_of_unknown_repository(arca):
    r = arca.get("/arca/v1/repositories/no/such-repo-here/artifacts")
    assert r.status_code in (200, 404), describe(r)
    if r.status_code == 404:
        assert_error(r, 404, "NAME_UNKNOWN")
    else:
        assert r.json()["artifacts"] == []


def test_manifest_bytes_are_untouched_by_identification(arca, repo):
    """Identification is metadata: what the registry serves is what was pushed."""
    name = repo("bytes")
    c = build_helm(arca, name, "web", "1.0.0")
    arca.push(c, ref="1.0.0")
    r = arca.get_manifest(name, "1.0.0")
    assert r.content == c.body and sha256(r.content) == c.digest


def test_listing_page_size_defaults_to_and_is_capped_at_1000(make_arca):
    srv, arca = make_arca()
    name = "many/artifacts"
    arca.push_blob(name, b"{}")
    layer = b"shared layer"
    arca.push_blob(name, layer)
    digests = []
    for i in range(1001):
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SPDX_JSON,
               "config": {"mediaType": OCI_EMPTY, "digest": sha256(b"{}"), "size": 2},
               "layers": [{"mediaType": SPDX_JSON, "digest": sha256(layer), "size": len(layer)}],
               "annotations": {"n": str(i)}}
        body = json.dumps(doc).encode()
        r = arca.put_manifest(name, sha256(body), body, OCI_MANIFEST)
        assert r.status_code == 201, describe(r)
        digests.append(sha256(body))
    digests.sort()
    path = f"/arca/v1/repositories/{name}/artifacts"
    for params in ({}, {"n": 5000}, {"artifactType": SPDX_JSON}):
        r = page(arca, path, **params)
        got = [a["digest"] for a in r.json()["artifacts"]]
        assert got == digests[:1000], f"{params}: {len(got)} items"
        link = next_link(r)
        assert link, f"{params}: a Link while more remain" + describe(r)
        r = arca.get(urllib.parse.urljoin(arca.url + path, link))
        assert [a["digest"] for a in r.json()["artifacts"]] == digests[1000:], describe(r)
        assert next_link(r) is None
    assert len(arca.artifacts(name)) == 1001


def test_repository_names_that_look_like_api_paths(arca, repo):
    """The repository name is everything between /repositories/ and the final /artifacts."""
    base = repo("paths")
    for name in (f"{base}/artifacts", f"{base}/artifacts/artifacts", f"{base}/repositories"):
        c = build_helm(arca, name, "web", "1.0.0")
        arca.push(c, ref="1.0.0")
        assert [a["digest"] for a in arca.artifacts(name)] == [c.digest], name
    names = [r["name"] for r in arca.repositories(HELM_CONFIG)]
    for name in (f"{base}/artifacts", f"{base}/artifacts/artifacts", f"{base}/repositories"):
        assert name in names
