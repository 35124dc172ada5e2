"""The two views of the ladder's lower rungs. Both answer with the bytes of a real question
page (the file the static rung serves), so every rung sends the same amount over the wire."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from django.http import HttpRequest, HttpResponse

# Written by bench/run.py before any load: the anonymous question page, as served.
PAGE = Path(os.environ.get("STATIC_ROOT", "")) / "bench" / "page.html"


@functools.cache
def _page() -> bytes:
    return PAGE.read_bytes()


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_page(), content_type="text/html; charset=utf-8")


def hello(request: HttpRequest) -> HttpResponse:
    # Asking who the visitor is loads the session and, when signed in, the user: the work
    # every page of Beebeta does before its own.
    request.user.is_authenticated  # noqa: B018
    return HttpResponse(_page(), content_type="text/html; charset=utf-8")
