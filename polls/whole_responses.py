"""Whole responses kept in memcached, for what programs fetch again and again (feeds, sitemaps).

These views read no session and no user, so their answer is the same for everyone on one host:
the body is kept for LIST_CACHE_SECONDS, as the lists' rows are, and a question hidden meanwhile
leaves them within that time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from polls import cache_keys

View = Callable[..., HttpResponse]


def cached_whole(view: View, *, params: tuple[str, ...] = ()) -> View:
    """``view``'s 200 answers kept per host, path and the query ``params`` it reads (any other
    query is ignored, so it cannot be used to skip the cache); GET only."""

    @require_GET
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        query = "&".join(f"{name}={request.GET.get(name, '')}" for name in params)
        key = cache_keys.whole_response(request.get_host(), f"{request.path}?{query}")
        found = cache.get(key)
        if found is not None:
            content, headers = found
            return HttpResponse(content, headers=headers)
        response = view(request, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()  # a TemplateResponse (the sitemaps)
        if response.status_code == 200 and not response.streaming:
            # The view's own headers (its type, a sitemap's X-Robots-Tag): no middleware's yet.
            cache.set(key, (response.content, dict(response.items())), settings.LIST_CACHE_SECONDS)
        return response

    return wrapped
