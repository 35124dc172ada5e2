"""Sending never slows or fails a request: a hanging, failing or absent Mixpanel
changes no page and no vote; a full queue drops and counts; no token, no events."""

from __future__ import annotations

import json
import os
import time

from django.urls import reverse

from beebeta import analytics
from deploy.stack.processes import free_port
from polls.models import Ballot, Vote
from tests.monitoring.receivers import FAIL, HANG, mixpanel_posts


def browse_and_vote(client, question, rounds: int) -> list[float]:
    """View the question and vote, changing the vote each round; the time of each request."""
    choices = list(question.choices.order_by("position"))
    vote_url = reverse("polls:vote", args=[question.slug])
    durations = []
    for i in range(rounds):
        started = time.monotonic()
        page = client.get(question.get_absolute_url())
        durations.append(time.monotonic() - started)
        assert page.status_code == 200
        assert question.title in page.content.decode()
        started = time.monotonic()
        voted = client.post(vote_url, {"choice": choices[i % len(choices)].pk})
        durations.append(time.monotonic() - started)
        assert voted.status_code == 302
    return durations


def assert_last_vote_stored(user, question, rounds: int) -> None:
    choices = list(question.choices.order_by("position"))
    ballot = Ballot.objects.get(user=user, question=question)
    assert list(Vote.objects.filter(ballot=ballot).values_list("choice_id", flat=True)) == [
        choices[(rounds - 1) % len(choices)].pk
    ]


def test_a_hanging_mixpanel_costs_requests_nothing(
    client, mixpanel_receiver, monkeypatch, alice, question
):
    # The sender waits this long for each answer that never comes; no request may.
    monkeypatch.setattr(analytics, "SEND_TIMEOUT_SECONDS", 5)
    hanging = mixpanel_receiver(HANG)
    client.force_login(alice)
    assert hanging.receiver.connected.wait(5)  # the sender is now stuck on its first batch
    durations = browse_and_vote(client, question, rounds=10)
    assert max(durations) < 1.0, durations
    assert sum(durations) < 5.0, durations  # all twenty together, under one send timeout
    assert_last_vote_stored(alice, question, rounds=10)
    assert analytics.counters()["sent"] == 0


def test_a_failing_mixpanel_changes_no_page_and_no_vote(client, mixpanel_receiver, alice, question):
    failing = mixpanel_receiver(FAIL)
    client.force_login(alice)
    browse_and_vote(client, question, rounds=3)
    assert_last_vote_stored(alice, question, rounds=3)
    assert analytics.flush(timeout=10)
    counts = analytics.counters()
    # Logged In, then per round Question Viewed, Page Viewed, a vote event and its Choices
    # Picked.
    assert counts["failed"] == 1 + 3 * 4
    assert counts["sent"] == counts["dropped"] == 0
    assert failing.receiver.received  # it was asked, and said no


def test_an_unreachable_mixpanel_is_counted_as_failed(client, settings, mixpanel, db):
    settings.MIXPANEL_EVENTS_URL = f"http://127.0.0.1:{free_port()}/track"
    assert client.get(reverse("polls:home")).status_code == 200
    assert analytics.flush(timeout=10)
    assert analytics.counters()["failed"] == 1


def test_a_full_queue_drops_and_counts(client, settings, mixpanel_receiver, monkeypatch, db):
    monkeypatch.setattr(analytics, "SEND_TIMEOUT_SECONDS", 5)
    settings.MIXPANEL_QUEUE_SIZE = 3
    hanging = mixpanel_receiver(HANG)
    client.get(reverse("polls:home"))
    assert hanging.receiver.connected.wait(5)  # that event is out; the queue is empty
    for _ in range(10):
        started = time.monotonic()
        assert client.get(reverse("polls:home")).status_code == 200
        assert time.monotonic() - started < 1.0
    counts = analytics.counters()
    assert counts["queued"] == 3
    assert counts["dropped"] == 7


def test_events_go_in_batches(mixpanel):
    for number in range(120):
        analytics.track(None, "Page Viewed", {"route": f"test:{number}"})
    assert len(mixpanel.events("Page Viewed")) == 120
    sizes = [len(json.loads(form["data"][0])) for form in mixpanel_posts(mixpanel.receiver)]
    assert max(sizes) <= analytics.BATCH_SIZE
    assert len(sizes) < 120 / 2
    assert analytics.counters() == {"queued": 0, "sent": 120, "dropped": 0, "failed": 0}


def test_without_a_token_nothing_is_queued_sent_or_stored(
    client, mixpanel_receiver, alice, question
):
    silent = mixpanel_receiver(token="")
    client.force_login(alice)
    browse_and_vote(client, question, rounds=2)
    client.logout()
    response = client.get(reverse("polls:home"))
    assert analytics.COOKIE_NAME not in response.cookies
    time.sleep(0.2)
    assert not silent.receiver.received
    assert analytics.counters() == {"queued": 0, "sent": 0, "dropped": 0, "failed": 0}


def test_a_forked_worker_starts_its_own_sender(mixpanel):
    """gunicorn forks its workers: a child never inherits the parent's queue or counters."""
    analytics.track(None, "Page Viewed", {"route": "test:parent"})
    assert analytics.flush(timeout=10)
    assert analytics.counters()["sent"] == 1
    pid = os.fork()
    if pid == 0:  # the worker
        code = 1
        try:
            if analytics.counters()["sent"] == 0:
                analytics.track(None, "Page Viewed", {"route": "test:child"})
                sent = analytics.flush(timeout=10) and analytics.counters()["sent"] == 1
                code = 0 if sent else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    routes = {e["properties"]["route"] for e in mixpanel.events("Page Viewed")}
    assert routes == {"test:parent", "test:child"}
