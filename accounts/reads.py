"""What the profile page and the data download read, in a fixed number of
queries whatever the account holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet

from polls.models import Ballot, Question, Vote

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The profile lists the latest of each; the data download has everything.
PROFILE_LIST_LIMIT = 50


def my_questions(user: User) -> QuerySet[Question]:
    """Every question ``user`` asked, whatever its status, newest first."""
    return Question.objects.filter(author=user).order_by("-created_at", "-id")


def my_ballots(user: User) -> QuerySet[Ballot]:
    """``user``'s votes, most recently cast or changed first, with the chosen choices."""
    chosen = Vote.objects.select_related("choice").order_by("slot")
    return (
        Ballot.objects.filter(user=user)
        .select_related("question")
        .prefetch_related(Prefetch("votes", queryset=chosen))
        .order_by("-updated_at", "-id")
    )


def profile_lists(user: User) -> dict[str, Any]:
    """The profile's latest questions and votes, and whether there are more of each."""
    questions = list(my_questions(user)[: PROFILE_LIST_LIMIT + 1])
    ballots = list(my_ballots(user)[: PROFILE_LIST_LIMIT + 1])
    return {
        "questions": questions[:PROFILE_LIST_LIMIT],
        "more_questions": len(questions) > PROFILE_LIST_LIMIT,
        "ballots": ballots[:PROFILE_LIST_LIMIT],
        "more_ballots": len(ballots) > PROFILE_LIST_LIMIT,
        "limit": PROFILE_LIST_LIMIT,
    }


def personal_data(user: User) -> dict[str, Any]:
    """Everything Beebeta keeps that is about ``user``, for them to take away."""
    questions = my_questions(user).prefetch_related("choices")
    return {
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        },
        "questions": [
            {
                "title": question.title,
                "slug": question.slug,
                "status": question.status,
                "description": question.description,
                "created_at": question.created_at,
                "published_at": question.published_at,
                "choices": [choice.text for choice in question.choices.all()],
            }
            for question in questions
        ],
        "votes": [
            {
                "question_slug": ballot.question.slug,
                "question_title": ballot.question.title,
                "choices": [vote.choice.text for vote in ballot.votes.all()],
                "created_at": ballot.created_at,
                "updated_at": ballot.updated_at,
            }
            for ballot in my_ballots(user)
        ],
    }
