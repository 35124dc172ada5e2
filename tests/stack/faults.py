"""Helpers for the fault tests on the stack: signed-in members of their own, questions of their
own, a timed load of reads and votes, and what MySQL and the app servers' logs say afterwards.

Every simulated person connects from its own address in 127.88.0.0/16 (nginx limits POSTs per
client address), and votes at most every VOTE_INTERVAL seconds, under both nginx's and Django's
vote limits, so a refused vote always means something went wrong.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deploy.stack.topology import DEMO_PASSWORD, Stack
from tests.stack.clients import Answer, Load, Visitor

VOTE_INTERVAL = 2.5  # seconds between one member's votes: 24 a minute, under the limit of 30

_RESULT_ROW = re.compile(
    rb'<th scope="row">([^<]+?)(?: <span class="badge[^"]*">[^<]*</span>)?</th>'
    rb'.*?<td class="num">([\d,]+)</td>',
    re.S,
)
_WORKER_TIMEOUT = "WORKER TIMEOUT"


def source(group: int, number: int) -> str:
    """The loopback address of simulated person ``number`` of a test's ``group``."""
    return f"127.88.{group}.{number}"


# --- members and questions of the tests' own ---------------------------------------------------

_SETUP = """
import json
from django.contrib.auth import get_user_model
from polls.models import Choice, Question
users = get_user_model()
for name in {usernames!r}:
    if not users.objects.filter(username=name).exists():
        users.objects.create_user(name, email=name + "@beebeta.example", password={password!r})
made = []
for title in {titles!r}:
    question = Question.objects.create(
        title=title, status=Question.Status.PUBLISHED, results_visibility="always"
    )
    for position, text in enumerate(("Red", "Green", "Blue")):
        Choice.objects.create(question=question, text=text, position=position)
    made.append(
        {{"slug": question.slug, "choices": dict(question.choices.values_list("text", "pk"))}}
    )
print(json.dumps(made))
"""


@dataclass(frozen=True)
class Drill:
    """The members and questions one test module uses, made on the stack for it."""

    usernames: list[str]
    questions: list[dict]  # {"slug": ..., "choices": {text: id}}

    @property
    def slugs(self) -> list[str]:
        return [question["slug"] for question in self.questions]


def make_drill(stack: Stack, name: str, *, members: int, questions: int) -> Drill:
    """``members`` accounts (password DEMO_PASSWORD) and ``questions`` published questions with
    the choices Red, Green and Blue, results shown to everyone."""
    usernames = [f"{name}-{number}" for number in range(1, members + 1)]
    run = uuid.uuid4().hex[:6]
    titles = [f"Fault drill {name} {run}: which colour, round {n}?" for n in range(questions)]
    code = _SETUP.format(usernames=usernames, password=DEMO_PASSWORD, titles=titles)
    made = json.loads(stack.run_python("manage.py", "shell", "-c", code).strip().splitlines()[-1])
    return Drill(usernames, made)


@dataclass(frozen=True)
class Truth:
    """What MySQL's vote rows say: counts per question and choice, each member's choices."""

    counts: dict[str, dict[str, int]]
    ballots: dict[str, dict[str, list[str]]]


def mysql_truth(stack: Stack, slugs: list[str]) -> Truth:
    """Read straight from the stack's MariaDB: milliseconds, where a manage.py run takes
    seconds, so the convergence the tests time starts when the votes stop."""
    connection = stack.connect_database()
    # Every row, filtered here: the demo data is small, and the SQL stays free of formatting.
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT q.slug, c.text FROM polls_choice c"
            " JOIN polls_question q ON q.id = c.question_id"
        )
        choices = [row for row in cursor.fetchall() if row[0] in slugs]
        cursor.execute(
            "SELECT q.slug, c.text, u.username FROM polls_vote v"
            " JOIN polls_question q ON q.id = v.question_id"
            " JOIN polls_choice c ON c.id = v.choice_id"
            " JOIN polls_ballot b ON b.id = v.ballot_id"
            " JOIN auth_user u ON u.id = b.user_id"
        )
        votes = [row for row in cursor.fetchall() if row[0] in slugs]
    finally:
        connection.close()
    counts: dict[str, dict[str, int]] = {}
    for slug, text in choices:
        counts.setdefault(slug, {})[text] = 0
    ballots: dict[str, dict[str, list[str]]] = {}
    for slug, text, username in votes:
        counts[slug][text] += 1
        ballots.setdefault(username, {}).setdefault(slug, []).append(text)
    return Truth(counts, ballots)


def displayed_counts(body: bytes) -> dict[str, int]:
    """The counts a question page shows, by choice text."""
    return {
        html.unescape(text.decode()).strip(): int(count.replace(b",", b""))
        for text, count in _RESULT_ROW.findall(body)
    }


def signed_in_as(body: bytes, username: str) -> bool:
    """The page names ``username`` as the person signed in (base.html's "who")."""
    return re.search(rb'class="who"[^>]*>' + re.escape(username.encode()) + rb"<", body) is not None


# --- a timed load ------------------------------------------------------------------------------


@dataclass
class Sample:
    """One request of the load: what, when (time.monotonic()), how long, and its answer."""

    visitor: str
    kind: str  # "read" or "vote"
    path: str
    started: float
    seconds: float
    status: int  # 0: no answer at all
    request_id: str = ""
    signed_in: bool = True


@dataclass
class Member:
    """A signed-in Visitor with what the site acknowledged of its votes."""

    visitor: Visitor
    username: str
    voted: dict[str, str] = field(default_factory=dict)  # slug -> choice text, last 302
    votes_acknowledged: int = 0
    last_vote: float = 0.0


class TimedLoad:
    """Members reading question pages and voting on them, every request timed and recorded.

    Each turn reads one of the drill's question pages (checking that it still names its member)
    and, at most every VOTE_INTERVAL seconds, votes on it for the next choice in turn.
    """

    def __init__(self, stack: Stack, drill: Drill, group: int) -> None:
        self.drill = drill
        self.members = []
        for number, username in enumerate(drill.usernames, start=1):
            visitor = Visitor(stack, source=source(group, number))
            visitor.log_in(username)
            self.members.append(Member(visitor, username))
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._by_visitor = {id(member.visitor): member for member in self.members}
        self.load = Load([member.visitor for member in self.members], self._step)

    def __enter__(self) -> TimedLoad:
        self.load.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.load.__exit__(*exc)

    @property
    def failures(self) -> list:
        return self.load.failures

    def _timed(self, member: Member, kind: str, path: str, call: Callable[[], Answer]) -> Answer:
        started = time.monotonic()
        try:
            answer = call()
        except OSError:
            self._record(
                Sample(member.username, kind, path, started, time.monotonic() - started, 0)
            )
            raise
        sample = Sample(
            member.username,
            kind,
            path,
            started,
            time.monotonic() - started,
            answer.status,
            answer.headers.get("X-Request-ID", ""),
        )
        if kind == "read" and answer.status == 200:
            sample.signed_in = signed_in_as(answer.body, member.username)
        self._record(sample)
        return answer

    def _record(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def _step(self, visitor: Visitor, turn: int) -> None:
        member = self._by_visitor[id(visitor)]
        question = self.drill.questions[turn % len(self.drill.questions)]
        path = f"/q/{question['slug']}/"
        self._timed(member, "read", path, lambda: visitor.get(path))
        if time.monotonic() - member.last_vote < VOTE_INTERVAL:
            time.sleep(0.05)
            return
        member.last_vote = time.monotonic()
        text = secrets.choice(sorted(question["choices"]))
        fields = {"choice": str(question["choices"][text])}
        answer = self._timed(
            member,
            "vote",
            f"{path}vote/",
            lambda: visitor.post_form(f"{path}vote/", fields, form_path=path),
        )
        if answer.status == 302:
            member.voted[question["slug"]] = text
            member.votes_acknowledged += 1

    # --- what happened ---------------------------------------------------------------------

    def between(self, start: float, end: float, kind: str | None = None) -> list[Sample]:
        """Requests sent from ``start`` to ``end`` (time.monotonic()), of one kind or all."""
        return [
            sample
            for sample in self.samples
            if start <= sample.started <= end and kind in (None, sample.kind)
        ]

    def of_kind(self, kind: str) -> list[Sample]:
        return [sample for sample in self.samples if sample.kind == kind]

    @property
    def votes_acknowledged(self) -> int:
        return sum(member.votes_acknowledged for member in self.members)

    def lost_votes(self, truth: Truth) -> list[str]:
        """Acknowledged votes MySQL does not hold: each member's last acknowledged choice on each
        question must be its one vote row there."""
        lost = []
        for member in self.members:
            rows = truth.ballots.get(member.username, {})
            for slug, text in member.voted.items():
                if rows.get(slug) != [text]:
                    lost.append(f"{member.username} on {slug}: {text}, MySQL has {rows.get(slug)}")
        return lost


# --- the app servers' logs ---------------------------------------------------------------------


def worker_timeouts(stack: Stack) -> int:
    """gunicorn's "WORKER TIMEOUT" lines in both app servers' logs so far."""
    return sum(
        Path(stack.procs[name].log).read_text(errors="replace").count(_WORKER_TIMEOUT)
        for name in ("gunicorn-1", "gunicorn-2")
    )


def app_durations(stack: Stack) -> dict[str, float]:
    """Seconds each request took inside Django, by request id, from the app servers' request
    log: the time the app itself spent, without the TLS, HAProxy and nginx in front of it."""
    durations = {}
    for name in ("gunicorn-1", "gunicorn-2"):
        for line in Path(stack.procs[name].log).read_text(errors="replace").splitlines():
            if line.startswith('{"request_id"'):
                entry = json.loads(line)
                durations[entry["request_id"]] = entry["duration_ms"] / 1000
    return durations


# --- asking a question with pictures -------------------------------------------------------------

_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type, as a browser sends a form with files."""
    boundary = f"----beebeta{secrets.token_hex(12)}"
    parts = []
    for name, value in fields.items():
        head = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{head}\r\n\r\n".encode() + value.encode() + b"\r\n")
    for name, (filename, content) in files.items():
        head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"'
        kind = "Content-Type: application/octet-stream"
        parts.append(f"--{boundary}\r\n{head}\r\n{kind}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class Asked:
    answer: Answer
    seconds: float  # the POST alone, as the person waits for it
    typed: dict[str, str]


def ask_with_pictures(visitor: Visitor, title: str, pictures: dict[str, bytes]) -> Asked:
    """Fill in /ask/ (a title, a description, two choices, tags) with a picture in each of the
    named slots ("image", "choices-0-image"...) and post it, confirming past similar questions."""
    page = visitor.get("/ask/")
    assert page.status == 200, f"/ask/: {page.status}"
    token = _CSRF_FIELD.search(page.body)
    assert token, "no CSRF token on /ask/"
    typed = {
        "title": title,
        "description": "Typed with care before the picture went up.",
        "choices-0-text": "Vermilion",
        "choices-1-text": "Ultramarine",
        "tags": "colours, drills",
    }
    fields = {
        "csrfmiddlewaretoken": token.group(1).decode(),
        **typed,
        "choices-TOTAL_FORMS": "2",
        "choices-INITIAL_FORMS": "2",
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "12",
        "kind": "single",
        "results_visibility": "always",
        "confirm": "1",
    }
    files = {slot: (f"{slot}.jpg", content) for slot, content in pictures.items()}
    body, content_type = multipart(fields, files)
    started = time.monotonic()
    answer = visitor.post("/ask/", body, content_type)
    return Asked(answer, time.monotonic() - started, typed)
