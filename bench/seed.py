"""Seed the benchmark's database fast, straight into the tables, with the counters right.

    python -m bench.seed OUT.json --questions 100000 --crowd 1000000 --voters 12000

- ``questions`` published questions in the tag "bench-all", every hundredth also in
  "bench-few" (100 of them at full size): the list pages at both sizes, paged by keyset;
- the questions whose pages are loaded and voted on, with four choices each: "hot" (everyone
  votes on it), ``SPREAD`` others (votes spread over them), one with a thousand votes and one
  with ``crowd`` votes, each vote from its own account and ballot;
- ``voters`` accounts, each signed in with its own session and CSRF secret, for wrk.

Rows are written with INSERT ... SELECT over MariaDB's sequence tables and multi-row inserts;
the tallies are written from the vote rows in the same step, so counters equal rows from the
start and the end-of-run check stays meaningful. Prints nothing but the JSON it writes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import sys
from datetime import timedelta
from pathlib import Path

SPREAD = 100
CHOICES = ("Yes", "No", "It depends", "No opinion")
DESCRIPTION = (
    "A question of the kind people ask every day, with a few lines of context so that the page "
    "is as long as a real one. Vote, then see what everyone else thinks: the results show the "
    "share of each choice with its margin of error."
)
_CSRF_ALPHABET = string.ascii_letters + string.digits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--crowd", type=int, default=1_000_000)
    parser.add_argument("--voters", type=int, default=12_000)
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beebeta.settings")
    import django

    django.setup()
    seeded = seed(options.questions, options.crowd, options.voters)
    options.out.write_text(json.dumps(seeded))
    return 0


def _execute(sql: str, params: list | tuple = ()) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def seed(questions: int, crowd: int, voters: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    from polls import rankings
    from polls.models import Question, Tag

    now = timezone.now().replace(microsecond=0)
    # Bulk loading: the rows are built consistent, so checking them one by one buys nothing.
    _execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
    every, few = (
        Tag.objects.create(name="Bench all", slug="bench-all"),
        Tag.objects.create(name="Bench few", slug="bench-few"),
    )
    _listed_questions(questions, now, every.pk, few.pk)
    paged = {
        name: _page_question(title, now)
        for name, title in [
            ("hot", "Which question does everyone answer today?"),
            ("thousand", "Is a thousand votes enough to know?"),
            ("million", "What does a million people think?"),
        ]
    }
    spread = [_page_question(f"Spread question {n}: tea or coffee?", now) for n in range(SPREAD)]
    # make_password(None): an unusable password; nobody signs in as the crowd.
    crowd_ids = _users("crowd", crowd, password=make_password(None))
    _ballots(paged["million"], crowd_ids, now)
    _ballots(paged["thousand"], crowd_ids[:1000], now)
    _tallies([paged["million"]["id"], paged["thousand"]["id"]])
    rankings.refresh(question_ids=[paged["million"]["id"], paged["thousand"]["id"]], now=now)
    sessions = _signed_in_voters(voters, now)
    page_1000 = _cursor(every, page=1000)
    _execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
    connection.close()
    return {
        "questions": Question.objects.count(),
        "crowd": crowd,
        "paged": paged,
        "spread": spread,
        "voters": sessions,
        "tags": {"every": every.slug, "few": few.slug},
        "deep_page": page_1000,
    }


def _listed_questions(count: int, now, every: int, few: int) -> None:
    """``count`` published questions with varied figures, every one in ``every``, each
    (count / 100)th in ``few``; their publication moments one minute apart."""
    sql = """
        INSERT INTO polls_question (title, slug, description, status, max_choices,
            results_visibility, created_at, published_at, voter_count, votes_24h, votes_7d,
            leading_votes, search_text)
        SELECT CONCAT('Listed question number ', seq, ': which would you pick?'),
            CONCAT('listed-', seq), '', 'published', 1, 'always',
            %s - INTERVAL seq MINUTE, %s - INTERVAL seq MINUTE,
            MOD(seq * 7919, 5000), MOD(seq * 104729, 60), MOD(seq * 1299709, 400), 0, ''
        FROM seq_1_to_{count}
    """
    _execute(sql.replace("{count}", str(int(count))), [now, now])
    step = max(count // 100, 1)
    _execute(
        """INSERT INTO polls_question_tags (question_id, tag_id)
           SELECT id, %s FROM polls_question WHERE slug LIKE 'listed-%%'""",
        [every],
    )
    _execute(
        """INSERT INTO polls_question_tags (question_id, tag_id)
           SELECT id, %s FROM polls_question
           WHERE slug LIKE 'listed-%%' AND MOD(CAST(SUBSTRING(slug, 8) AS UNSIGNED), %s) = 0""",
        [few, step],
    )


def _page_question(title: str, now) -> dict:
    from polls.models import Choice, Question, Tag

    question = Question.objects.create(
        title=title,
        description=DESCRIPTION,
        status=Question.Status.PUBLISHED,
        published_at=now - timedelta(hours=2),
    )
    Choice.objects.bulk_create(
        Choice(question=question, text=text, position=i) for i, text in enumerate(CHOICES)
    )
    question.tags.set(Tag.objects.filter(slug="bench-few"))
    choices = list(question.choices.order_by("position").values_list("pk", flat=True))
    return {"id": question.pk, "slug": question.slug, "choices": choices}


def _users(prefix: str, count: int, *, password: str) -> list[int]:
    from django.contrib.auth import get_user_model

    table = get_user_model()._meta.db_table
    _execute(
        f"""INSERT INTO {table} (password, is_superuser, username, first_name, last_name, email,
                is_staff, is_active, date_joined)
            SELECT %s, 0, CONCAT(%s, seq), '', '', '', 0, 1, NOW() - INTERVAL 90 DAY
            FROM seq_1_to_{int(count)}""",  # noqa: S608 - integers and a fixed table
        [password, f"{prefix}-"],
    )
    users = get_user_model().objects.filter(username__startswith=f"{prefix}-")
    return list(users.order_by("pk").values_list("pk", flat=True))


def _ballots(question: dict, user_ids: list[int], now) -> None:
    """One ballot and one vote per user, choices in turn, first votes spread over 10 hours."""
    first, last = user_ids[0], user_ids[-1]
    _execute(
        """INSERT INTO polls_ballot (user_id, question_id, created_at, updated_at)
           SELECT id, %s, %s - INTERVAL MOD(id, 600) MINUTE, %s - INTERVAL MOD(id, 600) MINUTE
           FROM auth_user WHERE id BETWEEN %s AND %s AND username LIKE 'crowd-%%'""",
        [question["id"], now, now, first, last],
    )
    _execute(
        """INSERT INTO polls_vote (ballot_id, question_id, choice_id, slot)
           SELECT id, question_id, ELT(1 + MOD(id, 4), %s, %s, %s, %s), 0
           FROM polls_ballot WHERE question_id = %s""",
        [*question["choices"], question["id"]],
    )


def _tallies(question_ids: list[int]) -> None:
    """The counters of ``question_ids``, from their rows (shard 0, as recount_votes writes)."""
    placeholders = ", ".join(["%s"] * len(question_ids))
    _execute(
        f"""INSERT INTO polls_choicetally (choice_id, question_id, shard, votes)
            SELECT choice_id, question_id, 0, COUNT(*) FROM polls_vote
            WHERE question_id IN ({placeholders}) GROUP BY choice_id, question_id""",  # noqa: S608
        question_ids,
    )
    _execute(
        f"""INSERT INTO polls_questiontally (question_id, shard, voters)
            SELECT question_id, 0, COUNT(*) FROM polls_ballot
            WHERE question_id IN ({placeholders}) GROUP BY question_id""",  # noqa: S608
        question_ids,
    )
    _execute(
        f"""INSERT INTO polls_voteactivity (question_id, hour, shard, votes)
            SELECT question_id, DATE_FORMAT(created_at, '%%Y-%%m-%%d %%H:00:00'), 0, COUNT(*)
            FROM polls_ballot WHERE question_id IN ({placeholders})
            GROUP BY question_id, DATE_FORMAT(created_at, '%%Y-%%m-%%d %%H:00:00')""",  # noqa: S608
        question_ids,
    )


def _signed_in_voters(count: int, now) -> list[list[str]]:
    """``count`` accounts with a session each: [session key, CSRF secret] per voter."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    User = get_user_model()
    _users("voter", count, password=make_password(secrets.token_urlsafe(16)))
    store = SessionStore()
    expires = now + timedelta(days=14)
    sessions, rows = [], []
    for pk, password in User.objects.filter(username__startswith="voter-").values_list(
        "pk", "password"
    ):
        data = {
            SESSION_KEY: str(pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: User(pk=pk, password=password).get_session_auth_hash(),
        }
        key = secrets.token_hex(16)
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        csrf = "".join(secrets.choice(_CSRF_ALPHABET) for _ in range(32))
        sessions.append([key, csrf])
    Session.objects.bulk_create(rows, batch_size=2000)
    return sessions


def _cursor(tag, *, page: int) -> dict:
    """The address of list page ``page`` of ``tag`` in the default order (or its last page)."""
    from polls.models import Question
    from polls.paging import DEFAULT_ORDER, ORDERS, PAGE_SIZE, encode_cursor

    order = ORDERS[DEFAULT_ORDER]
    listed = Question.objects.public().filter(tags=tag)
    page = min(page, max(listed.count() // PAGE_SIZE, 2))
    descending = [f"-{name}" for name in order.fields]
    last_of_previous = listed.order_by(*descending)[(page - 1) * PAGE_SIZE - 1]
    return {"page": page, "after": encode_cursor(order, last_of_previous)}


if __name__ == "__main__":
    sys.exit(main())
