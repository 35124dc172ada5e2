"""The local stack (deploy/stack/) for the end-to-end tests: brought up once per session, and
always taken down, whatever happens to the tests in between.

Tests that stop one of its processes start it again before they end, so every test finds the
whole topology running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import tests.conftest as shared
from tests.stack.clients import Members, wait_for


@pytest.fixture
def _accept_stack_certificate(monkeypatch) -> None:
    # The stack's certificate is its own, self-signed: only these tests' browser accepts it.
    flags = (*shared.CHROMIUM_FLAGS, "--ignore-certificate-errors")
    monkeypatch.setattr(shared, "CHROMIUM_FLAGS", flags)


@pytest.fixture
def browser(_accept_stack_certificate, browser):
    """tests/conftest.py's Chromium, told to accept the stack's certificate."""
    return browser


@pytest.fixture(scope="session")
def members(stack) -> Members:
    """Accounts that have never voted, made once for the session; each test takes its own."""
    return Members(stack, 60)


@pytest.fixture
def restart_afterwards(stack) -> Iterator[Callable[..., None]]:
    """stop(name, signum=None): stop one of the stack's processes (gracefully, or with that
    signal); it is started again after the test if the test has not done it."""
    stopped: list[str] = []

    def stop(name: str, signum: int | None = None) -> None:
        stopped.append(name)
        stack.stop(name, signum)

    yield stop
    for name in stopped:
        if not stack.procs[name].alive():
            stack.start(name)
    wait_for(lambda: set(stack.backend_status().values()) == {"UP"}, "both nginx back in HAProxy")
