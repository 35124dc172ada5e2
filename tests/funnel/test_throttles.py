"""Abuse limits inside Django on the requests that send account emails: per client address
(believed from X-Forwarded-For only through TRUSTED_PROXIES), per account and per target
address, each answered with Beebeta's 429 page, and nobody else held up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client
from django.urls import reverse
from django_registration.backends.activation import REGISTRATION_SALT

from tests.accounts.helpers import FIXTURE_PASSWORD, STRONG_PASSWORD
from tests.funnel.helpers import choice_ids, pick_token, vote_by_email

pytestmark = pytest.mark.django_db

User = get_user_model()
ATTACKER, NEIGHBOUR = "203.0.113.7", "198.51.100.8"


@pytest.fixture(autouse=True)
def _limits(settings) -> None:
    settings.ACCOUNT_EMAILS_PER_CLIENT = 3
    settings.ACCOUNT_EMAILS_PER_ACCOUNT = 2
    settings.ACCOUNT_EMAILS_PER_ADDRESS = 2
    settings.ACCOUNT_EMAIL_WINDOW_SECONDS = 3600
    settings.TRUSTED_PROXIES = []


def is_429_page(response) -> bool:
    return (
        response.status_code == 429
        and "Slow down a little" in response.content.decode()
        and int(response["Retry-After"]) <= 3600
    )


_names = iter(range(10_000))


def sign_up(client: Client, email: str):
    n = next(_names)
    return client.post(
        reverse("django_registration_register"),
        {
            "username": f"person{n}",
            "email": email,
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )


def reset(client: Client, email: str):
    return client.post(reverse("accounts:password_reset"), {"email": email})


@pytest.fixture
def email_vote(question) -> Callable[[Client, str], object]:
    def send(client: Client, email: str):
        return vote_by_email(
            client, question, pick_token(client, question, choice_ids(question)[0]), email
        )

    return send


@pytest.fixture(params=["sign-up", "email vote", "password reset"])
def action(request, email_vote):
    return {"sign-up": sign_up, "email vote": email_vote, "password reset": reset}[request.param]


def test_one_client_address_is_held_back_and_others_are_not(action, mailoutbox):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    answers = [action(attacker, f"target{n}@example.com").status_code for n in range(4)]
    assert answers[:3] == [302, 302, 302] and answers[3] == 429
    assert is_429_page(action(attacker, "another@example.com"))
    # A forged header changes nothing when no proxy is trusted.
    forged = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=NEIGHBOUR)
    assert action(forged, "yet-another@example.com").status_code == 429
    # Someone else, elsewhere, is not affected.
    assert action(Client(REMOTE_ADDR=NEIGHBOUR), "neighbour@example.com").status_code == 302


def test_one_target_address_is_held_back_from_every_client(action, alice, mailoutbox):
    answers = [
        action(Client(REMOTE_ADDR=f"192.0.2.{n}"), "alice@example.com").status_code
        for n in range(1, 4)
    ]
    assert answers == [302, 302, 429]
    # The limit counts any address, known or not, so a 429 tells nothing about accounts.
    unknown = [
        action(Client(REMOTE_ADDR=f"192.0.2.{n}"), "nobody@example.com").status_code
        for n in range(11, 14)
    ]
    assert unknown == answers
    assert action(Client(REMOTE_ADDR="192.0.2.99"), "bob@example.com").status_code == 302
    assert len([m for m in mailoutbox if m.to == ["alice@example.com"]]) == 2


def test_the_client_address_comes_through_a_trusted_proxy_only(settings, action):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    proxy = "127.0.0.1"
    for n in range(3):
        via = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
        assert action(via, f"t{n}@example.com").status_code == 302
    assert (
        action(
            Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ATTACKER), "x@example.com"
        ).status_code
        == 429
    )
    # Another client behind the same proxy is its own client.
    assert (
        action(
            Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=NEIGHBOUR), "y@example.com"
        ).status_code
        == 302
    )


def test_new_activation_links_are_limited_per_account(alice, bob, mailoutbox):
    for user in (alice, bob):
        user.is_active = False
        user.save()
    key = signing.dumps("alice", salt=REGISTRATION_SALT)
    answers = [
        Client(REMOTE_ADDR=f"192.0.2.{n}").post(
            reverse("django_registration_resend"), {"activation_key": key}
        )
        for n in range(1, 4)
    ]
    assert [a.status_code for a in answers] == [302, 302, 429]
    assert is_429_page(answers[2])
    bobs = signing.dumps("bob", salt=REGISTRATION_SALT)
    assert (
        Client().post(reverse("django_registration_resend"), {"activation_key": bobs}).status_code
        == 302
    )
    assert len(mailoutbox) == 3


def test_email_changes_are_limited_per_account(alice, bob):
    def change(user, n: int):
        client = Client(REMOTE_ADDR=f"192.0.2.{n}")
        client.force_login(user)
        return client.post(
            reverse("accounts:change_email"),
            {"email": f"{user.username}{n}@new.example", "current_password": FIXTURE_PASSWORD},
        )

    assert [change(alice, n).status_code for n in range(1, 4)] == [302, 302, 429]
    assert change(bob, 9).status_code == 302
