"""A real S3 endpoint for tests: a throwaway single-node Ceph cluster with radosgw on 127.0.0.1,
started and stopped by scripts/engines/ceph-rgw.sh (see its header; Ceph comes from
scripts/deps.sh test).

    with CephRgw() as rgw:          # ~2-3 s to a signed request answered; stop < 1 s
        rgw.endpoint                # "http://127.0.0.1:PORT" (path-style buckets only)
        rgw.access_key, rgw.secret_key, rgw.region
        rgw.env()                   # {"S3_ENDPOINT": ..., "S3_ACCESS_KEY": ..., ...}

Each CephRgw has a directory of its own (tempfile.mkdtemp): the cluster, its logs (`log_dir`)
and its pid files; leaving the `with` block stops the cluster and deletes the directory. The
user starts with no buckets; bucket names are 3-63 characters, as on AWS.

rgw_env() is the cheap form for a test or fixture that only needs the S3_* variables: one
cluster per Python process, started on the first call and stopped when the interpreter exits.

A start that fails (Ceph missing, the cluster not ready within the script's timeout, 90 s
scaled by ARCA_TEST_TIME_SCALE) raises RuntimeError with the script's own report (the tail of
every log) and leaves nothing running.
"""
import atexit
import os
import shutil
import subprocess
import tempfile

REPO_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO_TOP, "scripts", "engines", "ceph-rgw.sh")
TIME_SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))
START_TIMEOUT_S = int(90 * TIME_SCALE)
STOP_TIMEOUT_S = 30 * TIME_SCALE          # the script's own bound is ~12 s
ENV_KEYS = ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION")


def parse_exports(text):
    """{"NAME": "value"} from `export NAME=value` lines (the script's stdout)."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        for word in line[len("export "):].split():
            name, sep, value = word.partition("=")
            if sep:
                found[name] = value
    return found


class CephRgw:
    """A Ceph cluster with radosgw in a fresh temporary directory; see the module doc."""

    def __init__(self, backend=None):
        self.backend = backend          # None: the script's default (memstore)
        self.dir = None
        self.endpoint = self.access_key = self.secret_key = self.region = None

    @property
    def log_dir(self):
        return os.path.join(self.dir, "log") if self.dir else None

    def _run(self, action, timeout):
        env = {k: v for k, v in os.environ.items() if k not in ("CEPH_CONF", "CEPH_ARGS")}
        env["CEPH_RGW_START_TIMEOUT"] = str(START_TIMEOUT_S)
        if self.backend:
            env["CEPH_RGW_OSD_BACKEND"] = self.backend
        return subprocess.run([SCRIPT, action, self.dir], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, env=env)

    def start(self):
        if self.dir is not None:
            raise RuntimeError("CephRgw already started")
        self.dir = tempfile.mkdtemp(prefix="arca-rgw-")
        try:
            p = self._run("start", START_TIMEOUT_S + 60)
        except BaseException:
            self.stop()
            raise
        found = parse_exports(p.stdout)
        if p.returncode != 0 or any(k not in found for k in ENV_KEYS):
            report = (p.stderr or "")[-6000:]
            self.stop()
            raise RuntimeError(f"{SCRIPT} start failed (exit {p.returncode}); stdout "
                               f"{p.stdout!r}; stderr:\n{report}")
        self.endpoint = found["S3_ENDPOINT"]
        self.access_key = found["S3_ACCESS_KEY"]
        self.secret_key = found["S3_SECRET_KEY"]
        self.region = found["S3_REGION"]
        return self

    def pids(self):
        """{"mon": pid, "osd": pid, "rgw": pid} as recorded by the script."""
        out = {}
        for name in ("mon", "osd", "rgw"):
            try:
                with open(os.path.join(self.dir, f"{name}.pid")) as f:
                    out[name] = int(f.read().strip())
            except (OSError, ValueError):
                pass
        return out

    def env(self):
        return {"S3_ENDPOINT": self.endpoint, "S3_ACCESS_KEY": self.access_key,
                "S3_SECRET_KEY": self.secret_key, "S3_REGION": self.region}

    def stop(self):
        """Stops the cluster and deletes its directory (idempotent)."""
        if self.dir is None:
            return
        p = self._run("stop", STOP_TIMEOUT_S)
        if p.returncode != 0:
            raise RuntimeError(f"{SCRIPT} stop failed (exit {p.returncode}): {p.stderr[-2000:]}")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


_shared = None


def rgw_env():
    """The S3_* variables of this process's shared cluster (started on the first call)."""
    global _shared
    if _shared is None:
        rgw = CephRgw().start()
        atexit.register(rgw.stop)
        _shared = rgw
    return dict(_shared.env())
