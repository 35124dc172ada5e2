"""Cookies: Secure and host-only (the __Host- prefix) over HTTPS, SameSite=Lax, the session
cookie HttpOnly, a new session key at login. That a ban or a password reset leaves no live
session is tested where those features are:
tests/accounts/test_banning.py::test_ban_action_ends_sessions_at_once and
tests/accounts/test_passwords.py (test_reset_by_the_emailed_link_ends_every_session,
test_keeps_this_session_and_ends_the_others)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from deploy.stack.topology import CSRF_COOKIE, DEMO_PASSWORD, SESSION_COOKIE
from tests.accounts.helpers import log_in
from tests.stack.clients import request, through_balancer


def set_cookies(answer) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, as sent."""
    return {line.split("=", 1)[0]: line for line in answer.header_values("Set-Cookie")}


def attributes(line: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in line.split(";")[1:]}


def test_the_stack_sets_secure_samesite_cookies_and_an_httponly_session(stack):
    connection = through_balancer(stack)
    try:
        page = request(connection, "GET", "/accounts/login/")
        csrf_line = set_cookies(page)[CSRF_COOKIE]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body.decode())
        csrf = SimpleCookie(csrf_line)[CSRF_COOKIE].value
        body = f"csrfmiddlewaretoken={token.group(1)}&username=demo&password={DEMO_PASSWORD}"
        answer = request(
            connection,
            "POST",
            "/accounts/login/",
            body=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"{CSRF_COOKIE}={csrf}",
                "Referer": stack.url + "accounts/login/",
                "Origin": stack.origin,
            },
        )
    finally:
        connection.close()
    assert answer.status == 302, answer.body[:500]
    session_line = set_cookies(answer)[SESSION_COOKIE]
    assert {"secure", "httponly", "samesite"} <= attributes(session_line), session_line
    assert "samesite=lax" in session_line.lower()
    assert {"secure", "samesite"} <= attributes(csrf_line), csrf_line
    assert "samesite=lax" in csrf_line.lower()
    # The CSRF cookie is read by nothing but Django (the share beacon reads the form's token).
    for line in (*set_cookies(page).values(), *set_cookies(answer).values()):
        assert "secure" in attributes(line), line
    # __Host-: for this host alone (no Domain) and every path, or browsers drop them.
    for line in (session_line, csrf_line):
        assert "domain" not in attributes(line), line
        assert "path=/;" in line.replace(" ", "").lower() + ";", line


def test_logging_in_gives_a_new_session_key(alice):
    client = Client()
    session = client.session
    session["seen"] = True
    session.save()
    client.cookies["sessionid"] = session.session_key
    before = session.session_key

    assert log_in(client, "alice").status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_logging_out_ends_the_session(alice):
    client = Client()
    assert log_in(client, "alice").status_code == 302
    key = client.cookies["sessionid"].value
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
