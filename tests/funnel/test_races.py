"""Races on MariaDB: one account per email address holds when two requests make it at the same
moment, and two confirmations of one person's held votes end as one ballot."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import AccountEmail
from polls.models import Ballot
from polls.tallies import read_counts
from tests.accounts.helpers import STRONG_PASSWORD, link_in
from tests.funnel.helpers import choice_ids, pick_token, vote_by_email

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


def at_once(jobs: list[Callable[[], object]]) -> list[object]:
    """Run each job in its own thread with its own database connection; their results."""
    results: list[object] = [None] * len(jobs)

    def run(index: int) -> None:
        try:
            results[index] = jobs[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def both_find_the_address_free(monkeypatch):
    """Both requests look the address up before either writes: the database alone decides."""
    barrier = threading.Barrier(2, timeout=10)
    real = services.account_with_email

    def look_up_then_wait(email: str):
        found = real(email)
        barrier.wait()
        return found

    monkeypatch.setattr(services, "account_with_email", look_up_then_wait)


def test_the_database_refuses_a_second_account_for_one_address_in_any_case(db):
    User.objects.create_user("one", "same@example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user("two", "SAME@Example.COM")


def test_two_sign_ups_with_one_address_at_once_make_one_account(both_find_the_address_free):
    def sign_up(username: str):
        def post():
            return Client().post(
                reverse("django_registration_register"),
                {
                    "username": username,
                    "email": "Twin@Example.com" if username == "twin1" else "twin@example.com",
                    "password1": STRONG_PASSWORD,
                    "password2": STRONG_PASSWORD,
                },
            )

        return post

    answers = at_once([sign_up("twin1"), sign_up("twin2")])
    assert sorted(answer.status_code for answer in answers) == [200, 302]
    refused = next(answer for answer in answers if answer.status_code == 200)
    assert services.RACE_MESSAGE in refused.content.decode()
    assert AccountEmail.objects.filter(address="twin@example.com").count() == 1
    assert User.objects.filter(email__iexact="twin@example.com").count() == 1


def test_two_email_votes_with_one_new_address_at_once_make_one_account(
    question, both_find_the_address_free
):
    tokens = [pick_token(Client(), question, pk) for pk in choice_ids(question)[:2]]

    def vote(token: str):
        return lambda: vote_by_email(Client(), question, token, "solo@example.com")

    answers = at_once([vote(tokens[0]), vote(tokens[1])])
    assert sorted(answer.status_code for answer in answers) == [302, 409]
    assert User.objects.filter(email="solo@example.com").count() == 1
    assert (
        services.RACE_MESSAGE in next(a for a in answers if a.status_code == 409).content.decode()
    )


def test_two_links_of_one_person_opened_at_once_make_one_ballot(question, alice, mailoutbox):
    first, second, _ = choice_ids(question)
    for pick in (first, second):
        client = Client()
        vote_by_email(client, question, pick_token(client, question, pick), "alice@example.com")
    links = [link_in(message) for message in mailoutbox]
    answers = at_once([lambda link=link: Client().post(link) for link in links])
    assert [answer.status_code for answer in answers] == [302, 302]
    assert Ballot.objects.filter(user=alice, question=question).count() == 1
    assert read_counts(question.pk).voters == 1
