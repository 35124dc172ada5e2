"""Error pages.

500, 503 and 429 are rendered without the request (``render(None, ...)``, so no
context processor runs): when they are needed the database may be down, and the
base template would otherwise ask it who the visitor is.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

RETRY_AFTER_SECONDS = 30


def service_unavailable(request: HttpRequest | None = None) -> HttpResponse:
    response = render(None, "503.html", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def too_many_requests(*, retry_after: int) -> HttpResponse:
    # The same page nginx shows for its own rate limits.
    response = render(None, "429.html", status=429)
    response["Retry-After"] = str(retry_after)
    return response


def too_many_requests_on(response: HttpResponse, *, retry_after: int | None) -> HttpResponse:
    """A form page answered as a 429: what was typed stays on it, with the reason at the top.
    ``retry_after``: seconds until a retry may pass, when that is known."""
    response.status_code = 429
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def wait_words(seconds: int) -> str:
    """How long to wait, in words: "about 5 minutes"."""
    minutes = max(1, -(-seconds // 60))
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while the exception is being handled. A database that
    # cannot be reached is an outage, not a bug: say so with a 503 the load
    # balancer and browsers understand, and ask to retry.
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return service_unavailable(request)
    return render(None, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
