"""The email outbox: no request sends email.

A message is a row of post_office's Email table, written by ``enqueue`` in the transaction of
the change that causes it (a new account, a held vote, a password reset), so a message exists
exactly when its change committed. ``deliver`` (``manage.py send_outbox``, on a timer in
production, in the background under ``make run``) sends what is due through EMAIL_BACKEND.

A message the mail server refuses, or that cannot reach it, is tried again after
OUTBOX_RETRY_SECONDS, then after twice as long each time, up to OUTBOX_RETRY_MAX_SECONDS
between attempts, until it expires: a message stops being sent once the link in it no longer
works. A sent message is marked sent and never picked again; only one sender runs at a time
(deploy/manage_once.py holds a MySQL lock for the timer's runs), so none goes out twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from post_office.mail import get_queued, send_queued
from post_office.models import PRIORITY, STATUS, Email

# Rounds of one batch (POST_OFFICE["BATCH_SIZE"]) that one delivery sends at most: a bound, so
# a run ends even if messages keep arriving while it sends.
MAX_ROUNDS = 50


def enqueue(*, to: str, subject: str, body: str, expires_at: datetime | None) -> Email:
    """Write one plain-text message to the outbox, in the caller's transaction.

    The row is made directly rather than through post_office.mail.send, which would render the
    subject and body again as Django templates: a question's title could then inject template
    tags into an email.
    """
    return Email.objects.create(
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        subject=" ".join(subject.split()),  # one header line, whatever the template rendered
        message=body,
        status=STATUS.queued,
        priority=PRIORITY.medium,
        expires_at=expires_at,
    )


@dataclass(frozen=True)
class Delivery:
    sent: int
    refused: int


def deliver(*, now: datetime | None = None) -> Delivery:
    """Send every message that is due; schedule each refused one's next attempt."""
    sent = refused = 0
    for _ in range(MAX_ROUNDS):
        if not get_queued().exists():
            break
        started = timezone.now()
        round_sent, _failed, round_refused = send_queued()
        sent, refused = sent + round_sent, refused + round_refused
        _back_off(since=started)
        if not round_sent:
            break
    return Delivery(sent=sent, refused=refused)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th refusal of a message."""
    seconds = settings.OUTBOX_RETRY_SECONDS * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def _back_off(*, since: datetime) -> None:
    # post_office waits a fixed RETRY_INTERVAL (OUTBOX_RETRY_SECONDS) after every failure; the
    # messages it put back just now wait longer each time they are refused again.
    requeued = list(
        Email.objects.filter(
            status=STATUS.requeued, last_updated__gte=since, number_of_retries__gt=1
        ).only("pk", "number_of_retries", "last_updated")
    )
    for email in requeued:
        email.scheduled_time = email.last_updated + retry_delay(email.number_of_retries)
    Email.objects.bulk_update(requeued, ["scheduled_time"])


# Sent messages (their links long dead) are kept this long, for the admin's outbox view.
KEEP_SENT = timedelta(days=7)


def clear_old(*, now: datetime | None = None) -> int:
    """Delete messages sent, given up or expired more than KEEP_SENT ago; how many."""
    cutoff = (now or timezone.now()) - KEEP_SENT
    done = Email.objects.filter(status__in=[STATUS.sent, STATUS.failed], last_updated__lt=cutoff)
    expired = Email.objects.filter(expires_at__lt=cutoff)
    deleted, _ = (done | expired).delete()
    return deleted
