"""The Content-Security-Policy header, built once instead of on every response.

django-csp's middleware builds the policy string from the settings on every response (a sixth
of a minimal request's time in a profile), although it only changes when a view asks for
another policy (django-csp's ``csp``, ``csp_update``, ``csp_replace`` and ``csp_exempt``
decorators, which mark the response) or a template asks for a nonce. A response with none of
those marks gets the string built from the settings once; any other goes through django-csp
unchanged, so its decorators, nonces, exemptions and excluded prefixes work as documented.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# What django-csp's decorators set on a response to change its policy for that view.
_MARKS = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)
# (header, report-only header, prefixes exempt from each) from the settings, once.
_built: tuple[str, str, tuple[str, ...], tuple[str, ...]] | None = None


def _from_settings() -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    global _built
    if _built is None:
        enforced = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or {}
        _built = (
            build_policy(**asdict(PolicyParts())),
            build_policy(**asdict(PolicyParts()), report_only=True),
            tuple(enforced.get("EXCLUDE_URL_PREFIXES", None) or ()),
            tuple(report_only.get("EXCLUDE_URL_PREFIXES", None) or ()),
        )
    return _built


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: Any) -> None:
    global _built
    if setting.startswith("CONTENT_SECURITY_POLICY") or setting == "DEBUG":
        _built = None


class ContentPolicyMiddleware(CSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        marked = any(hasattr(response, mark) for mark in _MARKS)
        if marked or getattr(request, "_csp_nonce", None) is not None or settings.DEBUG:
            return super().process_response(request, response)
        header, header_ro, excluded, excluded_ro = _from_settings()
        path = request.path_info
        if header and HEADER not in response and not path.startswith(excluded):
            response[HEADER] = header
        if header_ro and HEADER_REPORT_ONLY not in response and not path.startswith(excluded_ro):
            response[HEADER_REPORT_ONLY] = header_ro
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(  # type: ignore[attr-defined]
            self._csp_nonce_post_response
        )
        return response
