"""Every email the accounts app sends: one function each, subject and body
from templates.

Django's password-reset view sends its own email from
``registration/password_reset_subject.txt`` and ``password_reset_email.txt``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django_registration.backends.activation import REGISTRATION_SALT


def _send(request: HttpRequest, *, to: str, template: str, context: dict[str, object]) -> None:
    subject = render_to_string(f"{template}_subject.txt", context, request=request)
    body = render_to_string(f"{template}_body.txt", context, request=request)
    # A subject is one header line whatever the template renders.
    subject = " ".join(subject.split())
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


def activation_key(user) -> str:
    """The signed, timestamped username that django-registration's activation
    form verifies (the same as its ``RegistrationView.get_activation_key``)."""
    return signing.dumps(obj=user.get_username(), salt=REGISTRATION_SALT)


def send_activation_email(request: HttpRequest, user) -> None:
    query = urlencode({"activation_key": activation_key(user)})
    link = request.build_absolute_uri(f"{reverse('django_registration_activate')}?{query}")
    _send(
        request,
        to=user.email,
        template="django_registration/activation_email",
        context={
            "user": user,
            "activation_link": link,
            "expiration_days": settings.ACCOUNT_ACTIVATION_DAYS,
        },
    )


def send_email_changed_notice(request: HttpRequest, user, *, old_email: str) -> None:
    """Tell the old address, so a stolen session cannot quietly take the account."""
    _send(
        request,
        to=old_email,
        template="accounts/email/email_changed",
        context={"user": user, "new_email": user.email},
    )
