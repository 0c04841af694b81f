"""The official OCI distribution-spec conformance suite against a fresh arca.

Issue 2 says Arca is checked "with the official OCI distribution-spec conformance suite (all
four workflows, automatic cross-mount enabled)" and expects zero failures. scripts/go-tools.sh
builds two versions of that suite from the Go module proxy:

  oci-conformance-v11   the Ginkgo suite of the v1.1.0 line, configured with the classic
                        variables (OCI_ROOT_URL, OCI_TEST_PULL/PUSH/CONTENT_DISCOVERY/
                        CONTENT_MANAGEMENT, OCI_AUTOMATIC_CROSSMOUNT, ...); run with the
                        manifests deleted before the blobs and the other way round.
  oci-conformance-main  the suite on distribution-spec main (v1.1.1 + main): once with the same
                        classic variables (which it still reads), once as OCI_VERSION=dev,
                        which also requires upload cancel, Docker-Content-Digest headers and
                        the ?tag= parameters of a manifest PUT, all of which issue 2 asks for.

Each run gets its own arca and data root, and its own ctest entry (conformance-<run id>, listed
in tests/CMakeLists.txt; test_every_run_has_a_ctest_entry keeps the two lists equal). The
reports (junit.xml, report.html, results.yaml) stay in pytest's temporary directory, whose path
is printed.

A skip is a failure unless it is one we asked for: the current suite (oci-conformance-main)
says "disabled in the configuration" for those, and any other skip means it judged the
registry to lack something.
"""
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from authlib import AuthServer
from cluster import shared_server

HERE = os.path.dirname(os.path.abspath(__file__))
REPO1 = "conformance/repo1"
REPO2 = "conformance/crossmount"
RUN_TIMEOUT = int(os.environ.get("ARCA_CONFORMANCE_TIMEOUT", "900"))

FAILED_STATES = {"failed", "failure", "error", "panicked", "interrupted", "timedout", "fail"}


def classic_env(srv, report_dir, delete_manifest_before_blobs):
    return {
        "OCI_ROOT_URL": srv.url,
        "OCI_NAMESPACE": REPO1,
        "OCI_CROSSMOUNT_NAMESPACE": REPO2,
        "OCI_TEST_PULL": "1",
        "OCI_TEST_PUSH": "1",
        "OCI_TEST_CONTENT_DISCOVERY": "1",
        "OCI_TEST_CONTENT_MANAGEMENT": "1",
        "OCI_AUTOMATIC_CROSSMOUNT": "1",
        "OCI_DELETE_MANIFEST_BEFORE_BLOBS": "1" if delete_manifest_before_blobs else "0",
        "OCI_HIDE_SKIPPED_WORKFLOWS": "0",
        "OCI_DEBUG": "0",
        "OCI_REPORT_DIR": report_dir,    # Ginkgo suite
        "OCI_RESULTS_DIR": report_dir,   # main suite
    }


def main_dev_env(srv, report_dir):
    return {
        "OCI_REGISTRY": srv.addr,
        "OCI_TLS": "disabled",
        "OCI_REPO1": REPO1,
        "OCI_REPO2": REPO2,
        "OCI_VERSION": "dev",
        "OCI_LOG": "warn",
        "OCI_RESULTS_DIR": report_dir,
    }


def no_automount_env(srv, report_dir):
    env = classic_env(srv, report_dir, True)
    env["OCI_AUTOMATIC_CROSSMOUNT"] = "0"
    return env


def with_login(env_of):
    """The same run with auth: token, as a user who may push and delete (issue 11)."""
    def env(srv, report_dir):
        return dict(env_of(srv, report_dir), OCI_USERNAME=AUTH_USER[0], OCI_PASSWORD=AUTH_USER[1])
    env.auth = True
    return env


AUTH_USER = ("conformance", "conformance-password")


def add_auth_user(srv):
    srv.add_user(*AUTH_USER)
    for repo in (REPO1, REPO2):
        srv.grant(f"user:{AUTH_USER[0]}", repo, "push")
        srv.grant(f"user:{AUTH_USER[0]}", repo, "delete")


RUNS = {
    # id: (binary, env builder, extra `arca serve` arguments)
    "v1.1-manifests-first": ("oci-conformance-v11", lambda s, d: classic_env(s, d, True), []),
    "v1.1-blobs-first": ("oci-conformance-v11", lambda s, d: classic_env(s, d, False), []),
    # auto_mount off: a mount without `from` must then answer 202 and open a session
    "v1.1-automount-off": ("oci-conformance-v11", no_automount_env, ["--auto_mount", "false"]),
    "main-classic-env": ("oci-conformance-main", lambda s, d: classic_env(s, d, True), []),
    "main-dev": ("oci-conformance-main", main_dev_env, []),
    # with auth: token, logged in through the token protocol
    "v1.1-auth": ("oci-conformance-v11", with_login(lambda s, d: classic_env(s, d, True)), []),
}


def junit_cases(path):
    """[(name, state, message)] for every test case of a junit.xml."""
    cases = []
    for tc in ET.parse(path).getroot().iter("testcase"):
        name = " ".join(x for x in (tc.get("classname"), tc.get("name")) if x)
        state = (tc.get("status") or "").lower()
        message = ""
        for child in tc:
            if child.tag in ("failure", "error"):
                state = state if state in FAILED_STATES else child.tag
                message = (child.get("message") or "") + "\n" + (child.text or "")
            elif child.tag == "skipped" and not state:
                state = "skipped"
                message = child.get("message") or ""
        if state == "skipped" and not message:
            # main suite: a skip "disabled in the configuration" is ours; any other skip
            # means the registry answered as if it lacked the feature (reason in system-out)
            out, err = tc.find("system-out"), tc.find("system-err")
            err_text = (err.text or "") if err is not None else ""
            if "disabled in the configuration" in err_text:
                message = "disabled in the configuration"
            elif out is not None and (out.text or "").strip():
                message = "unsupported: " + out.text.strip()
        if state in FAILED_STATES and not message:
            # the main suite puts its errors in system-out and the request log in system-err
            for part in ("system-out", "system-err"):
                node = tc.find(part)
                if node is not None and (node.text or "").strip():
                    message = node.text
                    break
        cases.append((name, state or "passed", message.strip()))
    return cases


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("OCI_")}


@pytest.mark.parametrize("run_id", list(RUNS))
def test_oci_conformance(run_id, go_tools_bin, tmp_path_factory):
    binary, env_of, serve_args = RUNS[run_id]
    exe = os.path.join(go_tools_bin, binary)
    assert os.access(exe, os.X_OK), f"{exe} missing: run scripts/go-tools.sh"
    report_dir = str(tmp_path_factory.mktemp(f"conformance-{run_id}"))
    auth = getattr(env_of, "auth", False)
    with (AuthServer(extra_args=serve_args) if auth else shared_server(serve_args)) as srv:
        if auth:
            add_auth_user(srv)
        env = dict(clean_env(), **env_of(srv, report_dir))
        started = time.time()
        proc = subprocess.run([exe], cwd=report_dir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT)
        took = time.time() - started
        alive = srv.proc is not None and srv.proc.poll() is None
        log_path = srv.log_path
    with open(os.path.join(report_dir, "output.txt"), "w") as f:
        f.write(proc.stdout)

    junit = os.path.join(report_dir, "junit.xml")
    assert os.path.exists(junit), (f"{binary} wrote no junit.xml (exit {proc.returncode}):\n"
                                   + proc.stdout[-6000:])
    cases = junit_cases(junit)
    failed = [c for c in cases if c[1] in FAILED_STATES]
    skipped = [c for c in cases if c[1] == "skipped"]
    passed = [c for c in cases if c[1] == "passed"]
    print(f"\n{run_id}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped "
          f"in {took:.1f}s; exit {proc.returncode}; reports in {report_dir}")
    for name, _, msg in skipped:
        print(f"  skipped: {name}: {msg.splitlines()[0] if msg else ''}")
    summary = "\n".join(f"--- {name}\n{msg[:1500]}" for name, _, msg in failed)
    if failed:
        print(summary)
    assert alive, f"arca died during the conformance run; log: {log_path}"
    assert not failed, (f"{len(failed)} conformance failures ({run_id}); reports in "
                        f"{report_dir}, arca log {log_path}:\n{summary[:20000]}")
    if binary == "oci-conformance-main":
        unasked = [c for c in skipped if c[2] != "disabled in the configuration"]
    else:
        unasked = [c for c in skipped if c[2].startswith("unsupported:")]
    assert not unasked, (
        f"{run_id}: skipped tests that the configuration did not disable (the suite found "
        "features missing that issue 2 requires):\n"
        + "\n".join(f"--- {name}: {msg or '(no reason given)'}" for name, _, msg in unasked))
    assert proc.returncode == 0, (f"{binary} exited {proc.returncode} without failed test cases:\n"
                                  + proc.stdout[-6000:])
    assert len(passed) >= 20, f"suspiciously few conformance tests ran: {len(passed)}"


def test_every_run_has_a_ctest_entry():
    """tests/CMakeLists.txt gives every run its own ctest entry from ARCA_CONFORMANCE_RUNS:
    a run added here and not there would never run under `make test`."""
    with open(os.path.join(HERE, "..", "CMakeLists.txt")) as f:
        m = re.search(r"set\(ARCA_CONFORMANCE_RUNS\s([^)]*)\)", f.read())
    assert m, "tests/CMakeLists.txt sets no ARCA_CONFORMANCE_RUNS"
    assert m.group(1).split() == list(RUNS), (m.group(1).split(), list(RUNS))
