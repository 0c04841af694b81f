"""Tags: GET /v2/<name>/tags/list (end-8a, end-8b): ordering, n, last, Link."""
import urllib.parse

import pytest

from ocihttp import (OCI_MANIFEST, assert_error, assert_status, describe, make_image,
                     next_link, push_image, unique_tag)

# Mixed case and punctuation, so byte order and case-insensitive order differ.
TAGS = ["latest", "v1", "v10", "v2", "1.0", "Beta", "alpha", "_private", "Z9", "a-b", "a.b",
        "a_b", "0", "zeta"]


def _is_lexical(tags):
    # spec: "lexical order (i.e. case-insensitive alphanumeric order)"; the main branch
    # also allows "ASCIIbetical" order (Go's sort.Strings). Accept either, consistently.
    return tags == sorted(tags) or tags == sorted(tags, key=lambda t: (t.lower(), t))


@pytest.fixture
def tagged(reg, repo):
    img = make_image(reg, repo)
    for t in TAGS:
        r = reg.put(f"/v2/{repo}/manifests/{t}", data=img.body, headers={"Content-Type": OCI_MANIFEST})
        assert_status(r, 201)
    r = reg.get(f"/v2/{repo}/tags/list")
    assert_status(r, 200)
    full = r.json()["tags"]
    return repo, full


def test_list_all_tags_sorted(reg, tagged):
    repo, full = tagged
    r = reg.get(f"/v2/{repo}/tags/list")
    body = r.json()
    assert body["name"] == repo
    assert sorted(full) == sorted(TAGS)
    assert _is_lexical(full), full
    assert next_link(r) is None, "no Link when everything was returned" + describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json"


def test_n_limits_and_link_points_to_next_page(reg, tagged):
    repo, full = tagged
    r = reg.get(f"/v2/{repo}/tags/list?n=4")
    assert_status(r, 200)
    page = r.json()["tags"]
    # spec: fewer than n only when fewer remain or a Link is provided.
    assert 1 <= len(page) <= 4 and page == full[:len(page)], page
    link = next_link(r)
    assert link, "Link rel=next required when more tags remain" + describe(r)
    assert urllib.parse.urlsplit(link).path == f"/v2/{repo}/tags/list", link
    nxt = reg.get(link)
    assert_status(nxt, 200)
    page2 = nxt.json()["tags"]
    assert page2 and page2 == full[len(page):len(page) + len(page2)], (page, page2)


def test_following_links_yields_every_tag_once_in_order(reg, tagged):
    repo, full = tagged
    for n in (1, 3, 5, len(full) - 1):
        pages = []

        def check(r, n=n):
            got = r.json()["tags"]
            assert len(got) <= n, (n, got)
            pages.append((got, next_link(r)))

        items, count = reg.follow_pages(f"/v2/{repo}/tags/list?n={n}", "tags", check_page=check)
        assert items == full, (n, pages)
        # every page but the last has a Link; a short page without Link ends the list
        assert all(link for _, link in pages[:-1]) and pages[-1][1] is None, pages
        assert all(got for got, _ in pages[:-1]), ("empty intermediate page", pages)


def test_n_larger_than_count(reg, tagged):
    repo, full = tagged
    r = reg.get(f"/v2/{repo}/tags/list?n=1000")
    assert_status(r, 200)
    assert r.json()["tags"] == full
    assert next_link(r) is None


def test_n_equal_to_count_has_no_dangling_page(reg, tagged):
    repo, full = tagged
    items, pages = reg.follow_pages(f"/v2/{repo}/tags/list?n={len(full)}", "tags")
    assert items == full
    assert pages <= 2


def test_n_zero_is_empty_without_link(reg, tagged):
    repo, _ = tagged
    r = reg.get(f"/v2/{repo}/tags/list?n=0")
    assert_status(r, 200)
    assert r.json()["tags"] == []
    assert "Link" not in r.headers, describe(r)


def _assert_page(r, remaining, n):
    """spec: up to n results; fewer only when fewer remain or a Link is provided."""
    got = r.json()["tags"]
    if next_link(r) is None:
        assert got == remaining[:n], (got, remaining[:n])
    else:
        assert got and got == remaining[:len(got)] and len(got) <= n, (got, remaining)


def test_last_with_n(reg, tagged):
    repo, full = tagged
    r = reg.get(f"/v2/{repo}/tags/list", params={"n": 3, "last": full[2]})
    assert_status(r, 200)
    _assert_page(r, full[3:], 3)


def test_last_without_n(reg, tagged):
    repo, full = tagged
    r = reg.get(f"/v2/{repo}/tags/list", params={"last": full[5]})
    assert_status(r, 200)
    assert r.json()["tags"] == full[6:]


def test_last_that_is_not_a_tag_starts_after_it(reg, tagged):
    repo, full = tagged
    # "v11" sorts between "v10" and "v2" in both orders.
    r = reg.get(f"/v2/{repo}/tags/list", params={"last": "v11"})
    assert_status(r, 200)
    assert r.json()["tags"] == full[full.index("v2"):]


def test_last_tag_gives_empty_list(reg, tagged):
    repo, full = tagged
    r = reg.get(f"/v2/{repo}/tags/list", params={"last": full[-1], "n": 5})
    assert_status(r, 200)
    assert r.json()["tags"] == []
    assert next_link(r) is None


def test_repository_without_tags_lists_empty(reg, repo):
    push_image(reg, repo)  # by digest only
    r = reg.get(f"/v2/{repo}/tags/list")
    assert_status(r, 200)
    assert r.json()["name"] == repo
    assert r.json().get("tags") in ([], None), describe(r)


def test_deleted_tag_disappears(reg, repo):
    img = push_image(reg, repo, ref="one")
    reg.put(f"/v2/{repo}/manifests/two", data=img.body, headers={"Content-Type": OCI_MANIFEST})
    assert reg.tags(repo) == ["one", "two"]
    assert_status(reg.delete(f"/v2/{repo}/manifests/one"), 202)
    assert reg.tags(repo) == ["two"]


def test_unknown_repository_is_404_name_unknown(reg):
    assert_error(reg.get(f"/v2/no/such/{unique_tag('repo')}/tags/list"), 404, "NAME_UNKNOWN")


def test_tag_of_max_length_and_edge_characters(reg, repo):
    img = make_image(reg, repo)
    long_tag = "A" + "b" * 127
    # the last one is the referrers tag schema's form (<alg>-<ref>)
    edge = ["_", "0", "a.-_b", long_tag, "sha256-" + "a" * 64]
    for t in edge:
        r = reg.put(f"/v2/{repo}/manifests/{t}", data=img.body, headers={"Content-Type": OCI_MANIFEST})
        assert_status(r, 201)
    assert sorted(reg.tags(repo)) == sorted(edge)
    g = reg.get(f"/v2/{repo}/manifests/{long_tag}")
    assert_status(g, 200)
    assert g.content == img.body


def test_many_tags_paginate(reg, repo):
    img = make_image(reg, repo)
    tags = [f"t{i:04d}" for i in range(120)]
    for t in tags:
        assert_status(reg.put(f"/v2/{repo}/manifests/{t}", data=img.body,
                              headers={"Content-Type": OCI_MANIFEST}), 201)
    items, pages = reg.follow_pages(f"/v2/{repo}/tags/list?n=25", "tags")
    assert items == tags
    assert pages >= 5
    # Without n the registry may still paginate, but following Link yields everything.
    items, _ = reg.follow_pages(f"/v2/{repo}/tags/list", "tags")
    assert items == tags
