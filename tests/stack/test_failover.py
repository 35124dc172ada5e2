"""Servers stop or reload while people use the site, and no request fails.

Two signed-in visitors read pages and vote through HAProxy in background threads the whole time.
Stopping an nginx (as `systemctl stop nginx` or a dying instance would) makes HAProxy retry the
refused connections on the other nginx and take the stopped one out after two failed checks;
a graceful reload of an app server (HUP) replaces its workers without dropping anything.

The one request that may fail is a POST caught in flight by the stopping nginx: it reached the
server, so retrying it elsewhere could count a vote or an upload twice, and HAProxy does not.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from deploy.stack import WORKERS_PER_APP_SERVER, Stack
from tests.stack.clients import Load, Visitor, fallbacks, wait_for

_QUESTION_LINK = re.compile(rb'href="(/q/[^/"]+/)"')
_CHOICE = re.compile(rb'name="choice" value="(\d+)"')


def browse_and_vote(visitor: Visitor, turn: int) -> None:
    home = visitor.get("/?order=newest")
    assert home.status == 200, f"home page: {home.status}"
    question = _QUESTION_LINK.search(home.body).group(1).decode()
    page = visitor.get(question)
    assert page.status == 200, f"{question}: {page.status}"
    # A vote now and then; the vote rate limit allows a couple a second from one address.
    if turn % 6 == 0:
        choices = _CHOICE.findall(page.body)
        choice = choices[turn // 6 % len(choices)].decode()
        vote = visitor.post_form(f"{question}vote/", {"choice": choice}, form_path=question)
        assert vote.status == 302, f"vote on {question}: {vote.status}"


@pytest.fixture
def visitors(stack) -> list[Visitor]:
    people = [Visitor(stack), Visitor(stack)]
    people[0].log_in("demo")
    people[1].log_in("staff")
    return people


def server_row(stack: Stack, name: str) -> dict[str, str]:
    return next(row for row in stack.haproxy_stats() if row["svname"] == name)


def test_stopping_an_nginx_fails_no_request_and_takes_it_out_of_the_balancer(
    stack, visitors, restart_afterwards
):
    with Load(visitors, browse_and_vote) as load:
        wait_for(lambda: load.requests >= 10, "the visitors to get going")
        stopping = time.monotonic()
        restart_afterwards("nginx-1")
        stopped = time.monotonic()
        wait_for(
            lambda: stack.backend_status()["nginx-1"] == "DOWN",
            "HAProxy to take nginx-1 out",
            timeout=5,
        )
        sent_to_stopped = int(server_row(stack, "nginx-1")["stot"])
        during_outage = load.requests
        wait_for(lambda: load.requests >= during_outage + 20, "more requests")

    in_flight = [
        failure
        for failure in load.failures
        if failure.method == "POST" and stopping <= failure.sent_at <= stopped
    ]
    assert [failure for failure in load.failures if failure not in in_flight] == []
    assert len(in_flight) <= len(visitors)
    # Once out, it is sent nothing at all: no request waits on a dead server.
    assert int(server_row(stack, "nginx-1")["stot"]) == sent_to_stopped


def test_a_graceful_reload_of_an_app_server_drops_nothing(stack, visitors):
    log = Path(stack.procs["gunicorn-1"].log)
    booted = log.read_text().count("Booting worker")
    fell_back = fallbacks(stack, "nginx-1")

    with Load(visitors, browse_and_vote) as load:
        wait_for(lambda: load.requests >= 10, "the visitors to get going")
        stack.send("gunicorn-1", signal.SIGHUP)
        wait_for(
            lambda: log.read_text().count("Booting worker") >= booted + WORKERS_PER_APP_SERVER,
            "fresh workers",
        )
        after_reload = load.requests
        wait_for(lambda: load.requests >= after_reload + 10, "requests to the new workers")
        time.sleep(0.2)

    assert load.failures == []
    assert "Handling signal: hup" in log.read_text()
    assert stack.procs["gunicorn-1"].alive()
    # gunicorn itself kept every connection: nginx never had to fall back to the other server.
    assert fallbacks(stack, "nginx-1") == fell_back
