"""The processes of the local stack and of the test services: started, waited for, known by pid
and start time, stopped; free loopback ports; a command run with servers around it.

Standard library only: tests/services.py starts the test suite's servers with it before anything
else is imported, and the relays run without Django.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0

# Debian puts mariadbd, nginx and haproxy in /usr/sbin, which is not on a normal user's PATH.
_EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


class ServiceError(RuntimeError):
    pass


# --- ports, programs and answers ----------------------------------------------------------------


def free_port() -> int:
    # The port is free when we close the socket; another process could take it before the
    # server binds. Every readiness check therefore makes sure it reached its own process.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def free_ports(names: Sequence[str]) -> dict[str, int]:
    """A different free port for each name."""
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        port = free_port()
        if port not in ports.values():
            ports[names[len(ports)]] = port
    return ports


def find_executable(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path=os.pathsep.join(_EXTRA_BIN_DIRS))
    if found is None:
        raise ServiceError(f"{name} not found; install it with: deploy/os-packages.sh test")
    return found


def tcp_accepts(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url: str, *, context: ssl.SSLContext | None = None, timeout: float = 2.0) -> int:
    """The status of a GET, or 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return 0


def log_tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty log)"


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone (or a zombie).

    With the pid it names one process for good: a pid the kernel hands out again after our
    process ended comes with another start time, so a stop can never signal a stranger.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


# --- one process ------------------------------------------------------------------------------


@dataclass
class Proc:
    """One server process: how to start it (again), and how to know it and stop it.

    Its starter holds the Popen; another command (`make stack-down`) finds it again from its
    record (to_json) by pid and start time.
    """

    name: str
    argv: list[str]
    log: str
    port: int
    stop_signal: int = signal.SIGTERM
    extra_env: dict[str, str] | None = None  # None: not a Django process
    pid: int = 0
    started: int = 0
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "argv": self.argv,
            "log": self.log,
            "port": self.port,
            "stop_signal": int(self.stop_signal),
            "extra_env": self.extra_env,
            "pid": self.pid,
            "started": self.started,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proc:
        return cls(**data)

    def spawn(
        self,
        *,
        new_session: bool = False,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """Start the process, its output appended to its log."""
        with Path(self.log).open("ab") as log:
            # new_session stays False for the test services: a Ctrl-C or hang-up of the terminal
            # then reaches them too, so they do not outlive a runner that dies without cleaning
            # up. Only servers meant to outlive their starter (`make stack`) detach.
            self.popen = subprocess.Popen(  # noqa: S603 - the stack's own servers
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
                env=None if env is None else dict(env),
                cwd=cwd,
            )
        self.pid = self.popen.pid
        self.started = start_time(self.pid) or 0

    def wait_until_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        """Return once ``ready()``; stop the process and raise if it exits or takes too long."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise ServiceError(
                    f"{self.name} exited with code {self._exit_code()} while starting; "
                    f"log {self.log}:\n{log_tail(Path(self.log))}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(
                    f"{self.name} did not become ready on {self.address} within {timeout:.0f} s; "
                    f"log {self.log}:\n{log_tail(Path(self.log))}"
                )
            time.sleep(0.05)

    def _exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.returncode

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return self.pid > 0 and start_time(self.pid) == self.started

    def send(self, signum: int) -> None:
        if self.popen is not None:
            # Popen.send_signal does nothing once the child is reaped: no recycled pid is hit.
            if self.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.popen.send_signal(signum)
        elif self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def wait(self, timeout: float) -> bool:
        if self.popen is not None:
            try:
                self.popen.wait(timeout=max(timeout, 0.0))
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def finish(self, timeout: float) -> None:
        """Wait for the process to end after its stop signal; kill it if it will not."""
        if not self.wait(timeout):
            self.send(signal.SIGKILL)
            self.wait(5.0)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process with its stop signal and wait until it is gone."""
        self.send(self.stop_signal)
        self.finish(timeout)


def stop_all(procs: Iterable[Proc], timeout: float = STOP_TIMEOUT) -> None:
    """Stop every process, in the order given; all are told before any is waited for."""
    # memcached takes most of a second to exit after SIGTERM, nginx finishes its requests: told
    # first, then waited for, their shutdowns overlap instead of adding up.
    procs = list(procs)
    for proc in procs:
        proc.send(proc.stop_signal)
    deadline = time.monotonic() + timeout
    for proc in procs:
        proc.finish(max(0.0, deadline - time.monotonic()))


# --- a command with servers around it -----------------------------------------------------------


class _Interrupted(BaseException):
    """A stop signal, turned into an exception so that every `finally` and `with` exit runs."""

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


def run_with(
    servers: AbstractContextManager[Mapping[str, str]],
    command: Sequence[str],
    *,
    unset: Collection[str] = (),
    announce: Callable[[str], None],
) -> int:
    """Enter ``servers`` (which starts them and yields the variables that say where they are),
    run ``command`` with those variables and without ``unset``, and return its exit code.

    Whatever happens (the command fails, Ctrl-C, SIGTERM, a hang-up, even while the servers are
    still starting), ``servers`` is left, so every server it started stops.
    """
    handler = _SignalHandler()
    handler.install()
    try:
        with servers as variables:
            env = {name: value for name, value in os.environ.items() if name not in unset}
            env.update(variables)
            child = subprocess.Popen(list(command), env=env)  # noqa: S603 - the caller's command
            handler.child = child
            try:
                return _exit_code(child.wait())
            finally:
                if child.poll() is None:
                    _reap(child, handler.fired or signal.SIGTERM)
                handler.cleaning_up = True
    except _Interrupted as interrupted:
        announce(f"stopped by signal {signal.Signals(interrupted.signum).name}")
        return 128 + interrupted.signum
    except ServiceError as error:
        announce(f"error: {error}")
        return 1
    except FileNotFoundError as error:
        announce(f"error: {error}")
        return 127
