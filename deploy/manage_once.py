"""Run a management command on at most one machine of the fleet at a time.

    python deploy/manage_once.py [--wait SECONDS] COMMAND [ARGS...]

Every app instance boots the same way and carries the same timers (deploy/systemd/), so several
could start `migrate` or `clear_orphan_images` together. This holds a MySQL named lock for the
command while it runs: with --wait 0 (the timers) a second instance finds it taken and skips the
run; with --wait N (migrate at boot) it waits up to N seconds for the first to finish, then runs
and finds nothing left to do. The lock is released when the command ends, or by MySQL if the
connection or the machine dies. Without MySQL (the embedded SQLite) the command simply runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
# MySQL's limit on lock names.
LOCK_NAME_LENGTH = 64


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="manage_once.py", description=__doc__.strip().splitlines()[0]
    )
    parser.add_argument(
        "--wait",
        type=int,
        default=0,
        metavar="SECONDS",
        help="how long to wait for another machine's run to finish (default 0: skip this run)",
    )
    parser.add_argument("command")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser.parse_args(argv)


def lock_name(command: str) -> str:
    return f"beebeta:{command}"[:LOCK_NAME_LENGTH]


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse(sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, str(APP_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beebeta.settings")
    import django
    from django.core.management import execute_from_command_line
    from django.db import connection

    django.setup()
    command_line = ["manage.py", options.command, *options.args]
    if connection.vendor != "mysql":
        execute_from_command_line(command_line)
        return 0

    name = lock_name(options.command)
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, %s)", [name, options.wait])
        (acquired,) = cursor.fetchone()
    if acquired != 1:
        print(
            f"manage_once: {options.command} is running on another machine; not run here",
            file=sys.stderr,
        )
        return 0
    try:
        execute_from_command_line(command_line)
    finally:
        # The lock belongs to this connection; were it gone, MySQL has released the lock already.
        if connection.connection is not None and connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
