"""Plain HTTP clients of the local stack, for tests that need many requests or odd headers."""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from deploy.stack import DEMO_PASSWORD, HOST, LB_ADDRESS, Stack


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- HTTP clients ----------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return Answer(response.status, response.headers, response.read())


def through_balancer(stack: Stack, *, source: str = HOST) -> http.client.HTTPSConnection:
    """A client of the site: TLS to HAProxy, checking the stack's own certificate.

    ``source`` is the client's own loopback address: nginx's rate limits count per client,
    so a test that floods the limits does it from an address no other test uses."""
    return http.client.HTTPSConnection(
        HOST,
        stack.ports["haproxy"],
        context=stack.ssl_context(),
        timeout=30,
        source_address=(source, 0),
    )


def to_nginx(stack: Stack, number: int, *, as_balancer: bool) -> http.client.HTTPConnection:
    """Straight to one nginx, from the balancer's address or from an ordinary one."""
    source = (LB_ADDRESS, 0) if as_balancer else (HOST, 0)
    return http.client.HTTPConnection(
        HOST, stack.ports[f"nginx-{number}"], source_address=source, timeout=30
    )


_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Failure:
    method: str
    path: str
    sent_at: float  # time.monotonic() when the request went out
    error: str


@dataclass
class Visitor:
    """A person with cookies, over HAProxy: logs in, reads pages, votes. Counts what failed."""

    stack: Stack
    # The loopback address it connects from: nginx's rate limits count per client address.
    source: str = HOST
    cookies: dict[str, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    last: tuple[str, str, float] = ("", "", 0.0)

    def _send(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Answer:
        self.last = (method, path, time.monotonic())
        connection = through_balancer(self.stack, source=self.source)
        try:
            cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            sent = {"Cookie": cookie, "Referer": self.stack.url, **headers}
            answer = request(connection, method, path, headers=sent, body=body)
        finally:
            connection.close()
        self.requests += 1
        for header in answer.header_values("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer

    def get(self, path: str) -> Answer:
        return self._send("GET", path)

    def post_form(self, path: str, fields: dict[str, str], form_path: str | None = None) -> Answer:
        page = self.get(form_path or path)
        token = _CSRF_FIELD.search(page.body)
        assert token, f"no CSRF token on {form_path or path}"
        data = {"csrfmiddlewaretoken": token.group(1).decode(), **fields}
        body = "&".join(f"{key}={value}" for key, value in data.items()).encode()
        return self._send(
            "POST", path, body, **{"Content-Type": "application/x-www-form-urlencoded"}
        )

    def log_in(self, username: str, password: str = DEMO_PASSWORD) -> None:
        answer = self.post_form("/accounts/login/", {"username": username, "password": password})
        assert answer.status == 302, f"log in as {username}: {answer.status}"


class Load:
    """Visitors requesting pages (and voting) in background threads until stopped."""

    def __init__(self, visitors: list[Visitor], step: Callable[[Visitor, int], None]) -> None:
        self.visitors, self.step = visitors, step
        self.running = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(v,)) for v in visitors]

    def _run(self, visitor: Visitor) -> None:
        turn = 0
        while self.running.is_set():
            try:
                self.step(visitor, turn)
            except (OSError, http.client.HTTPException, AssertionError) as error:
                failure = Failure(*visitor.last, f"{type(error).__name__}: {error}")
                visitor.failures.append(failure)
            turn += 1

    def __enter__(self) -> Load:
        self.running.set()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running.clear()
        for thread in self.threads:
            thread.join(timeout=60)

    @property
    def failures(self) -> list[Failure]:
        return [failure for visitor in self.visitors for failure in visitor.failures]

    @property
    def requests(self) -> int:
        return sum(visitor.requests for visitor in self.visitors)


def log_lines(path: str | Path) -> list[str]:
    return Path(path).read_text(errors="replace").splitlines()


_FALLBACK = re.compile(r"upstream=\S+:\d+, \S+:\d+:")


def fallbacks(stack: Stack, nginx: str) -> int:
    """Requests this nginx passed to its backup app server after its own refused them
    (nginx logs both upstream addresses then)."""
    return len(_FALLBACK.findall((stack.home / nginx / "access.log").read_text()))
