"""A throwaway HTTP server on loopback that records what it is sent.

It stands in for Mixpanel's /track and Sentry's envelope endpoint, so the real
clients (mixpanel's BufferedConsumer, sentry-sdk's transport) are tested over
real HTTP. It can answer as Mixpanel does, fail with a 500, or hang.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

OK, FAIL, HANG = "ok", "fail", "hang"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def decoded(self) -> bytes:
        encoding = self.headers.get("content-encoding", "")
        if encoding == "gzip":
            return gzip.decompress(self.body)
        if encoding == "deflate":
            return zlib.decompress(self.body)
        assert encoding in ("", "identity"), f"unexpected Content-Encoding {encoding}"
        return self.body


@dataclass
class Receiver:
    behaviour: str = OK
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.connected = threading.Event()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()  # let hanging handlers go
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body))
                receiver.connected.set()
                if receiver.behaviour == HANG:
                    receiver._release.wait()
                    self.close_connection = True
                    return
                if receiver.behaviour == FAIL:
                    self._answer(500, b"Internal Server Error", "text/plain")
                    return
                self._answer(200, json.dumps({"status": 1, "error": None}).encode())

            def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        return Handler


# --- Mixpanel -----------------------------------------------------------------------------


def mixpanel_posts(receiver: Receiver) -> list[dict[str, list[str]]]:
    """Each POST the mixpanel client made, as the form it sent (data, verbose, ip)."""
    return [parse_qs(item.decoded().decode()) for item in receiver.received]


def mixpanel_events(receiver: Receiver) -> list[dict[str, Any]]:
    events = []
    for form in mixpanel_posts(receiver):
        events.extend(json.loads(form["data"][0]))
    return events


# --- Sentry -------------------------------------------------------------------------------


def envelope_items(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """The items of a Sentry envelope: a header line, then (item header, payload) pairs,
    each payload either ``length`` bytes long or running to the end of its line."""
    _header, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        item_header = json.loads(line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        items.append((item_header, payload))
    return items


def sentry_items(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    """The payloads of the envelope items of one type ("event", "transaction")."""
    found = []
    for item in receiver.received:
        assert item.path == "/api/1/envelope/", item.path
        for header, payload in envelope_items(item.decoded()):
            if header.get("type") == kind:
                found.append(json.loads(payload))
    return found
