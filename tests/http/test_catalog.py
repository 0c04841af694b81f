"""Catalog: GET /v2/_catalog with n / last / Link pagination, on a fresh, empty registry."""
import urllib.parse

import pytest

from ocihttp import assert_status, describe, next_link, push_image

REPOS = ["b", "a/z", "a", "c-d", "a/b/c", "x.y", "m__n", "library/ubuntu", "0numeric"]


@pytest.fixture
def populated(fresh_reg):
    for name in REPOS:
        push_image(fresh_reg, name, ref="latest")
    return fresh_reg, sorted(REPOS)


def test_empty_registry_has_empty_catalog(fresh_reg):
    r = fresh_reg.get("/v2/_catalog")
    assert_status(r, 200)
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json", describe(r)
    assert r.json().get("repositories") in ([], None), describe(r)
    assert next_link(r) is None


def test_catalog_lists_all_repositories_sorted(populated):
    reg, expected = populated
    got, _ = reg.follow_pages("/v2/_catalog", "repositories")
    # All names are lowercase, so byte order and case-insensitive order agree.
    assert got == expected


def test_catalog_n_and_link(populated):
    reg, expected = populated
    r = reg.get("/v2/_catalog?n=2")
    assert_status(r, 200)
    page = r.json()["repositories"]
    assert 1 <= len(page) <= 2 and page == expected[:len(page)], page
    link = next_link(r)
    assert link, "Link rel=next required when more repositories remain" + describe(r)
    assert urllib.parse.urlsplit(link).path == "/v2/_catalog", link


@pytest.mark.parametrize("n", [1, 2, 4, len(REPOS) - 1, len(REPOS), 100])
def test_catalog_pagination_yields_each_repository_once(populated, n):
    reg, expected = populated
    pages = []

    def check(r):
        got = r.json()["repositories"]
        assert len(got) <= n
        pages.append((got, next_link(r)))

    items, _ = reg.follow_pages(f"/v2/_catalog?n={n}", "repositories", check_page=check)
    assert items == expected, pages
    assert all(link for _, link in pages[:-1]) and pages[-1][1] is None, pages
    assert all(got for got, _ in pages[:-1]), pages


def test_catalog_n_zero(populated):
    reg, _ = populated
    r = reg.get("/v2/_catalog?n=0")
    assert_status(r, 200)
    assert r.json()["repositories"] == []
    assert "Link" not in r.headers, describe(r)


def test_catalog_last(populated):
    reg, expected = populated
    r = reg.get("/v2/_catalog", params={"last": expected[2], "n": 3})
    assert_status(r, 200)
    got = r.json()["repositories"]
    if next_link(r) is None:
        assert got == expected[3:6]
    else:
        assert got and got == expected[3:3 + len(got)]
    items, _ = reg.follow_pages(f"/v2/_catalog?last={urllib.parse.quote(expected[2], safe='')}",
                                "repositories")
    assert items == expected[3:]


def test_catalog_last_beyond_end(populated):
    reg, expected = populated
    r = reg.get("/v2/_catalog", params={"last": expected[-1]})
    assert_status(r, 200)
    assert r.json().get("repositories") in ([], None)
    assert next_link(r) is None


def test_catalog_after_new_push(fresh_reg):
    push_image(fresh_reg, "one", ref="x")
    items, _ = fresh_reg.follow_pages("/v2/_catalog", "repositories")
    assert items == ["one"]
    push_image(fresh_reg, "two/nested", ref="x")
    items, _ = fresh_reg.follow_pages("/v2/_catalog", "repositories")
    assert items == ["one", "two/nested"]
