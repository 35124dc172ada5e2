"""The embedded default (no environment at all) migrates, seeds and serves /.

A copy of the source tree runs with only PATH, HOME and LANG set, so nothing of
the test services (DATABASE_URL, MEMCACHED_LOCATIONS...) can leak in, and its
SQLite file lands in the copy's own var/ folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.stack.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("beebeta", "polls", "accounts", "templates", "static", "manage.py")
SERVER_START_LIMIT = 20.0

SHELL_SNIPPET = """
import json
from django.conf import settings
from django.test import Client
from polls.models import Question

client = Client(HTTP_HOST="localhost")
question = Question.objects.public().order_by("pk").first()
print("RESULT " + json.dumps({
    "home": client.get("/").status_code,
    "question": client.get(question.get_absolute_url()).status_code,
    "cache": settings.CACHES["default"]["BACKEND"],
    "storage": settings.STORAGES["default"]["BACKEND"],
    "engine": settings.DATABASES["default"]["ENGINE"],
    "database": str(settings.DATABASES["default"]["NAME"]),
}))
"""


@dataclass
class EmbeddedSite:
    root: Path
    env: dict[str, str]

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def copy_sources(target: Path) -> None:
    target.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> EmbeddedSite:
    """A migrated, seeded copy of the source tree, run without Beebeta's environment."""
    base = tmp_path_factory.mktemp("embedded")
    copy_sources(base / "beebeta")
    home = base / "home"
    home.mkdir()
    embedded = EmbeddedSite(
        root=base / "beebeta",
        env={"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"},
    )
    assert not (embedded.root / "var").exists()
    for command in (("migrate", "--noinput"), ("seed_demo",)):
        result = embedded.manage(*command)
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return embedded


def test_migrates_seeds_and_serves_pages_on_sqlite(site):
    database = site.root / "var" / "db.sqlite3"
    assert database.is_file() and database.stat().st_size > 0

    result = site.manage("shell", "-c", SHELL_SNIPPET)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, result.stdout + result.stderr
    report = json.loads(lines[0].removeprefix("RESULT "))
    assert report == {
        "home": 200,
        "question": 200,
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "storage": "django.core.files.storage.FileSystemStorage",
        "engine": "django.db.backends.sqlite3",
        "database": str(database),
    }


LONG_SIGN_UP_SNIPPET = """
import json
from django.test import Client

client = Client(HTTP_HOST="localhost", raise_request_exception=False)
answers = {}
for name, username, email in (
    ("username", "u" * 100_000, "long@example.com"),
    ("email", "longmail", "e" * 100_000 + "@example.com"),
    ("domain", "longdomain", "e@" + "d" * 100_000 + ".com"),
):
    response = client.post("/accounts/register/", {
        "username": username, "email": email,
        "password1": "plum-orchard-7-quietly", "password2": "plum-orchard-7-quietly",
    })
    html = response.content.decode()
    errors = [field for field in ("username", "email") if f'id="id_{field}_error"' in html]
    answers[name] = [response.status_code, errors]
print("RESULT " + json.dumps(answers))
"""


def test_an_absurdly_long_username_or_email_is_a_form_error_on_sqlite(site):
    # SQLite keeps text of any length, so only the form stands between such input and the
    # tables (where MySQL's strict mode would refuse it with an error page).
    result = site.manage("shell", "-c", LONG_SIGN_UP_SNIPPET)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    assert json.loads(line.removeprefix("RESULT ")) == {
        "username": [200, ["username"]],
        "email": [200, ["email"]],
        "domain": [200, ["email"]],
    }


def fetch(url: str) -> tuple[int, str]:
    # No proxy from the surroundings may stand between the test and loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        # An answer all the same: the server is up, the test judges the status.
        return error.code, error.read().decode(errors="replace")


def test_dev_server_serves_the_home_page(site, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = tmp_path / "runserver.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=site.root,
            env=site.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_LIMIT
        while True:
            assert server.poll() is None, "runserver exited:\n" + log_path.read_text()
            try:
                status, html = fetch(url)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"runserver did not answer within {SERVER_START_LIMIT:.0f} s")
                time.sleep(0.1)
        assert status == 200
        assert "<title>" in html and "Beebeta" in html
        assert 'class="site-header"' in html
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
