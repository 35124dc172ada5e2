"""Throwaway MariaDB (a primary and its replica), memcached and S3 (moto) servers for the test
suite, around a command.

    python3 tests/services.py [--s3 | --no-s3] [--keep] -- COMMAND ARGS...

The servers are the local stack's (deploy/stack/services.py), each on a free loopback port with
its files in one temporary folder; the command learns where they are from the variables below
(tests/conftest.py and tests/s3.py read them). Every server stops when the command ends, fails
or is interrupted (Ctrl-C, SIGTERM, a hang-up), even while the servers are still starting.
Standard library only: it has to work before (and without) the project's virtualenv.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    # Run as a script, Python puts tests/ first on the path, where the package tests/deploy/
    # would hide deploy/; the repository's root takes its place.
    sys.path[0] = str(ROOT)

from deploy.stack.processes import Proc, run_with, stop_all  # noqa: E402
from deploy.stack.services import (  # noqa: E402
    DATABASE_NAME,
    s3_available,
    start_mariadb,
    start_memcached,
    start_replication,
    start_s3,
)

# A developer's shell may point at real storage; the suite must never inherit that.
SCRUBBED_FROM_COMMAND = ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_SESSION_TOKEN")


def say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def running_services(s3: bool = False, *, keep: bool = False) -> Iterator[dict[str, str]]:
    """MariaDB, two memcached nodes and (with ``s3``) an S3 API server; yields the variables
    that point the suite at them, and stops them all on the way out."""
    with contextlib.ExitStack() as cleanup:
        folder = Path(tempfile.mkdtemp(prefix="beebeta-services-"))
        # Registered first so it runs last, once every server has let go of its files.
        if keep:
            cleanup.callback(say, f"kept {folder}")
        else:
            cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        servers: list[Proc] = []
        cleanup.callback(lambda: stop_all(reversed(servers)))

        def started(server: Proc) -> Proc:
            servers.append(server)
            say(f"{server.name} on {server.address} (pid {server.pid})")
            return server

        # The primary and its replica install and start side by side (about a second together).
        with ThreadPoolExecutor(2) as pool:
            starting = [
                pool.submit(start_mariadb, folder, role="primary"),
                pool.submit(start_mariadb, folder / "replica", role="replica", name="replica"),
            ]
            # Each one that started is recorded (and so stopped) even if the other failed.
            done = [future for future in starting if future.exception() is None]
            for future in done:
                started(future.result())
            for future in starting:
                future.result()
            mariadb, replica = (future.result() for future in starting)
        start_replication(replica.port, mariadb.port)
        caches = [started(start_memcached(log_dir=folder)) for _ in range(2)]
        env = {
            "DATABASE_URL": f"mysql://root@{mariadb.address}/{DATABASE_NAME}",
            "MEMCACHED_LOCATIONS": ",".join(cache.address for cache in caches),
            "BEEBETA_TEST_SERVICES": "1",
            "BEEBETA_TEST_MARIADB_PORT": str(mariadb.port),
            "BEEBETA_TEST_MARIADB_PID": str(mariadb.pid),
            # Not DATABASE_REPLICA_URL: the suite reads from the primary alone, and only the
            # replica's own tests add it (tests/test_replica.py).
            "BEEBETA_TEST_REPLICA_PORT": str(replica.port),
            "BEEBETA_TEST_REPLICA_PID": str(replica.pid),
            "BEEBETA_TEST_MEMCACHED_PIDS": ",".join(str(cache.pid) for cache in caches),
            "BEEBETA_TEST_TMPDIR": str(folder),
        }
        if s3:
            bucket_server = started(start_s3(log_dir=folder))
            # Deliberately not AWS_S3_ENDPOINT_URL / AWS_STORAGE_BUCKET_NAME: default settings keep
            # media on local disk, and only tests that opt in point storage at this server.
            env.update(
                {
                    "BEEBETA_TEST_S3_ENDPOINT": f"http://{bucket_server.address}",
                    "BEEBETA_TEST_S3_PID": str(bucket_server.pid),
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
            )
        yield env


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="tests/services.py",
        description="Run COMMAND with throwaway MariaDB, memcached and (optionally) S3 servers.",
        usage="%(prog)s [--s3 | --no-s3] [--keep] -- COMMAND [ARGS...]",
    )
    parser.add_argument(
        "--s3",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start a moto S3 server (default: on when moto_server sits next to this python)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and logs")
    args_list = list(argv)
    if "--" not in args_list:
        parser.error("missing '-- COMMAND'")
    split = args_list.index("--")
    options, command = args_list[:split], args_list[split + 1 :]
    if not command:
        parser.error("missing COMMAND after '--'")
    return parser.parse_args(options), command


def main(argv: Sequence[str] | None = None) -> int:
    args, command = parse_args(sys.argv[1:] if argv is None else argv)
    s3 = s3_available() if args.s3 is None else args.s3
    servers = running_services(s3=s3, keep=args.keep)
    return run_with(servers, command, unset=SCRUBBED_FROM_COMMAND, announce=say)


if __name__ == "__main__":
    sys.exit(main())
