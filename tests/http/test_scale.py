"""Listings at scale, at sizes that keep the suite fast (issue 10, "Coverage"):

* 10,000 tags of one repository through tags/list pagination (`n`, `last`, `Link`): every tag
  exactly once, in order, pages of exactly n until the last, no Link after it, and `last`
  values that are not tags themselves;
* 1,000 referrers of one subject: every one listed once with its artifactType and
  annotations, the artifactType filter exact (with OCI-Filters-Applied), also when paginated.

The content is pushed with 50 tags per request (`?tag=`) and from a few threads, so the
setup costs seconds.
"""
import json
import os
import threading
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from arca_server import ArcaServer
from ocihttp import (EMPTY_JSON, OCI_CONFIG, OCI_EMPTY, OCI_LAYER, OCI_MANIFEST, Registry,
                     describe, descriptor, image_manifest, next_link, sha256)

SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))
N_TAGS = 10_000
N_REFERRERS = 1_000
TYPES = ["application/vnd.example.sbom.v1+json", "application/vnd.example.sig.v1",
         "application/vnd.example.attestation.v1+json"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale") / "root"
    root.mkdir()
    s = ArcaServer(root=str(root),
                   extra_args=["--gc-interval", "0", "--access-log", "false"])
    s.start()
    yield s
    alive = s.proc is not None and s.proc.poll() is None
    s.stop()
    assert alive, f"arca died during the test; log: {s.log_path}"


_local = threading.local()


def reg_for(url):
    """A Registry (requests session) per thread."""
    r = getattr(_local, "reg", None)
    if r is None or r.url != url:
        r = _local.reg = Registry(url)
    return r


def tag_names():
    """10,000 distinct tags whose byte order and case-insensitive order differ."""
    out = []
    for i in range(N_TAGS):
        head = ["v", "V", "_", "a", "Z", "0", "rc-", "x.y"][i % 8]
        out.append(f"{head}{i:05d}")
    assert len(set(out)) == N_TAGS
    return out


@pytest.fixture(scope="module")
def tagged(srv):
    reg = Registry(srv.url)
    repo = f"scale/tags-{uuid.uuid4().hex[:8]}"
    cfg = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = os.urandom(256)
    reg.push_blob(repo, cfg)
    reg.push_blob(repo, layer)
    tags = tag_names()
    per = 50    # each tag gets an OCI-Tag header back; Python's client takes 100 at most
    bodies = [image_manifest(descriptor(OCI_CONFIG, cfg), [descriptor(OCI_LAYER, layer)],
                             annotations={"batch": str(b)}) for b in range(N_TAGS // per)]
    owner = {}

    def push(b):
        batch = tags[b * per:(b + 1) * per]
        q = "&".join(f"tag={urllib.parse.quote(t)}" for t in batch)
        body = bodies[b]
        r = reg_for(srv.url).put(f"/v2/{repo}/manifests/{sha256(body)}?{q}", data=body,
                                 headers={"Content-Type": OCI_MANIFEST}, timeout=120 * SCALE)
        assert r.status_code == 201, describe(r)
        for t in batch:
            owner[t] = sha256(body)

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(push, range(len(bodies))))
    return reg, repo, tags, owner


def sort_key(listing, tags):
    """Arca lists in one consistent order: byte order, or case-insensitive order."""
    if listing == sorted(tags):
        return lambda t: t.encode()
    return lambda t: (t.lower(), t)


def order_of(listing, tags):
    return sorted(tags, key=sort_key(listing, tags))


def pages(reg, first):
    out, path, n = [], first, 0
    while path:
        r = reg.get(path, timeout=120 * SCALE)
        assert r.status_code == 200, describe(r)
        out.append((r.json()["tags"], next_link(r), r))
        path = next_link(r)
        n += 1
        assert n <= N_TAGS + 2, "pagination does not terminate"
    return out


def test_ten_thousand_tags_in_one_listing(tagged):
    reg, repo, tags, _ = tagged
    r = reg.get(f"/v2/{repo}/tags/list", timeout=120 * SCALE)
    assert r.status_code == 200, describe(r)
    listing = r.json()["tags"]
    assert len(listing) == N_TAGS and set(listing) == set(tags)
    assert listing == order_of(listing, tags), "tags are not sorted"
    assert next_link(r) is None


@pytest.mark.parametrize("n", [1000, 999, 4096, 10_000, 10_001])
def test_ten_thousand_tags_paginated(tagged, n):
    reg, repo, tags, _ = tagged
    full = order_of(reg.get(f"/v2/{repo}/tags/list", timeout=120 * SCALE).json()["tags"], tags)
    got = pages(reg, f"/v2/{repo}/tags/list?n={n}")
    flat = [t for page, _, _ in got for t in page]
    assert flat == full, "following Link does not yield every tag exactly once, in order"
    for i, (page, link, r) in enumerate(got):
        last_page = i == len(got) - 1
        if not last_page:
            assert len(page) == n, f"page {i} has {len(page)} tags, not n={n}"
            u = urllib.parse.urlsplit(link)
            assert u.path == f"/v2/{repo}/tags/list", link
            q = urllib.parse.parse_qs(u.query)
            assert q["n"] == [str(n)] and q["last"] == [page[-1]], link
        else:
            assert link is None, "a Link after the last page" + describe(r)
            assert 1 <= len(page) <= n
    assert len(got) == -(-N_TAGS // n)


def test_last_between_and_beyond_tags(tagged):
    reg, repo, tags, owner = tagged
    listing = reg.get(f"/v2/{repo}/tags/list", timeout=120 * SCALE).json()["tags"]
    full, key = order_of(listing, tags), sort_key(listing, tags)
    for k in (0, 1, 4999, N_TAGS - 2):
        # a `last` that is no tag: the listing continues with the first tag after it
        probe = full[k] + "~"
        r = reg.get(f"/v2/{repo}/tags/list?n=3&last={urllib.parse.quote(probe)}")
        assert r.status_code == 200, describe(r)
        want = [t for t in full if key(t) > key(probe)][:3]
        assert r.json()["tags"] == want, (probe, r.json()["tags"], want)
        # last = an existing tag
        r = reg.get(f"/v2/{repo}/tags/list?n=2&last={urllib.parse.quote(full[k])}")
        assert r.json()["tags"] == full[k + 1:k + 3]
    r = reg.get(f"/v2/{repo}/tags/list?last={urllib.parse.quote(full[-1])}")
    assert r.status_code == 200 and (r.json()["tags"] or []) == [] and next_link(r) is None, \
        describe(r)
    r = reg.get(f"/v2/{repo}/tags/list?n=0")
    assert r.status_code == 200 and (r.json()["tags"] or []) == [], describe(r)
    # and a sample of tags resolves to the manifest its batch was pushed with
    for t in full[::997]:
        h = reg.head(f"/v2/{repo}/manifests/{t}")
        assert h.status_code == 200 and h.headers["Docker-Content-Digest"] == owner[t], describe(h)


# ------------------------------------------------------------------------ referrers

@pytest.fixture(scope="module")
def referred(srv):
    reg = Registry(srv.url)
    repo = f"scale/referrers-{uuid.uuid4().hex[:8]}"
    cfg = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = os.urandom(256)
    reg.push_blob(repo, cfg)
    reg.push_blob(repo, layer)
    reg.push_blob(repo, EMPTY_JSON)
    subject_body = image_manifest(descriptor(OCI_CONFIG, cfg), [descriptor(OCI_LAYER, layer)])
    r = reg.put(f"/v2/{repo}/manifests/subject", data=subject_body,
                headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201, describe(r)
    subject = descriptor(OCI_MANIFEST, subject_body)
    made = {}

    def push(i):
        body = image_manifest(descriptor(OCI_EMPTY, EMPTY_JSON),
                              [descriptor("application/vnd.example.data", layer)],
                              artifact_type=TYPES[i % len(TYPES)], subject=subject,
                              annotations={"n": str(i)}, style="compact")
        d = sha256(body)
        r = reg_for(srv.url).put(f"/v2/{repo}/manifests/{d}", data=body,
                                 headers={"Content-Type": OCI_MANIFEST}, timeout=120 * SCALE)
        assert r.status_code == 201 and r.headers.get("OCI-Subject") == subject["digest"], \
            describe(r)
        made[d] = (TYPES[i % len(TYPES)], str(i), len(body))

    with ThreadPoolExecutor(6) as ex:
        list(ex.map(push, range(N_REFERRERS)))
    assert len(made) == N_REFERRERS
    return reg, repo, subject["digest"], made


def referrer_pages(reg, first):
    out, path, n = [], first, 0
    while path:
        r = reg.get(path, timeout=120 * SCALE)
        assert r.status_code == 200, describe(r)
        assert r.headers.get("Content-Type", "").startswith("application/vnd.oci.image.index.v1+json")
        out.append(r)
        path = next_link(r)
        n += 1
        assert n <= N_REFERRERS + 2, "pagination does not terminate"
    return out


def check_entries(entries, made, want):
    digests = [e["digest"] for e in entries]
    assert len(digests) == len(set(digests)), "a referrer is listed twice"
    assert set(digests) == want, \
        f"{len(want - set(digests))} missing, {len(set(digests) - want)} unexpected"
    for e in entries:
        t, n, size = made[e["digest"]]
        assert e["mediaType"] == OCI_MANIFEST and e["size"] == size, e
        assert e["artifactType"] == t and e["annotations"] == {"n": n}, e


def test_thousand_referrers_all_listed(referred):
    reg, repo, subject, made = referred
    got = referrer_pages(reg, f"/v2/{repo}/referrers/{subject}")
    entries = [m for r in got for m in r.json()["manifests"]]
    check_entries(entries, made, set(made))


@pytest.mark.parametrize("t", TYPES)
def test_thousand_referrers_filtered_by_artifact_type(referred, t):
    reg, repo, subject, made = referred
    want = {d for d, v in made.items() if v[0] == t}
    got = referrer_pages(reg, f"/v2/{repo}/referrers/{subject}?artifactType={urllib.parse.quote(t)}")
    for r in got:
        assert r.headers.get("OCI-Filters-Applied") == "artifactType", describe(r)
    check_entries([m for r in got for m in r.json()["manifests"]], made, want)


def test_thousand_referrers_paginated(referred):
    reg, repo, subject, made = referred
    got = referrer_pages(reg, f"/v2/{repo}/referrers/{subject}?n=128")
    assert len(got) == -(-N_REFERRERS // 128), [len(r.json()["manifests"]) for r in got]
    for r in got[:-1]:
        assert len(r.json()["manifests"]) == 128
    check_entries([m for r in got for m in r.json()["manifests"]], made, set(made))
    t = TYPES[1]
    want = {d for d, v in made.items() if v[0] == t}
    got = referrer_pages(reg, f"/v2/{repo}/referrers/{subject}?n=50&artifactType={urllib.parse.quote(t)}")
    assert len(got) == -(-len(want) // 50)
    for r in got[:-1]:
        link = urllib.parse.urlsplit(next_link(r))
        assert urllib.parse.parse_qs(link.query).get("artifactType") == [t], next_link(r)
    check_entries([m for r in got for m in r.json()["manifests"]], made, want)
