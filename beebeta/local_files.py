"""Static files and local media served by Django itself, when SERVE_FILES is on (`make run`).

With DEBUG off, neither runserver nor ``django.conf.urls.static`` serves anything, yet a local
run has no nginx in front. These routes are Django's own file views: static files come from
the finders (the source tree and the apps, so no collectstatic is needed) and media from
MEDIA_ROOT, both confined to their folders; a missing file is Beebeta's 404 page. They are
slow next to nginx and meant for one machine on loopback, never for production.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import URLPattern, re_path
from django.views.static import serve as serve_media


def _local_prefix(url: str) -> str | None:
    """The path of ``url`` as a pattern prefix, or None when another host serves it."""
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
        return None
    return re.escape(parts.path.lstrip("/"))


def url_patterns() -> list[URLPattern]:
    patterns = []
    if static := _local_prefix(settings.STATIC_URL):
        # insecure=True: serve with DEBUG off too, which is the point of SERVE_FILES.
        patterns.append(
            re_path(rf"^{static}(?P<path>.*)$", serve_static, {"insecure": True}, name="static")
        )
    if not settings.AWS_STORAGE_BUCKET_NAME and (media := _local_prefix(settings.MEDIA_URL)):
        patterns.append(
            re_path(
                rf"^{media}(?P<path>.*)$",
                serve_media,
                {"document_root": settings.MEDIA_ROOT},
                name="media",
            )
        )
    return patterns
