#!/usr/bin/env python3
"""Runs a command beside a throwaway PostgreSQL 15 (pglib.PostgresServer), for ctest entries
that need a real PostgreSQL: with_pg.py [--rgw] CMD [ARGS...]

The command gets ARCA_TEST_PG_DIR (the server's directory, for a test that restarts it with
scripts/engines/postgres.sh restart), ARCA_TEST_PG_URL (the C++ contract tests, and every ArcaServer of the pytest
suites, which then keeps its metadata in a database of its own on that server:
tests/lib/arca_server.py) and the PG* variables of psql. With --rgw, a Ceph RGW is started too
and the command gets what tests/lib/with_rgw.py gives. Exits with the command's status; the
servers are stopped either way."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pglib import PostgresServer  # noqa: E402


def main(argv):
    rgw = argv[:1] == ["--rgw"]
    if rgw:
        argv = argv[1:]
    if not argv:
        print("usage: with_pg.py [--rgw] CMD [ARGS...]", file=sys.stderr)
        return 2
    # fast: fsync off. A crash of the server still loses nothing; only the machine's would.
    with PostgresServer(fast=True) as pg:
        env = dict(os.environ, **pg.env())
        env["ARCA_TEST_PG_DIR"] = pg.dir  # for scripts/engines/postgres.sh restart
        if not rgw:
            return subprocess.call(argv, env=env)
        import with_rgw
        os.environ.update(env)
        return with_rgw.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
