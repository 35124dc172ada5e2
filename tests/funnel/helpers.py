"""Helpers for the vote funnel's tests: the "Almost there" page and the pick it holds."""

from __future__ import annotations

from django.urls import reverse

from polls.models import Question
from tests.accounts.helpers import hidden_value


def choice_ids(question: Question) -> list[int]:
    return list(question.choices.order_by("position").values_list("pk", flat=True))


def almost_there_url(question: Question) -> str:
    return reverse("polls:almost_there", args=[question.slug])


def hold(client, question: Question, *picked: int):
    """What the question page's vote form does for an anonymous visitor: GET "Almost there"."""
    return client.get(almost_there_url(question), {"choice": list(picked)})


def pick_token(client, question: Question, *picked: int) -> str:
    response = hold(client, question, *picked)
    assert response.status_code == 200, response.content.decode()
    return hidden_value(response.content.decode(), "vote")


def vote_by_email(client, question: Question, token: str, email: str):
    return client.post(almost_there_url(question), {"vote": token, "email": email})
