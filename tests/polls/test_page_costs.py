"""What the public pages cost: SQL queries and memcached round trips, cold and warm.

A warm page (everything it shows already in memcached) runs no SQL at all, for a signed-in
visitor too (the session and the account come from the cache: accounts/session_user.py), and at
most 2 memcached round trips of its own: the home page reads its rendered list; a tag page its
tag, then its list; a question page one get_many of the question, its counts and the visitor's
ballot, which sit on one node (their keys share a group, beebeta/cache.py), then one increment
of its view counter. A signed-in visitor's session and account are two more reads, and on a list
the questions they voted on are another (the list is cached for everyone alike; "you voted" on
its cards is the member's own). A cold page runs a small number of queries that does not grow
with the data. Round trips are counted where they happen: every command pymemcache's client
sends to a memcached node and waits for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from pymemcache.client.base import Client

from polls import services
from polls.models import Ballot, Vote

# Reads of a warm page: its own, and the session's for a signed-in visitor.
PAGE_READS = {"home": 1, "tag": 2, "question": 1}
# A signed-in visitor's session, then their account (accounts/session_user.py).
SESSION_READS = {"anonymous": 0, "member": 2}
# A member's voted questions, for "you voted" on the cards of a list (polls/cards.py).
MEMBER_READS = {"home": 1, "tag": 1, "question": 0}
# Increments: a question page's view counter.
WARM_COUNTERS = {"home": 0, "tag": 0, "question": 1}
# Most queries a cold page may run, whatever the number of questions, choices and votes.
COLD_QUERIES = 8
# A cold question page also reads its history once: its days, the days the snapshot ran and its
# group splits, whatever the number of days (tests/polls/test_history_costs.py).
HISTORY_QUERIES = 3
# And its insight once: its integrity figures and its co-voting, whatever the number of votes,
# questions and pairs (tests/polls/test_integrity.py).
INSIGHT_QUERIES = 2


@contextlib.contextmanager
def memcached_round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record each command pymemcache sends to a node and waits for (one per round trip)."""
    sent: list[str] = []

    def counted(name: str):
        real = getattr(Client, name)

        def send(self, *args, **kwargs):
            sent.append(name)
            return real(self, *args, **kwargs)

        return send

    with monkeypatch.context() as patch:
        # Every network exchange of pymemcache's Client goes through one of these three.
        for name in ("_fetch_cmd", "_store_cmd", "_misc_cmd"):
            patch.setattr(Client, name, counted(name))
        yield sent


@pytest.fixture
def pages(make_question, alice, bob) -> dict[str, str]:
    """A question with votes, in a tag, among others: the three kinds of public page."""
    question = make_question("Best ramen?", tags=("Food",), author=alice)
    for n in range(5):
        make_question(f"Other question {n}?", tags=("Food",))
    services.cast_vote(user=bob, question=question, choice_ids=[question.choices.first().pk])
    return {"home": "/", "tag": "/tags/food/", "question": question.get_absolute_url()}


def visit(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url


@pytest.mark.parametrize("kind", ["home", "tag", "question"])
@pytest.mark.parametrize("visitor", ["anonymous", "member"])
def test_warm_page_runs_no_sql_and_few_memcached_round_trips(
    client, bob, pages, django_assert_num_queries, monkeypatch, kind, visitor
):
    if visitor == "member":
        client.force_login(bob)
    visit(client, pages[kind])  # cold: fills the cache
    # No query: the session and the signed-in visitor's account come from memcached.
    with django_assert_num_queries(0):
        with memcached_round_trips(monkeypatch) as sent:
            visit(client, pages[kind])
    own = MEMBER_READS[kind] if visitor == "member" else 0
    assert sent.count("_fetch_cmd") == PAGE_READS[kind] + SESSION_READS[visitor] + own, sent
    assert sent.count("_misc_cmd") == WARM_COUNTERS[kind], sent
    assert PAGE_READS[kind] + WARM_COUNTERS[kind] <= 2
    assert "_store_cmd" not in sent


@pytest.mark.parametrize("kind", ["home", "tag", "question"])
@pytest.mark.parametrize("visitor", ["anonymous", "member"])
def test_cold_page_runs_a_small_constant_number_of_queries(
    client, bob, pages, django_assert_max_num_queries, kind, visitor
):
    if visitor == "member":
        client.force_login(bob)
    with django_assert_max_num_queries(
        COLD_QUERIES + (HISTORY_QUERIES + INSIGHT_QUERIES if kind == "question" else 0)
    ):
        visit(client, pages[kind])


def test_warm_question_page_costs_the_same_with_many_more_votes(
    client, bob, make_question, django_assert_num_queries, monkeypatch
):
    from django.contrib.auth import get_user_model

    question = make_question("Busy?", tags=("Food",))
    choices = list(question.choices.values_list("pk", flat=True))
    User = get_user_model()
    for n, user in enumerate(User.objects.bulk_create(User(username=f"v{n}") for n in range(40))):
        services.cast_vote(user=user, question=question, choice_ids=[choices[n % 3]])
    assert Ballot.objects.filter(question=question).count() == 40
    client.force_login(bob)
    visit(client, question.get_absolute_url())
    with django_assert_num_queries(0):
        with memcached_round_trips(monkeypatch) as sent:
            visit(client, question.get_absolute_url())
    assert sent.count("_fetch_cmd") == PAGE_READS["question"] + SESSION_READS["member"], sent
    assert sent.count("_misc_cmd") == WARM_COUNTERS["question"], sent


@pytest.mark.django_db(transaction=True)
def test_a_vote_is_one_round_trip_to_mysql(client, pages, bob, django_assert_num_queries):
    """A change of vote, as production runs it (autocommit, no test transaction around it): no
    user row (memcached has the account), no counts summed, no ballot read outside the vote, no
    rankings refreshed (refresh_rankings does that), and the vote itself one statement, the
    stored procedure that locks the ballot, replaces its votes and moves both choices' counters
    in its own transaction (migration polls 0011)."""
    from django.urls import reverse

    from polls.models import Question

    question = Question.objects.get(title="Best ramen?")
    url = question.get_absolute_url()
    client.force_login(bob)
    visit(client, url)  # warm: the question and bob's ballot are cached
    choice = question.choices.last()
    with django_assert_num_queries(1) as captured:
        response = client.post(reverse("polls:vote", args=[question.slug]), {"choice": choice.pk})
    assert response.status_code == 302
    assert captured.captured_queries[0]["sql"].startswith("CALL polls_cast_vote("), captured
    assert list(Vote.objects.filter(ballot__user=bob).values_list("choice", flat=True)) == [
        choice.pk
    ]


@pytest.mark.django_db(transaction=True)
def test_the_page_after_a_vote_is_read_from_memcached_not_rebuilt(
    client, make_question, django_assert_num_queries, monkeypatch
):
    """A vote updates the cached counts and the voter's ballot in place (reads.update_held),
    so the page it redirects to reads no counts and no ballot from MySQL, and shows the vote."""
    from django.contrib.auth import get_user_model

    question = make_question("Warm after voting?", tags=("Food",))
    first, second, _ = question.choices.values_list("pk", flat=True)
    voter = get_user_model().objects.create_user(username="warm-voter")
    client.force_login(voter)
    url = question.get_absolute_url()
    visit(client, url)  # the question, its counts and the voter's (empty) ballot are cached
    response = client.post(f"{url}vote/", {"choice": second})
    assert response.status_code == 302
    # Nor does the vote write the session (its message travels in a cookie).
    assert "sessionid" not in response.cookies
    # No SUM of the counters, no read of the ballot, no user row.
    with django_assert_num_queries(0):
        with memcached_round_trips(monkeypatch) as sent:
            html = client.get(url).content.decode()
    assert "<strong>1</strong> person has voted" in html
    assert "your choice" in html
    assert "_store_cmd" not in sent, sent
    # Changing the vote moves the cached counts too.
    client.post(f"{url}vote/", {"choice": first})
    with django_assert_num_queries(0):
        html = client.get(url).content.decode()
    assert "<strong>1</strong> person has voted" in html


def test_a_cold_question_page_costs_the_same_after_a_storm_and_its_flags(
    client, make_question, monkeypatch
):
    """Its own figures, its history and its insight, whatever the votes: 200 accounts voting
    within ten minutes, flagged, cost the page what one vote did."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from polls import cache_keys, history, integrity
    from polls.models import IntegrityCheck

    question = make_question("Stormy?", tags=("Food",))
    first = question.choices.first().pk
    User = get_user_model()

    def cold() -> int:
        slug = question.slug
        keys = (cache_keys.question, cache_keys.counts, cache_keys.history, cache_keys.insight)
        cache.delete_many([key(slug) for key in keys])
        with CaptureQueriesContext(connection) as captured:
            visit(client, question.get_absolute_url())
        return len(captured)

    services.cast_vote(
        user=User.objects.create(username="calm"), question=question, choice_ids=[first]
    )
    history.take_snapshot()
    integrity.refresh()
    before = cold()
    start = timezone.now() - timedelta(minutes=15)
    users = User.objects.bulk_create(
        User(username=f"storm{n}", date_joined=start - timedelta(minutes=5)) for n in range(200)
    )
    for n, user in enumerate(users):
        moment = start + timedelta(seconds=3 * n)
        services.cast_vote(user=user, question=question, choice_ids=[first], now=moment)
    history.take_snapshot()
    integrity.refresh()
    assert IntegrityCheck.objects.get(question=question).burst_flag
    # The question, its tags, its choices, two counter sums, its history's days and group splits
    # (no completed day yet, so no snapshot runs), its integrity figures and its co-voting.
    assert cold() == before == 9
