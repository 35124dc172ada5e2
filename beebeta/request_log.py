"""One JSON line per request, with an id that follows the request everywhere.

The id comes from nginx (its ``$request_id``, sent as ``X-Request-ID``) when it
is well formed, and is made up here otherwise. It goes back to the client in
the ``X-Request-ID`` response header, into the log line, and onto Sentry events
(``beebeta.monitoring`` reads the current request from here).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable

import sentry_sdk
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

logger = logging.getLogger("beebeta.requests")
# nginx passes its $request_id on; anything else a client sends is not trusted.
_VALID_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_current: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "beebeta_current_request", default=None
)


def current_request() -> HttpRequest | None:
    """The request being handled in this thread (or task), if any."""
    return _current.get()


def known_user_id(request: HttpRequest) -> int | None:
    """The user's id if the request already looked the user up; never a query of its own
    (the database may be the reason the request failed)."""
    user = request.__dict__.get("user")
    # _wrapped is Django's own marker of a lazy object not yet evaluated; the stubs omit it.
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        return None
    return user.pk if user is not None and user.is_authenticated else None


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        # On the request's own scope (Sentry's WSGI handler gives each one its
        # own): errors and traces of this request carry it.
        sentry_sdk.set_tag("request_id", request_id)
        token = _current.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        if settings.REQUEST_LOG:
            logger.info(json.dumps(_line(request, request_id, response, started)))
        return response


def _line(
    request: HttpRequest, request_id: str, response: HttpResponse, started: float
) -> dict[str, object]:
    # The route's name, never the path: paths and query strings can carry
    # tokens (password reset links) and slugs people typed.
    match = getattr(request, "resolver_match", None)
    return {
        "request_id": request_id,
        "method": request.method,
        "route": match.view_name if match else None,
        "status": response.status_code,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        "user_id": known_user_id(request),
    }
