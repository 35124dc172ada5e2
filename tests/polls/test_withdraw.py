"""Withdrawing a vote: while the question is open, exactly once, every count down with it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from polls import services
from polls.models import Ballot, Question
from polls.tallies import read_counts

pytestmark = pytest.mark.django_db


def withdraw_url(question: Question) -> str:
    return reverse("polls:withdraw", args=[question.slug])


def test_withdrawing_takes_the_vote_off_every_count_once(client, alice, bob, question):
    first, second, _ = question.choices.values_list("pk", flat=True)
    services.cast_vote(user=alice, question=question, choice_ids=[first])
    services.cast_vote(user=bob, question=question, choice_ids=[second])
    client.force_login(alice)
    page = client.get(question.get_absolute_url()).content.decode()
    assert "Withdraw my vote" in page
    response = client.post(withdraw_url(question))
    assert response.status_code == 302 and response["Location"] == question.get_absolute_url()
    html = client.get(question.get_absolute_url()).content.decode()
    assert "Your vote is withdrawn" in html and "Withdraw my vote" not in html
    counts = read_counts(question.pk)
    assert counts.voters == 1 and counts.for_choice(first) == 0 and counts.for_choice(second) == 1
    # A second click (another tab) changes nothing.
    again = client.post(withdraw_url(question))
    assert again.status_code == 302
    assert "no vote on this question" in client.get(question.get_absolute_url()).content.decode()
    assert read_counts(question.pk).voters == 1
    assert list(Ballot.objects.values_list("user", flat=True)) == [bob.pk]


def test_a_closed_question_keeps_its_votes(client, alice, closed_question):
    yes = closed_question.choices.first().pk
    Question.objects.filter(pk=closed_question.pk).update(closes_at=None)
    services.cast_vote(user=alice, question=closed_question, choice_ids=[yes])
    services.set_status(questions=[closed_question], status=Question.Status.CLOSED)
    client.force_login(alice)
    response = client.post(withdraw_url(closed_question))
    assert response.status_code == 303
    assert "votes on it stay as they are" in client.get(response["Location"]).content.decode()
    assert read_counts(closed_question.pk).voters == 1


def test_withdrawing_needs_an_account_and_a_post(client, alice, question):
    assert client.post(withdraw_url(question))["Location"].startswith(reverse("accounts:login"))
    client.force_login(alice)
    assert client.get(withdraw_url(question)).status_code == 405


def test_a_member_may_vote_again_after_withdrawing(alice, question):
    first, second, _ = question.choices.values_list("pk", flat=True)
    services.cast_vote(user=alice, question=question, choice_ids=[first])
    assert services.withdraw_vote(user=alice, question=question) is True
    assert services.withdraw_vote(user=alice, question=question) is False
    outcome = services.cast_vote(user=alice, question=question, choice_ids=[second])
    assert outcome.first
    assert read_counts(question.pk).voters == 1
