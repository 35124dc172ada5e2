"""Many people, and many submits of one person, voting at once on MariaDB."""

from __future__ import annotations

import random
import threading
import traceback
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from accounts import services as accounts_services
from polls import services
from polls.models import Ballot, Vote
from polls.tallies import read_counts

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(jobs, workers: int) -> list[BaseException]:
    """Run the callables on ``workers`` threads released together; return their errors."""
    errors: list[BaseException] = []
    start = threading.Barrier(workers)
    chunks = [jobs[i::workers] for i in range(workers)]

    def worker(chunk):
        start.wait()
        try:
            for job in chunk:
                job()
        except BaseException as exc:  # noqa: BLE001  (reported to the test)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def assert_counts_equal_rows(question) -> None:
    rows = Counter(Vote.objects.filter(question=question).values_list("choice_id", flat=True))
    counts = read_counts(question.pk)
    assert counts.voters == Ballot.objects.filter(question=question).count()
    for choice in question.choices.all():
        assert counts.for_choice(choice.pk) == rows.get(choice.pk, 0), choice.text


def test_dozens_of_voters_at_once_lose_no_vote(make_question):
    question = make_question("Best ramen?", ("A", "B", "C", "D"))
    choices = list(question.choices.values_list("pk", flat=True))
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"voter{i}") for i in range(48)
    )
    rng = random.Random(7)
    # Every user votes, then changes their vote twice, all interleaved.
    jobs = []
    for _ in range(3):
        for user in users:
            choice = rng.choice(choices)
            jobs.append(
                lambda user=user, choice=choice: services.cast_vote(
                    user=user, question=question, choice_ids=[choice]
                )
            )
    assert run_in_threads(jobs, workers=12) == []
    assert Ballot.objects.filter(question=question).count() == len(users)
    assert Vote.objects.filter(question=question).count() == len(users)
    assert_counts_equal_rows(question)


def test_one_user_submitting_many_times_at_once_leaves_one_vote(make_question, alice):
    question = make_question("Pick up to two", ("A", "B", "C", "D"), max_choices=2)
    choices = list(question.choices.values_list("pk", flat=True))
    rng = random.Random(11)
    picks = [rng.sample(choices, rng.randint(1, 2)) for _ in range(60)]
    jobs = [
        lambda picked=picked: services.cast_vote(user=alice, question=question, choice_ids=picked)
        for picked in picks
    ]
    assert run_in_threads(jobs, workers=12) == []
    assert Ballot.objects.filter(user=alice, question=question).count() == 1
    stored = Vote.objects.filter(question=question).count()
    assert 1 <= stored <= 2
    assert_counts_equal_rows(question)
    assert read_counts(question.pk).voters == 1


def test_first_votes_racing_from_one_user_are_not_doubled(make_question):
    # The race that matters most: two first submits of one user, each
    # finding no ballot yet. The unique constraint must decide.
    question = make_question("Tea or coffee?", ("Tea", "Coffee"))
    tea, coffee = question.choices.values_list("pk", flat=True)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"racer{i}") for i in range(20)
    )
    jobs = []
    for user in users:
        jobs += [
            lambda user=user: services.cast_vote(user=user, question=question, choice_ids=[tea]),
            lambda user=user: services.cast_vote(user=user, question=question, choice_ids=[coffee]),
        ]
    assert run_in_threads(jobs, workers=10) == []
    assert Ballot.objects.filter(question=question).count() == 20
    assert Vote.objects.filter(question=question).count() == 20
    assert_counts_equal_rows(question)


def test_deleting_accounts_while_they_vote_wins_every_time(make_question, figure):
    # An account deleted while one of its requests votes: the deletion must succeed (never a
    # foreign-key error half-way, the account logged out but still there), and the vote either
    # lands before it (and is withdrawn with the account) or is refused after it.
    User = get_user_model()
    questions = [make_question(f"Question {i}?", ("A", "B")) for i in range(3)]
    choices = [list(q.choices.values_list("pk", flat=True)) for q in questions]
    users = User.objects.bulk_create(User(username=f"leaver{i}") for i in range(24))
    ids = [user.pk for user in users]
    for user in users[::2]:
        services.cast_vote(user=user, question=questions[0], choice_ids=[choices[0][0]])
    refused = Counter()

    def vote(user_id: int, i: int, pick: int) -> None:
        # Each request loads its own copy of the account, as the session middleware does.
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            return
        try:
            services.cast_vote(user=user, question=questions[i], choice_ids=[choices[i][pick]])
        except services.VoteRejected:
            refused[user_id] += 1

    def delete(user_id: int) -> None:
        accounts_services.delete_account(user=User.objects.get(pk=user_id))

    rng = random.Random(5)
    jobs = []
    for user_id in ids:
        mine = [lambda u=user_id, i=i: vote(u, i, rng.randint(0, 1)) for i in range(3)]
        mine.insert(rng.randint(0, 3), lambda u=user_id: delete(u))
        jobs += mine
    # One account's jobs are spread over the threads, so they run at the same moment.
    errors = run_in_threads(jobs, workers=4)
    figure(
        f"{len(ids)} accounts deleted while {3 * len(ids)} of their votes ran: "
        f"{len(errors)} errors, {sum(refused.values())} votes refused after a deletion"
    )
    assert errors == [], "".join(traceback.format_exception(errors[0]))
    assert not User.objects.filter(pk__in=ids).exists()
    assert not Ballot.objects.filter(user_id__in=ids).exists()
    for question in questions:
        assert_counts_equal_rows(question)
