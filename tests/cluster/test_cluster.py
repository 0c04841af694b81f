"""Three replicas on one PostgreSQL and one S3 store, behind haproxy (tests/lib/cluster.py):
what only many processes can break. Run under tests/lib/with_pg.py --rgw (ctest cluster).

- Any replica serves any request: a chunked upload whose requests go to all three completes,
  and what one stored the others serve at once, tag lists included.
- GC passes on every replica, in a loop beside pushes and untags through the balancer: every
  tag then pulls byte-identical from every replica, and fsck finds the store clean.
- A replica killed in the middle of a push: the client's retry through the balancer succeeds,
  and nothing acknowledged before is lost.
- PostgreSQL restarted in the middle of a load: Arca recovers by itself.
"""
import os
import random
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from cluster import Cluster
from gclib import (OCI_MANIFEST, Client, describe_run, image, pull_problems, push_image,
                   run_arca, sha256)
from testkit import path_of, run_threads, wait_until

REPO_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_SCRIPT = os.path.join(REPO_TOP, "scripts", "engines", "postgres.sh")
MiB = 1 << 20


@pytest.fixture(scope="module")
def cluster():
    # GC with teeth: untagged manifests go at once, unreferenced blobs after 2 s.
    with Cluster(n=3, extra_args=["--gc-retention", "0", "--gc-blob-grace", "2s"]) as c:
        yield c


def clients(c):
    return [Client(s.url) for s in c.replicas]


def fsck(c):
    root = c.replicas[0].root
    return run_arca("fsck", "--root", root, *c.store_args(), timeout=600)


def test_a_chunked_upload_spread_over_all_three_completes(cluster):
    cls = clients(cluster)
    repo = "cluster/chunked"
    data = os.urandom(17 * MiB + 12345)
    r = cls[0].post(f"/v2/{repo}/blobs/uploads/")
    assert r.status == 202, r
    loc = path_of(r.header("Location"))
    chunk = 6 * MiB  # above S3's 5 MiB part minimum, so parts and a tail both occur
    offset, turn = 0, 1
    while offset + chunk < len(data):
        part = data[offset:offset + chunk]
        r = cls[turn % 3].request("PATCH", loc, body=part, headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{offset}-{offset + len(part) - 1}"})
        assert r.status == 202, f"PATCH on replica {turn % 3}: {r!r}"
        loc = path_of(r.header("Location"))
        offset += len(part)
        turn += 1
    digest = sha256(data)
    sep = "&" if "?" in loc else "?"
    r = cls[turn % 3].put(f"{loc}{sep}digest={digest}", body=data[offset:],
                          headers={"Content-Type": "application/octet-stream"})
    assert r.status == 201, f"closing PUT on replica {turn % 3}: {r!r}"
    assert turn >= 3, "the requests did not reach all three replicas"
    for i, cl in enumerate(cls):
        b = cl.get_blob(repo, digest)
        assert b.status == 200 and sha256(b.body) == digest, f"replica {i}: {b!r}"


def test_every_replica_is_ready_on_postgresql_and_s3(cluster):
    """/readyz on each replica writes to PostgreSQL and to the bucket (haproxy health-checks
    with it, so the balancer above only ever sent to ready replicas)."""
    for i, srv in enumerate(cluster.replicas):
        r = requests.get(srv.url + "/readyz", timeout=30)
        assert r.status_code == 200, f"replica {i}: {r.text}"
        assert r.json()["checks"] == {"metadata": "ok", "blobs": "ok", "shutting_down": False}


def test_replica_logs_name_the_database_but_never_its_password(cluster):
    password = urllib.parse.urlsplit(os.environ["ARCA_TEST_PG_URL"]).password
    assert password
    for srv in cluster.replicas:
        with open(srv.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        assert "arca: metadata in postgres://arca:***@127.0.0.1:" in log, log[-2000:]
        assert password not in log


def test_what_one_replica_stores_the_others_serve_at_once(cluster):
    cls = clients(cluster)
    repo = "cluster/coherent"
    img = push_image(cls[0], repo, ref="v1", layers=2)
    for i, cl in enumerate(cls):
        assert pull_problems(cl, img, "v1") == [], f"replica {i}"
        assert cl.tags(repo) == ["v1"], f"replica {i}"
    # A tag moved and one added on another replica: every replica's tag list follows at once
    # (the tag generation invalidates what each one holds in memory).
    img2 = push_image(cls[1], repo, ref="v1")
    cls[2].push_manifest(repo, "v2", img.body, OCI_MANIFEST)
    for i, cl in enumerate(cls):
        assert cl.tags(repo) == ["v1", "v2"], f"replica {i}"
        assert cl.get_manifest(repo, "v1").body == img2.body, f"replica {i}"
    cls[0].delete_manifest(repo, img2.digest)
    for i, cl in enumerate(cls):
        assert cl.tags(repo) == ["v2"], f"replica {i}"


def test_gc_on_every_replica_beside_push_and_untag_stress_loses_nothing_tagged(cluster):
    lb = Client(cluster.url)
    cls = clients(cluster)
    kept, lock, stop = {}, threading.Lock(), threading.Event()
    shared = [os.urandom(2048) for _ in range(4)]
    reports = []

    def push(repo, tag, rng):
        # A push whose blobs GC took before the manifest came (past the 2 s grace) is refused
        # with MANIFEST_BLOB_UNKNOWN, and the client pushes again, as real clients do.
        for _ in range(5):
            img = image(lb, repo, shared=[rng.choice(shared)])
            r = lb.push_manifest(repo, tag, img.body, img.media_type, expect=None)
            if r.status == 201:
                return img
            assert r.status == 400 and r.codes() == ["MANIFEST_BLOB_UNKNOWN"], r
        raise AssertionError(f"{repo}:{tag} refused five times")

    def pusher(n):
        def run():
            rng = random.Random(n)
            for i in range(25):
                repo = f"cluster/stress-{n}"
                img = push(repo, f"t{i}", rng)
                with lock:
                    kept[(repo, f"t{i}")] = img
                if i % 3 == 0:  # untag an earlier one: its content becomes garbage
                    victim = f"t{rng.randrange(i + 1)}"
                    r = lb.delete(f"/v2/{repo}/manifests/{victim}")
                    if r.status == 202:
                        with lock:
                            kept.pop((repo, victim), None)
        return run

    gc_failures = []

    def collector(i):
        def run():
            try:
                while not stop.is_set():
                    reports.append(cls[i].gc(expect=200))  # skipped passes are 200 too
            except Exception as e:  # noqa: BLE001 - the test fails on it below
                gc_failures.append(f"replica {i}: {e}")
        return run

    gc_threads = [threading.Thread(target=collector(i)) for i in range(3)]
    for t in gc_threads:
        t.start()
    try:
        run_threads([pusher(n) for n in range(4)], timeout=600, what="pusher")
    finally:
        stop.set()
        for t in gc_threads:
            t.join(timeout=120)
    assert not gc_failures, gc_failures
    time.sleep(2.5)  # past the blob grace: the last pass may take what is left unreferenced
    final = cls[0].gc()
    done = [r for r in reports if not r.get("skipped")] + [final]
    skipped = [r for r in reports if r.get("skipped")]
    deleted = sum(r["deleted"]["manifests"] for r in done)
    assert not any(r.get("error") and not r.get("skipped") for r in done), \
        [r["error"] for r in done if r.get("error")]
    assert deleted > 0, "no pass deleted anything: the test did not exercise GC"
    for (repo, tag), img in sorted(kept.items()):
        for i, cl in enumerate(cls):
            assert pull_problems(cl, img, tag) == [], f"{repo}:{tag} on replica {i}"
    p = fsck(cluster)
    assert p.returncode == 0, describe_run(p)
    print(f"\n{len(kept)} tags kept; {len(done)} passes deleted {deleted} manifests and "
          f"{sum(r['deleted']['blobs'] for r in done)} blobs; {len(skipped)} skipped "
          "(another replica held the gc lease)")


def test_a_replica_killed_mid_push_loses_nothing_and_the_retry_succeeds(cluster):
    lb = Client(cluster.url)
    repo = "cluster/kill"
    before = [push_image(lb, repo, ref=f"before{i}") for i in range(6)]
    data = os.urandom(24 * MiB)
    digest = sha256(data)
    victim = cluster.replicas[1]

    # A monolithic blob push straight to replica 1, killed when half the body is in.
    def slow_body():
        for off in range(0, len(data), MiB):
            if off == 12 * MiB:
                cluster.kill(1)
            yield data[off:off + MiB]
            time.sleep(0.01)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"{victim.url}/v2/{repo}/blobs/uploads/?digest={digest}", data=slow_body(),
                      headers={"Content-Type": "application/octet-stream"}, timeout=120)
    try:
        # The client retries through the balancer: a surviving replica takes it.
        def retry():
            r = lb.post(f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data,
                        headers={"Content-Type": "application/octet-stream"})
            return r.status == 201
        wait_until(retry, timeout=30, what="the retried push to succeed")
        for i in (0, 2):
            cl = Client(cluster.replicas[i].url)
            b = cl.get_blob(repo, digest)
            assert b.status == 200 and sha256(b.body) == digest, f"replica {i}: {b!r}"
            for img in before:
                assert pull_problems(cl, img) == [], f"replica {i}"
    finally:
        cluster.start_replica(1)
    cl = Client(cluster.replicas[1].url)
    for img in before:
        assert pull_problems(cl, img) == [], "the restarted replica"
    p = fsck(cluster)
    assert p.returncode == 0, describe_run(p)


def test_postgres_restarted_mid_load_arca_recovers_by_itself(cluster):
    pg_dir = os.environ.get("ARCA_TEST_PG_DIR")
    assert pg_dir, "run under tests/lib/with_pg.py"
    lb = Client(cluster.url, timeout=60)
    repo = "cluster/pg-restart"
    acked, failures, stop = [], [], threading.Event()

    def load():
        i = 0
        while not stop.is_set():
            try:
                img = image(lb, repo, push_blobs=False)
                answers = [lb.post(f"/v2/{repo}/blobs/uploads/?digest={d}", body=data,
                                   headers={"Content-Type": "application/octet-stream"})
                           for d, data in img.blobs.items()]
                if all(r.status == 201 for r in answers):
                    answers.append(lb.push_manifest(repo, f"r{i}", img.body, img.media_type,
                                                    expect=None))
                    if answers[-1].status == 201:
                        acked.append((f"r{i}", img))
                for r in answers:
                    if r.status not in (201,):
                        failures.append(r)
            except OSError as e:
                failures.append(e)
            i += 1

    t = threading.Thread(target=load)
    t.start()
    try:
        wait_until(lambda: len(acked) >= 5, timeout=60, what="pushes before the restart")
        p = subprocess.run([PG_SCRIPT, "restart", pg_dir], capture_output=True, text=True,
                           timeout=180)
        assert p.returncode == 0, p.stderr[-3000:]
        n = len(acked)
        wait_until(lambda: len(acked) >= n + 5, timeout=60,
                   what="pushes to succeed again after the restart")
    finally:
        stop.set()
        t.join(timeout=120)
    assert cluster.poll() is None, "a replica or haproxy died"
    for tag, img in acked:
        assert pull_problems(lb, img, tag) == [], tag
    # While the database was away, requests were refused cleanly: 503 with Retry-After and
    # an OCI error body (the blob pushes of gclib raise with the answer's text).
    for r in failures:
        assert not isinstance(r, OSError), f"a request failed without an answer: {r!r}"
        assert r.status == 503 and r.header("Retry-After") == "1", r
        assert r.codes() == ["UNAVAILABLE"], r
    print(f"\n{len(acked)} pushes acknowledged; {len(failures)} refused during the restart: "
          f"{sorted(set(r.body[:200] for r in failures))}")
