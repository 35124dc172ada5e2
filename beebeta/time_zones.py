"""The reader's time zone: pages show times in it, and the ask form reads times typed in it.

It comes from a cookie, set by static/js/time-zone.js from the browser's own zone on a first
visit, or by the form at /time-zone/ (which works without JavaScript and wins over the
browser's zone). Without the cookie, or with a name that is not a known IANA zone, times are in
UTC. Nothing is stored on the account.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "tz"
COOKIE_SECONDS = 365 * 24 * 3600


@lru_cache(maxsize=1)
def known_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


@lru_cache(maxsize=64)
def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone called ``name``, if it is one the system knows (never a path or a made-up name)."""
    if name not in set(known_zones()):
        return None
    return zoneinfo.ZoneInfo(name)


class TimeZoneMiddleware:
    """Activates the reader's zone for the request, so templates and forms use it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_named(request.COOKIES.get(COOKIE, ""))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def remember_zone(response: HttpResponse, name: str) -> None:
    # Read by the script (not HttpOnly): it leaves a zone chosen with the form alone.
    response.set_cookie(
        COOKIE,
        name,
        max_age=COOKIE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
        httponly=False,
    )
