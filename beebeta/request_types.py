"""The request types views are written against.

Django gives every view an ``HttpRequest`` whose ``user`` may be anonymous. A view behind
``@login_required`` (or the staff check of the insights pages) only ever runs for an account,
so it takes an ``AuthenticatedHttpRequest``: its ``request.user`` is a ``User``, and mypy holds
the view to that instead of to "maybe anonymous".
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    user: User
