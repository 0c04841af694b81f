"""What every black-box suite shares, defined once: media types, digests, JSON bytes, response
headers and pagination, RFC 3339 times, waits that tell a hang from a slow machine, threads
whose failures fail the test, and the server with its log.

Suite helpers (ocihttp, gclib, typelib, hardlib, rawclient, client_helpers) build on this module
and re-export what their tests import. tests/pytest.ini puts tests/lib on sys.path.

Time. A test must not pass or fail on the speed of the machine. Waits that only guard against a
hang take `hang_guard(seconds)`: generous, multiplied by $ARCA_TEST_TIME_SCALE (default 1) on slow
or loaded machines, and reported as a hang when they run out. A check that needs something to
happen *quickly* (a bound from above) is a scenario for `retry_scenario`: tried again when the
machine was too slow for its precondition, and a failure when it never held.
"""
import datetime
import hashlib
import json
import os
import re
import socket
import threading
import time
import traceback
import urllib.parse
import uuid

from arca_server import ArcaServer

# ------------------------------------------------------------------ media types
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
# CNAB (cnab-spec 201-representing-CNAB-in-OCI.md, cnab-to-oci converter/convert.go & types.go)
CNAB_TYPE = "application/vnd.cnab.manifest.v1"
CNAB_CONFIG = "application/vnd.cnab.config.v1+json"
# Helm: helm.sh/docs/topics/registries ("Helm chart manifest" media types)
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
HELM_PROV = "application/vnd.cncf.helm.chart.provenance.v1.prov"

ALL_MANIFEST_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST]
# What a client that takes any manifest sends as Accept.
MANIFEST_ACCEPT = ", ".join(ALL_MANIFEST_TYPES + ["*/*"])


# ------------------------------------------------------------------ digests and bytes
def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256(data: bytes) -> str:
    return "sha256:" + sha256_hex(data)


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def dumps(obj, style="pretty") -> bytes:
    """JSON bytes that are deliberately not canonical (indented, trailing newline), so a server
    that re-serialises instead of storing exact bytes is caught. style="compact": no spaces."""
    if style == "compact":
        return json.dumps(obj, separators=(",", ":")).encode()
    return (json.dumps(obj, indent=2) + "\n").encode()


def blob_path(root, digest):
    """Where a blob's bytes live in a data root."""
    algo, hexd = digest.split(":", 1)
    return os.path.join(root, "blobs", algo, hexd[:2], hexd)


def parse_rfc3339(s):
    assert isinstance(s, str) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", s), \
        f"not an RFC 3339 timestamp: {s!r}"
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))


# ------------------------------------------------------------------ responses
def header_values(resp, name):
    """Every field line of a (possibly repeated) response header: of a requests response, or of
    anything whose `headers` is an http.client message."""
    raw = getattr(resp, "raw", None)
    if raw is not None and hasattr(raw, "headers") and hasattr(raw.headers, "getlist"):
        return list(raw.headers.getlist(name))
    headers = resp.headers
    if hasattr(headers, "get_all"):
        return list(headers.get_all(name) or [])
    v = headers.get(name)
    return [] if v is None else [v]


def split_list_header(values):
    out = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


LINK_RE = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.I)


def next_link(resp):
    """The target of `Link: <...>; rel="next"` as sent, or None."""
    for v in header_values(resp, "Link"):
        m = LINK_RE.search(v)
        if m:
            return m.group(1)
    return None


def path_of(url):
    """Path and query of a URL or of an absolute path (for clients bound to one server)."""
    if url is None:
        return None
    u = urllib.parse.urlsplit(url)
    return u.path + (("?" + u.query) if u.query else "")


def describe(resp) -> str:
    """A compact dump of a requests response for assertion messages."""
    try:
        body = resp.content[:1500]
    except Exception:  # pragma: no cover - body already consumed
        body = b"<unreadable>"
    req = resp.request
    return (f"\n{req.method} {req.url}\n-> {resp.status_code} {resp.reason}\n"
            f"headers: {dict(resp.headers)}\nbody: {body!r}")


# ------------------------------------------------------------------ names
def slug(text, limit=40):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].strip("-") or "x"


def repo_namer(test_name, prefix, limit=40):
    """make(suffix="") -> a fresh, grammar-valid repository name `<prefix>/<test>-<random>`,
    with `/<suffix>` when given."""
    base = slug(test_name, limit)

    def make(suffix=""):
        name = f"{prefix}/{base}-{uuid.uuid4().hex[:8]}"
        if suffix:
            name += "/" + slug(suffix, 20)
        return name
    return make


# ------------------------------------------------------------------ time
TIME_SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))


def hang_guard(seconds):
    """A wait that only guards against a hang, never against slowness: `seconds` should be
    generous already; slow or loaded machines stretch it with ARCA_TEST_TIME_SCALE."""
    return seconds * TIME_SCALE


def wait_until(fn, timeout=10, interval=0.1, what="condition"):
    """Polls fn() until it returns something truthy and returns that. `timeout` is a hang
    guard (scaled by ARCA_TEST_TIME_SCALE): when it runs out the test fails, naming `what`."""
    limit = hang_guard(timeout)
    deadline = time.monotonic() + limit
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"hang: waited {limit:g} s for {what} (last: {v!r}); "
                                 "a slow machine can raise ARCA_TEST_TIME_SCALE")
        if interval:
            time.sleep(interval)


def retry_scenario(scenario, tries=5, what="the precondition"):
    """For checks that need the machine to be quick enough for once (e.g. a GC pass within a
    second of a push): scenario(attempt) sets itself up, returns False (or a string saying why) when
    its precondition did not hold and nothing was checked, or asserts and returns True. Tried up to `tries` times; a
    precondition that never held fails the test rather than passing it unchecked."""
    missed = []
    for attempt in range(tries):
        v = scenario(attempt)
        if v is True:
            if missed:
                print(f"{what}: held on try {attempt + 1}; before: {missed}")
            return attempt
        missed.append(v or f"try {attempt + 1}")
    raise AssertionError(f"{what} never held in {tries} tries, so nothing was checked "
                         f"(too slow or loaded a machine?): {missed}")


# ------------------------------------------------------------------ threads
def run_threads(fns, timeout=120, what="thread"):
    """Runs each callable in fns in a thread of its own and waits for all of them. A thread's
    exception fails the test (the first is re-raised, the others are listed); a thread still
    running after `timeout` seconds (a hang guard, scaled) fails it as a hang. Returns the
    results in order."""
    fns = list(fns)
    results = [None] * len(fns)
    errors = []
    lock = threading.Lock()

    def wrap(i, fn):
        try:
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - reported by the caller's thread
            with lock:
                errors.append((i, e, traceback.format_exc()))

    threads = [threading.Thread(target=wrap, args=(i, fn), daemon=True, name=f"{what}-{i}")
               for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    limit = hang_guard(timeout)
    deadline = time.monotonic() + limit
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    hung = [t.name for t in threads if t.is_alive()]
    if errors:
        errors.sort(key=lambda x: x[0])
        first = errors[0][1]
        others = "".join(f"\n--- {what}-{i}:\n{tb}" for i, _, tb in errors[1:])
        note = (f"{len(errors)} of {len(threads)} {what}s failed"
                + (f"; still running: {hung}" if hung else "") + others)
        if hasattr(first, "add_note"):
            first.add_note(note)
        raise first
    if hung:
        raise AssertionError(f"hang: {len(hung)} of {len(threads)} {what}s still running after "
                             f"{limit:g} s: {hung}")
    return results


# ------------------------------------------------------------------ the server
class Server(ArcaServer):
    """ArcaServer with what the suites read from it: the log, whether it still runs, its pid."""

    def log_text(self):
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid


def write_server_files(root, policy=None, types=None):
    """Writes policy.yaml and files under types/ into a data root before a server starts."""
    os.makedirs(root, exist_ok=True)
    if policy is not None:
        with open(os.path.join(root, "policy.yaml"), "w") as f:
            f.write(policy)
    if types:
        os.makedirs(os.path.join(root, "types"), exist_ok=True)
        for name, content in types.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(root, "types", name), mode) as f:
                f.write(content)


# ------------------------------------------------------------------ processes
def listening_sockets(pid):
    """[(ip, port)] of the TCP sockets pid listens on (IPv4 and IPv6)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = []
    for table, v6 in (("tcp", False), ("tcp6", True)):
        try:
            lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] != "0A" or f[9] not in inodes:      # 0A: LISTEN
                continue
            addr, port = f[1].split(":")
            raw = bytes.fromhex(addr)   # 32-bit words in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            ip = socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, raw)
            found.append((ip, int(port, 16)))
    return found


def running(pid):
    """pid runs (a zombie, not reaped yet by whoever inherited it, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X", "x")
    except (OSError, IndexError):
        return False
