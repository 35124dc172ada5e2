"""Throwaway MariaDB, memcached and S3 (moto) processes for the test suite.

Run a command with them:    python3 tests/services.py [--no-s3] [--keep] -- COMMAND ARGS...
Or from Python:             with running_services(s3=False) as env: ...

Standard library only: it has to work before (and without) the project's virtualenv.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HOST = "127.0.0.1"
DATABASE_NAME = "beebeta"
STOP_TIMEOUT = 10.0

# Debian puts mariadbd in /usr/sbin, which is not on a normal user's PATH.
_EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


class ServiceError(RuntimeError):
    pass


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def terminate(self) -> None:
        # Popen.send_signal does nothing once the child has been reaped, so a recycled pid
        # belonging to someone else can never be signalled from here.
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()


def stop_all(services: Sequence[Service], timeout: float = STOP_TIMEOUT) -> None:
    # memcached takes most of a second to exit after SIGTERM; signalling everyone before waiting
    # on anyone keeps that from adding up.
    for service in services:
        service.terminate()
    deadline = time.monotonic() + timeout
    for service in reversed(services):
        service.stop(timeout=max(0.0, deadline - time.monotonic()))


def free_port() -> int:
    # The port is free when we close the socket; another process could take it before the
    # service binds. Each start_* function therefore checks it reached its own process.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def _find_executable(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        extra = os.pathsep.join(_EXTRA_BIN_DIRS)
        found = shutil.which(name, path=extra)
    if found is None:
        raise ServiceError(f"{name} not found; install it with: deploy/os-packages.sh test")
    return found


def _is_root() -> bool:
    return os.geteuid() == 0


def _service_user() -> str:
    # Both servers refuse to run as root unless told to; as anyone else the option is moot.
    if _is_root():
        return "root"
    return pwd.getpwuid(os.geteuid()).pw_name


def _log_tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty log)"


def _spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    *,
    new_session: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        # new_session stays False for the test services: a Ctrl-C or hang-up of the terminal then
        # reaches them too, so they do not outlive a runner that dies without cleaning up. Only
        # servers meant to outlive their starter (`make stack`, deploy/stack/) detach.
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
            env=None if env is None else dict(env),
            cwd=cwd,
        )


def _tcp_accepts(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_until(service: Service, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if service.process.poll() is not None:
            raise ServiceError(
                f"{service.name} exited with code {service.process.returncode} while starting; "
                f"log {service.log_path}:\n{_log_tail(service.log_path)}"
            )
        if ready():
            return
        if time.monotonic() > deadline:
            service.stop()
            raise ServiceError(
                f"{service.name} did not become ready on {service.address} within {timeout:.0f} s; "
                f"log {service.log_path}:\n{_log_tail(service.log_path)}"
            )
        time.sleep(0.05)


# --- memcached -------------------------------------------------------------------------------


def _memcached_stats(port: int) -> dict[str, str]:
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
    log_dir: Path | None = None,
    memory_mb: int = 64,
    new_session: bool = False,
) -> Service:
    chosen = port if port is not None else free_port()
    if log_dir is None:
        log_dir = Path(tempfile.gettempdir())
    log_path = log_dir / f"memcached-{chosen}.log"
    argv = [
        _find_executable("memcached"),
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
    process = _spawn("memcached", argv, log_path, new_session=new_session)
    service = Service("memcached", process, chosen, log_path)

    def ready() -> bool:
        if not _tcp_accepts(chosen):
            return False
        try:
            # Something else grabbing the port between free_port() and bind would otherwise
            # look like a healthy memcached.
            return _memcached_stats(chosen).get("pid") == str(service.pid)
        except OSError:
            return False

    _wait_until(service, ready, timeout=10)
    return service


# --- MariaDB ---------------------------------------------------------------------------------


def _mariadb_client_argv(tool: str, port: int) -> list[str]:
    # --no-defaults: a [client] section in the machine's my.cnf (password, socket) must not leak in.
    return [
        _find_executable(tool),
        "--no-defaults",
        "--protocol=tcp",
        f"-h{HOST}",
        f"-P{port}",
        "-uroot",
        "--connect-timeout=2",
    ]


def _mariadb_sql(port: int, sql: str) -> str:
    result = subprocess.run(
        [*_mariadb_client_argv("mariadb", port), "--batch", "--skip-column-names", "-e", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"mariadb on port {port}: {sql!r} failed: {result.stderr.strip()}")
    return result.stdout


def _install_mariadb(tmpdir: Path, datadir: Path, user: str, storage_flags: list[str]) -> None:
    install = subprocess.run(
        [
            _find_executable("mariadb-install-db"),
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
    (tmpdir / "mariadb-install.log").write_bytes(install.stdout)
    if install.returncode != 0:
        tail = install.stdout.decode(errors="replace").splitlines()[-30:]
        raise ServiceError("mariadb-install-db failed:\n" + "\n".join(tail))


def start_mariadb(
    tmpdir: Path,
    port: int | None = None,
    *,
    timeout: float = 30.0,
    new_session: bool = False,
    install: bool = True,
) -> Service:
    """A MariaDB server with its data in tmpdir/mariadb. ``install=False`` starts it again on the
    data an earlier start installed (a restart: the rows are still there)."""
    chosen = port if port is not None else free_port()
    datadir = tmpdir / "mariadb"
    log_path = tmpdir / "mariadb.log"
    user = _service_user()
    # Sizes given to install-db as well, or it writes a 96 MB redo log that the server then shrinks.
    storage_flags = [
        "--innodb-log-file-size=16M",
        "--innodb-buffer-pool-size=64M",
    ]
    if install:
        _install_mariadb(tmpdir, datadir, user, storage_flags)
    argv = [
        _find_executable("mariadbd"),
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
        "--skip-log-bin",
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
    process = _spawn("mariadb", argv, log_path, new_session=new_session)
    service = Service("mariadb", process, chosen, log_path)

    ping = [*_mariadb_client_argv("mariadb-admin", chosen), "ping"]

    def ready() -> bool:
        if not _tcp_accepts(chosen):
            return False
        pinged = subprocess.run(ping, capture_output=True, timeout=10, check=False)
        return pinged.returncode == 0

    try:
        _wait_until(service, ready, timeout=timeout)
        # A port stolen between free_port() and bind would let us talk to a stranger's server;
        # never create anything there.
        served_from = _mariadb_sql(chosen, "SELECT @@datadir").strip().rstrip("/")
        if Path(served_from).resolve() != datadir.resolve():
            raise ServiceError(
                f"port {chosen} is served from {served_from}, not from {datadir}; "
                "another server took the port"
            )
        _mariadb_sql(
            chosen,
            f"CREATE DATABASE IF NOT EXISTS `{DATABASE_NAME}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        )
    except BaseException:
        service.stop()
        raise
    return service


# --- S3 (moto) -------------------------------------------------------------------------------


def moto_server_path() -> Path:
    # Not resolved: a venv's python is a symlink to the base interpreter, whose bin folder is not
    # the venv's.
    return Path(sys.executable).parent / "moto_server"


def s3_available() -> bool:
    return os.access(moto_server_path(), os.X_OK)


def _http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - fixed loopback http URL
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def start_s3(
    port: int | None = None,
    *,
    log_dir: Path | None = None,
    executable: Path | None = None,
    timeout: float = 30.0,
    new_session: bool = False,
) -> Service:
    chosen = port if port is not None else free_port()
    binary = executable if executable is not None else moto_server_path()
    if not os.access(binary, os.X_OK):
        raise ServiceError(f"{binary} not found; install moto[server] into this virtualenv")
    if log_dir is None:
        log_dir = Path(tempfile.gettempdir())
    log_path = log_dir / f"s3-{chosen}.log"
    argv = [str(binary), "-H", HOST, "-p", str(chosen)]
    service = Service("s3", _spawn("s3", argv, log_path, new_session=new_session), chosen, log_path)
    try:
        _wait_until(service, lambda: _http_answers(f"http://{service.address}/"), timeout=timeout)
    except BaseException:
        service.stop()
        raise
    return service


# --- all together ----------------------------------------------------------------------------


@contextlib.contextmanager
def running_services(
    s3: bool = False,
    *,
    keep: bool = False,
    announce: bool = True,
) -> Iterator[dict[str, str]]:
    with contextlib.ExitStack() as stack:
        tmpdir = Path(tempfile.mkdtemp(prefix="beebeta-services-"))
        # Registered first so it runs last, once every server has let go of its files.
        if keep:
            stack.callback(_say, f"kept {tmpdir}")
        else:
            stack.callback(shutil.rmtree, tmpdir, ignore_errors=True)

        services: list[Service] = []
        stack.callback(stop_all, services)

        def started(service: Service) -> Service:
            services.append(service)
            if announce:
                _say(f"{service.name} on {service.address} (pid {service.pid})")
            return service

        mariadb = started(start_mariadb(tmpdir))
        caches = [started(start_memcached(log_dir=tmpdir)) for _ in range(2)]
        env = {
            "DATABASE_URL": f"mysql://root@{mariadb.address}/{DATABASE_NAME}",
            "MEMCACHED_LOCATIONS": ",".join(c.address for c in caches),
            "BEEBETA_TEST_SERVICES": "1",
            "BEEBETA_TEST_MARIADB_PORT": str(mariadb.port),
            "BEEBETA_TEST_MARIADB_PID": str(mariadb.pid),
            "BEEBETA_TEST_MEMCACHED_PIDS": ",".join(str(c.pid) for c in caches),
            "BEEBETA_TEST_TMPDIR": str(tmpdir),
        }
        if s3:
            bucket_server = started(start_s3(log_dir=tmpdir))
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


# --- command line ----------------------------------------------------------------------------

# A developer's shell may point at real storage; the suite must never inherit that.
_SCRUBBED_FROM_CHILD = ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_SESSION_TOKEN")


class _Interrupted(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _from_terminal(signum: int) -> bool:
    # Ctrl-C at a terminal reaches the whole foreground process group, child included; a second
    # SIGINT from us would make pytest abandon its teardown. A `kill -INT` aimed at the runner
    # alone must still be passed on.
    if signum != signal.SIGINT:
        return False
    try:
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(tty)


class _SignalHandler:
    """Turns the first SIGINT/SIGTERM/SIGHUP into _Interrupted so `finally` blocks run."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.fired: int | None = None
        self.cleaning_up = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.child is not None and self.child.poll() is None and not _from_terminal(signum):
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signum)
        if self.fired is None and not self.cleaning_up:
            self.fired = signum
            raise _Interrupted(signum)
        # Once stopping has begun, another signal must not cut it short and strand a server.

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _reap(child: subprocess.Popen[bytes], signum: int) -> None:
    try:
        child.wait(timeout=STOP_TIMEOUT)
        return
    except subprocess.TimeoutExpired:
        pass
    if signum == signal.SIGINT:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        try:
            child.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        child.kill()
    child.wait()


def _parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
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
    args, command = _parse_args(sys.argv[1:] if argv is None else argv)
    s3 = s3_available() if args.s3 is None else args.s3
    handler = _SignalHandler()
    handler.install()
    try:
        with running_services(s3=s3, keep=args.keep) as service_env:
            env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_FROM_CHILD}
            env.update(service_env)
            child = subprocess.Popen(command, env=env)
            handler.child = child
            try:
                return _exit_code(child.wait())
            finally:
                if child.poll() is None:
                    _reap(child, handler.fired or signal.SIGTERM)
                handler.cleaning_up = True
    except _Interrupted as interrupted:
        _say(f"stopped by signal {signal.Signals(interrupted.signum).name}")
        return 128 + interrupted.signum
    except ServiceError as error:
        _say(f"error: {error}")
        return 1
    except FileNotFoundError as error:
        _say(f"error: {error}")
        return 127


if __name__ == "__main__":
    sys.exit(main())
