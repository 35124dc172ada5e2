"""A pick held on its way to becoming a vote.

An anonymous visitor's vote form goes by GET to the question's "Almost there" page, which
holds the pick as a signed token (``Pick.token``) carried in the log-in, sign-up and email
forms, so the question page itself carries nothing per visitor. Nothing is counted until the
person is known: then ``cast`` sends the pick through polls.services.cast_vote, with the same
checks (open question, its choices, the per-account limit) as any vote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.http import HttpRequest

from beebeta import analytics
from polls import ratelimit, services
from polls.models import Choice, Question

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_SALT = "polls.pick"

VOTE_MESSAGES = {
    (True, True): "Thank you: your vote is counted.",
    (False, True): "Your vote is changed. Only your new choice counts.",
    (False, False): "Your vote is unchanged.",
}
PICK_LOST = (
    "Your pick was not counted: the question is no longer open to votes, or the pick is more "
    "than a few days old. Find the question and vote again."
)

TOO_MANY_VOTES = "You have voted a lot in a short time: wait a minute, then vote again."


@dataclass(frozen=True)
class Pick:
    question: Question
    choice_ids: tuple[int, ...]

    @property
    def token(self) -> str:
        return signing.dumps([self.question.pk, list(self.choice_ids)], salt=_SALT)

    @property
    def choices(self) -> list[Choice]:
        """The picked choices, in the question's order."""
        return [choice for choice in self.question.choices.all() if choice.pk in self.choice_ids]


def from_token(token: str | None) -> Pick | None:
    """The pick a token stands for, while its question is public; None for a token that is
    missing, altered or older than HELD_VOTE_HOURS."""
    if not token:
        return None
    try:
        question_id, choice_ids = signing.loads(
            token, salt=_SALT, max_age=settings.HELD_VOTE_HOURS * 3600
        )
        choice_ids = tuple(int(pk) for pk in choice_ids)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    question = Question.objects.public().prefetch_related("choices").filter(pk=question_id).first()
    if question is None:
        return None
    return Pick(question=question, choice_ids=choice_ids)


@dataclass(frozen=True)
class Cast:
    counted: bool
    message: str


def cast(
    request: HttpRequest, *, user: User, question: Question, choice_ids: Sequence[int]
) -> Cast:
    """Cast ``user``'s vote as the vote form would, and say what became of it. ``user`` is the
    one ``request`` was just logged in as (analytics reads it from the request)."""
    if not ratelimit.allow_vote(user_id=user.pk):
        return Cast(counted=False, message=TOO_MANY_VOTES)
    try:
        outcome = services.cast_vote(user=user, question=question, choice_ids=choice_ids)
    except services.VoteRejected as exc:
        refused = f"Your vote on “{question.title}” was not counted: {exc}"
        return Cast(counted=False, message=refused)
    track(request, question, outcome)
    return Cast(counted=True, message=VOTE_MESSAGES[(outcome.first, outcome.changed)])


def track(request: HttpRequest, question: Question, outcome: services.VoteOutcome) -> None:
    """The analytics event of a vote that changed something."""
    if outcome.changed:
        analytics.track_question(
            request,
            "Vote Cast" if outcome.first else "Vote Changed",
            question,
            choice_ids=outcome.choice_ids,
            previous_choice_ids=list(outcome.previous_ids),
        )
