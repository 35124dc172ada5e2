"""Servers stop, reload or die while people use the site, and no request fails beyond those
that were in flight on the server that died.

Signed-in members and anonymous visitors read pages and vote through HAProxy in background
threads the whole time, each from a loopback address of its own. Every request is recorded
(tests/stack/clients.py), so each failure can be set against what was in flight at the moment.

- Stopping an nginx (as `systemctl stop nginx` or a dying instance would) makes HAProxy retry
  the refused connections on the other nginx and take the stopped one out after two failed checks.
- A graceful reload of an app server (HUP) replaces its workers without dropping anything.
- A stopped app server: its nginx sends pages to the other one (its `backup`) at once, and its
  /healthz, which asks its own app server only, takes the instance out of HAProxy.
- A killed app server (SIGKILL to the master and its workers): only requests in flight on it may
  fail. nginx retries a GET on the backup; a POST that reached it is never sent twice.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from deploy.stack.processes import HOST
from deploy.stack.topology import WORKERS_PER_APP_SERVER, Stack
from tests.stack.clients import (
    Exchange,
    Load,
    ReadAndVote,
    Visitor,
    audit_votes,
    client_addresses,
    fallbacks,
    to_nginx,
    wait_for,
)

# Statuses the load expects when nothing is wrong: pages, and the redirect after a vote.
_FINE = {200, 302}


def crowd(stack: Stack, members, block: int, *, signed_in: int = 3, anonymous: int = 1):
    """Signed-in members and anonymous readers, each from its own address in 127.99.<block>.x."""
    sources = client_addresses(block, signed_in + anonymous)
    visitors = [Visitor(stack, source=source) for source in sources]
    for visitor, username in zip(visitors, members.take(signed_in), strict=False):
        visitor.log_in(username)
    return visitors


def failed(exchanges: list[Exchange]) -> list[Exchange]:
    return [exchange for exchange in exchanges if exchange.error or exchange.status not in _FINE]


def server_row(stack: Stack, name: str) -> dict[str, str]:
    return next(
        row for row in stack.haproxy_stats() if row["pxname"] == "nginx" and row["svname"] == name
    )


def wait_until_out(stack: Stack, name: str, since: float) -> float:
    """Seconds from ``since`` until HAProxy marks ``name`` DOWN."""
    wait_for(lambda: stack.backend_status()[name] == "DOWN", f"HAProxy to take {name} out", 10)
    return time.monotonic() - since


def more_requests(load: Load, count: int) -> None:
    already = load.requests
    wait_for(lambda: load.requests >= already + count, f"{count} more requests", timeout=30)


def test_stopping_an_nginx_fails_no_request_and_takes_it_out_of_the_balancer(
    stack, members, restart_afterwards, figure
):
    visitors = crowd(stack, members, 1)
    with Load(visitors, ReadAndVote(members.questions)) as load:
        more_requests(load, 10)
        stopping = time.monotonic()
        restart_afterwards("nginx-1")
        stopped = time.monotonic()
        out_after = wait_until_out(stack, "nginx-1", stopping)
        sent_to_stopped = int(server_row(stack, "nginx-1")["stot"])
        more_requests(load, 20)

    # Only a POST caught in flight by the stopping nginx may fail: it reached the server, so
    # retrying it elsewhere could count a vote twice, and HAProxy does not.
    in_flight = [e for e in load.exchanges if e.in_flight_at(stopping) or e.in_flight_at(stopped)]
    failures = failed(load.exchanges)
    assert [failure for failure in failures if failure not in in_flight] == []
    assert all(failure.method == "POST" for failure in failures)
    # Once out, it is sent nothing at all: no request waits on a dead server.
    assert int(server_row(stack, "nginx-1")["stot"]) == sent_to_stopped
    figure(
        f"nginx-1 stopped under load: {len(failures)} failed of {len(load.exchanges):,} "
        f"({len(in_flight)} in flight); out of HAProxy after {out_after:.1f} s"
    )


def reload_and_wait(stack: Stack, name: str) -> None:
    """HUP an app server, then wait until a fresh worker serves: its old workers have exited
    (each after finishing its request) and a request was logged after that. The load balancer's
    checks reach it every half second, so one always comes. gunicorn logs "Booting worker" as
    it forks, before the application is imported, which is too early to reload again."""
    log = Path(stack.procs[name].log)
    old = children(stack.procs[name].pid)
    start = len(log.read_text(errors="replace"))
    stack.send(name, signal.SIGHUP)

    def fresh_worker_served() -> bool:
        text = log.read_text(errors="replace")[start:]
        exits = [text.find(f"Worker exiting (pid: {pid})") for pid in old]
        if min(exits) < 0:
            return False
        later = text[max(exits) :].splitlines()[1:]
        # gunicorn's access lines (Beebeta's own JSON lines start with "{").
        return any("request_id=" in line and not line.startswith("{") for line in later)

    wait_for(fresh_worker_served, f"a fresh worker of {name} to serve", timeout=60)


def test_ten_graceful_reloads_of_an_app_server_drop_nothing(stack, members, figure):
    log = Path(stack.procs["gunicorn-1"].log)
    fell_back = fallbacks(stack, "nginx-1")
    visitors = crowd(stack, members, 2)

    with Load(visitors, ReadAndVote(members.questions)) as load:
        more_requests(load, 10)
        for _ in range(10):
            reload_and_wait(stack, "gunicorn-1")
            more_requests(load, 10)

    assert failed(load.exchanges) == []
    assert log.read_text().count("Handling signal: hup") >= 10
    assert stack.procs["gunicorn-1"].alive()
    # gunicorn itself kept every connection: nginx never had to fall back to the other server.
    assert fallbacks(stack, "nginx-1") == fell_back
    slowest = max(exchange.ended_at - exchange.sent_at for exchange in load.exchanges)
    figure(
        f"10 HUP reloads under load: 0 failed of {len(load.exchanges):,}; "
        f"slowest answer {slowest:.2f} s"
    )


def test_a_stopped_app_server_is_taken_out_of_the_balancer_and_fails_nothing(
    stack, members, restart_afterwards, figure
):
    visitors = crowd(stack, members, 3)
    with Load(visitors, ReadAndVote(members.questions)) as load:
        more_requests(load, 10)
        stopping = time.monotonic()
        restart_afterwards("gunicorn-1")  # TERM: it finishes what it has, and takes nothing new
        stopped = time.monotonic()
        out_after = wait_until_out(stack, "nginx-1", stopping)
        more_requests(load, 20)
        stack.start("gunicorn-1")
        wait_for(lambda: stack.backend_status()["nginx-1"] == "UP", "nginx-1 back in HAProxy")
        more_requests(load, 10)

    in_flight = [e for e in load.exchanges if e.in_flight_at(stopping) or e.in_flight_at(stopped)]
    failures = failed(load.exchanges)
    assert [failure for failure in failures if failure not in in_flight] == []
    figure(
        f"gunicorn-1 stopped under load: out of HAProxy after {out_after:.1f} s; "
        f"{len(failures)} failed of {len(load.exchanges):,} ({len(in_flight)} in flight)"
    )


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


_TCP_ESTABLISHED = "01"


def open_connections(port: int) -> int:
    """Established connections to a local port: requests a worker is serving or that wait in
    its listen queue (nginx opens one per request to gunicorn, which closes it when done)."""
    # /proc/net/tcp writes an IPv4 address as the hex of its bytes in host (little-endian) order.
    address = int.from_bytes(bytes(int(part) for part in HOST.split(".")), "little")
    wanted = f"{address:08X}:{port:04X}"
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        count += fields[1] == wanted and fields[3] == _TCP_ESTABLISHED
    return count


def test_killing_an_app_server_fails_no_more_than_its_requests_in_flight(
    stack, members, restart_afterwards, figure
):
    master = stack.procs["gunicorn-1"].pid
    workers = children(master)
    assert len(workers) == WORKERS_PER_APP_SERVER
    voting = ReadAndVote(members.questions, vote_every=1.0)
    visitors = crowd(stack, members, 4, signed_in=4)

    with Load(visitors, voting) as load:
        more_requests(load, 20)
        on_server = open_connections(stack.ports["gunicorn-1"])
        killed = time.monotonic()
        # The master first, so it cannot replace the workers killed next.
        restart_afterwards("gunicorn-1", signal.SIGKILL)
        for worker in workers:
            try:
                os.kill(worker, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it saw its master go and left by itself
        out_after = wait_until_out(stack, "nginx-1", killed)
        more_requests(load, 20)
        stack.start("gunicorn-1")
        wait_for(lambda: stack.backend_status()["nginx-1"] == "UP", "nginx-1 back in HAProxy")
        more_requests(load, 10)

    in_flight = load.in_flight_at(killed)
    failures = failed(load.exchanges)
    assert [failure for failure in failures if failure not in in_flight] == []
    assert len(failures) <= len(in_flight)
    audit = audit_votes(stack, voting.attempts)
    assert audit.wrong == []
    assert audit.acknowledged >= 5
    figure(
        f"gunicorn-1 SIGKILLed under load with {on_server} request(s) on it "
        f"({len(in_flight)} in flight in the whole load): {len(failures)} failed of "
        f"{len(load.exchanges):,}; out of HAProxy after {out_after:.1f} s; "
        f"{audit.present}/{audit.acknowledged} acknowledged votes in MySQL"
    )


@pytest.mark.parametrize("number", [1, 2])
def test_each_instance_answers_its_health_check_from_its_own_app_server(stack, number):
    """nginx-N's /healthz reaches gunicorn-N: the access log names it as the upstream."""
    connection = to_nginx(stack, number, as_balancer=True)
    try:
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    own = f"upstream={HOST}:{stack.ports[f'gunicorn-{number}']}:200:"
    log = Path(stack.home / f"nginx-{number}" / "access.log")
    wait_for(
        lambda: any(
            "GET /healthz" in line and own in line for line in log.read_text().splitlines()
        ),
        "the check in nginx's log",
        timeout=5,
    )


def test_health_answers_name_no_other_app_server(stack):
    """Over the whole session so far, no instance's check was ever answered by the other app
    server (the pages' backup)."""
    for number, other in ((1, 2), (2, 1)):
        log = (stack.home / f"nginx-{number}" / "access.log").read_text()
        elsewhere = f"{HOST}:{stack.ports[f'gunicorn-{other}']}"
        checks = [line for line in log.splitlines() if "GET /healthz" in line]
        assert checks
        assert [line for line in checks if elsewhere in line] == []
