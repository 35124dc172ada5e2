"""The per-account vote limit: exact under concurrency, and deaf to forged headers."""

from __future__ import annotations

import copy
import time
from collections import Counter

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from polls.models import Ballot
from tests.polls.at_once import statuses_at_once

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 10
WINDOW = 3600


@pytest.fixture
def limited(settings):
    settings.VOTE_RATE_LIMIT = LIMIT
    settings.VOTE_RATE_WINDOW_SECONDS = WINDOW
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # A hundred threads on a busy machine can wait on memcached longer than production's 0.25 s,
    # and a node that does not answer in time lets votes through (a dead cache costs the limit,
    # never a vote): here memcached is alive, so it gets the time to answer.
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["OPTIONS"].update(timeout=10, connect_timeout=10)
    settings.CACHES = caches
    # Windows are fixed: never start a burst in the last seconds of one.
    left = WINDOW - time.time() % WINDOW
    if left < 30:
        time.sleep(left + 1)


def connections_of_memcached() -> dict[str, dict[str, object]]:
    wanted = ("curr_connections", "max_connections", "listen_disabled_num", "rejected_connections")
    answers = {str(server): client.stats() for server, client in cache._cache.clients.items()}
    return {
        server: {name: stats.get(name.encode()) for name in wanted}
        for server, stats in answers.items()
    }


def send_votes(user, question, count: int) -> Counter:
    choices = list(question.choices.values_list("pk", flat=True))

    def logged_in(_: int) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def vote(client: Client, number: int):
        # Every request claims to come from somewhere else, through the trusted proxy.
        return client.post(
            reverse("polls:vote", args=[question.slug]),
            {"choice": choices[number % len(choices)]},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number % 250}",
        )

    return statuses_at_once(count, logged_in, vote)


def test_of_a_hundred_parallel_votes_exactly_the_allowed_number_is_accepted(
    limited, alice, question
):
    statuses = send_votes(alice, question, 100)
    # A connection memcached refused counts as a dead node, which lets its vote through.
    assert statuses == Counter({302: LIMIT, 429: 100 - LIMIT}), connections_of_memcached()
    assert Ballot.objects.filter(user=alice, question=question).count() == 1


def test_the_limit_follows_the_account_and_says_when_to_come_back(
    limited, client, alice, bob, question
):
    send_votes(alice, question, LIMIT)
    client.force_login(alice)
    choice = question.choices.first().pk
    url = reverse("polls:vote", args=[question.slug])
    refused = client.post(url, {"choice": choice}, HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(WINDOW)
    assert "Slow down a little" in refused.content.decode()
    # Someone else voting from the same address is not affected.
    client.force_login(bob)
    assert client.post(url, {"choice": choice}).status_code == 302
