"""The CSP header built once (beebeta/content_policy.py) equals django-csp's, and django-csp's
per-view decorators and nonces still change it for their views."""

from __future__ import annotations

from csp.constants import HEADER, NONCE
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from beebeta.content_policy import ContentPolicyMiddleware


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain")


@csp_update({"img-src": ["https://images.example"]})
def updated(request: HttpRequest) -> HttpResponse:
    return HttpResponse("updated")


@csp_replace({"frame-ancestors": ["https://embedder.example"]})
def replaced(request: HttpRequest) -> HttpResponse:
    return HttpResponse("replaced")


@csp_exempt()
def exempt(request: HttpRequest) -> HttpResponse:
    return HttpResponse("exempt")


def with_nonce(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.csp_nonce))


def header(middleware_class, view) -> str | None:
    request = RequestFactory().get("/")
    response = middleware_class(view)(request)
    return response.get(HEADER)


def test_a_plain_response_gets_the_policy_django_csp_would_build():
    built = header(ContentPolicyMiddleware, plain)
    assert built == header(CSPMiddleware, plain)
    assert "default-src 'self'" in built
    # Built once: the same string object every time.
    assert header(ContentPolicyMiddleware, plain) is built


def test_the_decorators_and_nonces_still_change_the_policy_of_their_view():
    assert "https://images.example" in header(ContentPolicyMiddleware, updated)
    assert header(ContentPolicyMiddleware, updated) == header(CSPMiddleware, updated)
    assert "frame-ancestors https://embedder.example" in header(ContentPolicyMiddleware, replaced)
    assert header(ContentPolicyMiddleware, exempt) is None


def test_a_nonce_asked_for_by_the_view_is_in_its_policy(settings):
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}
    }
    request = RequestFactory().get("/")
    response = ContentPolicyMiddleware(with_nonce)(request)
    assert f"'nonce-{response.content.decode()}'" in response[HEADER]
    assert "'nonce-" not in header(ContentPolicyMiddleware, plain)


def test_a_changed_setting_builds_the_policy_again(settings):
    before = header(ContentPolicyMiddleware, plain)
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert header(ContentPolicyMiddleware, plain) == "default-src 'none'"
    assert before != "default-src 'none'"
