"""The signed-in visitor's account from memcached (accounts/session_user.py): no user row per
request, and every change to the account applies from the next request on."""

from __future__ import annotations

import pytest
from django.test import Client

from polls import cache_keys


@pytest.fixture
def signed_in(alice) -> Client:
    client = Client()
    client.force_login(alice)
    assert client.get("/").status_code == 200  # the account is now cached
    return client


def who(client: Client) -> str:
    html = client.get("/").content.decode()
    return "alice" if 'class="who"' in html and ">alice<" in html else "anonymous"


def test_a_cached_account_needs_no_query(signed_in, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert who(signed_in) == "alice"


def test_a_new_password_ends_other_sessions_at_once(signed_in, alice):
    alice.set_password("a-new-password-entirely")
    alice.save()
    assert who(signed_in) == "anonymous"


def test_a_deactivated_account_is_signed_out_at_once(signed_in, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert who(signed_in) == "anonymous"


def test_a_renamed_account_shows_its_new_name_at_once(signed_in, alice):
    alice.username = "alicia"
    alice.save(update_fields=["username"])
    assert ">alicia<" in signed_in.get("/").content.decode()


def test_the_cached_account_holds_no_password_and_reads_it_when_asked(signed_in, alice):
    from django.core.cache import cache

    entry = cache.get(cache_keys.user(alice.pk))
    assert entry is not None and "password" not in entry["fields"]
    assert alice.password not in repr(entry)
    # The password change form checks the old password on the cached account.
    response = signed_in.post(
        "/accounts/password/change/",
        {
            "old_password": "wrong-password",
            "new_password1": "x",
            "new_password2": "x",
        },
    )
    assert response.status_code in (200, 400)
    assert "Your old password was entered incorrectly" in response.content.decode()
