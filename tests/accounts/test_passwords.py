from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import LoginSession
from tests.accounts.helpers import (
    is_logged_in,
    link_in,
    log_in,
    session_exists,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "lantern-meadow-42-slowly"


def logged_in_client(username: str = "alice", **defaults) -> Client:
    client = Client(**defaults)
    assert log_in(client, username).status_code == 302
    return client


class TestChangePassword:
    url = reverse("accounts:password_change")

    def change(self, client, old="correct horse", new=NEW_PASSWORD):
        return client.post(
            self.url, {"old_password": old, "new_password1": new, "new_password2": new}
        )

    def test_needs_login(self, client):
        response = client.get(self.url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))

    def test_keeps_this_session_and_ends_the_others(self, alice):
        laptop, phone = logged_in_client(), logged_in_client()
        response = self.change(laptop)
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_change_done")
        assert "Password changed" in laptop.get(response["Location"]).content.decode()

        assert is_logged_in(laptop)
        assert not is_logged_in(phone)
        assert not session_exists(phone)
        # This session is still known, so a ban or a reset can end it later.
        laptop_key = laptop.cookies["sessionid"].value
        assert list(LoginSession.objects.values_list("session_key", flat=True)) == [laptop_key]
        services.end_sessions(user=alice)
        assert not is_logged_in(laptop)

        fresh = Client()
        assert log_in(fresh, "alice").status_code == 200
        assert log_in(fresh, "alice", NEW_PASSWORD).status_code == 302

    def test_wrong_old_password_is_refused_beside_its_field(self, alice):
        laptop = logged_in_client()
        response = self.change(laptop, old="not it")
        assert response.status_code == 200
        assert response.context["form"].errors["old_password"]
        assert 'id="id_old_password_error"' in response.content.decode()
        alice.refresh_from_db()
        assert alice.check_password("correct horse")

    def test_weak_new_password_is_refused(self, alice):
        response = self.change(logged_in_client(), new="password")
        assert "This password is too common." in response.context["form"].errors["new_password2"]


def ask_reset(client, email: str):
    return client.post(reverse("accounts:password_reset"), {"email": email})


class TestResetPassword:
    def test_known_and_unknown_addresses_get_the_same_answer(self, client, alice, mailoutbox):
        known = ask_reset(client, "alice@example.com")
        unknown = ask_reset(client, "nobody@example.com")
        assert known.status_code == unknown.status_code == 302
        assert known["Location"] == unknown["Location"] == reverse("accounts:password_reset_done")
        assert known.content == unknown.content
        # Only the known address gets an email.
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["alice@example.com"]

    def test_done_page_does_not_say_which(self, client):
        html = client.get(reverse("accounts:password_reset_done")).content.decode()
        assert "If an active account uses that address" in html

    def test_address_case_does_not_matter(self, client, alice, mailoutbox):
        ask_reset(client, "ALICE@Example.COM")
        assert [m.to for m in mailoutbox] == [["alice@example.com"]]

    def test_banned_account_gets_no_email(self, client, alice, staff, mailoutbox):
        services.ban_user(user=alice, by=staff)
        ask_reset(client, "alice@example.com")
        assert mailoutbox == []

    def test_reset_by_the_emailed_link_ends_every_session(self, settings, alice, mailoutbox):
        settings.PASSWORD_RESET_TIMEOUT = 3 * 3600
        old_device = logged_in_client()
        client = Client()
        ask_reset(client, "alice@example.com")
        email = mailoutbox[0]
        assert email.subject == "Reset your Beebeta password"
        assert "http://testserver/accounts/password/reset/" in email.body
        assert "works once, for 3 hours" in email.body
        # Plain text only.
        assert not getattr(email, "alternatives", None)

        # Django swaps the token for a session entry and redirects.
        response = client.get(link_in(email))
        assert response.status_code == 302
        form_url = response["Location"]
        assert "Choose a new password" in client.get(form_url).content.decode()
        response = client.post(
            form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_reset_complete")

        assert not is_logged_in(old_device)
        assert not session_exists(old_device)
        assert not LoginSession.objects.filter(user=alice).exists()
        assert log_in(client, "alice").status_code == 200
        assert log_in(client, "alice", NEW_PASSWORD).status_code == 302

    def test_link_works_once(self, client, alice, mailoutbox):
        ask_reset(client, "alice@example.com")
        link = link_in(mailoutbox[0])
        form_url = client.get(link)["Location"]
        client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        again = Client().get(link, follow=True)
        assert "This reset link does not work" in again.content.decode()

    def test_expired_link_does_not_work(self, client, alice, mailoutbox, settings, monkeypatch):
        settings.PASSWORD_RESET_TIMEOUT = 60
        ask_reset(client, "alice@example.com")
        link = link_in(mailoutbox[0])
        # Two minutes later, for the token check only.
        real_now = default_token_generator._now
        monkeypatch.setattr(
            default_token_generator, "_now", lambda: real_now() + timedelta(minutes=2)
        )
        response = client.get(link, follow=True)
        assert "This reset link does not work" in response.content.decode()

    def test_reset_lifts_a_login_lockout(self, settings, alice, mailoutbox):
        settings.AXES_FAILURE_LIMIT = 5
        client = Client()
        for _ in range(5):
            log_in(client, "alice", "forgot it")
        assert log_in(client, "alice").status_code == 429

        ask_reset(client, "alice@example.com")
        form_url = client.get(link_in(mailoutbox[0]))["Location"]
        client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        assert log_in(client, "alice", NEW_PASSWORD).status_code == 302
