"""Helpers for the accounts tests: real links from the emails in the locmem
outbox, followed through the test client; logins through the real form."""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils.html import escape

STRONG_PASSWORD = "plum-orchard-7-quietly"
# The password of the shared fixtures (tests/conftest.py).
FIXTURE_PASSWORD = "correct horse"
LINK = re.compile(r"(https?)://testserver(/\S+)")


def link_in(message) -> str:
    """The path of the one link to this site in an email's body."""
    links = LINK.findall(message.body)
    assert len(links) == 1, message.body
    return links[0][1]


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def log_in(client, username: str, password: str = FIXTURE_PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def is_logged_in(client) -> bool:
    return client.get(reverse("accounts:profile")).status_code == 200


def session_exists(client) -> bool:
    key = client.cookies["sessionid"].value
    return Session.objects.filter(session_key=key).exists()


def activation_key_of(path: str) -> str:
    return unquote(path.split("activation_key=", 1)[1])


def post_activation(client, key: str):
    return client.post(reverse("django_registration_activate"), {"activation_key": key})


def user_named(username: str):
    return get_user_model().objects.get(username=username)


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def comparable(html: str, typed: str = "") -> str:
    """A page with what differs between any two renderings taken out (the masked CSRF token)
    and what the visitor typed in (``typed``) replaced, to compare two answers."""
    html = _CSRF.sub('name="csrfmiddlewaretoken" value=""', html)
    if typed:
        html = html.replace(escape(typed), "TYPED").replace(typed, "TYPED")
    return html
