"""Fault controls of the local stack: relays that a test makes silent or slow on command.

`python -m deploy.stack up --relays` (and the end-to-end tests) put a relay in front of each
memcached node and the S3 API server, between them and the app servers, so a test can make a
service unreachable without stopping it (`Stack.relay`); stopping, killing, pausing and
restarting a process are `Stack.stop`, `Stack.send` and `Stack.start`. This module is both the
relay, one process per relayed service:

    python -m deploy.stack.faults --listen 127.0.0.1:PORT --target 127.0.0.1:PORT --control SOCKET

and the stack's side of its control socket (RELAYS, relay_argv, ask_relay). One line sent to
the control socket (a unix socket) changes the mode at once, and the answer is the relay's state
as one JSON line:

    forward       pass everything through (the starting mode)
    blackhole     accept connections and hold them: nothing is forwarded either way, on new and
                  existing connections alike, and nothing is answered, as when a node hangs or a
                  network drops packets. Going back to forward closes the held connections
                  without delivering what they were sent: a late, stale write could otherwise
                  reach the service after its client had given up on it.
    delay SECONDS wait that long before passing on each chunk, in both directions
    status        change nothing

The state counts the connections accepted and those caught by a blackhole, so a test can tell
that its clients did try the silent service. Standard library only; one process per relay, so a
busy test process can never slow the relay down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK = 65536
# The relays the stack can start, by process name, each in front of the service it names.
RELAYS = {"relay-memcached-1": "memcached-1", "relay-memcached-2": "memcached-2", "relay-s3": "s3"}


# --- the relay -------------------------------------------------------------------------------


class Dropped(Exception):
    """The connection was held by a blackhole that has ended: it is closed, not resumed."""


@dataclass(eq=False)
class Connection:
    held: bool = False


@dataclass
class Relay:
    target: tuple[str, int]
    mode: str = "forward"
    delay: float = 0.0
    accepted: int = 0
    held: int = 0
    connections: set[Connection] = field(default_factory=set)
    flowing: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.flowing.set()

    # --- the relayed connections --------------------------------------------------------------

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection()
        self.accepted += 1
        self.connections.add(connection)
        if self.mode == "blackhole":
            self._hold(connection)
        upstream: asyncio.StreamWriter | None = None
        try:
            # Nothing reaches the service before the gate opens, not even the connection.
            await self._pass(connection)
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
            pumps = [
                asyncio.create_task(self._pump(connection, reader, upstream)),
                asyncio.create_task(self._pump(connection, upstream_reader, writer)),
            ]
            # One side finished: so is the exchange (memcached and HTTP need no half-close).
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        except (OSError, Dropped):
            pass
        except asyncio.CancelledError:
            # The relay is stopping: asyncio.run cancels every connection. Ending quietly keeps
            # the streams' callback from logging each one as an error.
            pass
        finally:
            self.connections.discard(connection)
            for end in (writer, upstream):
                if end is not None:
                    end.close()

    async def _pump(
        self, connection: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(OSError, Dropped):
            while data := await reader.read(CHUNK):
                await self._pass(connection)
                if self.delay:
                    await asyncio.sleep(self.delay)
                    await self._pass(connection)  # a blackhole may have begun meanwhile
                writer.write(data)
                await writer.drain()

    async def _pass(self, connection: Connection) -> None:
        await self.flowing.wait()
        if connection.held:
            raise Dropped

    def _hold(self, connection: Connection) -> None:
        if not connection.held:
            connection.held = True
            self.held += 1

    # --- control --------------------------------------------------------------------------------

    def apply(self, command: str) -> None:
        words = command.split()
        if not words or words[0] == "status":
            return
        if words == ["forward"]:
            self.mode, self.delay = "forward", 0.0
            self.flowing.set()
        elif words == ["blackhole"]:
            self.mode = "blackhole"
            self.flowing.clear()
            for connection in self.connections:
                self._hold(connection)
        elif len(words) == 2 and words[0] == "delay":
            self.mode, self.delay = "delay", max(0.0, float(words[1]))
            self.flowing.set()
        else:
            raise ValueError(f"unknown command {command!r}")
        log(f"mode {self.mode}" + (f" {self.delay:g} s" if self.mode == "delay" else ""))

    def state(self) -> dict[str, object]:
        return {
            "pid": os.getpid(),
            "mode": self.mode,
            "delay": self.delay,
            "accepted": self.accepted,
            "held": self.held,
            "open": len(self.connections),
        }

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("ascii", "replace").strip()
            try:
                self.apply(line)
                answer = self.state()
            except ValueError as error:
                answer = {"error": str(error)}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} relay: {message}", flush=True)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def run(listen: tuple[str, int], target: tuple[str, int], control: Path) -> None:
    relay = Relay(target)
    # The relayed port first: the control socket answering means the relay is ready.
    relayed = await asyncio.start_server(relay.serve, *listen)
    with contextlib.suppress(FileNotFoundError):
        control.unlink()
    controller = await asyncio.start_unix_server(relay.control, path=str(control))
    log(f"{listen[0]}:{listen[1]} -> {target[0]}:{target[1]}, control {control}")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with relayed, controller:
        await stopping.wait()
    with contextlib.suppress(FileNotFoundError):
        control.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.stack.faults",
        description="A TCP relay that can go silent or slow: a stand-in for a failing network.",
    )
    parser.add_argument("--listen", type=_address, required=True, help="HOST:PORT to accept on")
    parser.add_argument("--target", type=_address, required=True, help="HOST:PORT to relay to")
    parser.add_argument("--control", type=Path, required=True, help="the control unix socket")
    options = parser.parse_args(argv)
    asyncio.run(run(options.listen, options.target, options.control))
    return 0


# --- the stack's side ------------------------------------------------------------------------


def relay_argv(*, listen: str, target: str, control: Path) -> list[str]:
    """How to start a relay from ``listen`` to ``target`` (HOST:PORT each), run from the
    repository's root."""
    argv = [sys.executable, "-m", "deploy.stack.faults", "--listen", listen, "--target", target]
    return [*argv, "--control", str(control)]


def ask_relay(control: Path, command: str) -> dict[str, Any]:
    """Send one command to the relay whose control socket is ``control``; its answer: the
    relay's state, or {"error": ...} for a command it does not know."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(control))
        sock.sendall(command.encode() + b"\n")
        with sock.makefile("rb") as answer:
            return json.loads(answer.readline())


if __name__ == "__main__":
    sys.exit(main())
