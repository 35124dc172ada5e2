"""Sentry: an error in a view arrives with its stack trace, route, user id and
request id, and without anything private; health checks and static files are
never traced.

The real sentry-sdk posts to a local envelope receiver, and requests go through
Django's WSGI handler, as gunicorn calls it: Sentry reads the URL, headers and
query string there (the test client would bypass it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from beebeta import monitoring
from tests.monitoring.receivers import sentry_items

SECRETS = {
    "password": "hunter2-secret",
    # A real CSRF pair, so that the POST reaches the view.
    "csrf token": "csrfcookiesecret0123456789abcdef",
    "analytics cookie": "0123456789abcdef0123456789abcdef",
    "authorization": "auth-header-secret",
    "forwarded address": "203.0.113.9",
    "client address": "198.51.100.7",
    "email": "alice@example.com",
    "email in a query": "alice%40example.com",
    "token in a query": "tok-secret-42",
    "another site": "elsewhere.example",
    "username": "alice",
}


@contextlib.contextmanager
def wsgi_application() -> Iterator[WSGIHandler]:
    """Django's WSGI handler (which Sentry wraps), without closing the test's
    database connection at the end of each request as a real server would."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def wsgi(settings) -> Iterator:
    """Send a request built by RequestFactory through the WSGI handler; its status."""
    settings.ROOT_URLCONF = "tests.monitoring.error_urls"

    with wsgi_application() as app:

        def call(method: str, path: str, data=None, **extra) -> str:
            environ = getattr(RequestFactory(), method)(path, data, **extra).environ
            statuses: list[str] = []
            b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
            return statuses[0]

        yield call


def received(receiver, kind: str = "event") -> tuple[list[dict], str]:
    sentry_sdk.flush(timeout=5)
    raw = "".join(item.decoded().decode() for item in receiver.received)
    return sentry_items(receiver, kind), raw


def test_error_in_a_view_arrives_with_trace_route_user_and_request_id(
    wsgi, client, start_sentry, alice
):
    client.force_login(alice)
    session_id = client.cookies["sessionid"].value
    receiver = start_sentry()
    cookies = {
        "sessionid": session_id,
        "csrftoken": SECRETS["csrf token"],
        "bb_aid": SECRETS["analytics cookie"],
    }
    status = wsgi(
        "post",
        "/broken/?page=2&reset_token=tok-secret-42&contact=alice%40example.com",
        {
            "password": SECRETS["password"],
            "csrfmiddlewaretoken": SECRETS["csrf token"],
            "email": SECRETS["email"],
        },
        HTTP_COOKIE="; ".join(f"{k}={v}" for k, v in cookies.items()),
        HTTP_AUTHORIZATION=f"Bearer {SECRETS['authorization']}",
        HTTP_X_FORWARDED_FOR=SECRETS["forwarded address"],
        HTTP_REFERER="https://elsewhere.example/?from=alice@example.com",
        HTTP_X_REQUEST_ID="nginx-0123456789abcdef",
        REMOTE_ADDR=SECRETS["client address"],
    )
    assert status.startswith("500")

    [event], raw = received(receiver)
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "a bug in a view")
    frames = exception["stacktrace"]["frames"]
    assert frames[-1]["function"] == "broken"
    assert frames[-1]["filename"].endswith("tests/error_urls.py")
    assert not any("vars" in frame for frame in frames)  # no local variables
    assert event["transaction"] == "/broken/"  # the route
    # The view never looked at the user: the id comes from the session.
    assert event["user"] == {"id": str(alice.pk)}
    assert event["tags"]["request_id"] == "nginx-0123456789abcdef"
    assert (event["environment"], event["release"]) == ("test", "test-release")

    request = event["request"]
    assert request["method"] == "POST"
    assert request["url"] == "http://testserver/broken/"
    assert "page=2" in request["query_string"]
    assert not {"cookies", "data", "env"} & request.keys()
    headers = {name.lower() for name in request["headers"]}
    assert "x-request-id" in headers
    assert not {"cookie", "authorization", "x-forwarded-for", "referer"} & headers
    for what, secret in {**SECRETS, "session id": session_id}.items():
        assert secret not in raw, f"the {what} reached Sentry"


def test_secrets_in_the_path_are_filtered(wsgi, start_sentry, db):
    receiver = start_sentry()
    wsgi("get", "/reset/MTIz/abc-reset-token-secret/?activation_key=key-secret")
    [event], raw = received(receiver)
    assert event["transaction"] == "/reset/{uidb64}/{token}/"
    assert event["request"]["url"] == "http://testserver/reset/[Filtered]/[Filtered]/"
    for secret in ("MTIz", "abc-reset-token-secret", "key-secret"):
        assert secret not in raw


def test_the_session_is_not_read_when_the_database_failed(wsgi, client, start_sentry, alice):
    client.force_login(alice)
    receiver = start_sentry()
    status = wsgi(
        "get", "/database-down/", HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}"
    )
    assert status.startswith("503")
    [event], _ = received(receiver)
    assert event["exception"]["values"][-1]["type"] == "OperationalError"
    assert event["user"] == {}  # it would have waited on the dead database


def test_health_checks_and_static_files_are_never_traced(wsgi, start_sentry, db):
    receiver = start_sentry(traces_sample_rate=1.0)
    assert wsgi("get", "/healthz").startswith("200")
    wsgi("get", "/static/css/beebeta.css")
    assert wsgi("get", "/tags/").startswith("200")
    transactions, _ = received(receiver, "transaction")
    assert [t["transaction"] for t in transactions] == ["/tags/"]
    assert transactions[0]["tags"]["request_id"]


def test_no_dsn_no_client():
    monitoring.init_sentry(dsn="", environment="test", release="", traces_sample_rate=1.0)
    assert not sentry_sdk.get_client().is_active()
