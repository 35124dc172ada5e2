"""Permissions-Policy, which Django has no setting for.

PERMISSIONS_POLICY maps a feature to the origins allowed to use it: an empty
list refuses it everywhere (``camera=()``), ``["self"]`` gives ``camera=(self)``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def permissions_policy(features: dict[str, list[str]]) -> str:
    def origins(allowed: list[str]) -> str:
        return " ".join(o if o in ("self", "*") else f'"{o}"' for o in allowed)

    return ", ".join(f"{feature}=({origins(allowed)})" for feature, allowed in features.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header = permissions_policy(getattr(settings, "PERMISSIONS_POLICY", {}))

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
