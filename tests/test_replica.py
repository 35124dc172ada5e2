"""Reads from the read replica (beebeta/replica.py), against real MariaDB replication.

tests/services.py starts a primary with a binary log and a replica following it. The suite
itself reads from the primary alone; these tests add the replica as Django's ``replica``
database, and tell from each server's general query log which queries ran where.
"""

from __future__ import annotations

import copy
import os
import signal
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from beebeta import replica
from deploy.stack.processes import Proc, start_time
from deploy.stack.services import mariadb_sql, replica_status, start_mariadb

PRIMARY_PORT = int(os.environ.get("BEEBETA_TEST_MARIADB_PORT", "0"))
REPLICA_PORT = int(os.environ.get("BEEBETA_TEST_REPLICA_PORT", "0"))
# The replica started again after a test killed it, stopped when the session ends.
_restarted: list[Proc] = []


@pytest.fixture(scope="session", autouse=True)
def _stop_restarted_replica() -> Iterator[None]:
    yield
    for proc in _restarted:
        proc.stop()


def fresh(logs: tuple[QueryLog, QueryLog]) -> None:
    """Both logs cleared, once the replica has everything: what follows is the test's."""
    wait_for_replica()
    clear(logs)


def clear(logs: tuple[QueryLog, QueryLog]) -> None:
    for log in logs:
        log.clear()


def wait_for_replica() -> None:
    """Until the replica has applied everything the primary has logged."""
    position = mariadb_sql(PRIMARY_PORT, "SELECT @@gtid_binlog_pos").strip()
    waited = mariadb_sql(REPLICA_PORT, f"SELECT MASTER_GTID_WAIT('{position}', 30)").strip()
    assert waited == "0", f"the replica did not reach {position}: {replica_status(REPLICA_PORT)}"


class QueryLog:
    """The general query log of one server, as a table, from the moment it is cleared."""

    def __init__(self, port: int) -> None:
        self.port = port

    def clear(self) -> None:
        mariadb_sql(self.port, "TRUNCATE mysql.general_log")

    def selects_from(self, table: str) -> list[str]:
        statements = mariadb_sql(
            self.port, "SELECT argument FROM mysql.general_log WHERE command_type = 'Query'"
        )
        return [
            line
            for line in statements.splitlines()
            if line.lstrip().upper().startswith("SELECT") and f"`{table}`" in line
        ]


@pytest.fixture
def logs() -> Iterator[tuple[QueryLog, QueryLog]]:
    """The (primary, replica) query logs, on for the test."""
    both = (QueryLog(PRIMARY_PORT), QueryLog(REPLICA_PORT))
    for log in both:
        mariadb_sql(log.port, "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1")
        log.clear()
    yield both
    for log in both:
        with_server = log.port != REPLICA_PORT or _replica_alive()
        if with_server:
            mariadb_sql(log.port, "SET GLOBAL general_log = 0; TRUNCATE mysql.general_log")


def _replica_alive() -> bool:
    try:
        mariadb_sql(REPLICA_PORT, "SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means down
        return False
    return True


@pytest.fixture
def with_replica(transactional_db, django_db_blocker, settings) -> Iterator[None]:
    """The replica as Django's ``replica`` database (the test database, through replication),
    checked afresh, and kept usable for a minute between checks unless a test checks again."""
    primary = connections["default"].settings_dict
    connections.settings[replica.REPLICA] = {**copy.deepcopy(primary), "PORT": str(REPLICA_PORT)}
    connection = connections[replica.REPLICA]
    # Django's tests refuse to connect to a database the test did not declare, and declaring
    # it would make the test runner create (and so write) its test database on the replica:
    # this connection connects as it does outside tests.
    connect = django_db_blocker._real_ensure_connection
    connection.ensure_connection = types.MethodType(connect, connection)
    settings.REPLICA_CHECK_SECONDS = 60
    replica.forget_health()
    yield
    connections[replica.REPLICA].close()
    del connections[replica.REPLICA]
    del connections.settings[replica.REPLICA]
    replica.forget_health()


@pytest.fixture
def question(make_question):
    return make_question("Is the ramen at Ichiran worth the queue?", tags=("food",))


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def vote(client: Client, question, choice_index: int = 0):
    choice = question.choices.order_by("position")[choice_index]
    response = client.post(reverse("polls:vote", args=[question.slug]), {"choice": choice.pk})
    assert response.status_code == 302, response.content.decode()[:300]
    return choice


def test_lists_tags_search_open_data_and_feeds_read_from_the_replica(
    with_replica, logs, client, question
):
    fresh(logs)
    primary, replica_log = logs
    pages = ("/", "/tags/", "/tags/food/", "/search/?q=ramen", "/feeds/new/", "/data/")
    for address in (*pages, f"/q/{question.slug}.json", f"/q/{question.slug}.csv"):
        response = client.get(address)
        assert response.status_code == 200, address
        shows_it = question.title in response.content.decode()
        assert shows_it or address in ("/tags/", "/data/"), address
    assert replica_log.selects_from("polls_question")
    assert replica_log.selects_from("polls_tag")
    assert primary.selects_from("polls_question") == []
    assert primary.selects_from("polls_tag") == []


def test_without_a_replica_nothing_changes(transactional_db, client, question):
    assert replica.REPLICA not in connections.settings
    assert client.get("/").status_code == 200
    assert "bb_primary" not in client.cookies


def test_own_ballots_and_the_pages_after_a_write_read_from_the_primary(
    with_replica, logs, question, alice, bob
):
    primary, replica_log = logs
    member = logged_in(alice)
    vote(member, question)
    # The vote leaves the browser pinned to the primary for a while.
    assert member.cookies["bb_primary"]["max-age"] == replica.settings.REPLICA_PIN_SECONDS
    fresh(logs)

    page = member.get("/").content.decode()
    assert "you voted" in page
    assert primary.selects_from("polls_question")
    assert replica_log.selects_from("polls_question") == []

    # Another member, who wrote nothing: the shared rows from the replica, the ballots never.
    # (A page not read yet: the home page's rows are in memcached now.)
    fresh(logs)
    other = logged_in(bob)
    assert other.get("/tags/food/").status_code == 200
    assert replica_log.selects_from("polls_question")
    assert primary.selects_from("polls_ballot")
    assert replica_log.selects_from("polls_ballot") == []


def test_a_lagging_replica_is_left_alone_and_no_one_misses_their_own_vote(
    with_replica, logs, question, alice, client
):
    primary, replica_log = logs
    fresh(logs)
    assert client.get("/").status_code == 200
    assert replica_log.selects_from("polls_question"), "the replica was in use"
    mariadb_sql(REPLICA_PORT, "STOP SLAVE SQL_THREAD")
    try:
        member = logged_in(alice)
        chosen = vote(member, question)
        # The replica lacks the vote, and the router has not looked since it stopped. Pinned
        # by the vote, its author reads the primary: the list and the question show the vote.
        clear(logs)
        assert "you voted" in member.get("/").content.decode()
        question_page = member.get(question.get_absolute_url()).content.decode()
        assert chosen.text in question_page and "your choice" in question_page.lower()
        assert replica_log.selects_from("polls_question") == []

        # Once the pin is gone (cookie removed) the marks still come from the primary.
        del member.cookies["bb_primary"]
        clear(logs)
        assert "you voted" in member.get("/").content.decode()
        assert replica_log.selects_from("polls_ballot") == []

        # The next check finds the SQL thread stopped: everyone reads the primary.
        replica.forget_health()
        clear(logs)
        for address in ("/", "/tags/food/", "/search/?q=ramen"):
            assert client.get(address).status_code == 200
        assert replica_log.selects_from("polls_question") == []
        assert primary.selects_from("polls_question")
    finally:
        mariadb_sql(REPLICA_PORT, "START SLAVE SQL_THREAD")
    wait_for_replica()


def test_a_replica_past_the_lag_bound_is_left_alone(with_replica, logs, client, question, settings):
    primary, replica_log = logs
    fresh(logs)
    settings.REPLICA_MAX_LAG_SECONDS = -1  # any measured lag is past it
    assert client.get("/").status_code == 200
    assert replica_log.selects_from("polls_question") == []
    assert primary.selects_from("polls_question")


def test_a_killed_replica_costs_no_error_page(with_replica, logs, client, question, alice):
    primary, replica_log = logs
    fresh(logs)
    assert client.get("/tags/").status_code == 200
    assert replica_log.selects_from("polls_tag"), "the replica was in use"
    pid = int(os.environ["BEEBETA_TEST_REPLICA_PID"])
    if _restarted:
        pid = _restarted[-1].pid
    assert start_time(pid) is not None, "the replica runs"
    os.kill(pid, signal.SIGKILL)
    try:
        # The router still believes the replica usable: the first read fails there and is run
        # again on the primary; later ones go straight to the primary.
        member = logged_in(alice)
        for address in ("/", "/tags/", "/tags/food/", "/search/?q=ramen", "/?order=new"):
            assert client.get(address).status_code == 200, address
            assert member.get(address).status_code == 200, address
        vote(member, question)
        assert "you voted" in member.get("/").content.decode()
        replica.forget_health()
        assert client.get("/tags/food/").status_code == 200
        assert primary.selects_from("polls_question")
    finally:
        folder = Path(os.environ["BEEBETA_TEST_TMPDIR"]) / "replica"
        _restarted.append(
            start_mariadb(folder, REPLICA_PORT, name="replica", role="replica", install=False)
        )
    wait_for_replica()
