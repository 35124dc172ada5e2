"""The load balancer's health check, answered before the rest of the middleware.

It sits first so that a check addressed to the instance's own IP (which is
not in ALLOWED_HOSTS) is not refused, sessions and auth are never touched, and
the answer depends on the database alone: a dead memcached is reported but is
not a reason to take the instance out of service.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

PATH = "/healthz"


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # Drop the broken connection so the next request reconnects.
        connection.close_if_unusable_or_obsolete()
        return "unreachable"
    return "ok"


def cache_state() -> str:
    probe = secrets.token_hex(8)
    try:
        cache.set("healthz", probe, 30)
        return "ok" if cache.get("healthz") == probe else "unreachable"
    except Exception:  # noqa: BLE001  (any cache failure is only reported)
        return "unreachable"


def health_response() -> JsonResponse:
    database = database_state()
    body = {
        "status": "ok" if database == "ok" else "unavailable",
        "database": database,
        "cache": cache_state(),
    }
    response = JsonResponse(body, status=200 if database == "ok" else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == PATH and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
