"""Which answers a shared cache in front of Django may keep: nginx's, and CloudFront's.

A page marked ``@edge_cacheable`` (a tag's page, a question's page) is the same for every
anonymous visitor: it carries no CSRF token, no session and no per-visitor id. Its
anonymous answer says so, ``Cache-Control: public, max-age=0, s-maxage=EDGE_CACHE_SECONDS``,
with ``X-Accel-Expires`` for nginx (which keeps it under a key that includes the reader's time
zone cookie, and never for a request that carries a session or a message: deploy/nginx/). Any
answer that names a signed-in visitor or holds a CSRF token is ``Cache-Control: private``, so no
shared cache keeps it whatever it is configured to do. Answers that already say how they may be
cached (never_cache, the static files) are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class _MarkedRequest(HttpRequest):
    edge_cacheable: bool


def edge_cacheable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a page whose anonymous answer is the same for every anonymous visitor."""

    @wraps(view)
    def marked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        cast(_MarkedRequest, request).edge_cacheable = True
        return view(request, *args, **kwargs)

    return marked


def _signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


class EdgeCacheMiddleware:
    """Below the session, CSRF and analytics middleware, so it sees every cookie they set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        personal = (
            _signed_in(request) or request.META.get("CSRF_COOKIE_USED") or bool(response.cookies)
        )
        seconds = settings.EDGE_CACHE_SECONDS
        if (
            not personal
            and seconds
            and getattr(request, "edge_cacheable", False)
            and request.method in ("GET", "HEAD")
            and response.status_code == 200
        ):
            patch_cache_control(response, public=True, max_age=0, s_maxage=seconds)
            response["X-Accel-Expires"] = str(seconds)
        elif personal:
            patch_cache_control(response, private=True)
        return response
