"""A dead or slow memcached never fails a page or a vote.

Every test here gets two memcached processes of its own, so stopping them
disturbs nothing else in the suite.
"""

from __future__ import annotations

import copy
import re
import select
import socket
import threading
import time
import uuid
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pymemcache.client.base import Client as MemcachedClient

from deploy.stack.processes import Proc, stop_all
from deploy.stack.services import start_memcached
from polls import cache_keys
from polls.models import Ballot, Question, Vote

# A page request may wait out a hanging node's 0.25 s timeout a few times, never more.
PAGE_TIME_LIMIT = 2.0
HANGING_NODE_WATCHDOG = 10.0

VOTERS_LINE = re.compile(r"<strong>([\d,]+)</strong> (?:person has|people have) voted")
RESULT_ROW = re.compile(
    r'<th scope="row">([^<]+?)(?: <span class="badge badge-mine">your choice</span>)?</th>'
    r'.*?<td class="num">([\d,]+)</td>',
    re.S,
)


def use_cache_nodes(settings, locations: list[str], **options) -> None:
    """Point the default cache at ``locations`` with the production options (and ``options``)."""
    caches = copy.deepcopy(settings.CACHES)
    default = caches["default"]
    # Only the production backend is worth testing here; locmem cannot lose a node.
    assert default["BACKEND"] == "beebeta.cache.PersistentPyMemcacheCache"
    default["LOCATION"] = list(locations)
    default["OPTIONS"] = {**default["OPTIONS"], **options}
    default["KEY_PREFIX"] = f"loss{uuid.uuid4().hex[:10]}"
    settings.CACHES = caches


@pytest.fixture
def memcached_nodes(settings, tmp_path):
    """Two memcached processes of this test's own, used as the default cache."""
    nodes: list[Proc] = []
    try:
        for _ in range(2):
            nodes.append(start_memcached(log_dir=tmp_path))
        use_cache_nodes(settings, [node.address for node in nodes])
        yield nodes
    finally:
        # The list as it is then: a test may have replaced a node with a restarted one.
        stop_all(nodes)


@pytest.fixture
def voters(alice, bob, staff):
    extra = [
        get_user_model().objects.create_user(username=name, password="correct horse")
        for name in ("carol", "dan", "erin")
    ]
    return [alice, bob, staff, *extra]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def choice_pks(question: Question) -> list[int]:
    return list(question.choices.values_list("pk", flat=True))


def vote(client: Client, question: Question, choice: int) -> None:
    response = client.post(reverse("polls:vote", args=[question.slug]), {"choice": choice})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == question.get_absolute_url()


def shown_results(html: str) -> tuple[int, dict[str, int]]:
    """Voters and votes per choice, as the question page shows them."""
    voters = VOTERS_LINE.search(html)
    assert voters is not None, "the page shows no results"
    rows = {text: int(votes.replace(",", "")) for text, votes in RESULT_ROW.findall(html)}
    return int(voters.group(1).replace(",", "")), rows


def stored_results(question: Question) -> tuple[int, dict[str, int]]:
    """The same figures counted from the vote rows in MariaDB, the truth."""
    by_text = Counter(Vote.objects.filter(question=question).values_list("choice__text", flat=True))
    rows = {choice.text: by_text.get(choice.text, 0) for choice in question.choices.all()}
    return Ballot.objects.filter(question=question).count(), rows


def assert_page_shows_stored_results(client: Client, question: Question) -> None:
    response = client.get(question.get_absolute_url())
    assert response.status_code == 200
    shown, stored = shown_results(response.content.decode()), stored_results(question)
    assert shown == stored, f"the page shows {shown}, the vote rows say {stored}"


def assert_site_serves(client: Client, question: Question) -> None:
    for url in (question.get_absolute_url(), "/", "/tags/", "/tags/food/", "/search/?q=ramen"):
        assert client.get(url).status_code == 200, url


def test_flushed_cache_still_shows_right_counts(client, memcached_nodes, voters, question):
    choices = choice_pks(question)
    for i, user in enumerate(voters):
        vote(logged_in(user), question, choices[i % 2])
    assert_page_shows_stored_results(client, question)
    assert cache.get(cache_keys.counts(question.slug)) is not None

    cache.clear()

    assert cache.get(cache_keys.counts(question.slug)) is None
    assert_page_shows_stored_results(client, question)
    assert stored_results(question) == (6, {"Ichiran": 3, "Ippudo": 3, "Menya": 0})


def test_losing_one_node_then_both_fails_nothing(client, memcached_nodes, voters, make_question):
    question = make_question(tags=("Food",))
    choices = choice_pks(question)
    alice, bob, sam, carol, dan, erin = (logged_in(user) for user in voters)
    vote(alice, question, choices[0])
    vote(bob, question, choices[1])
    assert_site_serves(client, question)
    assert_site_serves(alice, question)

    memcached_nodes[0].stop()
    assert_site_serves(client, question)
    assert_site_serves(alice, question)
    vote(sam, question, choices[2])
    vote(alice, question, choices[1])  # a changed vote too
    assert_page_shows_stored_results(client, question)
    assert_page_shows_stored_results(alice, question)

    memcached_nodes[1].stop()
    assert_site_serves(client, question)
    assert_site_serves(bob, question)
    vote(carol, question, choices[0])
    vote(dan, question, choices[2])
    vote(bob, question, choices[0])
    assert_page_shows_stored_results(client, question)
    assert_page_shows_stored_results(erin, question)
    assert stored_results(question) == (5, {"Ichiran": 2, "Ippudo": 1, "Menya": 2})


class HangingNode:
    """A loopback listener: the kernel completes connections, nobody ever reads or answers."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        # Should a client wait for ever, closing the listener resets its connection, so the
        # test fails on its time limit instead of hanging the suite.
        self.gave_up = threading.Event()
        self._watchdog = threading.Timer(HANGING_NODE_WATCHDOG, self._give_up)
        self._watchdog.start()

    def _give_up(self) -> None:
        self.gave_up.set()
        self.listener.close()

    def was_reached(self) -> bool:
        assert not self.gave_up.is_set(), "a cache call waited on the hanging node for ever"
        readable, _, _ = select.select([self.listener], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        self._watchdog.cancel()
        self.listener.close()


@pytest.fixture
def hanging_node():
    node = HangingNode()
    yield node
    node.close()


def timed(send, *args, **kwargs):
    started = time.monotonic()
    response = send(*args, **kwargs)
    return response, time.monotonic() - started


def test_hanging_node_costs_a_timeout_not_the_page(
    settings, client, memcached_nodes, hanging_node, alice, make_question
):
    questions = [make_question(f"Question number {i}?", tags=("Food",)) for i in range(12)]
    client.force_login(alice)
    use_cache_nodes(settings, [memcached_nodes[0].address, hanging_node.address])
    assert not hanging_node.was_reached()

    for question in questions:
        for url in (question.get_absolute_url(), "/", "/tags/food/"):
            response, elapsed = timed(client.get, url)
            assert elapsed < PAGE_TIME_LIMIT, f"{url} took {elapsed:.2f} s"
            assert response.status_code == 200, url
        if hanging_node.was_reached():
            break
    # Each question's keys land on either node: a dozen questions reach the hanging one.
    assert hanging_node.was_reached(), "no request ever reached the hanging node"

    response, elapsed = timed(
        client.post,
        reverse("polls:vote", args=[question.slug]),
        {"choice": choice_pks(question)[0]},
    )
    assert elapsed < PAGE_TIME_LIMIT, f"the vote took {elapsed:.2f} s"
    assert response.status_code == 302
    assert_page_shows_stored_results(client, question)
    assert not hanging_node.gave_up.is_set()


def direct_client(node: Proc) -> MemcachedClient:
    return MemcachedClient(("127.0.0.1", node.port), connect_timeout=2, timeout=2)


def node_item_count(node: Proc) -> int:
    direct = direct_client(node)
    try:
        return int(direct.stats()[b"curr_items"])
    finally:
        direct.close()


def holds(node: Proc, key: str) -> bool:
    direct = direct_client(node)
    try:
        return direct.get(cache.make_key(key)) is not None
    finally:
        direct.close()


def node_holding(nodes: list[Proc], key: str) -> int:
    """The index of the one node that holds the cache entry ``key``."""
    holders = [index for index, node in enumerate(nodes) if holds(node, key)]
    assert len(holders) == 1, f"{key} is held by nodes {holders}"
    return holders[0]


def key_stored_on(node: Proc) -> str:
    """A cache key of the test's own that the client stores on ``node``."""
    for i in range(64):
        key = f"probe:{uuid.uuid4().hex}"
        cache.set(key, i, 300)
        if holds(node, key):
            return key
    raise AssertionError(f"no key of 64 went to {node.address}")


def stop_until_taken_out(nodes: list[Proc], index: int) -> None:
    """Stop ``nodes[index]`` and use it until the client gives up on it.

    Other traffic does this in production: a read fails, and the node then answers
    misses without a network call until ``retry_timeout`` has passed.
    """
    key = key_stored_on(nodes[index])
    nodes[index].stop()
    for _ in range(2):
        assert cache.get(key) is None
    time.sleep(1.2)
    for _ in range(2):
        assert cache.get(key) is None


def test_restarted_node_rejoins_and_counts_converge(
    settings, client, memcached_nodes, voters, make_question, tmp_path
):
    retry_timeout = 1
    use_cache_nodes(
        settings, [node.address for node in memcached_nodes], retry_timeout=retry_timeout
    )
    question = make_question(tags=("Food",))
    choices = choice_pks(question)
    alice, bob, sam, carol, dan, erin = (logged_in(user) for user in voters)
    vote(alice, question, choices[0])
    vote(bob, question, choices[1])
    assert_page_shows_stored_results(alice, question)
    # Stop the node that holds the counts, so they certainly move and come back.
    home = node_holding(memcached_nodes, cache_keys.counts(question.slug))
    stopped = memcached_nodes[home]

    stop_until_taken_out(memcached_nodes, home)
    assert_site_serves(client, question)
    vote(sam, question, choices[2])
    vote(bob, question, choices[2])
    assert_page_shows_stored_results(bob, question)
    assert_page_shows_stored_results(client, question)

    memcached_nodes[home] = start_memcached(port=stopped.port, log_dir=tmp_path)
    time.sleep(retry_timeout + 0.5)
    assert_site_serves(client, question)

    # The restarted node takes its share of the keys again, the counts among them.
    assert holds(memcached_nodes[home], cache_keys.counts(question.slug))
    cache.set_many({f"probe:{i}": i for i in range(20)}, 60)
    assert cache.get_many([f"probe:{i}" for i in range(20)]) == {f"probe:{i}": i for i in range(20)}
    assert node_item_count(memcached_nodes[home]) > 0

    vote(carol, question, choices[0])
    vote(alice, question, choices[1])
    for voter in (alice, bob, sam, carol, dan, erin, client):
        assert_page_shows_stored_results(voter, question)
    assert stored_results(question) == (4, {"Ichiran": 1, "Ippudo": 1, "Menya": 2})


def test_node_lost_twice_never_brings_back_old_counts(
    settings, client, memcached_nodes, voters, make_question, tmp_path
):
    # Were a lost node taken out of the ring, its keys would be cached on the other node,
    # and those copies would come back as the truth when the same node was lost again.
    use_cache_nodes(settings, [node.address for node in memcached_nodes], retry_timeout=1)
    question = make_question()
    choices = choice_pks(question)
    alice, bob, sam, *_ = (logged_in(user) for user in voters)
    vote(alice, question, choices[0])
    assert_page_shows_stored_results(client, question)
    home = node_holding(memcached_nodes, cache_keys.counts(question.slug))
    stopped = memcached_nodes[home]

    stop_until_taken_out(memcached_nodes, home)
    # Read while the node is out: with the node out of the ring, the counts would be cached
    # on the other node meanwhile.
    assert_page_shows_stored_results(client, question)

    memcached_nodes[home] = start_memcached(port=stopped.port, log_dir=tmp_path)
    time.sleep(1.5)
    assert_page_shows_stored_results(client, question)
    vote(bob, question, choices[1])
    vote(sam, question, choices[1])
    assert_page_shows_stored_results(client, question)
    assert holds(memcached_nodes[home], cache_keys.counts(question.slug))

    stop_until_taken_out(memcached_nodes, home)
    assert_page_shows_stored_results(client, question)
    assert stored_results(question) == (3, {"Ichiran": 1, "Ippudo": 2, "Menya": 0})


def test_nobody_is_logged_out_when_memcached_dies(client, memcached_nodes, alice, question):
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": "correct horse"}
    )
    assert response.status_code == 302
    session_key = client.cookies["sessionid"].value
    # The session really is read from memcached while it is up.
    assert cache.get(SessionStore(session_key).cache_key) is not None
    assert 'class="who" href="/accounts/profile/">alice</a>' in client.get("/").content.decode()

    for node in memcached_nodes:
        node.stop()

    for url in ("/", question.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200
        assert 'class="who" href="/accounts/profile/">alice</a>' in response.content.decode(), url
    vote(client, question, choice_pks(question)[0])
    assert Ballot.objects.filter(user=alice, question=question).exists()
    assert client.cookies["sessionid"].value == session_key
