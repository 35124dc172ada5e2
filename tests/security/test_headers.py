"""Security headers on every response, error pages included: from Django, and through the stack.

Django sets them all (tests and `make run` see them). Behind deploy/nginx, nginx sets HSTS,
nosniff, Referrer-Policy and Permissions-Policy itself for every response and hides Django's
copies; CSP and COOP stay Django's, and nginx adds a strict pair only to what Django never sees
(static files, its own 429 page). Each header must appear exactly once, with the same value
whichever of the two wrote it.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from beebeta.headers import permissions_policy
from deploy.stack.processes import HOST
from deploy.stack.topology import Stack
from tests.conftest import unreachable_database
from tests.stack.clients import request, through_balancer

HSTS = "max-age=31536000; includeSubDomains; preload"
SAME_FOR_DJANGO_AND_NGINX = {
    "Strict-Transport-Security": HSTS,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": permissions_policy(django_settings.PERMISSIONS_POLICY),
    "Cross-Origin-Opener-Policy": "same-origin",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice in {policy!r}"
        parsed[name] = values
    return parsed


def assert_strict_csp(policy: str) -> None:
    found = directives(policy)
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy
    assert found["default-src"] in (["'self'"], ["'none'"]), policy
    assert found["object-src"] == ["'none'"], policy
    assert found["base-uri"] in (["'none'"], ["'self'"]), policy
    assert found["frame-ancestors"] == ["'none'"], policy
    assert found["form-action"] in (["'self'"], ["'none'"]), policy


# --- Through Django -------------------------------------------------------------------------


@pytest.fixture
def production_headers(settings) -> None:
    # HSTS goes out only over HTTPS, with production's max-age; requests below are secure=True.
    settings.SECURE_HSTS_SECONDS = 31536000


def failing_client(settings) -> Client:
    settings.ROOT_URLCONF = "tests.error_urls"
    return Client(raise_request_exception=False)


def responses_of_every_status(settings, alice, question) -> dict[int, object]:
    anonymous = Client()
    member = Client()
    member.force_login(alice)
    got = {
        200: anonymous.get("/", secure=True),
        302: anonymous.get(reverse("polls:ask"), secure=True),
        403: member.get(reverse("polls:insights"), secure=True),
        404: anonymous.get("/no-such-page/", secure=True),
        405: anonymous.get(reverse("polls:vote", args=[question.slug]), secure=True),
    }
    csrf = Client(enforce_csrf_checks=True)
    got["403 csrf"] = csrf.post(reverse("accounts:logout"), secure=True)
    settings.AXES_FAILURE_LIMIT = 1
    login = reverse("accounts:login")
    for _ in range(2):
        locked = anonymous.post(login, {"username": "alice", "password": "wrong"}, secure=True)
    got[429] = locked
    got[500] = failing_client(settings).get("/broken/", secure=True)
    return got


def assert_security_headers(response, status) -> None:
    for name, value in SAME_FOR_DJANGO_AND_NGINX.items():
        assert response.headers.get(name) == value, f"{name} on {status}"
    assert_strict_csp(response.headers["Content-Security-Policy"])


def test_every_status_carries_every_security_header(settings, production_headers, alice, question):
    for status, response in responses_of_every_status(settings, alice, question).items():
        assert str(response.status_code) == str(status).split()[0], status
        assert_security_headers(response, status)


@pytest.mark.django_db(transaction=True)
def test_the_outage_page_carries_them_too(settings, production_headers):
    client = failing_client(settings)
    with unreachable_database():
        response = client.get("/tags/", secure=True)
    assert response.status_code == 503
    assert_security_headers(response, 503)


def test_healthz_answers_with_the_headers_too(db, production_headers):
    response = Client().get("/healthz", secure=True)
    assert response.status_code == 200
    assert set(SAME_FOR_DJANGO_AND_NGINX) <= set(response.headers)
    assert_strict_csp(response.headers["Content-Security-Policy"])


# --- Through the stack (HAProxy -> nginx -> gunicorn) ------------------------------------------


# The flood's own client address, so the browser tests' client (127.0.0.1) keeps its budget.
FLOODER = "127.0.0.9"


def get(stack: Stack, method: str, path: str, *, source: str = HOST, **headers: str):
    connection = through_balancer(stack, source=source)
    try:
        return request(connection, method, path, headers=headers)
    finally:
        connection.close()


def signup_flood_until_429(stack: Stack):
    # Sign-up POSTs are limited per nginx (5/min, burst 5); HAProxy spreads them over two.
    # Without a CSRF token Django refuses each one that gets through: nothing is created.
    for _ in range(40):
        answer = get(
            stack, "POST", "/accounts/register/", source=FLOODER, **{"Content-Length": "0"}
        )
        if answer.status == 429:
            return answer
    raise AssertionError("no 429 after 40 sign-up POSTs")


def test_the_stack_sends_each_header_once_on_every_kind_of_response(stack):
    home = get(stack, "GET", "/")
    stylesheet = re.search(r'href="(/static/css/beebeta\.[0-9a-f]{12}\.css)"', home.body.decode())
    assert stylesheet
    answers = {
        "page 200": home,
        "redirect 302": get(stack, "GET", "/ask/"),
        "csrf 403": get(stack, "POST", "/accounts/logout/", **{"Content-Length": "0"}),
        "not found 404": get(stack, "GET", "/no-such-page/"),
        "method 405": get(stack, "GET", "/accounts/logout/"),
        "hashed static 200": get(stack, "GET", stylesheet.group(1)),
        "static 200": get(stack, "GET", "/static/js/share.js"),
        "nginx 429": signup_flood_until_429(stack),
    }
    for kind, answer in answers.items():
        assert str(answer.status) == kind.split()[-1], kind
        for name, value in SAME_FOR_DJANGO_AND_NGINX.items():
            assert answer.header_values(name) == [value], f"{name} on {kind}"
        policies = answer.header_values("Content-Security-Policy")
        assert len(policies) == 1, f"Content-Security-Policy on {kind}: {policies}"
        assert_strict_csp(policies[0])
    # Django's policy, not nginx's fallback, on what Django answered.
    assert "upgrade-insecure-requests" in answers["page 200"].headers["Content-Security-Policy"]
    assert "default-src 'none'" in answers["nginx 429"].headers["Content-Security-Policy"]


def test_the_stack_allows_images_from_the_media_cdn_over_https_only(stack):
    policy = directives(get(stack, "GET", "/").headers["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", f"https://{stack.cdn_host}"]
    assert "upgrade-insecure-requests" in policy
    assert HOST in stack.cdn_host
