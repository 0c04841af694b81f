"""A real PostgreSQL 15 for tests: a throwaway server on 127.0.0.1, started, restarted and
stopped by scripts/engines/postgres.sh (see its header; PostgreSQL comes from scripts/deps.sh
test).

    with PostgresServer() as pg:    # ~1-2 s to SELECT 1 answered; stop ~0.2 s
        pg.host, pg.port            # "127.0.0.1", the port (a unix socket too: pg.socket_dir)
        pg.user, pg.password        # "arca" (a superuser), a random password
        pg.database                 # "arca"
        pg.url                      # "postgres://arca:PASSWORD@127.0.0.1:PORT/arca?sslmode=disable"
        pg.env()                    # {"PGHOST": ..., ..., "ARCA_TEST_PG_URL": ...}
        pg.psql("SELECT 1")         # "1": psql over TCP with the credentials (no Python driver)
        pg.restart()                # a crash (stop -m immediate) and a start on the same port

Each PostgresServer has a directory of its own (tempfile.mkdtemp): the data directory, its logs
(`log_dir`) and the postmaster's pid file; leaving the `with` block stops the server and deletes
the directory. fsync is on; PostgresServer(fast=True) turns fsync and full_page_writes off
(PG_FAST=1; synchronous_commit stays on): faster, and still safe against a crash of the server, not of
the machine.

pg_env() is the cheap form for a test or fixture that only needs the variables: one server per
Python process, started on the first call and stopped when the interpreter exits.

A start or restart that fails (PostgreSQL missing, the server not ready within the script's
timeout, 60 s scaled by ARCA_TEST_TIME_SCALE) raises RuntimeError with the script's own report
(the tail of every log); a failed start leaves nothing running.
"""
import atexit
import os
import shutil
import subprocess
import tempfile

from s3lib import parse_exports

REPO_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO_TOP, "scripts", "engines", "postgres.sh")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PSQL = os.path.join(PG_BIN, "psql")
TIME_SCALE = float(os.environ.get("ARCA_TEST_TIME_SCALE", "1"))
START_TIMEOUT_S = int(60 * TIME_SCALE)
STOP_TIMEOUT_S = 30 * TIME_SCALE          # the script's own bound is ~25 s
ENV_KEYS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "ARCA_TEST_PG_URL")


def clean_env():
    """os.environ without the caller's PG* variables (PGSERVICE, PGSSLMODE, ... would reach
    psql) and without PG_FAST / PG_START_TIMEOUT (set per server)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


class PostgresServer:
    """A PostgreSQL server in a fresh temporary directory; see the module doc."""

    def __init__(self, fast=False):
        self.fast = fast
        self.dir = None
        self.host = self.port = self.user = self.password = self.database = self.url = None

    @property
    def log_dir(self):
        return os.path.join(self.dir, "log") if self.dir else None

    @property
    def socket_dir(self):
        """The unix socket's directory (trust authentication; root and postgres only)."""
        return os.path.join(self.dir, "run") if self.dir else None

    def _run(self, action, timeout):
        env = clean_env()
        env["PG_START_TIMEOUT"] = str(START_TIMEOUT_S)
        env["PG_BIN"] = PG_BIN
        if self.fast:
            env["PG_FAST"] = "1"
        return subprocess.run([SCRIPT, action, self.dir], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, env=env)

    def _take(self, action, p):
        found = parse_exports(p.stdout)
        if p.returncode != 0 or any(k not in found for k in ENV_KEYS):
            raise RuntimeError(f"{SCRIPT} {action} failed (exit {p.returncode}); stdout "
                               f"{p.stdout!r}; stderr:\n{(p.stderr or '')[-6000:]}")
        self.host, self.port = found["PGHOST"], int(found["PGPORT"])
        self.user, self.password = found["PGUSER"], found["PGPASSWORD"]
        self.database, self.url = found["PGDATABASE"], found["ARCA_TEST_PG_URL"]

    def start(self):
        if self.dir is not None:
            raise RuntimeError("PostgresServer already started")
        self.dir = tempfile.mkdtemp(prefix="arca-pg-")
        try:
            self._take("start", self._run("start", START_TIMEOUT_S + 60))
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self):
        """Crashes the server (pg_ctl stop -m immediate: open connections are cut, no shutdown
        checkpoint) and starts it again on the same data, port and password (crash recovery).
        Returns once SELECT 1 answers again."""
        if self.dir is None:
            raise RuntimeError("PostgresServer not started")
        port, password = self.port, self.password
        self._take("restart", self._run("restart", START_TIMEOUT_S + 60))
        if (self.port, self.password) != (port, password):
            raise RuntimeError(f"restart changed the port or password ({port} -> {self.port})")
        return self

    def pids(self):
        """{"postmaster": pid} as recorded by the script (its children: see /proc)."""
        try:
            with open(os.path.join(self.dir, "postgres.pid")) as f:
                return {"postmaster": int(f.read().strip())}
        except (OSError, ValueError, TypeError):
            return {}

    def env(self):
        return {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user,
                "PGPASSWORD": self.password, "PGDATABASE": self.database,
                "ARCA_TEST_PG_URL": self.url}

    def psql_run(self, sql, database=None, user=None, password=None, timeout=60):
        """psql -c SQL over TCP with this server's credentials (or the ones given), unaligned
        and tuples only, stopping at the first error: the CompletedProcess (text)."""
        env = clean_env()
        env.update(self.env())
        env["PGCONNECT_TIMEOUT"] = "10"
        env["PGPASSFILE"] = os.devnull     # no ~/.pgpass: a password given empty stays empty
        env["PGDATABASE"] = database or self.database
        env["PGUSER"] = user or self.user
        env["PGPASSWORD"] = self.password if password is None else password
        return subprocess.run([PSQL, "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-c", sql], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout * TIME_SCALE, env=env)

    def psql(self, sql, **kw):
        """psql_run's output, stripped; RuntimeError if psql failed."""
        p = self.psql_run(sql, **kw)
        if p.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed (exit {p.returncode}): {p.stderr}")
        return p.stdout.strip()

    def stop(self):
        """Stops the server (pg_ctl stop -m fast) and deletes its directory (idempotent)."""
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


def pg_env():
    """The PG* variables and ARCA_TEST_PG_URL of this process's shared server (started on the
    first call)."""
    global _shared
    if _shared is None:
        pg = PostgresServer().start()
        atexit.register(pg.stop)
        _shared = pg
    return dict(_shared.env())
