"""Fixtures for the analytics and monitoring tests: local receivers wired into settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sentry_sdk
from django.utils import timezone

from beebeta import analytics, monitoring
from tests.monitoring.receivers import OK, Receiver, mixpanel_events


class Mixpanel:
    """The receiver standing in for Mixpanel, with the events it got."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def events(self, name: str | None = None) -> list[dict]:
        """Every event received so far (after sending what is queued), or those named ``name``."""
        assert analytics.flush(timeout=10), analytics.counters()
        events = mixpanel_events(self.receiver)
        return [e for e in events if name is None or e["event"] == name]

    def one(self, name: str) -> dict:
        found = self.events(name)
        assert len(found) == 1, [e["event"] for e in self.events()]
        return found[0]["properties"]


@pytest.fixture
def mixpanel_receiver(settings, monkeypatch) -> Callable[..., Mixpanel]:
    """Start a receiver that behaves as asked and point Mixpanel's events at it."""
    monkeypatch.setattr(analytics, "BATCH_WAIT_SECONDS", 0.05)
    receivers: list[Receiver] = []

    def start(behaviour: str = OK, *, token: str = "test-token") -> Mixpanel:  # noqa: S107
        receiver = Receiver(behaviour).__enter__()
        receivers.append(receiver)
        settings.MIXPANEL_TOKEN = token
        settings.MIXPANEL_EVENTS_URL = f"{receiver.url}/track"
        return Mixpanel(receiver)

    analytics.reset()
    yield start
    analytics.reset()
    for receiver in receivers:
        receiver.__exit__(None, None, None)


@pytest.fixture
def mixpanel(mixpanel_receiver) -> Mixpanel:
    return mixpanel_receiver()


@pytest.fixture
def established(alice):
    """Alice, a member for two months."""
    alice.date_joined = timezone.now() - timedelta(days=60)
    alice.save(update_fields=["date_joined"])
    return alice


@pytest.fixture
def start_sentry() -> Iterator[Callable[..., Receiver]]:
    """Initialise Sentry as settings.py does, with its DSN on a local envelope receiver;
    afterwards the client is closed and the process has no Sentry client again."""
    receivers: list[Receiver] = []

    def start(*, traces_sample_rate: float = 0.0) -> Receiver:
        receiver = Receiver().__enter__()
        receivers.append(receiver)
        monitoring.init_sentry(
            dsn=f"http://public@127.0.0.1:{receiver.port}/1",
            environment="test",
            release="test-release",
            traces_sample_rate=traces_sample_rate,
        )
        return receiver

    try:
        # The test client bypasses the WSGI handler that gives each request its
        # own scope in production: give the test one.
        with sentry_sdk.isolation_scope():
            yield start
    finally:
        sentry_sdk.get_client().close(timeout=5)
        sentry_sdk.get_global_scope().set_client(None)
        for receiver in receivers:
            receiver.__exit__(None, None, None)
