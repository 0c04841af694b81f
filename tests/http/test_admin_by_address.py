"""Admin by address (issue 9, item 10): with no admin_token, loopback clients are admin, but not
a request that came through a reverse proxy on the same host (it carries a proxy header), which
is refused with 403 DENIED saying to set admin_token.

GET /arca/v1/admin/gc (the last pass) and POST /arca/v1/admin/gc?dry_run=true are admin
requests that change nothing, so the shared server serves them.
"""
import pytest

from ocihttp import assert_error, assert_status, describe

PROXY_HEADERS = {
    "X-Forwarded-For": "203.0.113.7",
    "Forwarded": "for=203.0.113.7;proto=https",
    "X-Real-IP": "203.0.113.7",
    "X-Forwarded-Host": "registry.example.com",
    "X-Forwarded-Proto": "https",
    "Via": "1.1 proxy.example.com",
}


def test_loopback_without_proxy_headers_is_admin(reg):
    assert_status(reg.post("/arca/v1/admin/gc?dry_run=true"), 200)
    # 404 until a real pass has run: allowed, only not refused
    assert_status(reg.get("/arca/v1/admin/gc"), (200, 404))


@pytest.mark.parametrize("name", sorted(PROXY_HEADERS))
def test_loopback_through_a_proxy_is_not_admin(reg, name):
    for method, path in (("GET", "/arca/v1/admin/gc"), ("POST", "/arca/v1/admin/gc?dry_run=true")):
        r = reg.request(method, path, headers={name: PROXY_HEADERS[name]})
        assert_error(r, 403, "DENIED")
        text = r.text
        assert name in text and "admin_token" in text, \
            "the refusal must say which header and what to do" + describe(r)


def test_proxy_header_name_is_case_insensitive(reg):
    r = reg.get("/arca/v1/admin/gc", headers={"x-forwarded-for": "203.0.113.7"})
    assert_error(r, 403, "DENIED")


def test_proxy_headers_do_not_matter_outside_admin_requests(reg):
    r = reg.get("/v2/", headers={"X-Forwarded-For": "203.0.113.7"})
    assert_status(r, 200)
    r = reg.get("/arca/v1/types", headers={"X-Forwarded-For": "203.0.113.7"})
    assert_status(r, 200)
