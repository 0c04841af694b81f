"""GET /v2/ (end-1): the API version check."""
from ocihttp import assert_status, describe


def test_base_returns_200_with_api_version_header(reg):
    r = reg.get("/v2/")
    assert_status(r, 200)
    # distribution-spec "API Version Check": Docker-Distribution-API-Version: registry/2.0
    assert r.headers.get("Docker-Distribution-API-Version") == "registry/2.0", describe(r)


def test_base_head_matches_get(reg):
    # RFC 9110 9.1: general-purpose servers MUST support GET and HEAD.
    g = reg.get("/v2/")
    h = reg.head("/v2/")
    assert_status(h, 200)
    assert h.content == b""
    assert h.headers.get("Docker-Distribution-API-Version") == "registry/2.0", describe(h)
    assert g.status_code == 200


def test_base_body_if_any_is_json(reg):
    r = reg.get("/v2/")
    assert_status(r, 200)
    if r.content:
        # The spec lets the body carry optional data; when present it is JSON.
        assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", describe(r)
        r.json()


def test_base_is_served_repeatedly_on_one_connection(reg):
    # Keep-alive: many requests on the same pooled connection all succeed.
    for _ in range(20):
        assert_status(reg.get("/v2/"), 200)
