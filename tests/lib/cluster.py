"""Arca scaled out for tests: N replicas sharing one PostgreSQL schema and one S3 prefix, behind
haproxy (Debian's) balancing round-robin, all on loopback. The engines come from the
environment that tests/lib/with_pg.py --rgw sets (ARCA_TEST_PG_URL, ARCA_TEST_BLOBS and the
AWS_* credentials).

    with Cluster(n=3) as c:
        c.url                          # haproxy's http://127.0.0.1:PORT
        c.replicas[i].url              # one replica, directly
        c.kill(i); c.start_replica(i)  # SIGKILL a replica; start it again on the same root
        c.store_args()                 # --metadata/--blobs for an `arca` command on the store

Each replica has a root of its own (its log, store lock, types and policy files); what they
share is the metadata and the blobs. The first replica starts alone (it sets up an empty store),
the others after it. haproxy checks GET /v2/ on every replica twice a second and takes a dead
one out of the rotation after two failures; requests in flight to a killed replica fail, and
the client's retry goes to another one (option redispatch).
"""
import http.client
import os
import subprocess
import tempfile
import threading
import time
import uuid

from arca_server import ArcaServer, free_port, hang_guard

PSQL = os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")

HAPROXY = "/usr/sbin/haproxy"


class Cluster:
    def __init__(self, n=3, extra_args=(), env=None):
        pg, blobs = os.environ.get("ARCA_TEST_PG_URL"), os.environ.get("ARCA_TEST_BLOBS")
        if not pg or not blobs:
            raise RuntimeError("Cluster needs ARCA_TEST_PG_URL and ARCA_TEST_BLOBS: run under "
                               "tests/lib/with_pg.py --rgw")
        self.n = n
        self.extra_args = list(extra_args)
        self.env = env
        self.tag = uuid.uuid4().hex[:12]
        self.pg_url = pg
        self.schema = f"c_{self.tag}"
        self.metadata = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{self.schema}"
        base, _, query = blobs.partition("?")
        self.blobs = f"{base.rstrip('/')}/c-{self.tag}?{query}"
        self.dir = tempfile.mkdtemp(prefix="arca-cluster-")
        self.replicas = []
        self.lb_port = free_port()
        self.haproxy = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def root(self):
        return self.replicas[0].root

    @property
    def port(self):
        return self.lb_port

    @property
    def addr(self):
        return f"127.0.0.1:{self.lb_port}"

    @property
    def proc(self):
        """Stands for the processes: poll() is None while haproxy and every replica run."""
        return self

    def poll(self):
        procs = [self.haproxy] + [s.proc for s in self.replicas]
        if any(p is None or p.poll() is not None for p in procs):
            return 1
        return None

    def store_args(self):
        return ["--metadata", self.metadata, "--blobs", self.blobs]

    def start(self, together=False):
        """Starts the replicas one after another, or with together all at once (as a
        deployment rolling out on a new store would), then haproxy."""
        subprocess.run([PSQL, self.pg_url.replace("postgres://", "postgresql://", 1), "-qXc",
                        f"CREATE SCHEMA IF NOT EXISTS {self.schema}"], check=True, capture_output=True,
                       timeout=hang_guard(30))
        for i in range(self.n):
            root = os.path.join(self.dir, f"r{i}")
            os.makedirs(root, exist_ok=True)  # a test may have put something there first
            self.replicas.append(ArcaServer(root=root, env=self.env, extra_args=[
                *self.store_args(), "--gc-interval", "0", *self.extra_args]))
        if together:
            errors = []

            def start_one(srv):
                try:
                    srv.start(timeout=60)
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)
            threads = [threading.Thread(target=start_one, args=(s,)) for s in self.replicas]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
        else:
            for srv in self.replicas:
                srv.start(timeout=60)
        self._start_haproxy()
        return self

    def _start_haproxy(self):
        servers = "\n".join(f"  server r{i} 127.0.0.1:{s.port}"
                            for i, s in enumerate(self.replicas))
        cfg = f"""global
  maxconn 4096
  tune.bufsize 65536
  tune.http.maxhdr 1024
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-request 30s
  option redispatch
  retries 2
frontend registry
  bind 127.0.0.1:{self.lb_port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check inter 500ms fall 2 rise 1
{servers}
"""
        path = os.path.join(self.dir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        self._hlog = open(os.path.join(self.dir, "haproxy.log"), "wb")
        self.haproxy = subprocess.Popen([HAPROXY, "-f", path, "-db"], stdout=self._hlog,
                                        stderr=subprocess.STDOUT)
        deadline = time.time() + hang_guard(20)
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.lb_port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.haproxy.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"haproxy did not come up; see {self.dir}/haproxy.log")

    def kill(self, i):
        self.replicas[i].stop(kill=True)

    def start_replica(self, i):
        self.replicas[i].start(timeout=60)

    def stop(self):
        if self.haproxy is not None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
            self.haproxy = None
            self._hlog.close()
        for srv in self.replicas:
            srv.stop(check=False)
        for srv in self.replicas:
            srv.check_log()

    def cleanup(self):
        self.stop()

    @property
    def log_path(self):
        return self.dir

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def shared_server(extra_args=()):
    """The registry a suite's shared fixture serves from: a Cluster of ARCA_TEST_CLUSTER
    replicas when that is set (ctest http-cluster, clients-cluster, conformance-cluster), else
    one ArcaServer. Not started."""
    n = int(os.environ.get("ARCA_TEST_CLUSTER") or 0)
    return Cluster(n=n, extra_args=extra_args) if n else ArcaServer(extra_args=extra_args)
