"""Helpers for the hardening suite (issue 9): deep-JSON builders, the server with its log, and
the check that an answer is well formed (2xx, or 4xx with an OCI error body)."""
import json
import os

import ocihttp
from testkit import Server

# types/json_limits.h kMaxJsonDepth: the deepest nesting of arrays and objects Arca parses.
MAX_JSON_DEPTH = 100
# The nesting of the report that found the crash (a ~200 KB config).
ATTACK_DEPTH = 100_000


HardeningServer = Server


def deep_arrays(depth, core="1"):
    """`depth` nested arrays around `core` (JSON text)."""
    return "[" * depth + core + "]" * depth


def deep_objects(depth, key="k", core="1"):
    return ('{"%s":' % key) * depth + core + "}" * depth


def deep_schema(depth):
    """A configSchema nested `depth` objects deep through `not` (a keyword Arca supports)."""
    return '{"not":' * (depth - 1) + "{}" + "}" * (depth - 1)


def error_detail(resp):
    """message + detail of every error in an OCI error body, as one string."""
    body = resp.json()
    return " ".join(f"{e.get('message', '')} {json.dumps(e.get('detail', ''))}" for e in body["errors"])


def assert_names_limit(resp, status=400, code="MANIFEST_INVALID"):
    ocihttp.assert_error(resp, status, code)
    text = error_detail(resp)
    assert f"deeper than {MAX_JSON_DEPTH} levels" in text, "the error must name the limit" + \
        ocihttp.describe(resp)


def assert_well_formed(resp, what=""):
    """2xx, or 4xx with an OCI error body: never a 5xx, never a bare error."""
    ctx = f" ({what})" if what else ""
    assert 200 <= resp.status_code < 300 or 400 <= resp.status_code < 500, \
        f"unexpected status{ctx}" + ocihttp.describe(resp)
    if resp.status_code >= 400 and resp.request.method != "HEAD":
        ocihttp.check_error_body(resp.content, resp.headers.get("Content-Type", ""),
                                 ctx + ocihttp.describe(resp))


def type_file_path(srv, name):
    return os.path.join(srv.root, "types", name)
