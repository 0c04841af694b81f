"""Operating Arca (issue 13, docs/operations.md): GET /metrics in the Prometheus text format
(checked by promtool and scraped by a real Prometheus), GET /healthz and GET /readyz, and who
may read the metrics."""
import json
import os
import re
import shutil
import signal
import subprocess

import pytest
import requests

from arca_server import ArcaServer, free_port
from gclib import Client, push_image
from testkit import wait_until

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


@pytest.fixture
def srv():
    s = ArcaServer(extra_args=["--gc-interval", "0", "--metrics-token", "scrape-token-0123456789"])
    s.start()
    yield s
    alive = s.proc.poll() is None
    s.stop()
    assert alive, f"arca died; log: {s.log_path}"


def scrape(srv, **kw):
    r = requests.get(srv.url + "/metrics", timeout=30, **kw)
    assert r.status_code == 200, r.text
    return r


def samples(text):
    """{'name{labels}': value} of the exposition's sample lines."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def test_metrics_are_valid_exposition_and_count_what_happened(srv):
    cl = Client(srv.url)
    before = samples(scrape(srv).text)
    img = push_image(cl, "ops/app", ref="v1", layers=2, layer_size=50000)
    layer = json.loads(img.body)["layers"][0]["digest"]
    for _ in range(3):
        assert cl.get_manifest("ops/app", "v1").status == 200
    assert cl.get_blob("ops/app", layer).status == 200
    assert requests.get(srv.url + "/v2/ops/none/manifests/x", timeout=30).status_code == 404
    r = scrape(srv)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=r.text, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    after = samples(r.text)

    def grew(key, by):
        assert after.get(key, 0) - before.get(key, 0) >= by, (key, before.get(key), after.get(key))

    grew(f'arca_pushes_total{{artifact_type="{OCI_CONFIG}"}}', 1)
    grew(f'arca_pulls_total{{artifact_type="{OCI_CONFIG}"}}', 3)
    grew('arca_http_requests_total{route="manifest",method="PUT",status="201"}', 1)
    grew('arca_http_requests_total{route="manifest",method="GET",status="200"}', 3)
    grew('arca_http_requests_total{route="manifest",method="GET",status="404"}', 1)
    grew('arca_http_request_duration_seconds_count{route="manifest",method="GET"}', 4)
    grew('arca_http_request_bytes_total{route="upload"}', 2 * 50000)
    grew('arca_http_response_bytes_total{route="blob"}', 50000)
    grew("arca_metadata_commit_batch_size_count", 1)
    assert after["arca_http_open_connections"] >= 1
    assert after["arca_uploads_in_flight"] == 0
    assert after['arca_build_info{version="0.1.0"}'] == 1
    for family in ["arca_gc_passes_total", "arca_gc_deleted_total", "arca_gc_freed_bytes_total",
                   "arca_auth_decisions_total", "arca_metadata_commit_seconds"]:
        assert f"# TYPE {family} " in r.text, family
    # A GC pass is counted.
    assert requests.post(srv.url + "/arca/v1/admin/gc", timeout=60).status_code == 200
    assert samples(scrape(srv).text)['arca_gc_passes_total{outcome="ok"}'] >= 1


def test_an_artifact_type_nobody_defined_is_counted_as_unknown(srv):
    """Label values come from Arca's vocabulary: a client's own artifactType string never
    becomes a series (it could make millions)."""
    cl = Client(srv.url)
    for i in range(3):
        push_image(cl, "ops/odd", ref=f"t{i}", artifact_type=f"application/x-made-up-{i}+json")
    text = scrape(srv).text
    assert "made-up" not in text
    assert samples(text)['arca_pushes_total{artifact_type="unknown"}'] >= 3


def test_who_may_read_the_metrics(srv):
    # Loopback reads them; the same request relayed by a proxy on this host does not.
    scrape(srv)
    via = {"X-Forwarded-For": "203.0.113.9"}
    r = requests.get(srv.url + "/metrics", headers=via, timeout=30)
    assert r.status_code in (401, 403), r.text
    assert "arca_http_requests_total" not in r.text
    r = requests.get(srv.url + "/metrics", timeout=30,
                     headers={**via, "Authorization": "Bearer wrong-token-0123456789"})
    assert r.status_code in (401, 403), r.text
    r = requests.get(srv.url + "/metrics", timeout=30,
                     headers={**via, "Authorization": "Bearer scrape-token-0123456789"})
    assert r.status_code == 200 and "arca_http_requests_total" in r.text


def test_the_loopback_exemption_is_its_own_and_can_be_turned_off():
    """With an admin token set, loopback is no administrator: that loopback still reads the
    metrics is the exemption's doing. metrics_loopback: false takes it away; the token and an
    administrator still read them."""
    token, admin = "scrape-token-0123456789", "admin-token-0123456789"
    for loopback, expect in [("true", 200), ("false", 401)]:
        s = ArcaServer(extra_args=["--gc-interval", "0", "--metrics-token", token,
                                   "--admin-token", admin, "--metrics-loopback", loopback])
        s.start()
        try:
            r = requests.get(s.url + "/metrics", timeout=30)
            assert r.status_code == expect, (loopback, r.status_code, r.text[:200])
            assert requests.get(s.url + "/arca/v1/admin/gc", timeout=30).status_code == 401, \
                "loopback is no administrator here"
            for bearer in (token, admin):
                r = requests.get(s.url + "/metrics", timeout=30,
                                 headers={"Authorization": f"Bearer {bearer}",
                                          "X-Forwarded-For": "203.0.113.9"})
                assert r.status_code == 200 and "arca_http_requests_total" in r.text, bearer
        finally:
            s.stop()


def test_shutdown_delay_keeps_serving_while_readyz_says_not_ready():
    s = ArcaServer(extra_args=["--gc-interval", "0", "--shutdown-delay", "3"])
    s.start()
    try:
        assert requests.get(s.url + "/readyz", timeout=30).status_code == 200
        s.proc.send_signal(signal.SIGTERM)
        r = wait_until(lambda: (lambda r: (r,) if r.status_code == 503 else None)(
            requests.get(s.url + "/readyz", timeout=30)), what="readyz to say shutting down")[0]
        assert r.json()["checks"]["shutting_down"] is True, r.text
        # Still taking requests during the delay.
        assert requests.get(s.url + "/v2/", timeout=30).status_code == 200
        assert s.proc.wait(timeout=60) == 0
    finally:
        s.stop()


def test_health_and_readiness(srv):
    r = requests.get(srv.url + "/healthz", timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = requests.get(srv.url + "/readyz", timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"metadata": "ok", "blobs": "ok",
                                                       "shutting_down": False}}
    # Blob bytes cannot be written (the uploads folder gone): not ready, and why.
    uploads = os.path.join(srv.root, "uploads")
    shutil.move(uploads, uploads + ".away")
    try:
        r = wait_until(lambda: (lambda r: (r,) if r.status_code == 503 else None)(
            requests.get(srv.url + "/readyz", timeout=30)), what="readyz to see the blob store")[0]
        assert r.json()["checks"]["blobs"] != "ok" and r.json()["checks"]["metadata"] == "ok"
        assert r.headers["Retry-After"] == "1"
        assert requests.get(srv.url + "/healthz", timeout=30).status_code == 200
    finally:
        shutil.move(uploads + ".away", uploads)
    wait_until(lambda: requests.get(srv.url + "/readyz", timeout=30).status_code == 200,
               what="readyz to recover")


def test_readyz_sees_a_metadata_store_that_no_longer_takes_writes():
    """meta.db removed under a running server: it refuses writes from then on (until a restart
    with the file back), and /readyz says so while /healthz stays 200."""
    s = ArcaServer(extra_args=["--gc-interval", "0"])
    s.start()
    try:
        assert requests.get(s.url + "/readyz", timeout=30).status_code == 200
        db = os.path.join(s.root, "meta.db")
        os.rename(db, db + ".away")
        r = wait_until(lambda: (lambda r: (r,) if r.status_code == 503 else None)(
            requests.get(s.url + "/readyz", timeout=30)), what="readyz to see meta.db gone")[0]
        checks = r.json()["checks"]
        assert checks["metadata"] != "ok" and checks["blobs"] == "ok", checks
        assert requests.get(s.url + "/healthz", timeout=30).status_code == 200
        os.rename(db + ".away", db)
    finally:
        s.stop()


def test_a_real_prometheus_scrapes_arca_under_load(srv, tmp_path):
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: arca
    static_configs:
      - targets: ["127.0.0.1:{srv.port}"]
""")
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        def query(q):
            try:
                r = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": q},
                                 timeout=10)
            except requests.ConnectionError:
                return None
            data = r.json()["data"]["result"] if r.status_code == 200 else []
            return float(data[0]["value"][1]) if data else None

        wait_until(lambda: query('up{job="arca"}') == 1, timeout=60,
                   what="Prometheus to scrape Arca")
        cl = Client(srv.url)
        for i in range(5):  # a short load
            push_image(cl, "ops/prom", ref=f"v{i}")
            cl.get_manifest("ops/prom", f"v{i}")
        pushes = wait_until(
            lambda: (lambda v: v if v is not None and v >= 5 else None)(
                query(f'sum(arca_pushes_total{{artifact_type="{OCI_CONFIG}"}})')),
            timeout=60, what="Prometheus to see the pushes")
        assert pushes >= 5
        puts = query('sum(arca_http_requests_total{route="manifest",method="PUT"})')
        assert puts is not None and puts >= 5
        p99 = query('histogram_quantile(0.99, sum by (le) '
                    '(arca_http_request_duration_seconds_bucket{route="manifest"}))')
        assert p99 is not None and 0 < p99 <= 30, p99
    finally:
        prom.terminate()
        try:
            prom.wait(timeout=30)
        except subprocess.TimeoutExpired:
            prom.kill()
        log.close()


def test_every_metric_the_grafana_dashboard_uses_exists(srv):
    """deploy/grafana-dashboard.json queries only metrics Arca serves, and each query parses
    (promtool checks the rules file made of them)."""
    top = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(os.path.join(top, "deploy", "grafana-dashboard.json")) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    served = {line.split()[2] for line in scrape(srv).text.splitlines()
              if line.startswith("# TYPE ")}
    used = set()
    for e in exprs:
        for name in re.findall(r"\barca_[a-z0-9_]+", e):
            used.add(re.sub(r"_(bucket|sum|count)$", "", name) if name not in served else name)
    missing = sorted(used - served)
    assert not missing, missing
    # Each expression is valid PromQL ($__rate_interval is Grafana's: given a value here).
    rules = "groups:\n  - name: dashboard\n    rules:\n" + "".join(
        f"      - record: dashboard:expr{i}\n        expr: {json.dumps(e.replace('$__rate_interval', '5m'))}\n"
        for i, e in enumerate(exprs))
    path = os.path.join(srv.root, "dashboard-rules.yml")
    with open(path, "w") as f:
        f.write(rules)
    check = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
