"""deploy/manage_once.py: a management command runs on one machine of the fleet at a time.

(`migrate` through it is exercised by every start of the local stack, tests/stack.)"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import MySQLdb
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "deploy" / "manage_once.py"


def server() -> dict[str, object]:
    url = urlsplit(os.environ["DATABASE_URL"])
    return {"host": url.hostname, "port": url.port, "user": url.username or "root"}


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    """A database of its own on the suite's MariaDB (an instance's view of RDS)."""
    name = f"beebeta_once_{uuid.uuid4().hex[:8]}"
    admin = MySQLdb.connect(**server())
    admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        address = server()
        yield f"mysql://{address['user']}@{address['host']}:{address['port']}/{name}"
    finally:
        admin.cursor().execute(f"DROP DATABASE `{name}`")
        admin.close()


def start(database_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "REQUEST_LOG": "false",
    }
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        cwd=tmp_path,  # not the checkout: the script finds the app itself, as under systemd
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=180)
    return process.returncode, out + err


@contextlib.contextmanager
def lock_held_elsewhere(name: str) -> Iterator[None]:
    """Another machine running the command: its connection holds the lock."""
    holder = MySQLdb.connect(**server())
    cursor = holder.cursor()
    cursor.execute("SELECT GET_LOCK(%s, 0)", [name])
    assert cursor.fetchone() == (1,)
    try:
        yield
    finally:
        cursor.execute("SELECT RELEASE_LOCK(%s)", [name])
        holder.close()


def test_a_booting_instance_waits_for_the_other_machine_then_runs(database_url, tmp_path):
    # As `migrate` does at boot (deploy/provision.sh), with a command that needs no tables.
    with lock_held_elsewhere("beebeta:check"):
        waiting = start(database_url, tmp_path, "--wait", "60", "check")
        time.sleep(2)
        assert waiting.poll() is None, finish(waiting)
    code, output = finish(waiting)
    assert code == 0 and "System check identified no issues" in output


def test_a_timer_run_skips_while_another_machine_holds_the_lock(database_url, tmp_path):
    with lock_held_elsewhere("beebeta:check"):
        code, output = finish(start(database_url, tmp_path, "check"))
    assert code == 0
    assert "check is running on another machine; not run here" in output
    assert "System check identified" not in output

    code, output = finish(start(database_url, tmp_path, "check"))
    assert code == 0 and "System check identified no issues" in output


def test_a_failing_command_fails_the_run(database_url, tmp_path):
    code, output = finish(start(database_url, tmp_path, "no_such_command"))
    assert code != 0 and "Unknown command: 'no_such_command'" in output
