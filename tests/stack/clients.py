"""Plain HTTP clients of the local stack, for tests that need many requests or odd headers;
members who read and vote under load, and an audit of their votes against MySQL."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from deploy.stack.processes import HOST
from deploy.stack.topology import DEMO_PASSWORD, LB_ADDRESS, Stack


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- HTTP clients ----------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return Answer(response.status, response.headers, response.read())


def through_balancer(stack: Stack, *, source: str = HOST) -> http.client.HTTPSConnection:
    """A client of the site: TLS to HAProxy, checking the stack's own certificate.

    ``source`` is the client's own loopback address: nginx's rate limits count per client,
    so a test that floods the limits does it from an address no other test uses."""
    return http.client.HTTPSConnection(
        HOST,
        stack.ports["haproxy"],
        context=stack.ssl_context(),
        timeout=30,
        source_address=(source, 0),
    )


def to_nginx(stack: Stack, number: int, *, as_balancer: bool) -> http.client.HTTPConnection:
    """Straight to one nginx, from the balancer's address or from an ordinary one."""
    source = (LB_ADDRESS, 0) if as_balancer else (HOST, 0)
    return http.client.HTTPConnection(
        HOST, stack.ports[f"nginx-{number}"], source_address=source, timeout=30
    )


_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Failure:
    method: str
    path: str
    sent_at: float  # time.monotonic() when the request went out
    error: str


@dataclass
class Exchange:
    """One request a Visitor sent, and what came of it."""

    method: str
    path: str
    sent_at: float  # time.monotonic() when it went out
    ended_at: float = 0.0  # when the answer (or the error) came; 0 while in flight
    status: int = 0  # 0: no answer at all
    error: str = ""
    location: str = ""
    # Kept for answers of 500 and above only: which error page it was.
    body: bytes = b""

    def in_flight_at(self, moment: float) -> bool:
        return self.sent_at <= moment and (not self.ended_at or self.ended_at >= moment)


@dataclass
class Visitor:
    """A person with cookies, over HAProxy: logs in, reads pages, votes. Counts what failed,
    and records every request it sent (``exchanges``)."""

    stack: Stack
    # The loopback address it connects from: nginx's rate limits count per client address.
    source: str = HOST
    cookies: dict[str, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    last: tuple[str, str, float] = ("", "", 0.0)
    exchanges: list[Exchange] = field(default_factory=list)
    username: str = ""

    def _send(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Answer:
        self.last = (method, path, time.monotonic())
        exchange = Exchange(method, path, self.last[2])
        self.exchanges.append(exchange)
        connection = through_balancer(self.stack, source=self.source)
        try:
            cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            sent = {"Cookie": cookie, "Referer": self.stack.url, **headers}
            answer = request(connection, method, path, headers=sent, body=body)
        except (OSError, http.client.HTTPException) as error:
            exchange.ended_at, exchange.error = time.monotonic(), f"{type(error).__name__}: {error}"
            raise
        finally:
            connection.close()
        exchange.ended_at, exchange.status = time.monotonic(), answer.status
        exchange.location = answer.headers.get("Location", "")
        if answer.status >= 500:
            exchange.body = answer.body
        self.requests += 1
        for header in answer.header_values("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer

    def get(self, path: str) -> Answer:
        return self._send("GET", path)

    def post(self, path: str, body: bytes, content_type: str) -> Answer:
        """A POST of a body already built (a form, a multipart upload), with the visitor's
        cookies and the Referer that Django's CSRF check wants over HTTPS."""
        return self._send("POST", path, body, **{"Content-Type": content_type})

    def post_form(self, path: str, fields: dict[str, str], form_path: str | None = None) -> Answer:
        page = self.get(form_path or path)
        token = _CSRF_FIELD.search(page.body)
        assert token, f"no CSRF token on {form_path or path}"
        return self.post_with_token(path, token.group(1).decode(), fields)

    def post_with_token(self, path: str, token: str, fields: dict[str, str]) -> Answer:
        """A form posted with a CSRF token from a page read earlier, as a browser posts a form
        that has been on the screen for a while."""
        data = {"csrfmiddlewaretoken": token, **fields}
        body = "&".join(f"{key}={value}" for key, value in data.items()).encode()
        return self.post(path, body, "application/x-www-form-urlencoded")

    def log_in(self, username: str, password: str = DEMO_PASSWORD) -> None:
        answer = self.post_form("/accounts/login/", {"username": username, "password": password})
        assert answer.status == 302, f"log in as {username}: {answer.status}"
        self.username = username


class Load:
    """Visitors requesting pages (and voting) in background threads until stopped."""

    def __init__(self, visitors: list[Visitor], step: Callable[[Visitor, int], None]) -> None:
        self.visitors, self.step = visitors, step
        self.running = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(v,)) for v in visitors]

    def _run(self, visitor: Visitor) -> None:
        turn = 0
        while self.running.is_set():
            try:
                self.step(visitor, turn)
            except (OSError, http.client.HTTPException, AssertionError) as error:
                failure = Failure(*visitor.last, f"{type(error).__name__}: {error}")
                visitor.failures.append(failure)
            turn += 1

    def __enter__(self) -> Load:
        self.running.set()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running.clear()
        for thread in self.threads:
            thread.join(timeout=60)

    @property
    def failures(self) -> list[Failure]:
        return [failure for visitor in self.visitors for failure in visitor.failures]

    @property
    def requests(self) -> int:
        return sum(visitor.requests for visitor in self.visitors)

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request the visitors sent, in no particular order."""
        return [exchange for visitor in self.visitors for exchange in list(visitor.exchanges)]

    def in_flight_at(self, moment: float) -> list[Exchange]:
        """The requests sent before ``moment`` and not yet answered then."""
        return [exchange for exchange in self.exchanges if exchange.in_flight_at(moment)]


def log_lines(path: str | Path) -> list[str]:
    return Path(path).read_text(errors="replace").splitlines()


_FALLBACK = re.compile(r"upstream=\S+:\d+, \S+:\d+:")


def fallbacks(stack: Stack, nginx: str) -> int:
    """Requests this nginx passed to its backup app server after its own refused them
    (nginx logs both upstream addresses then)."""
    return len(_FALLBACK.findall((stack.home / nginx / "access.log").read_text()))


# --- Members who read and vote, and what became of their votes -------------------------------


def client_addresses(block: int, count: int) -> list[str]:
    """``count`` loopback addresses in 127.99.<block>.0/24: each simulated client its own, and
    each test its own block, since nginx limits votes per client address."""
    return [f"127.99.{block}.{host}" for host in range(1, count + 1)]


@dataclass(frozen=True)
class OpenQuestion:
    id: int
    slug: str
    choices: tuple[int, ...]

    @property
    def path(self) -> str:
        return f"/q/{self.slug}/"


# Run by manage.py shell in the stack's environment. One password hash for all (hashing is
# deliberately slow); create() rather than bulk_create() so that any signal still runs.
_MEMBERS_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db.models import Q
from django.utils import timezone
from polls.models import Question

password = make_password({password!r})
for name in {names!r}:
    get_user_model().objects.create(username=name, email=name + "@example.com", password=password)
votable = Question.objects.filter(status="published").filter(
    Q(closes_at__isnull=True) | Q(closes_at__gt=timezone.now())
)
print(json.dumps([
    [question.id, question.slug, sorted(question.choices.values_list("id", flat=True))]
    for question in votable.order_by("id")
]))
"""


class Members:
    """Accounts made for these tests, handed out once each: a member who has never voted makes
    every vote a first vote, so each acknowledged vote has exactly one row to look for."""

    def __init__(self, stack: Stack, count: int, prefix: str = "member") -> None:
        self._names = [f"{prefix}{number}" for number in range(1, count + 1)]
        script = _MEMBERS_SCRIPT.format(password=DEMO_PASSWORD, names=self._names)
        output = stack.run_python("manage.py", "shell", "-c", script)
        self.questions = [
            OpenQuestion(id_, slug, tuple(choices))
            for id_, slug, choices in json.loads(output.strip().splitlines()[-1])
        ]
        self._lock = threading.Lock()

    def take(self, count: int) -> list[str]:
        with self._lock:
            if count > len(self._names):
                raise AssertionError("not enough members left: make more")
            taken, self._names = self._names[:count], self._names[count:]
        return taken


@dataclass
class VoteAttempt:
    username: str
    question: OpenQuestion
    choice: int
    exchange: Exchange

    @property
    def acknowledged(self) -> bool:
        """Told it counted: the vote view redirects to the question after it commits (and to
        the login page, or not at all, when it did not count)."""
        return (
            self.exchange.status == 302
            and urlsplit(self.exchange.location).path == self.question.path
        )


@dataclass
class _Reader:
    offset: int
    todo: list[OpenQuestion]
    token: str = ""
    next_vote: float = 0.0


class ReadAndVote:
    """A Load step: read question pages (and the home page now and then); a signed-in visitor
    also votes every ``vote_every`` seconds on the next question it has not voted on, with the
    form token of the last page it read, as someone who clicks a form that has been on the
    screen a while. Each visitor votes on each question once at most.

    It never raises on an answer: every request is in the visitors' ``exchanges`` and every vote
    in ``attempts``, for the test to judge.
    """

    def __init__(
        self, questions: Sequence[OpenQuestion], *, vote_every: float = 2.0, pause: float = 0.05
    ) -> None:
        self.questions = list(questions)
        self.vote_every, self.pause = vote_every, pause
        self.attempts: list[VoteAttempt] = []
        self._readers: dict[int, _Reader] = {}

    def _reader(self, visitor: Visitor) -> _Reader:
        reader = self._readers.get(id(visitor))
        if reader is None:
            offset = len(self._readers) * 5
            todo = self.questions[offset:] + self.questions[:offset]
            reader = self._readers[id(visitor)] = _Reader(offset, todo)
        return reader

    def __call__(self, visitor: Visitor, turn: int) -> None:
        reader = self._reader(visitor)
        question = self.questions[(reader.offset + turn) % len(self.questions)]
        page = visitor.get("/" if turn % 5 == 4 else question.path)
        token = _CSRF_FIELD.search(page.body) if page.status == 200 else None
        if token:
            reader.token = token.group(1).decode()
        if visitor.username and reader.token and reader.todo:
            if time.monotonic() >= reader.next_vote:
                reader.next_vote = time.monotonic() + self.vote_every
                self._vote(visitor, reader, reader.todo.pop(0))
        time.sleep(self.pause)

    def _vote(self, visitor: Visitor, reader: _Reader, question: OpenQuestion) -> None:
        choice = question.choices[(reader.offset + len(reader.todo)) % len(question.choices)]
        try:
            visitor.post_with_token(f"{question.path}vote/", reader.token, {"choice": str(choice)})
        finally:
            attempt = VoteAttempt(visitor.username, question, choice, visitor.exchanges[-1])
            self.attempts.append(attempt)


def recorded_votes(stack: Stack, usernames: Iterable[str]) -> dict[tuple[str, int], set[int]]:
    """{(username, question id): the choice ids of that member's ballot}, straight from MySQL."""
    names = set(usernames)
    connection = stack.connect_database()
    try:
        cursor = connection.cursor()
        # All ballots: a few thousand rows at most on the stack, and no SQL built from names.
        cursor.execute(
            "SELECT u.username, b.question_id, v.choice_id FROM polls_ballot b"
            " JOIN auth_user u ON u.id = b.user_id JOIN polls_vote v ON v.ballot_id = b.id"
        )
        votes: dict[tuple[str, int], set[int]] = {}
        for username, question, choice in cursor.fetchall():
            if username in names:
                votes.setdefault((username, question), set()).add(choice)
        return votes
    finally:
        connection.close()


@dataclass
class VoteAudit:
    acknowledged: int  # votes whose POST was answered "counted"
    present: int  # of those, found in MySQL with exactly the choice sent
    refused: int  # votes answered otherwise (a 503, an error, no answer)
    refused_recorded: int  # of those, found in MySQL all the same
    wrong: list[str]  # anything else: a missing vote, a choice nobody sent


def audit_votes(stack: Stack, attempts: Sequence[VoteAttempt]) -> VoteAudit:
    """Every acknowledged vote must be in MySQL as sent. A vote not acknowledged may or may not
    be (MySQL can commit it and the answer still fail), but only ever with the choice sent."""
    recorded = recorded_votes(stack, (attempt.username for attempt in attempts))
    audit = VoteAudit(0, 0, 0, 0, [])
    for attempt in attempts:
        found = recorded.pop((attempt.username, attempt.question.id), set())
        if attempt.acknowledged:
            audit.acknowledged += 1
            audit.present += found == {attempt.choice}
            if found != {attempt.choice}:
                audit.wrong.append(f"{attempt}: acknowledged, MySQL has {sorted(found)}")
        else:
            audit.refused += 1
            audit.refused_recorded += bool(found)
            if found not in (set(), {attempt.choice}):
                audit.wrong.append(f"{attempt}: MySQL has {sorted(found)}")
    audit.wrong += [
        f"{key}: a ballot nobody sent: {sorted(found)}" for key, found in recorded.items()
    ]
    return audit
