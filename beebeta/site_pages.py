"""Pages about the site itself: about, privacy, robots.txt and /favicon.ico."""

from __future__ import annotations

import io
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from PIL import Image, ImageDraw

from beebeta import links

# Forms, per-visitor pages, staff pages and the endless variations of search need no crawling.
# A list's later pages (its cursors) stay open to crawlers: they carry "noindex, follow", which a
# crawler kept out could not read, and lead to every question.
ROBOTS_DISALLOW = (
    "/admin/",
    "/accounts/",
    "/insights/",
    "/ask/",
    "/search/",
    "/time-zone/",
    "/q/*/almost-there/",
    "/q/*/report/",
)


@require_GET
def about(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/about.html")


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    context = {
        "analytics_on": bool(settings.MIXPANEL_TOKEN),
        "errors_on": bool(settings.SENTRY_DSN),
        "axes_failures": settings.AXES_FAILURE_LIMIT,
        "axes_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "held_vote_hours": settings.HELD_VOTE_HOURS,
        "session_days": settings.SESSION_COOKIE_AGE // 86400,
    }
    return render(request, "pages/privacy.html", context)


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines.append(f"Sitemap: {links.absolute(reverse('sitemap_index'), request)}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@cache
def _favicon() -> bytes:
    """Beebeta's mark (static/img/beebeta.svg: three bars on navy) drawn as an .ico for the
    browsers and programs that ask /favicon.ico; drawn once per process."""
    scale = 8
    image = Image.new("RGBA", (32 * scale, 32 * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 32 * scale - 1, 32 * scale - 1), 7 * scale, fill="#1d3557")
    for x, y, height, colour in (
        (6, 17, 9, "#f4a261"),
        (13.5, 9, 17, "#f1c453"),
        (21, 13, 13, "#e9f5db"),
    ):
        box = (x * scale, y * scale, (x + 5) * scale - 1, (y + height) * scale - 1)
        draw.rounded_rectangle(box, scale, fill=colour)
    out = io.BytesIO()
    image.save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return out.getvalue()


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_favicon(), content_type="image/x-icon")
