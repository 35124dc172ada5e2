"""Sharded vote counters, changed in the same transaction as the vote rows.

Django has no portable "insert or add to" statement, so the two dialects
Beebeta runs on (MySQL/MariaDB in production, SQLite embedded) get their own
upsert. Rows are written in key order so that two transactions touching the
same counters take their locks in the same order and cannot deadlock.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Model, Sum

from polls.models import TALLY_SHARDS, ChoiceTally, QuestionTally, VoteActivity


def random_shard() -> int:
    return random.randrange(TALLY_SHARDS)  # noqa: S311  (load spreading, not security)


def _upsert_add(
    model: type[Model],
    keys: Sequence[str],
    counter: str,
    rows: Iterable[tuple],
    *,
    also: Sequence[str] = (),
) -> None:
    """Add each row's last value to ``counter`` of the row matching ``keys``.

    Rows are (*keys, *also, delta); ``keys`` must be a unique constraint and
    ``also`` are other columns written only when the row is new.
    """
    rows = sorted(rows)
    if not rows:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in (*keys, *also, counter)]
    key_columns = columns[: len(keys)]
    column_sql = ", ".join(qn(c) for c in columns)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    count_col = qn(columns[-1])
    if connection.vendor == "mysql":
        tail = f"ON DUPLICATE KEY UPDATE {count_col} = {count_col} + VALUES({count_col})"
    else:
        conflict = ", ".join(qn(c) for c in key_columns)
        tail = (
            f"ON CONFLICT ({conflict}) "
            f"DO UPDATE SET {count_col} = {count_col} + excluded.{count_col}"
        )
    sql = f"INSERT INTO {qn(meta.db_table)} ({column_sql}) VALUES {placeholders} {tail}"  # noqa: S608
    params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def add_choice_votes(*, question_id: int, deltas: dict[int, int], shard: int) -> None:
    _upsert_add(
        ChoiceTally,
        ("choice", "shard"),
        "votes",
        ((choice_id, shard, question_id, delta) for choice_id, delta in deltas.items() if delta),
        also=("question",),
    )


def add_voters(*, question_id: int, delta: int, shard: int) -> None:
    _upsert_add(QuestionTally, ("question", "shard"), "voters", [(question_id, shard, delta)])


def add_activity(*, question_id: int, hour: datetime, delta: int, shard: int) -> None:
    _upsert_add(
        VoteActivity, ("question", "hour", "shard"), "votes", [(question_id, hour, shard, delta)]
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

    def for_choice(self, choice_id: int) -> int:
        return self.by_choice.get(choice_id, 0)


def read_counts(question_id: int) -> Counts:
    """Sum the shards of one question: two queries over at most choices x shards rows."""
    by_choice = {
        row["choice_id"]: row["total"]
        for row in ChoiceTally.objects.filter(question_id=question_id)
        .values("choice_id")
        .annotate(total=Sum("votes"))
        .order_by()
    }
    voters = (
        QuestionTally.objects.filter(question_id=question_id).aggregate(total=Sum("voters"))[
            "total"
        ]
        or 0
    )
    return Counts(voters=voters, by_choice=by_choice)


_UPSERT_BATCH = 500


def upsert_counters(
    model: type[Model],
    keys: Sequence[str],
    rows: Iterable[tuple],
    *,
    add: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> None:
    """Write rows of (*keys, *add, *replace) values into roll-up counters.

    A new row is inserted as given (columns not named keep their database
    default); an existing one has the ``add`` values added to its columns and
    the ``replace`` values written over its columns. ``keys`` must be a unique
    constraint. Like ``_upsert_add``, rows go in key order to avoid deadlocks,
    and values are prepared by their fields, so dates and times are stored
    exactly as the ORM stores them.
    """
    rows = sorted(rows)
    if not rows:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    fields = [meta.get_field(name) for name in (*keys, *add, *replace)]
    columns = [qn(field.column) for field in fields]
    changes = [(column, "add") for column in columns[len(keys) : len(keys) + len(add)]]
    changes += [(column, "replace") for column in columns[len(keys) + len(add) :]]
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
