"""The accounts pages: links to them, and no state change by GET. (One <h1> and a plain
<title> on every page: tests/test_page_structure.py, from the route table.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import LoginSession
from tests.accounts.helpers import is_logged_in, log_in

pytestmark = pytest.mark.django_db

User = get_user_model()


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
