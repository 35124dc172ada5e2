"""Sharded vote counters, changed in the same transaction as the vote rows.

Django has no portable "insert or add to" statement, so ``upsert_counters``
writes one for the two dialects Beebeta runs on (MySQL/MariaDB in production,
SQLite embedded): the vote path's sharded tallies and the insights' roll-ups
both go through it. Rows are written in key order so that two transactions
touching the same counters take their locks in the same order and cannot
deadlock. ``rebuild_counters`` recounts one question's tallies from its vote
rows (``manage.py recount_votes``).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Aggregate, Count, Field, Model, QuerySet, Sum
from django.db.models.functions import TruncHour

from polls.models import (
    TALLY_SHARDS,
    Ballot,
    ChoiceTally,
    Question,
    QuestionTally,
    Vote,
    VoteActivity,
)

# Rows per INSERT statement.
_UPSERT_BATCH = 500


def random_shard() -> int:
    return random.randrange(TALLY_SHARDS)  # noqa: S311  (load spreading, not security)


def upsert_counters(
    model: type[Model],
    keys: Sequence[str],
    rows: Iterable[tuple],
    *,
    insert_only: Sequence[str] = (),
    add: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> None:
    """Write rows of (*keys, *insert_only, *add, *replace) values into counters.

    A new row is inserted as given (columns not named keep their database
    default); an existing one keeps its ``insert_only`` columns, has the
    ``add`` values added to its columns and the ``replace`` values written
    over its columns. ``keys`` must be a unique constraint. Rows go in key
    order, and values are prepared by their fields, so dates and times are
    stored exactly as the ORM stores them.
    """
    rows = sorted(rows)
    if not rows:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    stored = [_stored_field(model, name) for name in (*keys, *insert_only, *add, *replace)]
    fields = [field for field, _ in stored]
    columns = [qn(column) for _, column in stored]
    changed = len(keys) + len(insert_only)
    changes = [(column, "add") for column in columns[changed : changed + len(add)]]
    changes += [(column, "replace") for column in columns[changed + len(add) :]]
    if connection.vendor == "mysql":
        updates = [
            f"{c} = {c} + VALUES({c})" if how == "add" else f"{c} = VALUES({c})"
            for c, how in changes
        ]
        tail = "ON DUPLICATE KEY UPDATE " + ", ".join(updates)
    else:
        updates = [
            f"{c} = {c} + excluded.{c}" if how == "add" else f"{c} = excluded.{c}"
            for c, how in changes
        ]
        tail = f"ON CONFLICT ({', '.join(columns[: len(keys)])}) DO UPDATE SET " + ", ".join(
            updates
        )
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _UPSERT_BATCH):
            batch = rows[start : start + _UPSERT_BATCH]
            sql = (
                f"INSERT INTO {qn(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
                f"VALUES {', '.join([row_sql] * len(batch))} {tail}"
            )
            params = [
                field.get_db_prep_value(value, connection)
                for row in batch
                for field, value in zip(fields, row, strict=True)
            ]
            cursor.execute(sql, params)


def _stored_field(model: type[Model], name: str) -> tuple[Field[Any, Any], str]:
    """The field ``name`` of ``model`` and its column; a relation's other side has none."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a column of its table.")
    return field, field.column


def add_choice_votes(*, question_id: int, deltas: dict[int, int], shard: int) -> None:
    upsert_counters(
        ChoiceTally,
        ("choice", "shard"),
        ((choice_id, shard, question_id, delta) for choice_id, delta in deltas.items() if delta),
        insert_only=("question",),
        add=("votes",),
    )


def add_voters(*, question_id: int, delta: int, shard: int) -> None:
    upsert_counters(
        QuestionTally, ("question", "shard"), [(question_id, shard, delta)], add=("voters",)
    )


def add_activity(*, question_id: int, hour: datetime, delta: int, shard: int) -> None:
    upsert_counters(
        VoteActivity,
        ("question", "hour", "shard"),
        [(question_id, hour, shard, delta)],
        add=("votes",),
    )


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Counts:
    """What the results of one question show: voters and votes per choice."""

    voters: int = 0
    by_choice: dict[int, int] = field(default_factory=dict)
    # Made anew each time the counts are read from MySQL and cached with them: every worker that
    # reads these counts from memcached sees the same stamp, and rendered results keyed by it
    # (polls/fragments.py) are exactly as fresh as the counts.
    stamp: str = field(default_factory=lambda: secrets.token_hex(8), compare=False)
    # When these counts were read from MySQL (time.time()). A vote moves cached counts in place
    # (polls.services) without reading MySQL again: the moved copy keeps this moment and expires
    # COUNTS_CACHE_SECONDS after it, so no cached count outlives that bound.
    read_at: float = field(default_factory=time.time, compare=False)

    def for_choice(self, choice_id: int) -> int:
        return self.by_choice.get(choice_id, 0)

    def moved(self, *, voters: int, choices: Iterable[int], previous: Iterable[int]) -> Counts:
        """These counts after one ballot changed from ``previous`` to ``choices`` (and
        ``voters`` more people voted), with a new stamp."""
        by_choice = dict(self.by_choice)
        for choice_id in previous:
            by_choice[choice_id] = by_choice.get(choice_id, 0) - 1
        for choice_id in choices:
            by_choice[choice_id] = by_choice.get(choice_id, 0) + 1
        return Counts(voters=self.voters + voters, by_choice=by_choice, read_at=self.read_at)


def _totals(rows: QuerySet, key: str, total: Aggregate) -> dict[Any, int]:
    """``total`` per value of ``key`` over ``rows``, in one GROUP BY query."""
    grouped = rows.values(key).annotate(total=total).order_by()
    return {row[key]: row["total"] for row in grouped}


def read_counts(question_id: int) -> Counts:
    """Sum the shards of one question: two queries over at most choices x shards rows."""
    by_choice = _totals(
        ChoiceTally.objects.filter(question_id=question_id), "choice_id", Sum("votes")
    )
    voters = QuestionTally.objects.filter(question_id=question_id).aggregate(n=Sum("voters"))["n"]
    return Counts(voters=voters or 0, by_choice=by_choice)


def rebuild_counters(*, question_id: int) -> int:
    """Count the question's tallies again from its vote rows, on one shard each.

    Returns how many of its figures (the votes per choice, the voters) were
    wrong: 0 when the counters already equalled the rows.
    """
    with transaction.atomic():
        # Votes insert rows that point at the question, which takes a shared
        # lock on it; holding it exclusively pauses voting on this one
        # question while its counters are rebuilt.
        if not Question.objects.select_for_update().filter(pk=question_id).exists():
            return 0
        before = read_counts(question_id)
        by_choice = _totals(Vote.objects.filter(question_id=question_id), "choice_id", Count("id"))
        ballots = Ballot.objects.filter(question_id=question_id)
        voters = ballots.count()
        hours = _totals(ballots.annotate(hour=TruncHour("created_at")), "hour", Count("id"))
        ChoiceTally.objects.filter(question_id=question_id).delete()
        QuestionTally.objects.filter(question_id=question_id).delete()
        VoteActivity.objects.filter(question_id=question_id).delete()
        ChoiceTally.objects.bulk_create(
            ChoiceTally(question_id=question_id, choice_id=c, shard=0, votes=n)
            for c, n in by_choice.items()
        )
        QuestionTally.objects.create(question_id=question_id, shard=0, voters=voters)
        VoteActivity.objects.bulk_create(
            VoteActivity(question_id=question_id, hour=h, shard=0, votes=n)
            for h, n in hours.items()
        )
    counted = {c: n for c, n in before.by_choice.items() if n}
    return int(counted != by_choice) + int(before.voters != voters)
