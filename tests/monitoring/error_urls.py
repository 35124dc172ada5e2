"""The error-page test URLconf, plus a failing view whose URL carries secrets
(as a password reset link does), for the Sentry scrubbing tests."""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests import error_urls


def broken_with_token(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    raise RuntimeError("a bug behind a reset link")


def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError(2003, "Can't connect to MySQL server")


urlpatterns = [
    path("reset/<uidb64>/<token>/", broken_with_token),
    path("database-down/", database_down),
    *error_urls.urlpatterns,
]
handler500 = error_urls.handler500
