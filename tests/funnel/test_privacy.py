"""Nothing Beebeta answers tells whether an email address has an account: sign-up, voting with
an email, password reset and email change answer alike, and the address's owner hears of it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.helpers import STRONG_PASSWORD, comparable
from tests.funnel.helpers import choice_ids, pick_token, vote_by_email

pytestmark = pytest.mark.django_db


def answer(response) -> tuple:
    """What a visitor sees of a response, whatever they typed: status, where it sends them,
    and the page there."""
    return (response.status_code, response.redirect_chain, comparable(response.content.decode()))


def sign_up(email: str, username: str):
    return Client().post(
        reverse("django_registration_register"),
        {
            "username": username,
            "email": email,
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
        follow=True,
    )


def test_sign_up_answers_the_same_for_a_known_address_and_emails_its_owner(alice, mailoutbox):
    known = sign_up("Alice@Example.com", "newcomer1")
    unknown = sign_up("erin@example.com", "newcomer2")
    assert answer(known) == answer(unknown)
    assert not type(alice).objects.filter(username="newcomer1").exists()
    to_alice = [m for m in mailoutbox if m.to == ["alice@example.com"]]
    assert len(to_alice) == 1 and "already has an account" in to_alice[0].body
    assert "/accounts/link/" in to_alice[0].body  # a way in for the owner, if it was them


def test_an_email_vote_answers_the_same_for_a_known_address(alice, question, mailoutbox):
    answers = []
    for email in ("alice@example.com", "frank@example.com"):
        client = Client()
        token = pick_token(client, question, choice_ids(question)[0])
        response = client.post(
            reverse("polls:almost_there", args=[question.slug]),
            {"vote": token, "email": email},
            follow=True,
        )
        answers.append(answer(response))
    assert answers[0] == answers[1]
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "frank@example.com"]


def test_password_reset_answers_the_same(alice):
    known, unknown = (
        Client().post(reverse("accounts:password_reset"), {"email": email}, follow=True)
        for email in ("alice@example.com", "nobody@example.com")
    )
    assert answer(known) == answer(unknown)


def test_no_request_sends_email_itself(alice, question, client):
    from django.core import mail
    from post_office.models import Email

    token = pick_token(client, question, choice_ids(question)[0])
    vote_by_email(client, question, token, "gina@example.com")
    client.post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    sign_up("hank@example.com", "hank")
    # Written to the outbox, sent by nobody yet.
    assert mail.outbox == []
    assert Email.objects.count() == 3
