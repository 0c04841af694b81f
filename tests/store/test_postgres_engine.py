"""scripts/engines/postgres.sh through tests/lib/pglib.py: the PostgreSQL it starts listens on
127.0.0.1 only, checks the password, keeps committed data across a restart (a crash: stop -m
immediate) on the same port, two of them run side by side without seeing each other, and stop
leaves no process and no open port behind.

Everything goes through psql (pglib.PostgresServer.psql): Arca's tests use no Python driver."""
import os
import socket
import subprocess
import threading
import time

from pglib import PSQL, STOP_TIMEOUT_S, TIME_SCALE, PostgresServer, clean_env
from testkit import listening_sockets, running

RESTART_BOUND_S = 30 * TIME_SCALE


def server_pids(postmaster):
    """The postmaster and its children."""
    out = {postmaster}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                    out.add(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    return out


def port_open(port):
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def refused(pg, **kw):
    """psql with these credentials fails; its stderr."""
    p = pg.psql_run("SELECT 1", **kw)
    assert p.returncode != 0, f"connected with {kw}: {p.stdout!r}"
    return p.stderr


def test_postgres_on_loopback_durable_across_restart_and_stops_clean():
    with PostgresServer() as pg:
        assert (pg.host, pg.user, pg.database) == ("127.0.0.1", "arca", "arca")
        assert len(pg.password) == 32 and pg.password.isalnum()
        assert pg.url == (f"postgres://arca:{pg.password}@127.0.0.1:{pg.port}/arca"
                          "?sslmode=disable")
        env = pg.env()
        assert env["PGPORT"] == str(pg.port) and env["ARCA_TEST_PG_URL"] == pg.url

        postmaster = pg.pids()["postmaster"]
        assert running(postmaster)
        assert listening_sockets(postmaster) == [("127.0.0.1", pg.port)]
        assert os.path.exists(os.path.join(pg.socket_dir, f".s.PGSQL.{pg.port}"))

        assert pg.psql("SELECT 1") == "1"
        assert pg.psql("SELECT current_user, usesuper FROM pg_user WHERE usename = current_user"
                       ) == "arca|t"
        assert pg.psql("SHOW server_encoding") == "UTF8"
        assert pg.psql("SHOW fsync") == "on"
        assert pg.psql("SHOW listen_addresses") == "127.0.0.1"
        # The URL, as a libpq connection string, works too.
        p = subprocess.run([PSQL, "-X", "-w", "-A", "-t", "-c", "SELECT current_database()",
                            pg.url], capture_output=True, text=True, timeout=60,
                           env=clean_env())
        assert p.returncode == 0 and p.stdout.strip() == "arca", p.stderr

        # TCP wants the password: a wrong one, none, another user's name are all refused.
        assert "password authentication failed" in refused(pg, password="x" + pg.password)
        assert "no password supplied" in refused(pg, password="")
        assert "password authentication failed" in refused(pg, user="postgres")

        # Committed rows survive a crash and restart (fsync on), on the same port and password;
        # a connection open across it is cut, not left hanging.
        pg.psql("CREATE TABLE durable (id int PRIMARY KEY, v text)")
        pg.psql("INSERT INTO durable SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
        holder = subprocess.Popen([PSQL, "-X", "-w", "-c", "SELECT pg_sleep(600)", pg.url],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  env=clean_env())
        try:
            deadline = time.monotonic() + 30 * TIME_SCALE
            while pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                          "'SELECT pg_sleep%'") != "1":
                assert time.monotonic() < deadline, "the sleeping session never showed up"
                time.sleep(0.05)
            port, before = pg.port, pg.pids()["postmaster"]
            t0 = time.monotonic()
            pg.restart()
            took = time.monotonic() - t0
            assert took < RESTART_BOUND_S
            assert holder.wait(timeout=30) != 0, "the open session survived the crash"
        finally:
            holder.kill()
            holder.wait()
        assert pg.port == port and pg.pids()["postmaster"] != before
        assert not running(before)
        assert pg.psql("SELECT count(*), sum(id) FROM durable") == "5000|12502500"
        assert pg.psql("SELECT v FROM durable WHERE id = 42") == \
            "a1d0c6e83f027327d8461063f4ac58a6"
        assert listening_sockets(pg.pids()["postmaster"]) == [("127.0.0.1", port)]

        pids = server_pids(pg.pids()["postmaster"])
        assert len(pids) > 3    # the postmaster, checkpointer, walwriter, ...
        t0 = time.monotonic()
        pg.stop()
        took = time.monotonic() - t0
    assert took < STOP_TIMEOUT_S
    assert not [p for p in pids if running(p)], "a process of the server survived stop"
    assert not port_open(port), f"127.0.0.1:{port} still open after stop"


def test_two_servers_side_by_side():
    servers, errors = [PostgresServer(), PostgresServer(fast=True)], []

    def start(s):
        try:
            s.start()
        except Exception as e:          # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        a, b = servers
        assert a.port != b.port and a.password != b.password
        assert (a.psql("SHOW fsync"), b.psql("SHOW fsync")) == ("on", "off")
        # Fast keeps synchronous_commit: off, a crash of the server loses acknowledged commits.
        assert b.psql("SHOW synchronous_commit") == "on"
        a.psql("CREATE TABLE only_in_a (x int)")
        b.psql("CREATE TABLE only_in_b (x int)")
        tables = "SELECT string_agg(tablename, ',') FROM pg_tables WHERE tablename LIKE 'only%'"
        assert (a.psql(tables), b.psql(tables)) == ("only_in_a", "only_in_b")
        # One server's password means nothing to the other.
        assert "password authentication failed" in refused(b, password=a.password)
        # Restarting one leaves the other alone, and so does stopping it.
        b_postmaster = b.pids()["postmaster"]
        a.restart()
        assert b.pids()["postmaster"] == b_postmaster and b.psql("SELECT 1") == "1"
        a_port = a.port
        a.stop()
        assert not port_open(a_port)
        assert b.psql(tables) == "only_in_b", "stopping one server hurt the other"
    finally:
        for s in servers:
            s.stop()
