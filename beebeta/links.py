"""Absolute links: what leaves the site (canonical URLs, Open Graph tags, share links, embeds)
names Beebeta by PUBLIC_ORIGIN, https://beebeta.example in production, never by whatever Host
a request happened to carry. Without it (a local run) the request's own scheme and host serve.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest


def public_origin(text: str) -> str:
    """PUBLIC_ORIGIN checked: empty, or a scheme and host (and port) with nothing after."""
    text = text.strip().rstrip("/")
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise ImproperlyConfigured(
            f"PUBLIC_ORIGIN={text!r} is not an origin: give it as https://host (no path)."
        )
    return f"{parts.scheme}://{parts.netloc}"


def origin(request: HttpRequest | None) -> str:
    from django.conf import settings

    if settings.PUBLIC_ORIGIN or request is None:
        return settings.PUBLIC_ORIGIN
    return f"{request.scheme}://{request.get_host()}"


def absolute(url: str, request: HttpRequest | None) -> str:
    """``url`` as an absolute URL: a path gets the site's origin; a full URL (a CDN's) stays."""
    if urlsplit(url).scheme in ("http", "https"):
        return url
    if url.startswith("//"):
        return f"https:{url}"
    return f"{origin(request)}{url}"


def site_links(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``site_origin``, to make a path absolute in a template, and the
    generic share card, which a page links unless it has its own (``share_card``)."""
    from polls.share_card import generic_card

    return {"site_origin": origin(request), "generic_card": generic_card(request)}
