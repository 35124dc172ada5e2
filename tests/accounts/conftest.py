"""Fixtures for the accounts tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from tests.accounts.helpers import STRONG_PASSWORD, link_in


@pytest.fixture
def sign_up(db, client, mailoutbox) -> Callable[..., str]:
    """Register through the form; return the path of the activation link emailed.

    It asks for ``db`` so that the database is set up first: setting it up
    replaces Django's outbox list, which would orphan ``mailoutbox``.
    """

    def register(username: str = "carol", email: str = "carol@example.com") -> str:
        response = client.post(
            reverse("django_registration_register"),
            {
                "username": username,
                "email": email,
                "password1": STRONG_PASSWORD,
                "password2": STRONG_PASSWORD,
            },
        )
        assert response.status_code == 302, response.content.decode()
        return link_in(mailoutbox[-1])

    return register
