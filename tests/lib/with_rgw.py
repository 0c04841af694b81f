#!/usr/bin/env python3
"""Runs a command beside a throwaway Ceph RGW (s3lib.CephRgw), for ctest entries that need a
real S3: with_rgw.py CMD [ARGS...]

The command gets S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_REGION (the C++ S3 tests),
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (what `arca serve --blobs s3://...` reads), and
ARCA_TEST_BLOBS (s3://arca-test?endpoint=...), which makes every ArcaServer of the pytest
suites keep its blobs in that bucket (tests/lib/arca_server.py). Exits with the command's
status; the cluster is stopped either way."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3lib import CephRgw  # noqa: E402


def main(argv):
    if not argv:
        print("usage: with_rgw.py CMD [ARGS...]", file=sys.stderr)
        return 2
    with CephRgw() as rgw:
        env = dict(os.environ, **rgw.env())
        env["AWS_ACCESS_KEY_ID"] = rgw.access_key
        env["AWS_SECRET_ACCESS_KEY"] = rgw.secret_key
        env["ARCA_TEST_BLOBS"] = (f"s3://arca-test?endpoint={rgw.endpoint}&region={rgw.region}"
                                  "&create_bucket=true")
        env.pop("AWS_CA_BUNDLE", None)  # the endpoint is plain http on loopback
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
