"""The servers Beebeta stands on, as throwaway processes on loopback: MariaDB, memcached and an S3
API server (moto). The local stack starts them (and starts them again in the fault tests), the
test suite starts its own through tests/services.py, and the benchmark its own.

Each start_* function returns once its server answers, and makes sure the server answering is
the one it started: a port taken by someone else between choosing it and binding it must never
pass for a healthy server. Standard library only, like processes.py.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.stack.processes import (
    HOST,
    Proc,
    ServiceError,
    find_executable,
    free_port,
    http_status,
    tcp_accepts,
)

DATABASE_NAME = "beebeta"


def _service_user() -> str:
    # Both servers refuse to run as root unless told to; as anyone else the option is moot.
    if os.geteuid() == 0:
        return "root"
    return pwd.getpwuid(os.geteuid()).pw_name


# --- memcached -------------------------------------------------------------------------------


def memcached_stats(port: int) -> dict[str, str]:
    with socket.create_connection((HOST, port), timeout=2) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    stats: dict[str, str] = {}
    for line in data.decode("ascii", "replace").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] == "STAT":
            stats[parts[1]] = parts[2]
    return stats


def start_memcached(
    port: int | None = None,
    *,
    name: str = "memcached",
    log_dir: Path | None = None,
    memory_mb: int = 64,
    new_session: bool = False,
) -> Proc:
    chosen = port if port is not None else free_port()
    if log_dir is None:
        log_dir = Path(tempfile.gettempdir())
    argv = [
        find_executable("memcached"),
        "-u",
        _service_user(),
        "-l",
        HOST,
        "-p",
        str(chosen),
        "-U",
        "0",
        "-m",
        str(memory_mb),
    ]
    proc = Proc(name, argv, str(log_dir / f"memcached-{chosen}.log"), chosen)
    proc.spawn(new_session=new_session)

    def ready() -> bool:
        if not tcp_accepts(chosen):
            return False
        try:
            return memcached_stats(chosen).get("pid") == str(proc.pid)
        except OSError:
            return False

    proc.wait_until_ready(ready, timeout=10)
    return proc


# --- MariaDB ---------------------------------------------------------------------------------


def _mariadb_client_argv(tool: str, port: int) -> list[str]:
    # --no-defaults: a [client] section in the machine's my.cnf (password, socket) must not leak in.
    return [
        find_executable(tool),
        "--no-defaults",
        "--protocol=tcp",
        f"-h{HOST}",
        f"-P{port}",
        "-uroot",
        "--connect-timeout=2",
    ]


def mariadb_sql(port: int, sql: str, *, column_names: bool = False) -> str:
    """Run ``sql`` as root with the command-line client; its output, tab-separated (with a
    first line of column names if asked)."""
    names = [] if column_names else ["--skip-column-names"]
    result = subprocess.run(  # noqa: S603 - the client with fixed options
        [*_mariadb_client_argv("mariadb", port), "--batch", *names, "-e", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"mariadb on port {port}: {sql!r} failed: {result.stderr.strip()}")
    return result.stdout


def _install_mariadb(folder: Path, datadir: Path, user: str, storage_flags: list[str]) -> None:
    install = subprocess.run(  # noqa: S603 - fixed arguments
        [
            find_executable("mariadb-install-db"),
            "--no-defaults",
            f"--datadir={datadir}",
            f"--user={user}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *storage_flags,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
        check=False,
    )
    (folder / "mariadb-install.log").write_bytes(install.stdout)
    if install.returncode != 0:
        tail = install.stdout.decode(errors="replace").splitlines()[-30:]
        raise ServiceError("mariadb-install-db failed:\n" + "\n".join(tail))


# A primary writes every change to its binary log (row events, not fsynced: the data is thrown
# away); a replica applies them in order and takes no other writes (root, which the suite and the
# stack use, could still write: nothing does). The server ids only need to differ.
_REPLICATION_FLAGS = {
    "single": ["--skip-log-bin"],
    "primary": [
        "--server-id=1",
        "--log-bin=mariadb-bin",
        "--binlog-format=ROW",
        "--sync-binlog=0",
        "--expire-logs-days=1",
    ],
    "replica": ["--server-id=2", "--skip-log-bin", "--read-only=1", "--relay-log=relay-bin"],
}


def start_replication(replica_port: int, primary_port: int) -> None:
    """Make the replica on ``replica_port`` follow the primary from the start of its binary log
    (both fresh), as RDS's read replica follows the primary. The replica keeps following across
    restarts of either server."""
    mariadb_sql(
        replica_port,
        f"CHANGE MASTER TO MASTER_HOST='{HOST}', MASTER_PORT={primary_port}, "
        "MASTER_USER='root', MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1, "
        "MASTER_USE_GTID=slave_pos; START SLAVE",
    )


def replica_status(port: int) -> dict[str, str]:
    """SHOW SLAVE STATUS of the replica on ``port``, as column -> value (empty: no replication)."""
    lines = mariadb_sql(port, "SHOW SLAVE STATUS", column_names=True).splitlines()
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=False))


def start_mariadb(
    folder: Path,
    port: int | None = None,
    *,
    name: str = "mariadb",
    timeout: float = 30.0,
    new_session: bool = False,
    install: bool = True,
    role: str = "single",
) -> Proc:
    """A MariaDB server with its data in folder/mariadb and an empty DATABASE_NAME database.
    ``install=False`` starts it again on the data an earlier start installed (a restart: the
    rows are still there). ``role`` is "single" (no binary log), "primary" (a binary log for a
    replica) or "replica" (read-only; make it follow a primary with start_replication; its
    database comes from the primary)."""
    chosen = port if port is not None else free_port()
    folder.mkdir(parents=True, exist_ok=True)
    datadir = folder / "mariadb"
    user = _service_user()
    # Sizes given to install-db as well, or it writes a 96 MB redo log that the server then shrinks.
    storage_flags = [
        "--innodb-log-file-size=16M",
        "--innodb-buffer-pool-size=64M",
        # Temporary tables are named after the process: two servers installing at once in
        # the machine's /tmp could take each other's.
        f"--tmpdir={folder}",
    ]
    if install:
        _install_mariadb(folder, datadir, user, storage_flags)
    argv = [
        find_executable("mariadbd"),
        "--no-defaults",
        f"--datadir={datadir}",
        f"--socket={datadir}/mysqld.sock",
        f"--pid-file={datadir}/mysqld.pid",
        f"--port={chosen}",
        f"--bind-address={HOST}",
        f"--user={user}",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
        *storage_flags,
        *_REPLICATION_FLAGS[role],
        "--innodb-flush-log-at-trx-commit=2",
        "--max-connections=500",
        # The data is thrown away, so crash safety buys nothing and costs fsyncs and startup time.
        "--innodb-doublewrite=0",
        "--innodb-fast-shutdown=2",
        "--innodb-temp-data-file-path=ibtmp1:1M:autoextend",
        # Containers often exhaust the kernel's AIO slots when many servers run side by side.
        "--innodb-use-native-aio=0",
        # Every test connection would otherwise pay a reverse DNS lookup of 127.0.0.1.
        "--skip-name-resolve",
        "--performance-schema=OFF",
        "--loose-feedback=OFF",
    ]
    proc = Proc(name, argv, str(folder / "mariadb.log"), chosen)
    proc.spawn(new_session=new_session)
    ping = [*_mariadb_client_argv("mariadb-admin", chosen), "ping"]

    def ready() -> bool:
        if not tcp_accepts(chosen):
            return False
        pinged = subprocess.run(ping, capture_output=True, timeout=10, check=False)  # noqa: S603
        return pinged.returncode == 0

    try:
        proc.wait_until_ready(ready, timeout=timeout)
        # A port stolen between free_port() and bind would let us talk to a stranger's server;
        # never create anything there.
        served_from = mariadb_sql(chosen, "SELECT @@datadir").strip().rstrip("/")
        if Path(served_from).resolve() != datadir.resolve():
            raise ServiceError(
                f"port {chosen} is served from {served_from}, not from {datadir}; "
                "another server took the port"
            )
        if role != "replica":
            mariadb_sql(
                chosen,
                f"CREATE DATABASE IF NOT EXISTS `{DATABASE_NAME}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            )
    except BaseException:
        proc.stop()
        raise
    return proc


# --- S3 (moto) -------------------------------------------------------------------------------


def moto_server_path() -> Path:
    # Not resolved: a venv's python is a symlink to the base interpreter, whose bin folder is not
    # the venv's.
    return Path(sys.executable).parent / "moto_server"


def s3_available() -> bool:
    return os.access(moto_server_path(), os.X_OK)


def renditions_only_policy(bucket: str) -> str:
    """The media bucket's policy, as JSON: anyone may read renditions (display/, thumbs/), share
    cards (cards/) and the open data dumps (open-data/) and nobody the originals, as only
    CloudFront may read them in production."""
    statement = {
        "Sid": "CdnReadsRenditions",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": [
            f"arn:aws:s3:::{bucket}/{prefix}/*"
            for prefix in ("display", "thumbs", "cards", "open-data")
        ],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def start_s3(
    port: int | None = None,
    *,
    name: str = "s3",
    log_dir: Path | None = None,
    executable: Path | None = None,
    timeout: float = 30.0,
    new_session: bool = False,
) -> Proc:
    chosen = port if port is not None else free_port()
    binary = executable if executable is not None else moto_server_path()
    if not os.access(binary, os.X_OK):
        raise ServiceError(f"{binary} not found; install moto[server] into this virtualenv")
    if log_dir is None:
        log_dir = Path(tempfile.gettempdir())
    argv = [str(binary), "-H", HOST, "-p", str(chosen)]
    proc = Proc(name, argv, str(log_dir / f"s3-{chosen}.log"), chosen)
    proc.spawn(new_session=new_session)
    url = f"http://{proc.address}/"
    try:
        proc.wait_until_ready(lambda: http_status(url, timeout=1) != 0, timeout)
    except BaseException:
        proc.stop()
        raise
    return proc
