"""Limits on the requests that send account emails, counted inside Django.

Sign-up, voting with an email address, password reset, a new activation link and an email
change each send a message. Counted over ACCOUNT_EMAIL_WINDOW_SECONDS: requests of each kind
from one client address (taken only through TRUSTED_PROXIES, beebeta/client_ip.py), of each
kind by one signed-in account, and messages to one email address whatever asked for them, so
nobody can flood an inbox from many addresses. Past a limit the request gets the 429 page and
sends nothing. The counters are polls.ratelimit's (memcached, atomic); the limit on an address
counts every request for it, known to Beebeta or not, so a 429 tells nothing about accounts.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.models import email_key
from beebeta.client_ip import client_ip
from beebeta.views import too_many_requests
from polls.ratelimit import Limit, refusal

SIGN_UP = "sign-up"
EMAIL_VOTE = "email-vote"
PASSWORD_RESET = "password-reset"  # noqa: S105  (a name, not a password)
RESEND = "resend"
CHANGE_EMAIL = "change-email"


def _address(email: str) -> str:
    # Never an address in a cache key: a digest of its lower-case form.
    return hashlib.blake2b(email_key(email).encode(), digest_size=16).hexdigest()


def refuse(
    request: HttpRequest, *, action: str, email: str = "", account_id: int | None = None
) -> HttpResponse | None:
    """Count one request of ``action``; the 429 page once a limit is passed, else None.

    ``email``: the address the request would write to; ``account_id``: the signed-in account
    that asks (for an email change) or the account a new link is for.
    """
    limits = [
        Limit(f"mail:{action}:client", client_ip(request), settings.ACCOUNT_EMAILS_PER_CLIENT)
    ]
    if account_id is not None:
        limits.append(
            Limit(f"mail:{action}:account", str(account_id), settings.ACCOUNT_EMAILS_PER_ACCOUNT)
        )
    if email:
        limits.append(Limit("mail:to", _address(email), settings.ACCOUNT_EMAILS_PER_ADDRESS))
    retry_after = refusal(limits, window=settings.ACCOUNT_EMAIL_WINDOW_SECONDS)
    return None if retry_after is None else too_many_requests(retry_after=retry_after)
