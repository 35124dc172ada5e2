"""Writes that touch several models: voting, asking, reporting, moderation.

Every function is keyword-only and does its database work in one
transaction, but for ``recount_votes``, which takes one per question (its
docstring says why). Cache keys are deleted after the commit, which is safe
whatever happened (the next reader rebuilds them from the database): by the
functions themselves when they commit, and through ``reads.forget`` when they
run inside a caller's transaction or save questions (the signals).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.text import slugify

from accounts.services import end_sessions, record_ban
from polls import cache_keys, rankings, reads, tallies
from polls.models import (
    MAX_CHOICES,
    PUBLIC_STATUSES,
    Ballot,
    Choice,
    Image,
    Question,
    Report,
    Tag,
    Vote,
)
from polls.search import refresh_search_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

# A first vote that loses the race to insert the ballot, or a deadlock
# between two transactions, is retried; more than this is a real error.
_VOTE_ATTEMPTS = 6
# The longest pause before the n-th retry after a deadlock is n times this.
_VOTE_BACKOFF_SECONDS = 0.02
# MySQL error codes that mean "run the transaction again".
_RETRYABLE_MYSQL_ERRORS = {1205, 1213}
# "Cannot add a row: a foreign key constraint fails": the voter's account was deleted meanwhile.
_MYSQL_NO_PARENT_ROW = 1452


class VoteRejected(Exception):
    """The vote cannot be accepted; the message says why, for the voter."""


@dataclass(frozen=True)
class VoteOutcome:
    first: bool
    changed: bool
    choice_ids: tuple[int, ...]
    # What the ballot held before this vote (empty for a first vote).
    previous_ids: tuple[int, ...] = ()


def cast_vote(
    *, user: User, question: Question, choice_ids: Sequence[int], now: datetime | None = None
) -> VoteOutcome:
    """Record ``user``'s vote, replacing any earlier one on the same question."""
    now = now or timezone.now()
    if not user.is_active:
        raise VoteRejected("Your account cannot vote.")
    # The cached counts and ballot, read before anything commits: the vote updates them once it
    # has (reads.update_held), so the page after it is read from memcached, not rebuilt.
    counts_key, ballot_key = (
        cache_keys.counts(question.slug),
        cache_keys.ballot(user.pk, question.slug),
    )
    held = reads.hold([counts_key, ballot_key])
    connection = transaction.get_connection()
    for attempt in range(1, _VOTE_ATTEMPTS + 1):
        try:
            if not _in_one_round_trip(connection):
                with transaction.atomic():
                    outcome = _write_ballot(
                        user=user, question=question, choice_ids=choice_ids, now=now
                    )
            else:
                # One round trip: in autocommit mode the procedure begins and commits the
                # transaction itself; inside a caller's, it runs within a savepoint of it.
                own = not connection.in_atomic_block
                with contextlib.nullcontext() if own else transaction.atomic():
                    outcome = _write_ballot_in_mysql(
                        user=user, question=question, choice_ids=choice_ids, now=now, own=own
                    )
            break
        except IntegrityError as exc:
            if exc.args and exc.args[0] == _MYSQL_NO_PARENT_ROW:
                raise VoteRejected("This account has been deleted.") from exc
            # Another request of the same user inserted the ballot first;
            # the next attempt finds it and replaces its votes instead.
            if attempt == _VOTE_ATTEMPTS:
                raise
        except OperationalError as exc:
            if exc.args and exc.args[0] in _RETRYABLE_MYSQL_ERRORS and attempt < _VOTE_ATTEMPTS:
                logger.info("vote transaction retried after MySQL error %s", exc.args[0])
                # A moment's pause, different for each request: two transactions that
                # deadlocked (a vote and its account's deletion, say) do not meet again in step.
                time.sleep(_VOTE_BACKOFF_SECONDS * attempt * random.random())  # noqa: S311
                continue
            raise
    if not outcome.changed:
        return outcome
    if not held.entries:
        _after_votes_changed(question=question, user_ids=[user.pk], first_vote=outcome.first)
        return outcome
    # Each entry moved by this vote, or deleted (None) where there was nothing to move. Moved
    # counts expire COUNTS_CACHE_SECONDS after they were read from MySQL, not after this vote.
    bound = settings.COUNTS_CACHE_SECONDS
    values: dict[str, tuple[object, int] | None] = {
        ballot_key: (outcome.choice_ids, bound),
        counts_key: None,
    }
    counts = held.value(counts_key)
    left = int(getattr(counts, "read_at", 0) + bound - time.time())
    if isinstance(counts, tallies.Counts) and left > 0:
        moved = counts.moved(
            voters=int(outcome.first), choices=outcome.choice_ids, previous=outcome.previous_ids
        )
        values[counts_key] = (moved, left)
    reads.update_held(held, values)
    if outcome.first:
        # Only a first vote adds a question to the voter's set.
        reads.forget([cache_keys.voted(user.pk)])
    return outcome


def _write_ballot(
    *, user: User, question: Question, choice_ids: Sequence[int], now: datetime
) -> VoteOutcome:
    chosen = _validate_choices(question_id=question.pk, choice_ids=choice_ids, now=now)
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
            return VoteOutcome(
                first=False, changed=False, choice_ids=previous, previous_ids=previous
            )
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
    return VoteOutcome(first=first, changed=True, choice_ids=chosen, previous_ids=previous)


def _in_one_round_trip(connection: BaseDatabaseWrapper) -> bool:
    """Whether the vote goes to MySQL's stored procedure (on other databases, the ORM's
    statements one by one: SQLite has no round trips to save)."""
    return connection.vendor == "mysql"


def _write_ballot_in_mysql(
    *,
    user: User,
    question: Question,
    choice_ids: Sequence[int],
    now: datetime,
    own: bool = False,
) -> VoteOutcome:
    """_write_ballot in one round trip: the stored procedure polls_cast_vote (migration
    polls 0011) runs the same statements in the same order inside MySQL. With ``own`` it
    begins and commits the transaction itself (the connection is in autocommit mode)."""
    chosen = tuple(dict.fromkeys(choice_ids))  # drop repeats, keep the voter's order
    if not chosen:
        raise VoteRejected("Pick a choice before voting.")
    if len(chosen) > MAX_CHOICES:
        # More than any question takes, and more than the procedure's list of picks holds.
        _refuse_too_many(question.max_choices)
    connection = transaction.get_connection()
    ops = connection.ops
    params = [
        user.pk,
        question.pk,
        ",".join(str(int(choice_id)) for choice_id in chosen),
        len(chosen),
        ops.adapt_datetimefield_value(now),
        ops.adapt_datetimefield_value(tallies.hour_of(now)),
        tallies.random_shard(),
        own,
    ]
    with connection.cursor() as cursor:
        cursor.execute("CALL polls_cast_vote(%s, %s, %s, %s, %s, %s, %s, %s)", params)
        row = cursor.fetchone()
        # A CALL answers its SELECT's rows and then its own status: both are read before the
        # connection takes another statement.
        while cursor.nextset():
            pass
    what, limit, earlier = row
    previous = tuple(int(choice_id) for choice_id in earlier.split(",") if choice_id)
    if what in _PROCEDURE_REFUSALS:
        raise VoteRejected(_PROCEDURE_REFUSALS[what])
    if what == "too_many":
        _refuse_too_many(limit)
    if what == "unchanged":
        return VoteOutcome(first=False, changed=False, choice_ids=previous, previous_ids=previous)
    return VoteOutcome(
        first=what == "first", changed=True, choice_ids=chosen, previous_ids=previous
    )


_NOT_OPEN = "This question is not open for voting."
_CLOSED = "This question is closed; it no longer takes votes."
_NOT_A_CHOICE = "That choice is not part of this question."
_PROCEDURE_REFUSALS = {"not_open": _NOT_OPEN, "closed": _CLOSED, "not_a_choice": _NOT_A_CHOICE}


def _refuse_too_many(limit: int) -> None:
    if limit == 1:
        raise VoteRejected("This question takes a single choice.")
    raise VoteRejected(f"You can pick at most {limit} choices.")


def _validate_choices(
    *, question_id: int, choice_ids: Sequence[int], now: datetime
) -> tuple[int, ...]:
    """The chosen choices, once the question, as it is in MySQL now, takes them: one query that
    reads the choices with their question's state (a second only when none of them matched)."""
    chosen = tuple(dict.fromkeys(choice_ids))  # drop repeats, keep the voter's order
    if not chosen:
        raise VoteRejected("Pick a choice before voting.")
    rows = list(
        Choice.objects.filter(question_id=question_id, pk__in=chosen).values_list(
            "pk", "question__status", "question__closes_at", "question__max_choices"
        )
    )
    state: tuple[str, datetime | None, int] | None
    if rows:
        state = rows[0][1:]
    else:
        state = (
            Question.objects.filter(pk=question_id)
            .values_list("status", "closes_at", "max_choices")
            .first()
        )
    if state is None or state[0] not in PUBLIC_STATUSES:
        raise VoteRejected(_NOT_OPEN)
    status, closes_at, limit = state
    if status == Question.Status.CLOSED or (closes_at is not None and closes_at <= now):
        raise VoteRejected(_CLOSED)
    if len(chosen) > limit:
        _refuse_too_many(limit)
    if {row[0] for row in rows} != set(chosen):
        raise VoteRejected(_NOT_A_CHOICE)
    return chosen


def withdraw_vote(*, user: User, question: Question, now: datetime | None = None) -> bool:
    """Take back ``user``'s vote on ``question`` while it is open: every count goes down with it.

    True when a vote was withdrawn, False when there was none (a second click, another tab):
    the ballot is locked and removed in one transaction, so a vote is withdrawn exactly once.
    """
    now = now or timezone.now()
    with transaction.atomic():
        state = Question.objects.filter(pk=question.pk).values_list("status", "closes_at").first()
        if state is None or state[0] != Question.Status.PUBLISHED:
            raise VoteRejected("This question is not open, so votes on it stay as they are.")
        if state[1] is not None and state[1] <= now:
            raise VoteRejected("This question is closed, so votes on it stay as they are.")
        ballot = Ballot.objects.select_for_update().filter(user=user, question=question).first()
        if ballot is None:
            return False
        _remove_ballot(ballot)
    # Withdrawing takes the question out of the voter's set, as a first vote puts it in.
    _after_votes_changed(question=question, user_ids=[user.pk], first_vote=True)
    return True


def _remove_ballot(ballot: Ballot) -> None:
    """Delete a locked ballot and its votes, and take them off every counter."""
    previous = list(Vote.objects.filter(ballot=ballot).values_list("choice_id", flat=True))
    ballot.delete()
    shard = tallies.random_shard()
    tallies.add_choice_votes(
        question_id=ballot.question_id, deltas={c: -1 for c in previous}, shard=shard
    )
    tallies.add_voters(question_id=ballot.question_id, delta=-1, shard=shard)


def withdraw_votes(*, user: User) -> int:
    """Remove every vote of ``user`` (account deletion), keeping counters right.

    It runs inside the deletion's transaction (the pre_delete signal), so the
    cached counts are dropped again once the account is gone for good.
    """
    question_ids = []
    with transaction.atomic():
        ballot_ids = Ballot.objects.filter(user=user).values_list("pk", flat=True)
        for ballot_id in ballot_ids:
            ballot = Ballot.objects.select_for_update().filter(pk=ballot_id).first()
            if ballot is None:
                continue
            _remove_ballot(ballot)
            question_ids.append(ballot.question_id)
    for question in Question.objects.filter(pk__in=question_ids).only("pk", "slug"):
        _after_votes_changed(question=question, user_ids=[user.pk])
    reads.forget([cache_keys.voted(user.pk)])
    # The lists' copies of these questions' figures, once the deletion has committed. Inside
    # it, their UPDATE of the question rows waited on votes that held those rows (a ballot's
    # foreign key) while the deletion held the counters the votes wanted: a deadlock that cost
    # the whole deletion, again and again under load.
    if question_ids:
        transaction.on_commit(lambda: _refresh_rankings(question_ids))
    return len(question_ids)


def _after_votes_changed(
    *,
    question: Question,
    user_ids: Iterable[int],
    first_vote: bool = False,
) -> None:
    user_ids = list(user_ids)
    keys = [cache_keys.counts(question.slug)]
    keys += [cache_keys.ballot(user_id, question.slug) for user_id in user_ids]
    if first_vote:
        # Only a first vote adds a question to the voter's set; a change leaves it as it is.
        keys += [cache_keys.voted(user_id) for user_id in user_ids]
    # Lists are ordered by copies of the counts, which `refresh_rankings --follow` (a timer in
    # production) refreshes every RANKING_REFRESH_SECONDS: never on the vote path, where it
    # cost as much as the vote and its UPDATE of the question could deadlock with a concurrent
    # vote after this one had committed (a 500 for a vote that counted).
    reads.forget(keys)


def _refresh_rankings(question_ids: list[int]) -> None:
    """The lists' copies of these questions' figures, brought up to date after a commit."""
    try:
        rankings.refresh(question_ids=question_ids)
    except OperationalError as exc:
        # The votes have committed: a deadlock over the lists' order (a vote holds the same
        # rows) must not fail the request, since the figures are copies and refresh_rankings'
        # sweep brings them up to date.
        if not exc.args or exc.args[0] not in _RETRYABLE_MYSQL_ERRORS:
            raise
        logger.info(
            "rankings of questions %s left to the sweep after MySQL error %s",
            question_ids,
            exc.args[0],
        )


@dataclass(frozen=True)
class RecountOutcome:
    questions: int
    # Figures (a question's votes per choice, its voters) that differed from the vote rows.
    corrected: int


def recount_votes() -> RecountOutcome:
    """Rebuild every question's counters from the vote rows, then its rankings and cached counts.

    One transaction per question rather than one for all: each pauses voting on its own
    question only, for as long as that question takes (tallies.rebuild_counters).
    """
    question_ids = list(Question.objects.values_list("pk", flat=True).order_by("pk"))
    corrected = sum(tallies.rebuild_counters(question_id=pk) for pk in question_ids)
    rankings.refresh(question_ids=question_ids)
    slugs = Question.objects.values_list("slug", flat=True)
    reads.forget([cache_keys.counts(slug) for slug in slugs])
    return RecountOutcome(questions=len(question_ids), corrected=corrected)


# --- Questions ------------------------------------------------------------------------


def set_status(*, questions: Iterable[Question], status: str) -> int:
    """Moderation: publish, hide or close questions, one save each so caches follow."""
    changed = 0
    with transaction.atomic():
        for question in questions:
            if question.status != status:
                question.status = status
                question.save(update_fields=["status", "published_at"])
                changed += 1
    return changed


# --- Asking -----------------------------------------------------------------------------

TAG_SLUG_LENGTH = 60


def tag_slug(name: str) -> str:
    return slugify(name, allow_unicode=True)[:TAG_SLUG_LENGTH].strip("-")


def ask_question(
    *,
    author: User,
    title: str,
    description: str,
    choices: Sequence[tuple[str, Image | None]],
    tags: Sequence[str],
    max_choices: int,
    closes_at: datetime | None,
    results_visibility: str,
    image: Image | None,
) -> Question:
    """Create a question with its choices and tags.

    It waits for a moderator while its author has fewer than
    MODERATE_FIRST_QUESTIONS questions that a moderator let through (public
    ones): counting every earlier question instead would let a new account
    publish at once by asking twice before anyone looked at the first. Raises
    TooManyWaiting when it would wait and PENDING_QUESTIONS_PER_ACCOUNT of the
    author's questions already do.
    """
    if not author.is_active:
        raise PermissionDenied("This account cannot ask questions.")
    if not 2 <= len(choices) <= MAX_CHOICES or not 1 <= max_choices <= len(choices):
        raise ValueError("A question needs 2 to 12 choices and a maximum within them.")
    with transaction.atomic():
        present = _lock_images([image, *(picture for _, picture in choices)])
        image = image if image is not None and image.pk in present else None
        choices = [(text, p if p is not None and p.pk in present else None) for text, p in choices]
        approved = Question.objects.filter(author=author, status__in=PUBLIC_STATUSES).count()
        waits = approved < settings.MODERATE_FIRST_QUESTIONS
        if waits:
            _check_room_to_wait(author)
        question = Question(
            title=title,
            description=description,
            author=author,
            status=Question.Status.PENDING if waits else Question.Status.PUBLISHED,
            held_for_review_at=timezone.now() if waits else None,
            max_choices=max_choices,
            closes_at=closes_at,
            results_visibility=results_visibility,
            image=image,
        )
        question.save()
        # One insert for all choices; bulk_create sends no signals, so the
        # search column is refreshed once below instead of once per choice.
        Choice.objects.bulk_create(
            Choice(question=question, text=text, position=position, image=choice_image)
            for position, (text, choice_image) in enumerate(choices)
        )
        question.tags.set(_tags_named(tags))
        _describe_pictures([(image, title), *((picture, text) for text, picture in choices)])
        refresh_search_text(question.pk)
    return question


class TooManyWaiting(Exception):
    """The author already has PENDING_QUESTIONS_PER_ACCOUNT questions waiting for review."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting} questions are waiting for review")
        self.waiting = waiting


def _check_room_to_wait(author: User) -> None:
    # The author's row is locked first, so that questions sent at once take turns here and
    # each counts those committed before it: a burst cannot pass the limit together.
    list(get_user_model().objects.select_for_update().filter(pk=author.pk).values_list("pk"))
    waiting = Question.objects.filter(author=author, status=Question.Status.PENDING).count()
    if waiting >= settings.PENDING_QUESTIONS_PER_ACCOUNT:
        raise TooManyWaiting(waiting)


def _describe_pictures(pictures: Iterable[tuple[Image | None, str]]) -> None:
    """Store each picture's description as typed, or else the text it illustrates, so that
    no picture is ever shown without one."""
    limit = Image._meta.get_field("alt_text").max_length
    described = []
    for picture, text in pictures:
        if picture is not None:
            picture.alt_text = (getattr(picture, "alt_text", "") or text)[:limit]
            described.append(picture)
    Image.objects.bulk_update(described, ["alt_text"])


def _lock_images(images: Iterable[Image | None]) -> set[int]:
    """Lock the rows of the images about to be attached; return the ids still there.

    The orphan sweep deletes images nothing uses after a while, and locks
    each one first: holding the locks here means it either waits and finds
    the image in use, or deleted it already and the question goes without.
    """
    ids = [image.pk for image in images if image is not None]
    if not ids:
        return set()
    return set(Image.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))


def _tags_named(names: Iterable[str]) -> list[Tag]:
    """Existing tags whatever their letter case, new ones for the other names."""
    tags: dict[int, Tag] = {}
    for name in names:
        slug = tag_slug(name)
        same = Q(slug=slug) | Q(name__iexact=name)
        tag = Tag.objects.filter(same).first()
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(name=name, slug=slug)
            except IntegrityError:
                # Someone created it a moment ago (READ COMMITTED sees it now).
                tag = Tag.objects.get(same)
        tags[tag.pk] = tag
    return list(tags.values())


# --- Reports and moderation ----------------------------------------------------------------


class ReportRejected(Exception):
    """The report cannot be accepted; the message says why, for the reporter."""


@dataclass(frozen=True)
class ReportOutcome:
    created: bool
    # True when this report was the one that took the question down.
    hidden: bool


def report_question(
    *, question: Question, reporter: User, reason: str, details: str = ""
) -> ReportOutcome:
    """Record ``reporter``'s report; enough weighty open reports hide the question."""
    if question.author_id is not None and question.author_id == reporter.pk:
        raise ReportRejected("You cannot report your own question.")
    if not reporter.is_active:
        raise ReportRejected("Your account cannot report questions.")
    with transaction.atomic():
        # Reports on one question take turns here, so each one counts every
        # report committed before it: two at once cannot both stop one short.
        status = (
            Question.objects.select_for_update()
            .filter(pk=question.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status not in PUBLIC_STATUSES:
            raise ReportRejected("This question is not public.")
        if Report.objects.filter(question_id=question.pk, reporter=reporter).exists():
            return ReportOutcome(created=False, hidden=False)
        Report.objects.create(
            question_id=question.pk, reporter=reporter, reason=reason, details=details
        )
        weighty = weighty_reports(question_id=question.pk)
    hidden = weighty >= settings.REPORTS_TO_HIDE
    if hidden:
        # After the commit, so no reader can cache the page again in between.
        set_status(questions=Question.objects.filter(pk=question.pk), status=Question.Status.HIDDEN)
    return ReportOutcome(created=True, hidden=hidden)


def weighty_reports(*, question_id: int) -> int:
    """The open reports on a question that count toward hiding it (REPORTS_TO_HIDE).

    A report counts when its reporter is staff, or has had an account for REPORTER_MIN_DAYS and
    voted on REPORTER_MIN_VOTES questions: a handful of accounts made for the purpose cannot
    take a question down on their own, since age cannot be hurried, and votes show an account
    that takes part. Every report, counted or not, puts the question in the moderation queue.
    """
    reporters = (
        get_user_model()
        .objects.filter(reports__question_id=question_id, reports__resolved_at__isnull=True)
        .annotate(votes=Count("ballots", distinct=True))
    )
    return reporters.filter(counted_reporter()).count()


def counted_reporter(account: str = "", votes: str = "votes") -> Q:
    """The accounts whose reports count toward hiding (weighty_reports), as a condition:
    ``account`` leads from the model queried to the account ("reporter__" from a report), and
    ``votes`` names an annotation counting the account's ballots."""
    cutoff = timezone.now() - timedelta(days=settings.REPORTER_MIN_DAYS)
    established = {
        f"{account}date_joined__lte": cutoff,
        f"{votes}__gte": settings.REPORTER_MIN_VOTES,
    }
    return Q(**{f"{account}is_staff": True}) | Q(**established)


def resolve_reports(*, questions: Iterable[Question], moderator: User) -> int:
    # One UPDATE: a transaction of its own.
    return Report.objects.filter(
        question__in=[question.pk for question in questions], resolved_at__isnull=True
    ).update(resolved_at=timezone.now(), resolved_by=moderator)


def approve_questions(*, questions: Iterable[Question], moderator: User) -> int:
    """Publish pending and hidden questions and close the reports on all of them."""
    questions = list(questions)
    waiting = (Question.Status.PENDING, Question.Status.HIDDEN)
    with transaction.atomic():
        resolve_reports(questions=questions, moderator=moderator)
        return set_status(
            questions=[q for q in questions if q.status in waiting],
            status=Question.Status.PUBLISHED,
        )


def hide_questions(*, questions: Iterable[Question], moderator: User) -> int:
    """Hide questions for good: their reports are settled, so they leave the queue."""
    questions = list(questions)
    with transaction.atomic():
        resolve_reports(questions=questions, moderator=moderator)
        return set_status(questions=questions, status=Question.Status.HIDDEN)


@dataclass(frozen=True)
class BanOutcome:
    banned: list
    spared_staff: list
    hidden: int


def ban_authors(*, questions: Iterable[Question], moderator: User) -> BanOutcome:
    """Ban the authors of ``questions`` and hide those questions; staff are never banned.

    The bans and the hiding commit together; the banned authors' sessions end
    after that, since a request could otherwise cache a session again from the
    rows before their deletion commits.
    """
    questions = list(questions)
    authors = {q.author_id: (q.author, q.title) for q in questions if q.author is not None}
    to_ban = {
        pk: (a, title) for pk, (a, title) in authors.items() if not (a.is_staff or a.is_superuser)
    }
    with transaction.atomic():
        for author, title in to_ban.values():
            reason = f"From the moderation queue, for “{title}”"[:200]
            record_ban(user=author, by=moderator, reason=reason)
        theirs = [q for q in questions if q.author_id in to_ban]
        hidden = hide_questions(questions=theirs, moderator=moderator)
    banned = [author for author, _ in to_ban.values()]
    for author in banned:
        end_sessions(user=author)
    spared = [author for pk, (author, _) in authors.items() if pk not in to_ban]
    return BanOutcome(banned=banned, spared_staff=spared, hidden=hidden)
