"""The email outbox against a real SMTP server on loopback (aiosmtpd): while the server is down
or refuses, requests answer at once and nothing is lost; once it accepts, each message is
delivered exactly once, and refused ones wait longer each time."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from post_office.models import STATUS, Email

from accounts import outbox
from deploy.stack.processes import free_port
from tests.accounts.helpers import STRONG_PASSWORD

pytestmark = pytest.mark.django_db


class Mailbox:
    """An SMTP server's handler that refuses every message while ``refusing``, then accepts."""

    def __init__(self) -> None:
        self.refusing = True
        self.received: list[str] = []
        self.refused = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.received.append(envelope.content.decode("utf8", errors="replace"))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    port = free_port()
    mailbox = Mailbox()
    server = Controller(mailbox, hostname="127.0.0.1", port=port)
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 5
    try:
        yield mailbox
    finally:
        server.stop()


def sign_up(username: str = "carol"):
    started = time.monotonic()
    response = Client().post(
        reverse("django_registration_register"),
        {
            "username": username,
            "email": f"{username}@example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )
    assert response.status_code == 302
    return time.monotonic() - started


def make_due() -> None:
    """As if the waits were over."""
    Email.objects.update(scheduled_time=timezone.now() - timedelta(seconds=1))


def test_a_refusing_server_loses_nothing_and_sends_nothing_twice(smtp, settings):
    settings.OUTBOX_RETRY_SECONDS, settings.OUTBOX_RETRY_MAX_SECONDS = 30, 900
    assert sign_up("carol") < 2 and sign_up("dave") < 2
    assert Email.objects.filter(status=STATUS.queued).count() == 2

    first = outbox.deliver()
    assert (first.sent, first.refused) == (0, 2) and smtp.refused == 2
    # Not due again before its wait is over: nothing is tried.
    assert outbox.deliver() == outbox.Delivery(sent=0, refused=0) and smtp.refused == 2
    waits = [
        (email.scheduled_time - timezone.now()).total_seconds() for email in Email.objects.all()
    ]
    assert all(20 < wait <= 30 for wait in waits), waits

    make_due()
    outbox.deliver()  # refused a second time: it waits twice as long
    assert smtp.refused == 4
    for email in Email.objects.all():
        assert email.number_of_retries == 2
        assert 50 < (email.scheduled_time - timezone.now()).total_seconds() <= 60

    smtp.refusing = False
    make_due()
    assert outbox.deliver().sent == 2
    assert len(smtp.received) == 2
    assert {line for m in smtp.received for line in m.splitlines() if line.startswith("To:")} == {
        "To: carol@example.com",
        "To: dave@example.com",
    }
    assert all("/accounts/activate/?activation_key=" in message for message in smtp.received)
    make_due()
    assert outbox.deliver().sent == 0 and len(smtp.received) == 2
    assert set(Email.objects.values_list("status", flat=True)) == {STATUS.sent}


def test_with_no_server_at_all_sign_up_answers_at_once_and_the_mail_follows(smtp, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    assert sign_up() < 2
    assert outbox.deliver().refused == 1
    settings.EMAIL_PORT = port
    smtp.refusing = False
    make_due()
    assert outbox.deliver().sent == 1 and len(smtp.received) == 1


def test_a_message_is_given_up_once_its_link_has_expired(smtp):
    sign_up()
    Email.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    smtp.refusing = False
    assert outbox.deliver().sent == 0 and smtp.received == []


def test_the_wait_doubles_up_to_its_ceiling(settings):
    settings.OUTBOX_RETRY_SECONDS, settings.OUTBOX_RETRY_MAX_SECONDS = 30, 900
    assert [outbox.retry_delay(n).total_seconds() for n in range(1, 8)] == [
        30,
        60,
        120,
        240,
        480,
        900,
        900,
    ]


def test_the_sender_command_reports_what_it_did(capsys, alice):
    Client().post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    from django.core.management import call_command

    call_command("send_outbox")
    assert "send_outbox: 1 sent, 0 to try again" in capsys.readouterr().out
    assert len(mail.outbox) == 1
