"""The vote storm's parts (tests/stack/test_vote_storm.py): voters over HTTPS, copies of one
vote sent at the same instant, and the ballot histories MariaDB records while it lasts.

A voter is a browser: its own loopback address, its session cookie, the CSRF cookie and form
token from one question page, then form POSTs to ``/q/<slug>/vote/`` through HAProxy. Copies of a
vote each open their TLS connection first and wait at a barrier, so the three requests leave
within microseconds of each other and race through nginx, gunicorn and MySQL.

What the server decided is read from a history table that two triggers on the vote rows fill in
the vote's own transaction (``VoteLog``): a rolled-back attempt leaves nothing, a committed one
leaves its rows in the order the ballot's lock let the transactions through.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import MySQLdb

from deploy.stack.topology import CSRF_COOKIE, SESSION_COOKIE, Stack
from tests.stack.clients import request, through_balancer

# The copies wait this long for each other at the barrier; HAProxy gives a silent connection
# 10 s (timeout http-request) before it closes it.
BARRIER_SECONDS = 8.0
_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class StormQuestion:
    id: int
    slug: str
    max_choices: int
    choices: tuple[int, ...]
    texts: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/q/{self.slug}/"


@dataclass
class Voter:
    """A signed-in browser: the session made for it, and the CSRF pair once it has read a page."""

    user_id: int
    session: str
    source: str
    csrf_cookie: str = ""
    form_token: str = ""

    def cookie_header(self) -> str:
        cookies = {SESSION_COOKIE: self.session, CSRF_COOKIE: self.csrf_cookie}
        return "; ".join(f"{name}={value}" for name, value in cookies.items() if value)


@dataclass
class Post:
    """One vote POST and what came back; times are time.monotonic()."""

    user_id: int
    question: StormQuestion
    choices: tuple[int, ...]
    sent: float = 0.0
    acked: float = 0.0  # when the acknowledgement arrived; 0 if none did
    status: int = 0
    location: str = ""
    request_id: str = ""
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        """Recorded: a redirect to the question's page, where a browser sees the results."""
        return self.status == 302 and self.location == self.question.path

    def describe(self) -> str:
        outcome = self.error or f"{self.status} -> {self.location or '-'}"
        return (
            f"user {self.user_id} on {self.question.slug} choosing {list(self.choices)}: "
            f"{outcome} (request {self.request_id or '?'})"
        )


def source_address(number: int) -> str:
    """The voter's own address in 127.77.0.0/16: nginx limits POSTs per client address."""
    return f"127.77.{number // 250}.{number % 250 + 1}"


def choice_sets(question: StormQuestion, turn: int) -> list[tuple[int, ...]]:
    """Every vote this question takes in the storm, in an order rotated by ``turn``: the
    choices one by one, then (when it takes several) neighbouring pairs."""
    ids = question.choices
    sets = [(choice,) for choice in ids]
    if question.max_choices > 1:
        sets += [(ids[i], ids[(i + 1) % len(ids)]) for i in range(len(ids))]
    turn %= len(sets)
    return sets[turn:] + sets[:turn]


# --- HTTP -----------------------------------------------------------------------------------


def _connect(stack: Stack, voter: Voter) -> http.client.HTTPSConnection:
    connection = through_balancer(stack, source=voter.source)
    connection.connect()  # TCP and TLS now, so that only the request itself is left to send
    return connection


def read_csrf(stack: Stack, voter: Voter, question: StormQuestion) -> None:
    """GET a question page with the session: the CSRF cookie and the form's token."""
    connection = _connect(stack, voter)
    try:
        page = request(connection, "GET", question.path, headers={"Cookie": voter.cookie_header()})
    finally:
        connection.close()
    assert page.status == 200, f"{question.path} as user {voter.user_id}: {page.status}"
    for header in page.header_values("Set-Cookie"):
        if morsel := SimpleCookie(header).get(CSRF_COOKIE):
            voter.csrf_cookie = morsel.value
    token = _CSRF_FIELD.search(page.body)
    assert voter.csrf_cookie and token, f"no CSRF pair on {question.path}"
    voter.form_token = token.group(1).decode()


def _send_vote(
    connection: http.client.HTTPSConnection, stack: Stack, voter: Voter, post: Post
) -> None:
    fields = [("csrfmiddlewaretoken", voter.form_token)]
    fields += [("choice", str(choice)) for choice in post.choices]
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": voter.cookie_header(),
        "Origin": stack.origin,
        "Referer": stack.origin + post.question.path,
    }
    post.sent = time.monotonic()
    answer = request(
        connection,
        "POST",
        f"{post.question.path}vote/",
        headers=headers,
        body=urlencode(fields).encode(),
    )
    post.acked = time.monotonic() if answer.status == 302 else 0.0
    post.status = answer.status
    post.location = answer.headers.get("Location", "")
    post.request_id = answer.headers.get("X-Request-ID", "")


def vote_once(stack: Stack, voter: Voter, post: Post) -> Post:
    try:
        connection = _connect(stack, voter)
        try:
            _send_vote(connection, stack, voter, post)
        finally:
            connection.close()
    except (OSError, http.client.HTTPException) as error:
        post.error = f"{type(error).__name__}: {error}"
    return post


def vote_at_once(
    stack: Stack, voter: Voter, question: StormQuestion, sets: Iterable[tuple[int, ...]]
) -> list[Post]:
    """Send one POST per choice set, all at the same instant, each on its own connection."""
    posts = [Post(voter.user_id, question, choices) for choices in sets]
    barrier = threading.Barrier(len(posts))

    def send(post: Post) -> None:
        try:
            connection = _connect(stack, voter)
        except OSError as error:
            post.error = f"connecting: {type(error).__name__}: {error}"
            barrier.abort()
            return
        try:
            barrier.wait(timeout=BARRIER_SECONDS)
            _send_vote(connection, stack, voter, post)
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as error:
            post.error = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(post,)) for post in posts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return posts


# --- What MariaDB recorded ------------------------------------------------------------------


def connect_database(stack: Stack) -> MySQLdb.Connection:
    """The stack's database as root over TCP, each statement committed at once."""
    return stack.connect_database(autocommit=True, charset="utf8mb4")


def query(database: MySQLdb.Connection, sql: str, params: Iterable[object] = ()) -> list[tuple]:
    with database.cursor() as cursor:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())


class VoteLog:
    """Every vote row inserted or deleted while it is installed, in the order MariaDB did it.

    The triggers write in the vote's own transaction, so the log holds exactly what committed.
    The writes of one ballot take turns under its row lock (and under the unique key when two
    first votes race), so the auto-increment ``seq`` orders them as the server serialised them.
    """

    _INSTALL = (
        "CREATE TABLE storm_vote_log ("
        " seq BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,"
        " action CHAR(1) NOT NULL,"
        " ballot_id BIGINT NOT NULL,"
        " choice_id BIGINT NOT NULL,"
        " slot SMALLINT UNSIGNED NOT NULL"
        ") ENGINE=InnoDB",
        "CREATE TRIGGER storm_vote_inserted AFTER INSERT ON polls_vote FOR EACH ROW"
        " INSERT INTO storm_vote_log (action, ballot_id, choice_id, slot)"
        " VALUES ('I', NEW.ballot_id, NEW.choice_id, NEW.slot)",
        "CREATE TRIGGER storm_vote_deleted AFTER DELETE ON polls_vote FOR EACH ROW"
        " INSERT INTO storm_vote_log (action, ballot_id, choice_id, slot)"
        " VALUES ('D', OLD.ballot_id, OLD.choice_id, OLD.slot)",
    )
    _REMOVE = (
        "DROP TRIGGER IF EXISTS storm_vote_inserted",
        "DROP TRIGGER IF EXISTS storm_vote_deleted",
        "DROP TABLE IF EXISTS storm_vote_log",
    )

    def __init__(self, database: MySQLdb.Connection) -> None:
        self.database = database

    def install(self) -> None:
        for statement in (*self._REMOVE, *self._INSTALL):
            query(self.database, statement)

    def remove(self) -> None:
        for statement in self._REMOVE:
            query(self.database, statement)

    def last_seq(self) -> int:
        return int(query(self.database, "SELECT COALESCE(MAX(seq), 0) FROM storm_vote_log")[0][0])

    def histories(
        self,
        *,
        after: int = 0,
        upto: int = 2**63,
        holding: dict[int, tuple[int, ...]] | None = None,
    ) -> dict[int, BallotHistory]:
        """The ballots' histories from the log entries with ``after < seq <= upto``, starting
        from the rows each ballot was ``holding`` then (none by default)."""
        entries = query(
            self.database,
            "SELECT action, ballot_id, choice_id, slot FROM storm_vote_log"
            " WHERE seq > %s AND seq <= %s ORDER BY seq",
            (after, upto),
        )
        found = {ballot: BallotHistory(rows=set(rows)) for ballot, rows in (holding or {}).items()}
        for action, ballot_id, choice_id, slot in entries:
            found.setdefault(ballot_id, BallotHistory()).apply(action, choice_id, slot)
        return found


@dataclass
class BallotHistory:
    """One ballot's committed writes in the server's order, replayed row by row.

    A write inserts its rows with slots 0, 1, ... in one statement, so a row in slot 0 starts a
    write; it must find the ballot empty (the previous choice's rows deleted in the same
    transaction), or the ballot held two votes at once.
    """

    writes: list[tuple[int, ...]] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)
    anomalies: list[str] = field(default_factory=list)

    def apply(self, action: str, choice_id: int, slot: int) -> None:
        if action == "D":
            if choice_id not in self.rows:
                self.anomalies.append(f"deleted choice {choice_id}, which it did not hold")
            self.rows.discard(choice_id)
            return
        if slot == 0:
            if self.rows:
                self.anomalies.append(f"new vote while holding {sorted(self.rows)}")
            self.writes.append(())
        elif not self.writes:
            self.anomalies.append(f"slot {slot} before any slot 0")
            self.writes.append(())
        if choice_id in self.rows:
            self.anomalies.append(f"choice {choice_id} twice")
        self.rows.add(choice_id)
        self.writes[-1] += (choice_id,)


def judge(posts: list[Post], writes: list[tuple[int, ...]]) -> Iterator[str]:
    """What is wrong between the POSTs sent for one ballot and the writes it committed.

    Each POST carries a different choice set that differs from what the ballot held before, so
    each acknowledged POST commits exactly one write, with its set; nothing else may commit.
    The server's order must also respect real time: a POST acknowledged before another was
    sent comes first.
    """
    by_set = {frozenset(post.choices): post for post in posts}
    committed = [frozenset(write) for write in writes]
    for post in posts:
        times = committed.count(frozenset(post.choices))
        if post.acknowledged and times == 0:
            yield f"lost: {post.describe()}"
        elif times > 1:
            yield f"committed {times} times: {post.describe()}"
        elif times and not post.acknowledged:
            yield f"committed without an acknowledgement: {post.describe()}"
    for write in committed:
        if write not in by_set:
            yield f"a write nobody sent: {sorted(write)}"
    order = {write: index for index, write in enumerate(committed)}
    for earlier in posts:
        for later in posts:
            if (
                earlier.acknowledged
                and later.acknowledged
                and earlier.acked < later.sent
                and order.get(frozenset(earlier.choices), -1)
                > order.get(frozenset(later.choices), -1)
            ):
                yield f"out of real-time order: {later.describe()} before {earlier.describe()}"
