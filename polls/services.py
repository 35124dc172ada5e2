"""Writes that touch several models: voting, withdrawing votes, moderation.

Every function is keyword-only and does its database work in one
transaction; cache keys are only ever deleted afterwards, which is safe
whatever happened (the next reader rebuilds them from the database).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from polls import cache_keys, rankings, tallies
from polls.models import Ballot, Choice, Question, Vote

logger = logging.getLogger(__name__)

# A first vote that loses the race to insert the ballot, or a deadlock
# between two transactions, is retried; more than this is a real error.
_VOTE_ATTEMPTS = 4
# MySQL error codes that mean "run the transaction again".
_RETRYABLE_MYSQL_ERRORS = {1205, 1213}


class VoteRejected(Exception):
    """The vote cannot be accepted; the message says why, for the voter."""


@dataclass(frozen=True)
class VoteOutcome:
    first: bool
    changed: bool
    choice_ids: tuple[int, ...]


def cast_vote(
    *, user, question: Question, choice_ids: Sequence[int], now: datetime | None = None
) -> VoteOutcome:
    """Record ``user``'s vote, replacing any earlier one on the same question."""
    now = now or timezone.now()
    if not user.is_active:
        raise VoteRejected("Your account cannot vote.")
    for attempt in range(1, _VOTE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                outcome = _write_ballot(
                    user=user, question=question, choice_ids=choice_ids, now=now
                )
            break
        except IntegrityError:
            # Another request of the same user inserted the ballot first;
            # the next attempt finds it and replaces its votes instead.
            if attempt == _VOTE_ATTEMPTS:
                raise
        except OperationalError as exc:
            if exc.args and exc.args[0] in _RETRYABLE_MYSQL_ERRORS and attempt < _VOTE_ATTEMPTS:
                logger.info("vote transaction retried after MySQL error %s", exc.args[0])
                continue
            raise
    if outcome.changed:
        _after_votes_changed(question=question, user_ids=[user.pk])
    return outcome


def _write_ballot(
    *, user, question: Question, choice_ids: Sequence[int], now: datetime
) -> VoteOutcome:
    current = (
        Question.objects.filter(pk=question.pk).values("status", "closes_at", "max_choices").first()
    )
    if current is None or current["status"] not in ("published", "closed"):
        raise VoteRejected("This question is not open for voting.")
    closes_at = current["closes_at"]
    if current["status"] == "closed" or (closes_at is not None and closes_at <= now):
        raise VoteRejected("This question is closed; it no longer takes votes.")
    chosen = _validate_choices(
        question_id=question.pk, choice_ids=choice_ids, limit=current["max_choices"]
    )

    ballot = Ballot.objects.select_for_update().filter(user=user, question_id=question.pk).first()
    if ballot is None:
        # Raises IntegrityError when a concurrent request created it first.
        ballot = Ballot.objects.create(
            user=user, question_id=question.pk, created_at=now, updated_at=now
        )
        previous: tuple[int, ...] = ()
    else:
        previous = tuple(
            Vote.objects.filter(ballot=ballot).order_by("slot").values_list("choice_id", flat=True)
        )
        if set(previous) == set(chosen):
            return VoteOutcome(first=False, changed=False, choice_ids=previous)
        Vote.objects.filter(ballot=ballot).delete()
        Ballot.objects.filter(pk=ballot.pk).update(updated_at=now)

    Vote.objects.bulk_create(
        Vote(ballot=ballot, question_id=question.pk, choice_id=choice_id, slot=slot)
        for slot, choice_id in enumerate(chosen)
    )
    deltas = {choice_id: -1 for choice_id in previous}
    for choice_id in chosen:
        deltas[choice_id] = deltas.get(choice_id, 0) + 1
    shard = tallies.random_shard()
    tallies.add_choice_votes(question_id=question.pk, deltas=deltas, shard=shard)
    first = not previous
    if first:
        tallies.add_voters(question_id=question.pk, delta=1, shard=shard)
        tallies.add_activity(
            question_id=question.pk, hour=tallies.hour_of(now), delta=1, shard=shard
        )
    return VoteOutcome(first=first, changed=True, choice_ids=chosen)


def _validate_choices(
    *, question_id: int, choice_ids: Sequence[int], limit: int
) -> tuple[int, ...]:
    chosen = tuple(dict.fromkeys(choice_ids))  # drop repeats, keep the voter's order
    if not chosen:
        raise VoteRejected("Pick a choice before voting.")
    if len(chosen) > limit:
        if limit == 1:
            raise VoteRejected("This question takes a single choice.")
        raise VoteRejected(f"You can pick at most {limit} choices.")
    known = set(
        Choice.objects.filter(question_id=question_id, pk__in=chosen).values_list("pk", flat=True)
    )
    if known != set(chosen):
        raise VoteRejected("That choice is not part of this question.")
    return chosen


def withdraw_votes(*, user) -> int:
    """Remove every vote of ``user`` (account deletion), keeping counters right."""
    question_ids = []
    for ballot_id, question_id in Ballot.objects.filter(user=user).values_list("pk", "question_id"):
        with transaction.atomic():
            ballot = Ballot.objects.select_for_update().filter(pk=ballot_id).first()
            if ballot is None:
                continue
            previous = list(Vote.objects.filter(ballot=ballot).values_list("choice_id", flat=True))
            ballot.delete()
            shard = tallies.random_shard()
            tallies.add_choice_votes(
                question_id=question_id, deltas={c: -1 for c in previous}, shard=shard
            )
            tallies.add_voters(question_id=question_id, delta=-1, shard=shard)
        question_ids.append(question_id)
    for question in Question.objects.filter(pk__in=question_ids).only("pk", "slug"):
        _after_votes_changed(question=question, user_ids=[user.pk], throttle=False)
    return len(question_ids)


def _after_votes_changed(
    *, question: Question, user_ids: Iterable[int], throttle: bool = True
) -> None:
    cache.delete_many(
        [cache_keys.counts(question.slug)]
        + [cache_keys.ballot(user_id, question.slug) for user_id in user_ids]
    )
    # Lists are ordered by copies of the counts; refresh them at most once
    # per RANKING_REFRESH_SECONDS per question (the periodic sweep catches
    # whatever a throttled refresh skipped).
    window = settings.RANKING_REFRESH_SECONDS
    if not throttle or window == 0 or cache.add(cache_keys.ranking_refresh(question.pk), 1, window):
        rankings.refresh(question_ids=[question.pk])


# --- Questions ------------------------------------------------------------------------


def set_status(*, questions: Iterable[Question], status: str) -> int:
    """Moderation: publish, hide or close questions, one save each so caches follow."""
    changed = 0
    for question in questions:
        if question.status != status:
            question.status = status
            question.save(update_fields=["status", "published_at"])
            changed += 1
    return changed
