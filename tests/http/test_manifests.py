"""Manifests: PUT / GET / HEAD / DELETE /v2/<name>/manifests/<reference> (end-3, end-7, end-9)."""
import json

import pytest

from ocihttp import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_LAYER,
                     OCI_MANIFEST, SCHEMA1, SCHEMA1_SIGNED, assert_error, assert_status,
                     bogus_digest, descriptor, describe, dumps, header_values,
                     index_manifest, location_path, make_image, push_image, random_bytes, sha256,
                     sha512, split_list_header, unique_tag)

FOUR_MIB = 4 * 1024 * 1024


def _put(reg, repo, ref, body, ctype):
    return reg.put(f"/v2/{repo}/manifests/{ref}", data=body, headers={"Content-Type": ctype})


def _assert_manifest(reg, repo, ref, body, ctype):
    digest = sha256(body)
    r = reg.get(f"/v2/{repo}/manifests/{ref}")
    assert_status(r, 200)
    assert r.content == body, "manifest bytes must be returned exactly as pushed"
    assert r.headers.get("Content-Type") == ctype, describe(r)
    assert r.headers.get("Docker-Content-Digest") == digest, describe(r)
    assert r.headers.get("Content-Length") == str(len(body)), describe(r)
    h = reg.head(f"/v2/{repo}/manifests/{ref}")
    assert_status(h, 200)
    assert h.content == b""
    assert h.headers.get("Content-Type") == ctype, describe(h)
    assert h.headers.get("Docker-Content-Digest") == digest, describe(h)
    assert h.headers.get("Content-Length") == str(len(body)), describe(h)


# ------------------------------------------------------------------ push / pull
def test_put_by_tag_then_get_and_head(reg, repo):
    img = make_image(reg, repo, n_layers=2)
    r = _put(reg, repo, "latest", img.body, OCI_MANIFEST)
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == img.digest, describe(r)
    loc = r.headers.get("Location")
    assert loc, describe(r)
    g = reg.get(loc)
    assert_status(g, 200)
    assert g.content == img.body
    _assert_manifest(reg, repo, "latest", img.body, OCI_MANIFEST)
    _assert_manifest(reg, repo, img.digest, img.body, OCI_MANIFEST)


def test_put_by_digest(reg, repo):
    img = make_image(reg, repo)
    r = _put(reg, repo, img.digest, img.body, OCI_MANIFEST)
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == img.digest
    assert location_path(r.headers["Location"]) == f"/v2/{repo}/manifests/{img.digest}", describe(r)
    _assert_manifest(reg, repo, img.digest, img.body, OCI_MANIFEST)
    assert reg.tags(repo) == []


def test_put_by_sha512_digest(reg, repo):
    img = make_image(reg, repo)
    d = sha512(img.body)
    r = _put(reg, repo, d, img.body, OCI_MANIFEST)
    assert_status(r, 201)
    # spec: Docker-Content-Digest "MUST be equal to the client provided digest".
    assert r.headers.get("Docker-Content-Digest") == d, describe(r)
    g = reg.get(f"/v2/{repo}/manifests/{d}")
    assert_status(g, 200)
    assert g.content == img.body
    assert g.headers.get("Docker-Content-Digest") == d, describe(g)


def test_exact_bytes_are_stored_compact_and_pretty(reg, repo):
    for style in ("compact", "pretty"):
        img = make_image(reg, repo, style=style)
        assert_status(_put(reg, repo, style, img.body, OCI_MANIFEST), 201)
        _assert_manifest(reg, repo, style, img.body, OCI_MANIFEST)


def test_manifest_without_mediatype_field(reg, repo):
    # image-spec: mediaType SHOULD be used, so a manifest without it is still valid.
    img = make_image(reg, repo, with_media_type=False)
    assert b'"mediaType": "application/vnd.oci.image.manifest' not in img.body
    assert_status(_put(reg, repo, "nomt", img.body, OCI_MANIFEST), 201)
    _assert_manifest(reg, repo, "nomt", img.body, OCI_MANIFEST)


def test_manifest_with_no_layers(reg, repo):
    img = make_image(reg, repo, n_layers=0)
    assert_status(_put(reg, repo, "nolayers", img.body, OCI_MANIFEST), 201)
    _assert_manifest(reg, repo, "nolayers", img.body, OCI_MANIFEST)


def test_content_type_parameters_are_ignored(reg, repo):
    img = make_image(reg, repo)
    r = _put(reg, repo, "params", img.body, OCI_MANIFEST + "; charset=utf-8")
    assert_status(r, 201)
    g = reg.get(f"/v2/{repo}/manifests/params")
    assert_status(g, 200)
    assert g.content == img.body
    assert g.headers.get("Content-Type", "").split(";")[0].strip() == OCI_MANIFEST


@pytest.mark.parametrize("accept", [
    None,
    OCI_MANIFEST,
    f"{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.9, */*;q=0.1",
    DOCKER_MANIFEST,
    "application/json",
])
def test_accept_header_does_not_change_stored_bytes(reg, repo, accept):
    img = push_image(reg, repo, ref="acc")
    r = reg.get_manifest(repo, "acc", accept=accept)
    assert_status(r, 200)
    assert r.content == img.body
    assert r.headers.get("Content-Type") == OCI_MANIFEST


def test_docker_schema2_manifest(reg, repo):
    img = make_image(reg, repo, docker=True, n_layers=2)
    r = _put(reg, repo, "d2", img.body, DOCKER_MANIFEST)
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == img.digest
    _assert_manifest(reg, repo, "d2", img.body, DOCKER_MANIFEST)
    _assert_manifest(reg, repo, img.digest, img.body, DOCKER_MANIFEST)


def test_oci_index(reg, repo):
    a = push_image(reg, repo)
    b = push_image(reg, repo)
    body = index_manifest([
        a.desc(platform={"architecture": "amd64", "os": "linux"}),
        b.desc(platform={"architecture": "arm64", "os": "linux"}),
    ], annotations={"org.example": "idx"})
    r = _put(reg, repo, "multi", body, OCI_INDEX)
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == sha256(body)
    _assert_manifest(reg, repo, "multi", body, OCI_INDEX)
    # children remain reachable by digest
    _assert_manifest(reg, repo, a.digest, a.body, OCI_MANIFEST)


def test_docker_manifest_list(reg, repo):
    a = push_image(reg, repo, docker=True)
    b = push_image(reg, repo, docker=True)
    body = index_manifest([
        a.desc(platform={"architecture": "amd64", "os": "linux"}),
        b.desc(platform={"architecture": "arm", "os": "linux", "variant": "v7"}),
    ], media_type=DOCKER_LIST)
    r = _put(reg, repo, "list", body, DOCKER_LIST)
    assert_status(r, 201)
    _assert_manifest(reg, repo, "list", body, DOCKER_LIST)


def test_index_of_indexes(reg, repo):
    a = push_image(reg, repo)
    inner = index_manifest([a.desc()])
    assert_status(_put(reg, repo, sha256(inner), inner, OCI_INDEX), 201)
    outer = index_manifest([descriptor(OCI_INDEX, inner)])
    assert_status(_put(reg, repo, "outer", outer, OCI_INDEX), 201)
    _assert_manifest(reg, repo, "outer", outer, OCI_INDEX)


def test_push_same_manifest_twice_is_idempotent(reg, repo):
    img = make_image(reg, repo)
    assert_status(_put(reg, repo, "t", img.body, OCI_MANIFEST), 201)
    r = _put(reg, repo, "t", img.body, OCI_MANIFEST)
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == img.digest
    assert reg.tags(repo) == ["t"]


def test_retag_moves_tag_and_keeps_old_manifest(reg, repo):
    a = push_image(reg, repo, ref="moving")
    b = push_image(reg, repo, ref="moving")
    _assert_manifest(reg, repo, "moving", b.body, OCI_MANIFEST)
    _assert_manifest(reg, repo, a.digest, a.body, OCI_MANIFEST)


# ------------------------------------------------------------------ multi-tag PUT
def test_multi_tag_put_returns_one_oci_tag_header_per_tag(reg, repo):
    img = make_image(reg, repo)
    tags = ["1.2.3", "1.2", "latest", "Stable_2"]
    q = "&".join(f"tag={t}" for t in tags)
    r = reg.put(f"/v2/{repo}/manifests/{img.digest}?{q}", data=img.body,
                headers={"Content-Type": OCI_MANIFEST})
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == img.digest
    values = header_values(r, "OCI-Tag")
    # spec (main): an OCI-Tag response header for each accepted tag; the issue asks
    # for one header field per tag.
    assert sorted(split_list_header(values)) == sorted(tags), describe(r)
    assert len(values) == len(tags), f"one OCI-Tag field per tag expected, got {values}"
    assert sorted(reg.tags(repo)) == sorted(tags)
    for t in tags:
        _assert_manifest(reg, repo, t, img.body, OCI_MANIFEST)


def test_multi_tag_put_with_invalid_tag_is_400(reg, repo):
    img = make_image(reg, repo)
    r = reg.put(f"/v2/{repo}/manifests/{img.digest}?tag=good&tag=.bad", data=img.body,
                headers={"Content-Type": OCI_MANIFEST})
    assert_error(r, 400)
    assert ".bad" not in reg.get(f"/v2/{repo}/tags/list").text


# ------------------------------------------------------------------ validation
def test_malformed_json_is_manifest_invalid(reg, repo):
    for body in (b"{", b"not json", b"", b"null", b"[]", b'"string"', b"{}garbage",
                 b'{"schemaVersion": 2,}'):
        assert_error(_put(reg, repo, "bad", body, OCI_MANIFEST), 400, "MANIFEST_INVALID")
    assert_error(reg.get(f"/v2/{repo}/manifests/bad"), 404, ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"))


@pytest.mark.parametrize("sv", [1, 3, 0, "2", None, "missing"])
def test_schema_version_must_be_2(reg, repo, sv):
    img = make_image(reg, repo)
    m = json.loads(img.body)
    if sv == "missing":
        del m["schemaVersion"]
    else:
        m["schemaVersion"] = sv
    assert_error(_put(reg, repo, "sv", dumps(m), OCI_MANIFEST), 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("body_type,ctype", [
    (OCI_INDEX, OCI_MANIFEST),
    (DOCKER_MANIFEST, OCI_MANIFEST),
    (OCI_MANIFEST, OCI_INDEX),
    (OCI_MANIFEST, DOCKER_MANIFEST),
])
def test_mediatype_field_must_match_content_type(reg, repo, body_type, ctype):
    img = make_image(reg, repo)
    m = json.loads(img.body)
    m["mediaType"] = body_type
    assert_error(_put(reg, repo, "mt", dumps(m), ctype), 400, "MANIFEST_INVALID")
    assert_error(reg.get(f"/v2/{repo}/manifests/mt"), 404, "MANIFEST_UNKNOWN")


def test_index_content_type_with_image_manifest_body(reg, repo):
    img = make_image(reg, repo, with_media_type=False)
    assert_error(_put(reg, repo, "x", img.body, OCI_INDEX), 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("mutate", ["no_config", "config_not_object", "layers_not_array",
                                    "descriptor_without_digest", "descriptor_bad_digest",
                                    "descriptor_negative_size", "manifest_is_array"])
def test_structurally_invalid_manifest(reg, repo, mutate):
    img = make_image(reg, repo)
    m = json.loads(img.body)
    if mutate == "no_config":
        del m["config"]
    elif mutate == "config_not_object":
        m["config"] = "sha256:" + "0" * 64
    elif mutate == "layers_not_array":
        m["layers"] = {"a": 1}
    elif mutate == "descriptor_without_digest":
        del m["layers"][0]["digest"]
    elif mutate == "descriptor_bad_digest":
        m["layers"][0]["digest"] = "sha256:nothex"
    elif mutate == "descriptor_negative_size":
        m["layers"][0]["size"] = -1
    elif mutate == "manifest_is_array":
        m = [m]
    assert_error(_put(reg, repo, "st", dumps(m), OCI_MANIFEST), 400,
                 ("MANIFEST_INVALID", "DIGEST_INVALID", "SIZE_INVALID"))
    assert_error(reg.get(f"/v2/{repo}/manifests/st"), 404, "MANIFEST_UNKNOWN")


def test_missing_layer_blob_is_manifest_blob_unknown(reg, repo):
    img = make_image(reg, repo)
    missing = random_bytes(20)
    m = json.loads(img.body)
    m["layers"].append(descriptor(OCI_LAYER, missing))
    assert_error(_put(reg, repo, "mb", dumps(m), OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN")
    assert_error(reg.get(f"/v2/{repo}/manifests/mb"), 404, "MANIFEST_UNKNOWN")


def test_missing_config_blob_is_manifest_blob_unknown(reg, repo):
    img = make_image(reg, repo, push_blobs=False)
    for d, b in img.blobs.items():
        if d != img.config["digest"]:
            reg.push_blob(repo, b)
    assert_error(_put(reg, repo, "mc", img.body, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN")


def test_blob_in_another_repository_does_not_count(reg, new_repo):
    # Issue: every referenced blob must be present in *this* repository.
    a, b = new_repo("a"), new_repo("b")
    img = make_image(reg, a)
    reg.push_blob(b, b"b exists")
    assert_error(_put(reg, b, "x", img.body, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN")


def test_index_with_missing_child_is_manifest_blob_unknown(reg, repo):
    a = push_image(reg, repo)
    ghost = make_image(reg, repo)  # blobs pushed, manifest never pushed
    body = index_manifest([a.desc(), ghost.desc()])
    assert_error(_put(reg, repo, "idx", body, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")
    assert_error(reg.get(f"/v2/{repo}/manifests/idx"), 404, "MANIFEST_UNKNOWN")


def test_index_child_in_another_repository_does_not_count(reg, new_repo):
    a, b = new_repo("a"), new_repo("b")
    child = push_image(reg, a)
    reg.push_blob(b, b"b exists")
    body = index_manifest([child.desc()])
    assert_error(_put(reg, b, "idx", body, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")


def test_docker_list_with_missing_child(reg, repo):
    ghost = make_image(reg, repo, docker=True)
    body = index_manifest([ghost.desc(platform={"architecture": "amd64", "os": "linux"})],
                          media_type=DOCKER_LIST)
    assert_error(_put(reg, repo, "dl", body, DOCKER_LIST), 400, "MANIFEST_BLOB_UNKNOWN")


def test_subject_may_point_at_missing_manifest_and_returns_oci_subject(reg, repo):
    subject = {"mediaType": OCI_MANIFEST, "digest": bogus_digest(), "size": 1234}
    img = make_image(reg, repo, subject=subject, artifact_type="application/vnd.example.sig")
    r = _put(reg, repo, img.digest, img.body, OCI_MANIFEST)
    assert_status(r, 201)
    assert r.headers.get("OCI-Subject") == subject["digest"], describe(r)
    _assert_manifest(reg, repo, img.digest, img.body, OCI_MANIFEST)


def test_no_oci_subject_header_without_subject(reg, repo):
    img = make_image(reg, repo)
    r = _put(reg, repo, img.digest, img.body, OCI_MANIFEST)
    assert_status(r, 201)
    assert "OCI-Subject" not in r.headers


def test_digest_in_url_must_match_body(reg, repo):
    img = make_image(reg, repo)
    other = bogus_digest()
    assert_error(_put(reg, repo, other, img.body, OCI_MANIFEST), 400, "DIGEST_INVALID")
    assert_error(reg.get(f"/v2/{repo}/manifests/{other}"), 404, "MANIFEST_UNKNOWN")
    assert_error(reg.get(f"/v2/{repo}/manifests/{img.digest}"), 404, "MANIFEST_UNKNOWN")


def test_put_with_malformed_digest_reference_is_400(reg, repo):
    img = make_image(reg, repo)
    assert_error(_put(reg, repo, "sha256:nothex", img.body, OCI_MANIFEST), 400)


def _padded_manifest(reg, repo, total):
    img = make_image(reg, repo)
    m = json.loads(img.body)
    m["annotations"] = {"pad": ""}
    base = len(dumps(m, "compact"))
    m["annotations"]["pad"] = "x" * (total - base)
    body = dumps(m, "compact")
    assert len(body) == total
    return body


def test_manifest_of_4_mib_is_accepted(reg, repo):
    body = _padded_manifest(reg, repo, FOUR_MIB)
    r = _put(reg, repo, "big", body, OCI_MANIFEST)
    assert_status(r, 201)
    g = reg.get(f"/v2/{repo}/manifests/big")
    assert_status(g, 200)
    assert g.content == body


def test_manifest_over_4_mib_is_413(reg, repo):
    body = _padded_manifest(reg, repo, FOUR_MIB + 1)
    r = _put(reg, repo, "toobig", body, OCI_MANIFEST)
    assert_error(r, 413)
    assert_error(reg.get(f"/v2/{repo}/manifests/toobig"), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("ctype", [SCHEMA1, SCHEMA1_SIGNED])
def test_schema1_is_refused(reg, repo, ctype):
    reg.push_blob(repo, b"exists")
    body = dumps({
        "schemaVersion": 1, "name": repo, "tag": "s1", "architecture": "amd64",
        "fsLayers": [{"blobSum": sha256(b"exists")}],
        "history": [{"v1Compatibility": "{\"id\":\"x\"}"}],
    })
    r = _put(reg, repo, "s1", body, ctype)
    assert_error(r, (400, 415), ("MANIFEST_INVALID", "UNSUPPORTED"))
    assert_error(reg.get(f"/v2/{repo}/manifests/s1"), 404, "MANIFEST_UNKNOWN")


def test_unknown_content_type_is_refused(reg, repo):
    img = make_image(reg, repo, with_media_type=False)
    r = _put(reg, repo, "weird", img.body, "application/x-not-a-manifest")
    assert_error(r, (400, 415), ("MANIFEST_INVALID", "UNSUPPORTED"))


# ------------------------------------------------------------------ delete
def test_delete_by_digest_removes_manifest_and_its_tags(reg, repo):
    img = make_image(reg, repo)
    for t in ("a", "b"):
        assert_status(_put(reg, repo, t, img.body, OCI_MANIFEST), 201)
    keep = push_image(reg, repo, ref="keep")
    r = reg.delete(f"/v2/{repo}/manifests/{img.digest}")
    assert_status(r, 202)
    for ref in (img.digest, "a", "b"):
        assert_error(reg.get(f"/v2/{repo}/manifests/{ref}"), 404, "MANIFEST_UNKNOWN")
        assert_error(reg.head(f"/v2/{repo}/manifests/{ref}"), 404)
    assert reg.tags(repo) == ["keep"]
    _assert_manifest(reg, repo, "keep", keep.body, OCI_MANIFEST)
    assert_error(reg.delete(f"/v2/{repo}/manifests/{img.digest}"), 404, "MANIFEST_UNKNOWN")


def test_delete_by_tag_removes_only_the_tag(reg, repo):
    img = make_image(reg, repo)
    for t in ("a", "b"):
        assert_status(_put(reg, repo, t, img.body, OCI_MANIFEST), 201)
    r = reg.delete(f"/v2/{repo}/manifests/a")
    assert_status(r, 202)
    assert_error(reg.get(f"/v2/{repo}/manifests/a"), 404, "MANIFEST_UNKNOWN")
    _assert_manifest(reg, repo, img.digest, img.body, OCI_MANIFEST)
    _assert_manifest(reg, repo, "b", img.body, OCI_MANIFEST)
    assert reg.tags(repo) == ["b"]
    assert_error(reg.delete(f"/v2/{repo}/manifests/a"), 404, "MANIFEST_UNKNOWN")


def test_manifest_can_be_pushed_again_after_delete(reg, repo):
    img = push_image(reg, repo, ref="again")
    assert_status(reg.delete(f"/v2/{repo}/manifests/{img.digest}"), 202)
    assert_status(_put(reg, repo, "again", img.body, OCI_MANIFEST), 201)
    _assert_manifest(reg, repo, "again", img.body, OCI_MANIFEST)


def test_get_unknown_manifest_is_404_manifest_unknown(reg, repo):
    push_image(reg, repo, ref="exists")
    assert_error(reg.get(f"/v2/{repo}/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(reg.get(f"/v2/{repo}/manifests/{bogus_digest()}"), 404, "MANIFEST_UNKNOWN")
    assert_error(reg.head(f"/v2/{repo}/manifests/nope"), 404)
    assert_error(reg.delete(f"/v2/{repo}/manifests/{bogus_digest()}"), 404, "MANIFEST_UNKNOWN")


def test_manifest_in_unknown_repository_is_404_name_unknown(reg):
    name = f"never/pushed/{unique_tag('r')}"
    assert_error(reg.get(f"/v2/{name}/manifests/latest"), 404, "NAME_UNKNOWN")
    assert_error(reg.get(f"/v2/{name}/manifests/{bogus_digest()}"), 404, "NAME_UNKNOWN")
    assert_error(reg.head(f"/v2/{name}/manifests/latest"), 404)
    assert_error(reg.delete(f"/v2/{name}/manifests/{bogus_digest()}"), 404, "NAME_UNKNOWN")


def test_manifests_are_scoped_to_their_repository(reg, new_repo):
    a, b = new_repo("a"), new_repo("b")
    img = push_image(reg, a, ref="only-a")
    push_image(reg, b, ref="other")
    assert_error(reg.get(f"/v2/{b}/manifests/{img.digest}"), 404, "MANIFEST_UNKNOWN")
    assert_error(reg.get(f"/v2/{b}/manifests/only-a"), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("ref", ["sha256:nothex", "sha256:" + "0" * 10, "SHA256:" + "0" * 64])
def test_get_malformed_digest_reference_is_400(reg, repo, ref):
    push_image(reg, repo, ref="exists")
    assert_error(reg.get(f"/v2/{repo}/manifests/{ref}"), 400)


def test_index_child_that_is_only_a_blob_is_manifest_blob_unknown(reg, repo):
    img = push_image(reg, repo)
    layer = img.layers[0]  # exists in the repository as a blob, not as a manifest
    body = index_manifest([{"mediaType": OCI_MANIFEST, "digest": layer["digest"], "size": layer["size"]}])
    assert_error(_put(reg, repo, "blobchild", body, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")


def test_multi_tag_put_by_sha512_digest(reg, repo):
    img = make_image(reg, repo)
    d = sha512(img.body)
    r = reg.put(f"/v2/{repo}/manifests/{d}?tag=s1&tag=s2", data=img.body,
                headers={"Content-Type": OCI_MANIFEST})
    assert_status(r, 201)
    assert r.headers.get("Docker-Content-Digest") == d
    assert sorted(split_list_header(header_values(r, "OCI-Tag"))) == ["s1", "s2"]
    for t in ("s1", "s2"):
        g = reg.get(f"/v2/{repo}/manifests/{t}")
        assert_status(g, 200)
        assert g.content == img.body


def test_sha512_digest_in_url_must_match_body(reg, repo):
    img = make_image(reg, repo)
    assert_error(_put(reg, repo, sha512(img.body + b" "), img.body, OCI_MANIFEST), 400, "DIGEST_INVALID")


def test_multi_tag_with_over_long_tag_is_400(reg, repo):
    img = make_image(reg, repo)
    r = reg.put(f"/v2/{repo}/manifests/{img.digest}?tag={'a' * 129}", data=img.body,
                headers={"Content-Type": OCI_MANIFEST})
    assert_error(r, 400)


def test_many_tags_in_one_put(reg, repo, monkeypatch):
    # One OCI-Tag field per tag can exceed http.client's 100-field guard.
    import http.client
    monkeypatch.setattr(http.client, "_MAXHEADERS", 10_000)
    img = make_image(reg, repo)
    ten = [f"tag{i}" for i in range(10)]
    r = reg.put(f"/v2/{repo}/manifests/{img.digest}?" + "&".join(f"tag={t}" for t in ten),
                data=img.body, headers={"Content-Type": OCI_MANIFEST})
    # spec (main): a registry supporting tag parameters SHOULD support at least 10.
    assert_status(r, 201)
    assert sorted(split_list_header(header_values(r, "OCI-Tag"))) == sorted(ten)
    many = [f"many{i:04d}" for i in range(500)]
    r = reg.put(f"/v2/{repo}/manifests/{img.digest}?" + "&".join(f"tag={t}" for t in many),
                data=img.body, headers={"Content-Type": OCI_MANIFEST})
    # ... and MAY answer 414 when there are too many.
    assert r.status_code in (201, 414, 431, 400), describe(r)
    if r.status_code == 201:
        assert sorted(split_list_header(header_values(r, "OCI-Tag"))) == sorted(many)
        assert set(many) <= set(reg.follow_pages(f"/v2/{repo}/tags/list", "tags")[0])
    else:
        assert_error(r, r.status_code)


def test_4_mib_manifest_streamed_without_content_length(reg, repo):
    body = _padded_manifest(reg, repo, FOUR_MIB)
    r = reg.put(f"/v2/{repo}/manifests/chunked4",
                data=(body[i:i + 65536] for i in range(0, len(body), 65536)),
                headers={"Content-Type": OCI_MANIFEST})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert_status(r, 201)
    assert reg.get(f"/v2/{repo}/manifests/chunked4").content == body


def test_unicode_annotations_are_kept_byte_exact(reg, repo):
    ann = {"org.example.text": "h\u00e9llo \u2713 \u65e5\u672c \U0001F600 \u2028 \"q\" \\ /"}
    img = make_image(reg, repo, annotations=ann)
    body = img.body.replace(b"\\u00e9", "\u00e9".encode())  # mix escaped and raw UTF-8
    assert_status(_put(reg, repo, "uni", body, OCI_MANIFEST), 201)
    g = reg.get(f"/v2/{repo}/manifests/uni")
    assert g.content == body
    assert g.headers.get("Docker-Content-Digest") == sha256(body)
