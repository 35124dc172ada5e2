"""Guards over every accounts page: one <h1>, and no state change by GET."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import LoginSession
from tests.accounts.helpers import is_logged_in, log_in

pytestmark = pytest.mark.django_db

User = get_user_model()

ANONYMOUS_PAGES = [
    "accounts:login",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_complete",
    "django_registration_register",
    "django_registration_complete",
    "django_registration_disallowed",
    "django_registration_activate",
    "django_registration_activation_complete",
]
MEMBER_PAGES = [
    "accounts:profile",
    "accounts:change_email",
    "accounts:delete_account",
    "accounts:password_change",
    "accounts:password_change_done",
]


def h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_anonymous_pages_have_one_h1(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert h1_count(response.content.decode()) == 1


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_member_pages_have_one_h1(client, alice, name):
    client.force_login(alice)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert h1_count(response.content.decode()) == 1


def test_nav_links_sign_up_and_profile(client, alice):
    home = reverse("polls:home")
    assert reverse("django_registration_register") in client.get(home).content.decode()
    client.force_login(alice)
    assert reverse("accounts:profile") in client.get(home).content.decode()


def test_logout_refuses_get_and_ends_the_session_on_post(client, alice):
    log_in(client, "alice")
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert is_logged_in(client)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert not LoginSession.objects.exists()


def test_resending_an_activation_link_refuses_get(client, mailoutbox):
    assert client.get(reverse("django_registration_resend")).status_code == 405
    assert mailoutbox == []
