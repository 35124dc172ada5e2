"""The ranking copies on Question that order the lists.

``voter_count`` is the sum of the question's voter tallies; ``votes_24h`` and
``votes_7d`` sum its hourly first-vote activity; ``leading_choice`` and ``leading_votes``
come from its choice tallies, for the cards of the lists. They are refreshed after a
vote (throttled per question), by ``manage.py refresh_rankings`` on a timer
(which also lets Trending decay when votes stop), and by ``recount_votes``.
Each refresh reads a bounded number of counter rows, never the vote rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from polls.models import ChoiceTally, Question, QuestionTally, VoteActivity
from polls.tallies import hour_of

_BATCH = 500


def refresh(*, question_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Refresh the given questions, or every question whose figures may have moved."""
    now = now or timezone.now()
    if question_ids is None:
        question_ids = _candidates(now)
    ids = list(question_ids)
    updated = 0
    for start in range(0, len(ids), _BATCH):
        updated += _refresh_batch(ids[start : start + _BATCH], now)
    return updated


def _candidates(now: datetime) -> set[int]:
    week_start = hour_of(now) - timedelta(days=7)
    active = VoteActivity.objects.filter(hour__gte=week_start).values_list("question_id", flat=True)
    decaying = Question.objects.filter(Q(votes_24h__gt=0) | Q(votes_7d__gt=0)).values_list(
        "pk", flat=True
    )
    return set(active) | set(decaying)


def _sums(queryset, field: str) -> dict[int, int]:
    return {
        row["question_id"]: row["total"] or 0
        for row in queryset.values("question_id").annotate(total=Sum(field)).order_by()
    }


def _leaders(ids: list[int]) -> dict[int, tuple[int | None, int]]:
    """Each question's leading choice id and its votes; None for the choice when tied."""
    totals = (
        ChoiceTally.objects.filter(question_id__in=ids)
        .values("question_id", "choice_id")
        .annotate(total=Sum("votes"))
        .order_by()
    )
    return leaders_of(totals)


def leaders_of(totals: Iterable[dict]) -> dict[int, tuple[int | None, int]]:
    """From rows of question_id, choice_id and their summed votes (``total``): each question's
    leading choice id and its votes, or None for the choice when two or more tie at the top."""
    leaders: dict[int, tuple[int | None, int]] = {}
    for row in totals:
        votes = max(row["total"] or 0, 0)
        best = leaders.get(row["question_id"], (None, 0))
        if votes > best[1]:
            leaders[row["question_id"]] = (row["choice_id"], votes)
        elif votes == best[1] and votes > 0:
            leaders[row["question_id"]] = (None, votes)
    return leaders


FIELDS = ["voter_count", "votes_24h", "votes_7d", "leading_choice", "leading_votes"]


def _refresh_batch(ids: list[int], now: datetime) -> int:
    # The current hour counts as one of the last 24.
    day_start = hour_of(now) - timedelta(hours=23)
    week_start = hour_of(now) - timedelta(days=7) + timedelta(hours=1)
    voters = _sums(QuestionTally.objects.filter(question_id__in=ids), "voters")
    recent = VoteActivity.objects.filter(question_id__in=ids, hour__gte=week_start)
    week = _sums(recent, "votes")
    day = _sums(recent.filter(hour__gte=day_start), "votes")
    leaders = _leaders(ids)
    questions = list(Question.objects.filter(pk__in=ids).only("pk", *FIELDS))
    changed = []
    for question in questions:
        figures = (
            max(voters.get(question.pk, 0), 0),
            day.get(question.pk, 0),
            week.get(question.pk, 0),
            *leaders.get(question.pk, (None, 0)),
        )
        now_shown = (
            question.voter_count,
            question.votes_24h,
            question.votes_7d,
            question.leading_choice_id,
            question.leading_votes,
        )
        if figures != now_shown:
            (
                question.voter_count,
                question.votes_24h,
                question.votes_7d,
                question.leading_choice_id,
                question.leading_votes,
            ) = figures
            changed.append(question)
    Question.objects.bulk_update(changed, FIELDS)
    return len(changed)
