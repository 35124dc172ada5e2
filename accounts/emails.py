"""Every email Beebeta sends: one function each, subject and body from templates.

None is sent here: each is written to the outbox (accounts/outbox.py) in the caller's
transaction and sent by `manage.py send_outbox`. Links are absolute, built on ``site``, the
scheme and host the request came to (``site_of``). A message expires with the link it carries,
so a message still waiting for a mail server that was down never delivers a dead link.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_registration.backends.activation import REGISTRATION_SALT

from accounts import outbox

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from polls.models import Question


def site_of(request: HttpRequest) -> str:
    """The scheme and host of ``request``, which links in emails start with."""
    return request.build_absolute_uri("/").rstrip("/")


def _send(*, to: str, template: str, context: dict[str, Any], expires_at: datetime | None) -> None:
    subject = render_to_string(f"{template}_subject.txt", context)
    body = render_to_string(f"{template}_body.txt", context)
    outbox.enqueue(to=to, subject=subject, body=body, expires_at=expires_at)


def activation_key(user: User) -> str:
    """The signed, timestamped username that django-registration's activation
    form verifies (the same as its ``RegistrationView.get_activation_key``)."""
    return signing.dumps(obj=user.get_username(), salt=REGISTRATION_SALT)


def link_minutes() -> int:
    return settings.EMAIL_LINK_MINUTES


def _link_expiry() -> datetime:
    return timezone.now() + timedelta(minutes=settings.EMAIL_LINK_MINUTES)


def send_activation_email(*, site: str, user: User, question: Question | None = None) -> None:
    query = urlencode({"activation_key": activation_key(user)})
    days = settings.ACCOUNT_ACTIVATION_DAYS
    _send(
        to=user.email,
        template="django_registration/activation_email",
        context={
            "user": user,
            "activation_link": f"{site}{reverse('django_registration_activate')}?{query}",
            "expiration_days": days,
            "question": question,
        },
        expires_at=timezone.now() + timedelta(days=days),
    )


def send_sign_in_link(
    *, site: str, user: User, token: str, question: Question | None = None, new_account: bool
) -> None:
    """The one-time link of a vote with an email address (or of a sign-up with an address that
    already has an account): it confirms the address, signs in and casts the held vote."""
    _send(
        to=user.email,
        template="accounts/email/sign_in_link",
        context={
            "user": user,
            "link": f"{site}{reverse('accounts:email_link', args=[token])}",
            "minutes": link_minutes(),
            "question": question,
            "new_account": new_account,
        },
        expires_at=_link_expiry(),
    )


def send_already_registered(*, site: str, user: User, token: str | None) -> None:
    """Someone signed up with the address of an existing account: tell its owner, not them."""
    context = {
        "user": user,
        "link": f"{site}{reverse('accounts:email_link', args=[token])}" if token else "",
        "minutes": link_minutes(),
        "login_link": f"{site}{reverse('accounts:login')}",
        "reset_link": f"{site}{reverse('accounts:password_reset')}",
    }
    _send(
        to=user.email,
        template="accounts/email/already_registered",
        context=context,
        expires_at=_link_expiry() if token else None,
    )


def send_staff_password_notice(*, site: str, user: User, question: Question) -> None:
    """An email vote for a staff address: staff sign in with their password, never a link."""
    _send(
        to=user.email,
        template="accounts/email/staff_password",
        context={
            "user": user,
            "question": question,
            "question_link": f"{site}{question.get_absolute_url()}",
            "login_link": f"{site}{reverse('accounts:login')}",
        },
        expires_at=None,
    )


def send_email_change_link(*, site: str, user: User, new_email: str, token: str) -> None:
    _send(
        to=new_email,
        template="accounts/email/confirm_new_email",
        context={
            "user": user,
            "link": f"{site}{reverse('accounts:email_link', args=[token])}",
            "minutes": link_minutes(),
        },
        expires_at=_link_expiry(),
    )


def send_address_in_use(*, site: str, to: str) -> None:
    """Someone asked to move their account to an address that already has one: its owner
    hears of it, and the one who asked gets the same answer as for a free address."""
    _send(
        to=to,
        template="accounts/email/address_in_use",
        context={"reset_link": f"{site}{reverse('accounts:password_reset')}"},
        expires_at=None,
    )


def send_email_changed_notice(*, user: User, old_email: str) -> None:
    """Tell the old address, so a stolen session cannot quietly take the account."""
    _send(
        to=old_email,
        template="accounts/email/email_changed",
        context={"user": user, "new_email": user.email},
        expires_at=None,
    )


def send_password_reset(*, to: str, subject_template: str, body_template: str, context) -> None:
    """Django's password reset email, rendered from its context, through the outbox."""
    subject = render_to_string(subject_template, context)
    body = render_to_string(body_template, context)
    expires_at = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    outbox.enqueue(to=to, subject=subject, body=body, expires_at=expires_at)
