"""A backing service goes away under load: MySQL restarted, memcached stopped or hanging.

- MySQL down for about ten seconds (SIGKILL: no clean shutdown, crash recovery on start):
  everyone gets the site's own 503 page ("Beebeta is back in a moment"), or a page memcached
  still holds, never a 500 or the load balancer's bare error. Every instance fails its check at
  once, so HAProxy, like the ALB, fails open and keeps sending to all of them. After MySQL is
  back: no 5xx, and every vote that was acknowledged (redirected to its question) is in MySQL.
  A vote answered with the 503 page was not acknowledged: the page tells its author that no
  confirmed vote is lost and to try again; it may or may not have counted.
- memcached hanging, then stopped: /healthz answers 200 at once and both instances stay in
  HAProxy; pages go on being served from MySQL.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.topology import Stack
from tests.stack.clients import (
    Exchange,
    Load,
    ReadAndVote,
    Visitor,
    audit_votes,
    client_addresses,
    to_nginx,
    wait_for,
)

FRIENDLY_503 = b"<h1>Beebeta is back in a moment</h1>"
OUTAGE_SECONDS = 10.0
# Beebeta's memcached timeout (MEMCACHED_TIMEOUT): a check that waited on a hanging node
# would take at least this long.
MEMCACHED_TIMEOUT = 0.25


def crowd(stack: Stack, members, block: int, *, signed_in: int, anonymous: int) -> list[Visitor]:
    sources = client_addresses(block, signed_in + anonymous)
    visitors = [Visitor(stack, source=source) for source in sources]
    for visitor, username in zip(visitors, members.take(signed_in), strict=False):
        visitor.log_in(username)
    return visitors


def friendly(exchange: Exchange) -> bool:
    return exchange.status == 503 and FRIENDLY_503 in exchange.body


def test_mysql_restarted_under_load_shows_the_503_page_and_loses_no_acknowledged_vote(
    stack, members, restart_afterwards, figure
):
    voting = ReadAndVote(members.questions, vote_every=1.5)
    visitors = crowd(stack, members, 10, signed_in=4, anonymous=2)
    all_out = []

    with Load(visitors, voting) as load:
        wait_for(lambda: len(voting.attempts) >= 8, "votes before the outage", timeout=30)
        down = time.monotonic()
        restart_afterwards("mariadb", signal.SIGKILL)
        while time.monotonic() < down + OUTAGE_SECONDS:
            if set(stack.backend_status().values()) == {"DOWN"}:
                all_out.append(time.monotonic())
            time.sleep(0.2)
        stack.start("mariadb")
        up = time.monotonic()
        wait_for(lambda: set(stack.backend_status().values()) == {"UP"}, "both nginx back")
        back_in_balancer = time.monotonic() - up
        votes_so_far = len(voting.attempts)
        wait_for(lambda: len(voting.attempts) >= votes_so_far + 8, "votes after", timeout=30)

    exchanges = load.exchanges
    during = [e for e in exchanges if e.ended_at >= down and e.sent_at <= up]
    after = [e for e in exchanges if e.sent_at > up]
    before = [e for e in exchanges if e.ended_at < down]
    unexpected = [e for e in during if not (e.status in (200, 302) or friendly(e))]
    assert unexpected == [], [(e.method, e.path, e.status, e.error) for e in unexpected]
    assert [e for e in before + after if e.error or e.status >= 500] == []
    friendly_503s = sum(friendly(e) for e in during)
    assert friendly_503s > 0
    # Every instance failed its check and HAProxy kept sending (the 503 pages came from Django).
    assert all_out, "HAProxy never took both instances out"

    audit = audit_votes(stack, voting.attempts)
    assert audit.wrong == []
    assert audit.acknowledged >= 10
    assert audit.refused > 0, "no vote was sent while MySQL was down"
    cached = sum(e.status == 200 for e in during)
    figure(
        f"MySQL SIGKILLed, down {up - down:.0f} s under load: {friendly_503s} friendly 503s, "
        f"{cached} pages from cache, 0 other 5xx; 0 5xx of {len(after):,} after; "
        f"{audit.present}/{audit.acknowledged} acknowledged votes present, "
        f"{audit.refused} answered 503 ({audit.refused_recorded} of them recorded all the same); "
        f"both instances back in HAProxy {back_in_balancer:.1f} s after MySQL"
    )


@dataclass
class HealthAnswer:
    status: int
    body: dict
    seconds: float  # as the caller saw it: queueing behind busy workers included
    request_id: str


def health_checks(stack: Stack, rounds: int) -> list[HealthAnswer]:
    """/healthz straight from each nginx, as HAProxy asks it."""
    answers = []
    for _ in range(rounds):
        for number in (1, 2):
            connection = to_nginx(stack, number, as_balancer=True)
            try:
                began = time.monotonic()
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                body = json.loads(response.read())
                seconds = time.monotonic() - began
                request_id = response.headers["X-Request-ID"]
                answers.append(HealthAnswer(response.status, body, seconds, request_id))
            finally:
                connection.close()
        time.sleep(0.1)
    return answers


def seconds_inside_django(stack: Stack, answers: list[HealthAnswer]) -> list[float]:
    """How long each check took inside Django, from the app servers' JSON request log: the
    check's own work, without the wait for a worker that a page request may be holding."""
    wanted = {answer.request_id for answer in answers}
    durations: dict[str, float] = {}

    def all_logged() -> bool:
        for name in ("gunicorn-1", "gunicorn-2"):
            for line in Path(stack.procs[name].log).read_text(errors="replace").splitlines():
                if line.startswith("{") and '"request_id"' in line:
                    record = json.loads(line)
                    if record["request_id"] in wanted:
                        durations[record["request_id"]] = record["duration_ms"] / 1000
        return len(durations) == len(wanted)

    wait_for(all_logged, "the checks in the request log", timeout=5)
    return list(durations.values())


def check_failures(stack: Stack) -> int:
    return sum(
        int(row["chkfail"] or 0)
        for row in stack.haproxy_stats()
        if row["pxname"] == "nginx" and row["svname"] in ("nginx-1", "nginx-2")
    )


def test_health_checks_never_wait_for_memcached_stopped_or_hanging(
    stack, members, restart_afterwards, figure
):
    visitors = crowd(stack, members, 11, signed_in=1, anonymous=1)
    failed_checks = check_failures(stack)
    with Load(visitors, ReadAndVote(members.questions, vote_every=3.0)) as load:
        # Hanging first, while every client still holds live connections to both nodes: they
        # accept connections and never answer.
        for name in ("memcached-1", "memcached-2"):
            stack.send(name, signal.SIGSTOP)
        try:
            hanging = health_checks(stack, 10)
        finally:
            for name in ("memcached-1", "memcached-2"):
                stack.send(name, signal.SIGCONT)
        restart_afterwards("memcached-1")
        restart_afterwards("memcached-2")
        stopped = health_checks(stack, 10)
        stack.start("memcached-1")
        stack.start("memcached-2")

    answers = hanging + stopped
    assert {(answer.status, answer.body["database"]) for answer in answers} == {(200, "ok")}
    # Answered while the probe still waited on a hanging node ("slow"): the check did not wait.
    assert "slow" in {answer.body["cache"] for answer in hanging}
    assert "ok" not in {answer.body["cache"] for answer in stopped}
    inside = max(seconds_inside_django(stack, answers))
    assert inside < MEMCACHED_TIMEOUT
    # HAProxy's own checks (0.5 s timeout) never failed and kept both instances in.
    assert check_failures(stack) == failed_checks
    assert set(stack.backend_status().values()) == {"UP"}
    pages = load.exchanges
    assert [e for e in pages if e.error or e.status >= 500] == []
    waited = max(answer.seconds for answer in answers)
    figure(
        f"memcached hanging, then stopped: {len(answers)} /healthz all 200, at most "
        f"{inside * 1000:.0f} ms inside Django ({waited * 1000:.0f} ms as the balancer saw it, "
        f"queued behind pages waiting on memcached); 0 failed HAProxy checks, both instances "
        f"in; 0 5xx of {len(pages):,} requests"
    )
