"""`make run` is the product on the embedded default, and installs nothing but the runtime.

A copy of the checkout runs the real `make run` on a free port, with only PATH, HOME and LANG
set (as tests/test_embedded_default.py does), so it serves from SQLite on a file in the copy's
own var/, with the local-memory cache and media on the local disk. Its .venv is this test run's
own virtualenv, which make is told not to rebuild. Everything is checked over real HTTP on
loopback, and the fixture ends make's own process group, nothing else.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy import locks
from deploy.stack.processes import free_port
from tests.test_embedded_default import EmbeddedSite, copy_sources

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_LIMIT = 120.0
READY = "Beebeta is ready: "


def clean_env(home: str) -> dict[str, str]:
    """Nothing of the test services' environment (DATABASE_URL...), nor of the make running us."""
    return {"PATH": os.environ["PATH"], "HOME": home, "LANG": "C.UTF-8"}


# --- make run in a copy of the checkout --------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str


@dataclass
class MadeRun:
    site: EmbeddedSite
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: str = ""
    ) -> Answer:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read().decode("latin-1"))
        finally:
            connection.close()

    def shell(self, code: str) -> dict:
        """Run ``code`` in `manage.py shell` against the copy's database; it prints JSON last."""
        result = self.site.manage("shell", "-c", code)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])


def follow(stream, lines: list[str]) -> None:
    for raw in stream:
        lines.append(raw.decode(errors="replace"))


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """End make and what it started (its own session's process group), nothing else."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def made_run(tmp_path_factory) -> Iterator[MadeRun]:
    base = tmp_path_factory.mktemp("make-run")
    root = base / "beebeta"
    copy_sources(root)
    for name in ("Makefile", "requirements.txt"):
        (root / name).write_bytes((ROOT / name).read_bytes())
    # This test run's virtualenv stands in for the one `make run` would build.
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    home = base / "home"
    home.mkdir()
    site = EmbeddedSite(root=root, env=clean_env(str(home)))
    run = MadeRun(site=site, port=free_port())
    process = subprocess.Popen(
        ["make", "-o", ".venv/.installed-run", "run", f"PORT={run.port}"],  # noqa: S607
        cwd=root,
        env=site.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    reader = threading.Thread(target=follow, args=(process.stdout, run.lines), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_LIMIT
        while READY not in run.output:
            assert process.poll() is None, "make run exited:\n" + run.output
            assert time.monotonic() < deadline, "make run did not serve in time:\n" + run.output
            time.sleep(0.1)
        yield run
    finally:
        stop_group(process)
        reader.join(timeout=5)


# --- What a visitor of make run sees -----------------------------------------------------------


def test_make_run_prints_the_address_and_the_demo_log_ins_once(made_run):
    home = made_run.request("GET", "/")
    assert home.status == 200 and "site-header" in home.body
    banner = made_run.output[made_run.output.index(READY) :]
    assert made_run.output.count(READY) == 1
    assert f"{READY}http://127.0.0.1:{made_run.port}/" in banner
    assert "Log in with the password beebeta-demo as" in banner
    assert re.search(r"^\s+demo\s+a member$", banner, re.M)
    assert re.search(r"^\s+staff\s+a moderator", banner, re.M)


def test_make_run_shows_beebetas_own_error_pages_and_no_toolbar(made_run):
    missing = made_run.request("GET", "/no-such-page/")
    assert missing.status == 404
    assert "site-header" in missing.body
    # Django's technical 404 page lists the URL patterns it tried.
    assert "URLconf" not in missing.body and "DEBUG = True" not in missing.body
    home = made_run.request("GET", "/")
    assert "djDebug" not in home.body and "__debug__" not in home.body


def test_make_run_serves_static_files_and_local_media(made_run):
    home = made_run.request("GET", "/")
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', home.body)
    assert stylesheet, home.body[:500]
    css = made_run.request("GET", stylesheet.group(1))
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    # The admin's own files come from the app, with no collectstatic.
    assert made_run.request("GET", "/static/admin/css/base.css").status == 200
    assert made_run.request("GET", "/static/css/no-such-file.css").status == 404

    slug = made_run.shell(PICTURE_SNIPPET)["slug"]
    page = made_run.request("GET", f"/q/{slug}/")
    assert page.status == 200
    pictures = re.findall(r'src="(/media/[^"]+)"', page.body)
    assert pictures, "the question page shows no picture from /media/"
    picture = made_run.request("GET", pictures[0])
    assert picture.status == 200 and picture.headers["Content-Type"] == "image/jpeg"
    # The question's share card, drawn into var/media on its first view.
    card = re.search(r'<meta property="og:image" content="([^"]+)"', page.body)
    assert card and "/media/cards/" in card.group(1), page.body[:2000]
    drawn = made_run.request("GET", urlsplit(card.group(1)).path)
    assert drawn.status == 200 and drawn.headers["Content-Type"] == "image/png"
    # Confined to MEDIA_ROOT: the database next to it is out of reach.
    assert made_run.request("GET", "/media/../db.sqlite3").status in (400, 404)
    assert made_run.request("GET", "/media/%2e%2e/db.sqlite3").status in (400, 404)


def test_make_run_writes_the_open_data_dump_and_links_it(made_run):
    # The background loop writes it as the server starts; /data/ reads it once it is complete.
    folder = made_run.site.root / "var" / "media" / "open-data"
    deadline = time.monotonic() + 60
    while not list(folder.glob("*/manifest.json")):
        assert time.monotonic() < deadline, "no open data dump:\n" + made_run.output
        time.sleep(0.5)
    page = made_run.request("GET", "/data/")
    assert page.status == 200
    links = re.findall(r'href="(/media/open-data/[^"]+\.gz)"', page.body)
    assert len(links) == 2, page.body
    for link in links:
        dump = made_run.request("GET", link)
        assert dump.status == 200
        body = gzip.decompress(dump.body.encode("latin-1")).decode()
        assert "which-restaurant-serves-the-best-ramen" in body


PICTURE_SNIPPET = """
import io, json
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from polls.images import store_image
from polls.models import Choice, Question

buffer = io.BytesIO()
PILImage.new("RGB", (320, 200), (30, 120, 200)).save(buffer, "PNG")
upload = SimpleUploadedFile("blue.png", buffer.getvalue(), content_type="image/png")
question = Question.objects.create(
    title="Which blue is the bluest?", status="published", image=store_image(upload)
)
for position, text in enumerate(("This one", "Another")):
    Choice.objects.create(question=question, text=text, position=position)
print(json.dumps({"slug": question.slug}))
"""


# --- Concurrent votes on SQLite -----------------------------------------------------------------

MEMBERS = 20
ROUNDS = 3
# Questions on which one member sends two different votes at the same moment.
PAIRS = 5

STORM_SNIPPET = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.cached_db import SessionStore
from polls.models import Choice, Question

def signed_in(user):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key

def question(title, choices):
    made = Question.objects.create(title=title, status="published")
    ids = [Choice.objects.create(question=made, text=text, position=position).pk
           for position, text in enumerate(choices)]
    return {"id": made.pk, "slug": made.slug, "choices": ids}

users = [get_user_model().objects.create(username=f"storm{n:02}") for n in range(MEMBERS)]
print(json.dumps({
    "sessions": [signed_in(user) for user in users],
    "rounds": [question(f"Storm round {n}: which?", ("Red", "Green", "Blue")) for n in (1, 2)],
    "pairs": [question(f"Storm pair {n}: which?", ("Yes", "No")) for n in range(PAIRS)],
}))
"""

AUDIT_SNIPPET = """
import json
from django.db import connection
from polls.models import Ballot, Vote
from polls.tallies import read_counts

audit = {}
voted = Vote.objects.values_list("choice_id", flat=True)
for question_id in QUESTION_IDS:
    counts = read_counts(question_id)
    rows = {}
    for choice_id in voted.filter(question_id=question_id):
        rows[str(choice_id)] = rows.get(str(choice_id), 0) + 1
    audit[str(question_id)] = {
        "rows": rows,
        "counters": {str(c): n for c, n in counts.by_choice.items() if n},
        "ballots": Ballot.objects.filter(question_id=question_id).count(),
        "voters": counts.voters,
    }
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
print(json.dumps({"audit": audit, "journal": journal}))
"""


@dataclass
class Member:
    run: MadeRun
    session: str
    cookies: dict[str, str] = field(default_factory=dict)

    def send(self, method: str, path: str, fields: dict[str, str] | None = None) -> Answer:
        cookies = {"sessionid": self.session, **self.cookies}
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        body = ""
        if fields is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(fields)
        answer = self.run.request(method, path, headers=headers, body=body)
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if name != "sessionid":
                    self.cookies[name] = morsel.value
        return answer

    def form_token(self, slug: str) -> str:
        page = self.send("GET", f"/q/{slug}/")
        assert page.status == 200, page.status
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert token, "no vote form on the question page"
        return token.group(1)


@dataclass
class VoteRequest:
    member: Member
    question: dict
    choice: int
    token: str = ""
    status: int = 0
    location: str = ""
    error: str = ""

    def send(self) -> None:
        try:
            answer = self.member.send(
                "POST",
                f"/q/{self.question['slug']}/vote/",
                {"csrfmiddlewaretoken": self.token, "choice": str(self.choice)},
            )
        except (OSError, http.client.HTTPException) as error:
            self.error = f"{type(error).__name__}: {error}"
            return
        self.status, self.location = answer.status, answer.headers.get("Location", "")
        if answer.status != 302:
            self.error = answer.body[:300]

    @property
    def counted(self) -> bool:
        """Acknowledged: the vote view sends the voter back to the question once it commits."""
        return self.status == 302 and urlsplit(self.location).path == f"/q/{self.question['slug']}/"


def all_at_once(votes: list[VoteRequest]) -> None:
    """Read every voter's form first, then send every vote at the same moment."""
    for vote in votes:
        vote.token = vote.member.form_token(vote.question["slug"])
    barrier = threading.Barrier(len(votes))

    def send(vote: VoteRequest) -> None:
        barrier.wait(timeout=30)
        vote.send()

    threads = [threading.Thread(target=send, args=(vote,)) for vote in votes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_concurrent_votes_on_the_embedded_default_all_count(made_run):
    setup = made_run.shell(
        STORM_SNIPPET.replace("MEMBERS", str(MEMBERS)).replace("PAIRS", str(PAIRS))
    )
    members = [Member(made_run, session) for session in setup["sessions"]]
    logged_before = len(made_run.lines)
    first, second = setup["rounds"]
    # Round 1: everyone votes on the first question; round 2 on the second; round 3 everyone
    # changes their vote on the first. Each member's choice differs with the round.
    plan = [(first, 0), (second, 1), (first, 2)]
    assert len(plan) == ROUNDS
    expected: dict[int, dict[int, int]] = {}
    sent: list[VoteRequest] = []
    for question, offset in plan:
        votes = [
            VoteRequest(member, question, question["choices"][(number + offset) % 3])
            for number, member in enumerate(members)
        ]
        all_at_once(votes)
        sent += votes
        expected[question["id"]] = {}
        for vote in votes:
            tally = expected[question["id"]]
            tally[vote.choice] = tally.get(vote.choice, 0) + 1
    # One member, two different votes on one question at the same moment, on each pair
    # question at once: one of them is the last, and the member has one ballot and one vote.
    doubled = [
        VoteRequest(members[0], pair, choice)
        for pair in setup["pairs"]
        for choice in pair["choices"]
    ]
    all_at_once(doubled)
    sent += doubled

    failed = [(vote.status, vote.error) for vote in sent if not vote.counted]
    assert failed == [], f"{len(failed)} of {len(sent)} votes failed: {failed[:3]}"
    assert MEMBERS * ROUNDS + 2 * PAIRS == len(sent)
    server_log = "".join(made_run.lines[logged_before:])
    assert "Traceback" not in server_log and "database is locked" not in server_log

    ids = [first["id"], second["id"], *(pair["id"] for pair in setup["pairs"])]
    result = made_run.shell(AUDIT_SNIPPET.replace("QUESTION_IDS", repr(ids)))
    assert result["journal"] == "wal"
    audit = result["audit"]
    for question_id in (first["id"], second["id"]):
        found = audit[str(question_id)]
        assert found["rows"] == {str(c): n for c, n in expected[question_id].items()}
        assert found["counters"] == found["rows"]
        assert found["ballots"] == found["voters"] == MEMBERS
    for pair in setup["pairs"]:
        found = audit[str(pair["id"])]
        assert found["ballots"] == found["voters"] == 1
        assert sum(found["rows"].values()) == 1
        assert found["counters"] == found["rows"]


# --- What make run installs ---------------------------------------------------------------------


def planned_requirement_files(target: str) -> list[Path]:
    """The requirement files `make TARGET` installs from on a fresh clone, from make's own plan
    (every step printed, none run)."""
    plan = subprocess.run(
        ["make", "-n", "-B", target],  # noqa: S607
        cwd=ROOT,
        env=clean_env(os.environ.get("HOME", "/")),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [ROOT / name for name in re.findall(r"pip install (?:\S+ )*-r (\S+)", plan)]


def listed(path: Path) -> dict[str, Requirement]:
    """The requirements of a pip requirements file, following its `-r` includes."""
    found: dict[str, Requirement] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= listed(path.parent / line.removeprefix("-r ").strip())
        elif line:
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def closure(requirements: dict[str, Requirement]) -> set[str]:
    """Every distribution these pull in, from what is installed in this virtualenv."""
    seen: set[str] = set()
    todo = list(requirements.values())
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            needed = Requirement(text)
            wanted = requirement.extras or {""}
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in wanted
            ):
                todo.append(needed)
    return seen


def test_make_run_installs_the_runtime_requirements_and_no_tools():
    # Each layer installs from its hash-locked requirements (deploy/locks.py).
    run_files = planned_requirement_files("run")
    assert run_files == [ROOT / "requirements.lock"]
    locked_for_run = set(locks.locked(ROOT / "requirements.lock"))
    assert {"django", "mysqlclient", "gunicorn", "pillow"} <= locked_for_run
    # The lock holds everything the runtime requirements pull in.
    assert closure(listed(ROOT / "requirements.txt")) <= locked_for_run

    test_files = planned_requirement_files("test")
    assert ROOT / "tests" / "requirements.lock" in test_files
    tools = set(listed(ROOT / "tests" / "requirements.txt")) - set(
        listed(ROOT / "requirements.txt")
    )
    # What the test layer adds really is the test and development tools...
    assert {"pytest", "selenium", "ruff", "moto", "hypothesis", "django-debug-toolbar"} <= tools
    # ...and none of them comes with make run, not even through a runtime package.
    assert tools & locked_for_run == set()
    assert "pytest" in set(locks.locked(ROOT / "tests" / "requirements.lock"))
