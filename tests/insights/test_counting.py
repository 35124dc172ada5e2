"""Question views counted in memcached and flushed to the roll-ups: nothing lost, nothing twice."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache, caches
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from polls import cache_keys, services, tallies
from polls.insights import counting
from polls.models import GroupActivityHourly, QuestionDaily, QuestionHourly

HOUR = timedelta(hours=1)


def stored_views(question_id: int | None = None) -> int:
    rows = QuestionHourly.objects.all()
    if question_id is not None:
        rows = rows.filter(question_id=question_id)
    return rows.aggregate(n=Sum("views"))["n"] or 0


def group_views() -> dict[str, int]:
    rows = GroupActivityHourly.objects.values_list("group").annotate(n=Sum("views")).order_by()
    return {group: views for group, views in rows if views}


def test_counting_a_view_runs_no_sql(question, alice, django_assert_num_queries):
    with django_assert_num_queries(0):
        counting.count_view(question_id=question.pk, user=AnonymousUser())
        counting.count_view(question_id=question.pk, user=alice)
        counting.count_view(question_id=question.pk, user=alice)
    assert counting.flush_views(now=timezone.now()) == 3


def test_question_page_views_reach_the_roll_ups_by_group(client, question, alice, bob):
    now = timezone.now()
    get_user_model().objects.filter(pk=bob.pk).update(date_joined=now - timedelta(days=45))
    members = {alice: 2, bob: 3}
    for _ in range(4):
        assert client.get(question.get_absolute_url()).status_code == 200
    for user, views in members.items():
        member = Client()
        member.force_login(user)
        for _ in range(views):
            assert member.get(question.get_absolute_url()).status_code == 200
    assert client.get("/q/no-such-question/").status_code == 404

    assert stored_views() == 0  # nothing written before the flush
    assert counting.flush_views(now=timezone.now()) == 9
    assert stored_views(question.pk) == 9
    assert group_views() == {"anonymous": 4, "new": 2, "established": 3}
    day = QuestionDaily.objects.get(question=question)
    assert day.views == 9


def test_a_second_flush_adds_nothing(question):
    for _ in range(5):
        counting.count_view(question_id=question.pk, user=AnonymousUser())
    now = timezone.now()
    assert counting.flush_views(now=now) == 5
    assert counting.flush_views(now=now) == 0
    counting.count_view(question_id=question.pk, user=AnonymousUser())
    assert counting.flush_views(now=now) == 1
    assert stored_views(question.pk) == 6
    assert QuestionDaily.objects.get(question=question).views == 6


def test_views_arriving_between_the_read_and_the_decrement_are_kept(question, monkeypatch):
    for _ in range(4):
        counting.count_view(question_id=question.pk, user=AnonymousUser())
    backend = caches["default"]
    real_get_many = backend.get_many

    def get_many_then_three_more_views(keys, *args, **kwargs):
        found = real_get_many(keys, *args, **kwargs)
        if any(key.endswith(":anonymous") for key in keys):
            # The flush has read the counter; three views land before its decrement.
            for _ in range(3):
                counting.count_view(question_id=question.pk, user=AnonymousUser())
        return found

    monkeypatch.setattr(backend, "get_many", get_many_then_three_more_views)
    assert counting.flush_views(now=timezone.now()) == 4
    monkeypatch.undo()
    assert counting.flush_views(now=timezone.now()) == 3
    assert stored_views(question.pk) == 7


def test_flush_while_many_views_arrive_loses_and_doubles_nothing(make_question, alice):
    questions = [make_question(f"Question {i}") for i in range(6)]
    users = [AnonymousUser(), alice]
    workers, views_each = 8, 300
    counted: list[Counter] = [Counter() for _ in range(workers)]
    start = threading.Barrier(workers + 1)
    errors: list[BaseException] = []

    def count(n: int) -> None:
        rng = random.Random(n)
        start.wait()
        try:
            for _ in range(views_each):
                question, user = rng.choice(questions), rng.choice(users)
                counting.count_view(question_id=question.pk, user=user)
                counted[n][question.pk] += 1
        except BaseException as exc:  # noqa: BLE001  (reported to the test)
            errors.append(exc)

    threads = [threading.Thread(target=count, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    start.wait()
    flushes_during = 0
    while any(thread.is_alive() for thread in threads):
        if counting.flush_views(now=timezone.now()):
            flushes_during += 1
    for thread in threads:
        thread.join()
    counting.flush_views(now=timezone.now())

    assert errors == []
    assert flushes_during >= 2, "the flush never ran while views arrived"
    expected = sum(counted, Counter())
    assert sum(expected.values()) == workers * views_each
    for question in questions:
        assert stored_views(question.pk) == expected[question.pk], question.title
    assert sum(group_views().values()) == workers * views_each


def test_a_flush_waits_for_the_one_running(question):
    for _ in range(2):
        counting.count_view(question_id=question.pk, user=AnonymousUser())
    assert cache.add(cache_keys.VIEW_FLUSH_LOCK, "someone else", 60)
    assert counting.flush_views(now=timezone.now()) is None
    assert stored_views() == 0
    cache.delete(cache_keys.VIEW_FLUSH_LOCK)
    assert counting.flush_views(now=timezone.now()) == 2


def test_a_failed_database_write_gives_the_counts_back(question, monkeypatch):
    for _ in range(5):
        counting.count_view(question_id=question.pk, user=AnonymousUser())

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tallies, "upsert_counters", broken)
    with pytest.raises(RuntimeError):
        counting.flush_views(now=timezone.now())
    monkeypatch.undo()
    assert cache.get(cache_keys.VIEW_FLUSH_LOCK) is None  # released despite the error
    assert counting.flush_views(now=timezone.now()) == 5
    assert stored_views(question.pk) == 5


def test_views_of_an_hour_that_just_ended_are_still_flushed(question):
    hour = tallies.hour_of(timezone.now()) - 3 * HOUR
    late = hour + timedelta(minutes=59, seconds=59)
    counting.count_view(question_id=question.pk, user=AnonymousUser(), now=late)
    assert counting.flush_views(now=hour + HOUR + timedelta(seconds=30)) == 1
    # A request that read the clock before the hour ended increments after the flush.
    counting.count_view(question_id=question.pk, user=AnonymousUser(), now=late)
    assert counting.flush_views(now=hour + HOUR + timedelta(minutes=2)) == 1
    # Once the grace is over the hour is finished and no longer read.
    assert counting.flush_views(now=hour + HOUR + counting.HOUR_GRACE) == 0
    assert cache.get(cache_keys.views_flushed(counting._hour_number(hour))) == 1
    row = QuestionHourly.objects.get(question=question)
    assert (row.hour, row.views) == (hour, 2)


def test_counters_older_than_the_lookback_are_not_read(question):
    long_ago = timezone.now() - timedelta(hours=counting.LOOKBACK_HOURS + 2)
    counting.count_view(question_id=question.pk, user=AnonymousUser(), now=long_ago)
    assert counting.flush_views(now=timezone.now()) == 0
    assert counting.flush_views(now=long_ago + timedelta(minutes=1)) == 1


def test_the_command_flushes_views_and_copies_votes(question, alice):
    now = timezone.now()
    counting.count_view(question_id=question.pk, user=alice, now=now)
    services.cast_vote(user=alice, question=question, choice_ids=[question.choices.first().pk])
    out = StringIO()
    call_command("flush_view_counts", stdout=out)
    assert "1 views" in out.getvalue()
    row = QuestionHourly.objects.get(question=question)
    assert (row.views, row.votes) == (1, 1)
    assert group_views() == {"new": 1}
    group = GroupActivityHourly.objects.get(hour=tallies.hour_of(now), group="new")
    assert (group.views, group.votes) == (1, 1)


def test_copying_votes_twice_counts_them_once(make_question, alice, bob):
    question = make_question()
    choice = question.choices.first().pk
    now = timezone.now()
    for user in (alice, bob):
        services.cast_vote(user=user, question=question, choice_ids=[choice], now=now)
    for _ in range(2):
        counting.copy_first_votes(now=now)
    assert QuestionHourly.objects.get(question=question).votes == 2
    assert QuestionDaily.objects.get(question=question).votes == 2
    assert GroupActivityHourly.objects.get(hour=tallies.hour_of(now), group="new").votes == 2


def test_a_withdrawn_vote_leaves_the_group_figures_of_recent_hours(make_question, alice, bob):
    question = make_question()
    choice = question.choices.first().pk
    now = timezone.now()
    for user in (alice, bob):
        services.cast_vote(user=user, question=question, choice_ids=[choice], now=now)
    counting.copy_first_votes(now=now)
    bob.delete()
    counting.copy_first_votes(now=now)
    assert GroupActivityHourly.objects.get(hour=tallies.hour_of(now), group="new").votes == 1


def test_memcached_down_views_are_not_counted_and_pages_still_work(
    client, question, staff_client, memcached_down
):
    for _ in range(3):
        assert client.get(question.get_absolute_url()).status_code == 200
    counting.count_view(question_id=question.pk, user=AnonymousUser())
    assert counting.flush_views(now=timezone.now()) is None
    call_command("flush_view_counts", stdout=StringIO())
    assert stored_views() == 0
    for url in ("/insights/", "/insights/activity/", "/insights/signups/", "/insights/moderation/"):
        assert staff_client.get(url).status_code == 200, url


def test_hour_numbers_are_utc_hours():
    moment = datetime(2025, 1, 13, 23, 30, tzinfo=UTC)
    number = counting._hour_number(moment)
    assert counting._hour_start(number) == datetime(2025, 1, 13, 23, tzinfo=UTC)
    assert counting._hour_start(number + 1) == datetime(2025, 1, 14, 0, tzinfo=UTC)
