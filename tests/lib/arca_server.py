"""Starts a real `arca serve` on a loopback port for black-box tests.

The binary comes from $ARCA_BIN (default: build/debug/arca at the repository top).
Each ArcaServer owns a data root and a log (stdout and stderr, appended across restarts).

Ports: unless a test passes port=, the server is started with `--addr 127.0.0.1:0`, binds a
port of the kernel's choosing and names it on its start line ("arca X serving on HOST:PORT
(root R)"), which start() waits for and reads. A later start() on the same object asks for
that same port again (clients made before a restart keep working); when another process has
taken it meanwhile, start() fails and says so. Nothing is bound and released to guess a port,
so suites running side by side (`ctest -j`) cannot end up talking to each other's servers.

Teardown is a check: stop() (SIGTERM), cleanup() and leaving a `with` block fail the test
unless arca exited with status 0 within a generous time (hang_guard, scaled by
ARCA_TEST_TIME_SCALE; beyond it the server is killed and a hang reported), and unless its log
holds no sanitizer report (AddressSanitizer, LeakSanitizer, UBSan's "runtime error:",
ThreadSanitizer...), counting everything every earlier run on this object wrote, runs ended by
kill -9 included. stop(kill=True) is exempt from the exit status (SIGKILL is the point) but not
from the log scan. stop(check=False) skips both, for a test that makes arca fail on purpose.
"""
import atexit
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

REPO_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Waits that guard against a hang, never against slowness: scaled on slow machines.
TIME_SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))

# How long a stopping server may take: shutdown_grace (10 s by default) for requests in
# flight, then joins; under ASan with LeakSanitizer's scan at exit, a few seconds more.
STOP_TIMEOUT_S = 60

# The sanitizer runtimes' settings for every server started here. The caller's ASAN_OPTIONS /
# UBSAN_OPTIONS / LSAN_OPTIONS come after the defaults (a later key wins) and the forced ones
# after those: reports must land on stderr, which is the log that teardown scans.
ASAN_DEFAULTS = {
    "detect_leaks": "1",        # LeakSanitizer at exit (the default on x86_64, made explicit)
    "halt_on_error": "1",       # the first error ends the process (status != 0)
    "abort_on_error": "0",      # exit with a status, no core file
    "handle_abort": "1",        # an abort() (std::terminate...) prints a stack too
    "check_initialization_order": "1",
    "strict_init_order": "1",
    "detect_stack_use_after_return": "0",
}
UBSAN_DEFAULTS = {
    "print_stacktrace": "1",    # where, not only what
    "halt_on_error": "1",       # with -fno-sanitize-recover=undefined (CMakeLists) it halts anyway
    "report_error_type": "1",
}
LSAN_DEFAULTS = {}
FORCED = {"log_path": "stderr"}

# Words that only a sanitizer runtime writes. A line that is an access-log record (JSON) is
# not a report even if a request path happens to contain one of them.
SANITIZER_RE = re.compile(
    r"AddressSanitizer|LeakSanitizer|ThreadSanitizer|MemorySanitizer|"
    r"UndefinedBehaviorSanitizer|runtime error:|Sanitizer CHECK failed")

START_LINE_RE = re.compile(rb"arca \S+ serving on (\S+):(\d+) \(root ")

_running = set()  # servers whose process may still be alive, killed at interpreter exit


@atexit.register
def _kill_leftovers():
    for srv in list(_running):
        proc = srv.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def hang_guard(seconds):
    return seconds * TIME_SCALE


def arca_bin():
    return os.environ.get("ARCA_BIN", os.path.join(REPO_TOP, "build", "debug", "arca"))


def free_port():
    """A port that was free a moment ago. Racy under `ctest -j` (another process may bind it
    before the caller does): prefer ArcaServer's port 0, or an arca that is never meant to
    bind (a refused start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _merge_options(given, defaults):
    parts = [f"{k}={v}" for k, v in defaults.items()]
    if given:
        parts.append(given.strip(":"))
    parts += [f"{k}={v}" for k, v in FORCED.items()]
    return ":".join(p for p in parts if p)


def sanitizer_env(env):
    """env with ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS set for a test server."""
    env = dict(env)
    env["ASAN_OPTIONS"] = _merge_options(env.get("ASAN_OPTIONS", ""), ASAN_DEFAULTS)
    env["UBSAN_OPTIONS"] = _merge_options(env.get("UBSAN_OPTIONS", ""), UBSAN_DEFAULTS)
    env["LSAN_OPTIONS"] = _merge_options(env.get("LSAN_OPTIONS", ""), LSAN_DEFAULTS)
    return env


def _is_access_log_line(line):
    if not line.startswith("{"):
        return False
    try:
        json.loads(line)
        return True
    except ValueError:
        return False


def sanitizer_reports(text):
    """The lines of `text` (a log) where a sanitizer report starts, as (line_no, line)."""
    found = []
    if not SANITIZER_RE.search(text):
        return found
    for n, line in enumerate(text.splitlines()):
        if SANITIZER_RE.search(line) and not _is_access_log_line(line):
            found.append((n, line))
    return found


def assert_no_sanitizer_report(text, what="arca's output"):
    """For an `arca` run outside ArcaServer (gc, fsck, a refused serve): its stderr must hold
    no sanitizer report. Its exit status alone cannot tell: ASan exits 1, as a refusal does."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    reports = sanitizer_reports(text)
    if reports:
        n, line = reports[0]
        raise ServerCheckFailed(f"sanitizer report in {what} (line {n + 1}: {line.strip()}):\n"
                                f"{log_excerpt(text, around=n)}")


def log_excerpt(text, around=None, before=5, after=80, limit=12000):
    """Lines of a log around line `around` (the start of a report), or its tail."""
    lines = text.splitlines()
    if around is None:
        part = lines[-40:]
    else:
        part = lines[max(0, around - before):around + after]
    out = "\n".join(part)
    if len(out) > limit:
        out = out[:limit] + "\n[... cut]"
    return out


def blobs_args(root):
    """["--blobs", URL] for a server or command on root when the suites run with blobs in S3
    (ARCA_TEST_BLOBS, set by tests/lib/with_rgw.py), else []. The key prefix follows from the
    root, so `arca fsck --root R` and a server on R see the same blobs."""
    blobs = os.environ.get("ARCA_TEST_BLOBS")
    if not blobs:
        return []
    base, _, query = blobs.partition("?")
    tag = hashlib.sha256(os.path.abspath(root).encode()).hexdigest()[:16]
    args = ["--blobs", f"{base.rstrip('/')}/r-{tag}?{query}"]
    # ARCA_TEST_BLOB_REDIRECT: blob GETs of matching repositories answer 307 to RGW.
    if os.environ.get("ARCA_TEST_BLOB_REDIRECT"):
        args += ["--blob-redirect", os.environ["ARCA_TEST_BLOB_REDIRECT"]]
    return args


def metadata_args(root):
    """["--metadata", URL] for a server or command on root when the suites run on PostgreSQL
    (ARCA_TEST_PG_URL, set by tests/lib/with_pg.py), else []. Each root gets a schema of its
    own (made here, named after the root), so servers stay apart and a restart on the same
    root finds its metadata again."""
    url = os.environ.get("ARCA_TEST_PG_URL")
    if not url:
        return []
    schema = "s_" + hashlib.sha256(os.path.abspath(root).encode()).hexdigest()[:16]
    subprocess.run([os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "psql"),
                    url.replace("postgres://", "postgresql://", 1), "-qXc",
                    f"CREATE SCHEMA IF NOT EXISTS {schema}"],
                   check=True, capture_output=True, timeout=30)
    sep = "&" if "?" in url else "?"
    return ["--metadata", f"{url}{sep}options=-csearch_path%3D{schema}"]


class ServerCheckFailed(AssertionError):
    pass


class ArcaServer:
    def __init__(self, root=None, port=None, extra_args=(), env=None, preexec_fn=None, tls=None):
        """tls: a tlslib.ServerTls to serve HTTPS with (url is then https://, and `verify`
        names the CA file for requests)."""
        self._tmp = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="arca-test-")
            root = self._tmp.name
        self.root = root
        self.tls = tls
        if tls is not None:
            extra_args = [*tls.args(), *extra_args]
        # 0: the kernel picks at the first start(), which sets the port actually bound.
        self.port = port or 0
        extra_args = list(extra_args)
        # ARCA_TEST_BLOBS=s3://bucket?endpoint=...: the same suites with blobs in S3
        # (tests/lib/with_rgw.py sets it). A key prefix per root keeps servers apart, and a
        # restart on the same root finds its blobs again.
        if not any(a == "--blobs" or a.startswith("--blobs=") for a in extra_args):
            extra_args = [*blobs_args(self.root), *extra_args]
        # ARCA_TEST_PG_URL: the same suites with the metadata in PostgreSQL (with_pg.py).
        if not any(a == "--metadata" or a.startswith("--metadata=") for a in extra_args):
            extra_args = [*metadata_args(self.root), *extra_args]
        self.extra_args = extra_args
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.preexec_fn = preexec_fn  # e.g. to lower the server's resource limits
        # Beside the root, not in it (a test may wipe the root); a path without "..", so that it
        # still opens once a temporary root is gone.
        top = os.path.abspath(self.root.rstrip("/") or "/")
        self.log_path = os.path.join(os.path.dirname(top), os.path.basename(top) + ".log")
        self._log = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.addr}"

    @property
    def verify(self):
        """requests' `verify=` for this server: its CA file under TLS."""
        return self.tls.ca_path if self.tls else True

    def connection(self, timeout=10):
        """An http.client connection to the server (HTTPS, trusting its CA, under TLS)."""
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls.pki.client_context())
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    # ------------------------------------------------------------------ log

    def _read_log(self, offset=0):
        try:
            if self._log is not None and not self._log.closed:
                self._log.flush()
        except (OSError, ValueError):
            pass
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return b""

    def check_log(self):
        """Fails when the log holds a sanitizer report, showing it."""
        text = self._read_log().decode("utf-8", "replace")
        reports = sanitizer_reports(text)
        if reports:
            n, line = reports[0]
            raise ServerCheckFailed(
                f"sanitizer report in the arca log {self.log_path} (line {n + 1}: {line.strip()}; "
                f"{len(reports)} report line(s) in all):\n{log_excerpt(text, around=n)}")

    # ------------------------------------------------------------------ process

    def start(self, timeout=20):
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("arca is already running")
        asked = self.port
        if self._log is None or self._log.closed:
            self._log = open(self.log_path, "ab")
        offset = os.fstat(self._log.fileno()).st_size
        self.proc = subprocess.Popen(
            [arca_bin(), "serve", "--addr", self.addr, "--root", self.root, *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, env=sanitizer_env(self.env),
            preexec_fn=self.preexec_fn)
        _running.add(self)
        deadline = time.time() + hang_guard(timeout)
        bound = None
        while bound is None:
            m = START_LINE_RE.search(self._read_log(offset))
            if m:
                bound = int(m.group(2))
                break
            if self.proc.poll() is not None:
                self._failed_start(offset, asked)
            if time.time() > deadline:
                self._failed_start(offset, asked, hang=timeout)
            time.sleep(0.02)
        if asked and bound != asked:
            self._failed_start(offset, asked, note=f"it bound port {bound}, not {asked}")
        self.port = bound
        while True:
            if self.proc.poll() is not None:
                self._failed_start(offset, asked)
            try:
                c = self.connection(timeout=1)
                c.request("GET", "/v2/")
                # 401: auth is on, and the server is up all the same.
                if c.getresponse().status in (200, 401):
                    return self
            except OSError:
                pass
            if time.time() > deadline:
                self._failed_start(offset, asked, hang=timeout)
            time.sleep(0.05)

    def _failed_start(self, offset, asked, hang=None, note=None):
        text = self._read_log(offset).decode("utf-8", "replace")
        if hang is not None:
            self._end(signal.SIGKILL)
            what = f"arca did not become ready within {hang_guard(hang):.0f} s (a hang?)"
        elif note:
            self._end(signal.SIGKILL)
            what = f"arca did not serve where it was asked to: {note}"
        else:
            rc = self._end(None)
            what = f"arca exited with status {rc} while starting"
            if asked and "in use" in text.lower():
                what += (f": port {asked} is taken (the port this server had before the restart,"
                         " or the one the test asked for, is now another process's)")
        raise RuntimeError(f"{what}; log {self.log_path}:\n{log_excerpt(text)}")

    def _end(self, sig, timeout=10):
        """Ends the process (sig, or only reaps it with None); returns its status."""
        proc = self.proc
        if proc is None:
            return None
        if sig is not None and proc.poll() is None:
            proc.send_signal(sig)
        try:
            rc = proc.wait(timeout=hang_guard(timeout))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        self.proc = None
        _running.discard(self)
        return rc

    def stop(self, kill=False, timeout=STOP_TIMEOUT_S, check=True):
        """SIGTERM (SIGKILL with kill=True) and wait. Returns the exit status. With check (the
        default), fails unless arca exited with status 0 (not checked with kill=True) within
        hang_guard(timeout), and unless its log holds no sanitizer report."""
        proc = self.proc
        if proc is None:
            self._close_log()
            if check:
                self.check_log()
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        hung = False
        try:
            rc = proc.wait(timeout=hang_guard(timeout))
        except subprocess.TimeoutExpired:
            hung = True
            proc.kill()
            rc = proc.wait()
        self.proc = None
        _running.discard(self)
        self._close_log()
        if not check:
            return rc
        text = None
        if hung:
            text = self._read_log().decode("utf-8", "replace")
            raise ServerCheckFailed(
                f"arca hung: still running {hang_guard(timeout):.0f} s after SIGTERM, killed; "
                f"log {self.log_path}, its end:\n{log_excerpt(text)}")
        self.check_log()
        if not kill and rc != 0:
            text = self._read_log().decode("utf-8", "replace")
            how = f"killed by signal {-rc}" if rc < 0 else f"exited with status {rc}"
            raise ServerCheckFailed(
                f"arca {how} after SIGTERM, not 0 (a crash, or a leak or error reported at exit); "
                f"log {self.log_path}, its end:\n{log_excerpt(text)}")
        return rc

    def _close_log(self):
        if self._log is not None and not self._log.closed:
            self._log.close()

    def cleanup(self):
        try:
            self.stop()
        finally:
            if self.proc is not None:  # stop() failed before reaping it
                self._end(signal.SIGKILL)
            if self._tmp:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
