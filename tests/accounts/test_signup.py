from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse
from django_registration import signals

from accounts import services
from tests.accounts.helpers import (
    STRONG_PASSWORD,
    activation_key_of,
    hidden_value,
    is_logged_in,
    link_in,
    log_in,
    post_activation,
    user_named,
)

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def sent_signals():
    """The django-registration signals sent during the test, by name."""
    received: list[tuple[str, str]] = []

    def on_registered(sender, user, request, **kwargs):
        received.append(("registered", user.get_username()))

    def on_activated(sender, user, request, **kwargs):
        received.append(("activated", user.get_username()))

    signals.user_registered.connect(on_registered)
    signals.user_activated.connect(on_activated)
    yield received
    signals.user_registered.disconnect(on_registered)
    signals.user_activated.disconnect(on_activated)


def test_full_sign_up_journey(client, mailoutbox, settings, sent_signals):
    settings.ACCOUNT_ACTIVATION_DAYS = 3
    page = client.get(reverse("django_registration_register"))
    assert page.status_code == 200
    assert 'name="email"' in page.content.decode()

    response = client.post(
        reverse("django_registration_register"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("django_registration_complete")
    html = client.get(response["Location"]).content.decode()
    assert "Check your email" in html and "3 days" in html

    carol = user_named("carol")
    assert not carol.is_active
    assert sent_signals == [("registered", "carol")]
    # Not before activation.
    assert log_in(client, "carol", STRONG_PASSWORD).status_code == 200

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["carol@example.com"]
    assert email.subject == "Activate your Beebeta account"
    assert "http://testserver/accounts/activate/?activation_key=" in email.body
    assert "works for 3 days" in email.body

    # Opening the link shows a button and changes nothing (mail scanners open links).
    page = client.get(link_in(email))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Activate my account" in html
    carol.refresh_from_db()
    assert not carol.is_active

    response = client.post(
        reverse("django_registration_activate"),
        {"activation_key": hidden_value(html, "activation_key")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("django_registration_activation_complete")
    assert "Your account is active" in client.get(response["Location"]).content.decode()
    carol.refresh_from_db()
    assert carol.is_active
    assert sent_signals == [("registered", "carol"), ("activated", "carol")]

    response = log_in(client, "carol", STRONG_PASSWORD)
    assert response.status_code == 302
    profile = client.get(reverse("accounts:profile"))
    assert profile.status_code == 200
    assert "<h1>carol</h1>" in profile.content.decode()


def test_activation_link_uses_the_scheme_and_host_of_the_request(client, mailoutbox, settings):
    settings.ALLOWED_HOSTS = ["beebeta.example"]
    client.post(
        reverse("django_registration_register"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
        secure=True,
        headers={"host": "beebeta.example"},
    )
    assert "https://beebeta.example/accounts/activate/?activation_key=" in mailoutbox[0].body


def test_a_duplicate_username_is_refused_beside_its_field_and_the_email_says_nothing(
    client, alice, mailoutbox
):
    response = client.post(
        reverse("django_registration_register"),
        {
            "username": "ALICE",
            "email": "Alice@Example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["username"] == ["A user with that username already exists."]
    # Usernames are public; whether an address has an account is not.
    assert "email" not in form.errors
    html = response.content.decode()
    # The error sits in its field's block, and what was typed is kept.
    assert 'id="id_username_error"' in html and 'id="id_email_error"' not in html
    assert 'value="ALICE"' in html and 'value="Alice@Example.com"' in html
    assert STRONG_PASSWORD not in html
    assert User.objects.count() == 1
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password", "This password is too common."),
        ("58203746", "This password is entirely numeric."),
        ("carolyn1", "The password is too similar to the username."),
    ],
)
def test_weak_password_is_refused_and_typed_values_kept(client, mailoutbox, password, message):
    response = client.post(
        reverse("django_registration_register"),
        {
            "username": "carolyn1",
            "email": "carol@example.com",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors["password2"]
    html = response.content.decode()
    assert 'id="id_password2_error"' in html
    assert 'value="carolyn1"' in html and 'value="carol@example.com"' in html
    assert not User.objects.exists()
    assert mailoutbox == []


def test_mismatched_passwords_are_refused(client):
    response = client.post(
        reverse("django_registration_register"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD + "x",
        },
    )
    assert response.context["form"].errors["password2"]
    assert not User.objects.exists()


def test_closed_registration_shows_its_page_and_creates_no_one(client, settings, mailoutbox):
    settings.REGISTRATION_OPEN = False
    closed = reverse("django_registration_disallowed")
    response = client.get(reverse("django_registration_register"))
    assert response.status_code == 302 and response["Location"] == closed
    response = client.post(
        reverse("django_registration_register"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )
    assert response["Location"] == closed
    assert "Sign-up is closed" in client.get(closed).content.decode()
    assert not User.objects.exists()
    assert mailoutbox == []


def test_activation_without_a_held_vote_logs_in_and_welcomes(client, sign_up):
    key = activation_key_of(sign_up())
    response = post_activation(client, key)
    assert response["Location"] == reverse("django_registration_activation_complete")
    assert is_logged_in(client)


class TestActivationFailures:
    def test_expired_link(self, client, settings, sign_up, monkeypatch, mailoutbox):
        settings.ACCOUNT_ACTIVATION_DAYS = 3
        key = activation_key_of(sign_up())
        # Four days later, for the signature check only.
        later = SimpleNamespace(time=lambda: time.time() + 4 * 86400)
        with monkeypatch.context() as m:
            m.setattr(signing, "time", later)
            response = post_activation(client, key)
        assert response.status_code == 200
        html = response.content.decode()
        assert "This activation link has expired" in html
        assert "work for 3 days" in html
        assert not user_named("carol").is_active

        # The page offers a new link, which works.
        response = client.post(
            reverse("django_registration_resend"),
            {"activation_key": hidden_value(html, "activation_key")},
        )
        assert response["Location"] == reverse("django_registration_complete")
        assert len(mailoutbox) == 2
        new_key = activation_key_of(link_in(mailoutbox[1]))
        assert post_activation(client, new_key).status_code == 302
        assert user_named("carol").is_active

    def test_the_same_link_a_day_before_expiry_works(self, client, settings, sign_up, monkeypatch):
        settings.ACCOUNT_ACTIVATION_DAYS = 3
        key = activation_key_of(sign_up())
        with monkeypatch.context() as m:
            m.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + 2 * 86400))
            assert post_activation(client, key).status_code == 302
        assert user_named("carol").is_active

    @pytest.mark.parametrize("tamper", ["signature", "username"])
    def test_tampered_link(self, client, alice, sign_up, tamper):
        key = activation_key_of(sign_up())
        payload, timestamp, signature = key.split(":")
        if tamper == "signature":
            forged = f"{payload}:{timestamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
        else:
            # Alice's name under carol's signature.
            alice_payload = signing.dumps("alice", salt="elsewhere").split(":")[0]
            forged = f"{alice_payload}:{timestamp}:{signature}"
        response = post_activation(client, forged)
        assert response.status_code == 200
        html = response.content.decode()
        assert "This activation link is not valid" in html
        assert not user_named("carol").is_active

    def test_link_signed_with_another_salt_is_invalid(self, client, sign_up):
        sign_up()
        forged = signing.dumps("carol", salt="not-registration")
        html = post_activation(client, forged).content.decode()
        assert "This activation link is not valid" in html
        assert not user_named("carol").is_active

    def test_link_used_twice(self, client, sign_up):
        key = activation_key_of(sign_up())
        assert post_activation(client, key).status_code == 302
        response = post_activation(client, key)
        assert response.status_code == 200
        html = response.content.decode()
        assert "This account is already active" in html
        assert "already been used" in html

    def test_link_of_a_deleted_account(self, client, sign_up):
        key = activation_key_of(sign_up())
        user_named("carol").delete()
        html = post_activation(client, key).content.decode()
        assert "This account no longer exists" in html

    def test_empty_key(self, client):
        html = post_activation(client, "").content.decode()
        assert "This activation link is not valid" in html

    @pytest.mark.parametrize("activated_first", [False, True], ids=["pending", "activated"])
    def test_banned_account_can_never_be_activated(self, client, sign_up, staff, activated_first):
        key = activation_key_of(sign_up())
        if activated_first:
            assert post_activation(client, key).status_code == 302
        services.ban_user(user=user_named("carol"), by=staff)
        response = post_activation(client, key)
        assert response.status_code == 200
        assert "This account has been closed by the moderators." in response.content.decode()
        assert not user_named("carol").is_active
        assert log_in(client, "carol", STRONG_PASSWORD).status_code == 200
        assert not is_logged_in(client)

    def test_banned_account_gets_no_new_link(self, client, sign_up, staff, mailoutbox):
        key = activation_key_of(sign_up())
        services.ban_user(user=user_named("carol"), by=staff)
        client.post(reverse("django_registration_resend"), {"activation_key": key})
        assert len(mailoutbox) == 1

    def test_active_account_gets_no_new_link(self, client, sign_up, mailoutbox):
        key = activation_key_of(sign_up())
        post_activation(client, key)
        client.post(reverse("django_registration_resend"), {"activation_key": key})
        assert len(mailoutbox) == 1

    def test_forged_key_gets_no_new_link(self, client, alice, mailoutbox):
        alice.is_active = False
        alice.save()
        forged = signing.dumps("alice", salt="not-registration")
        response = client.post(reverse("django_registration_resend"), {"activation_key": forged})
        assert response["Location"] == reverse("django_registration_activate")
        assert mailoutbox == []
