"""One JSON line per request: request id, route, status, duration, user id, and
no personal data; the id is nginx's when well formed and is sent back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import unreachable_database

ROOT = Path(__file__).resolve().parent.parent.parent
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def log_lines(caplog):
    def lines() -> list[dict]:
        return [
            json.loads(record.getMessage())
            for record in caplog.records
            if record.name == "beebeta.requests"
        ]

    caplog.set_level("INFO", logger="beebeta.requests")
    return lines


def test_one_line_with_id_route_status_duration_and_user(client, log_lines, alice, question):
    client.force_login(alice)
    response = client.get(question.get_absolute_url() + "?utm_source=mail&email=alice@example.com")
    [line] = log_lines()
    assert line == {
        "request_id": response["X-Request-ID"],
        "method": "GET",
        "route": "polls:question",
        "status": 200,
        "duration_ms": line["duration_ms"],
        "user_id": alice.pk,
    }
    assert GENERATED_ID.match(line["request_id"])
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    text = json.dumps(line)
    for private in ("alice", "example.com", "utm_source", question.slug, "127.0.0.1"):
        assert private not in text


def test_anonymous_requests_and_unknown_pages(client, log_lines, db):
    response = client.get("/no/such/page/")
    [line] = log_lines()
    assert (line["route"], line["status"], line["user_id"]) == (None, 404, None)
    assert line["request_id"] == response["X-Request-ID"]


def test_the_id_from_nginx_is_kept(client, log_lines, db):
    nginx_id = "6f1c2b3a4d5e6f708192a3b4c5d6e7f8"
    response = client.get(reverse("polls:home"), HTTP_X_REQUEST_ID=nginx_id)
    assert response["X-Request-ID"] == nginx_id
    assert log_lines()[0]["request_id"] == nginx_id


@pytest.mark.parametrize(
    "sent",
    ["short", "has spaces in it", "x" * 65, "evil\r\nSet-Cookie: a=b", "<script>", "ünïcödé-1234"],
)
def test_a_malformed_id_is_replaced(client, log_lines, db, sent):
    response = client.get(reverse("polls:home"), HTTP_X_REQUEST_ID=sent)
    assert GENERATED_ID.match(response["X-Request-ID"])
    assert log_lines()[0]["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db(transaction=True)  # the database goes away mid-test
def test_the_log_never_asks_the_database_who_the_user_is(client, log_lines, alice, question):
    client.force_login(alice)
    client.get(question.get_absolute_url())  # warm the cache: the page needs no SQL
    # But not the account (accounts/session_user.py): the request must fail to learn who the
    # user is, and the log must not try again.
    from django.core.cache import cache

    from polls import cache_keys

    cache.delete(cache_keys.user(alice.pk))
    client.raise_request_exception = False
    with unreachable_database():
        response = client.get(reverse("polls:home"))
    assert response.status_code == 503
    line = log_lines()[-1]
    assert (line["status"], line["user_id"]) == (503, None)


def test_each_line_is_bare_json_on_stdout(tmp_path):
    """Through settings.LOGGING, as gunicorn runs it: stdout holds the JSON lines and
    nothing else, so the log shipper can parse every line."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "client = Client()\n"
        "for number, path in enumerate(('/no/such/page/', '/healthz')):\n"
        "    client.get(path, HTTP_HOST='localhost', HTTP_X_REQUEST_ID=f'stdout-check-{number}')\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "MEMCACHED_LOCATIONS", "DJANGO_SETTINGS_MODULE")
    }
    env |= {"DJANGO_SETTINGS_MODULE": "beebeta.settings", "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == [
        "stdout-check-0",
        "stdout-check-1",
    ]
    # stderr has the other lines (each naming its request), never a request log line.
    assert '"request_id"' not in result.stderr
    assert "request_id=stdout-check-0" in result.stderr


def test_every_log_line_names_its_request(tmp_path):
    # Production's logging as settings configure it, in a process of its own: Django's own
    # warning about a missing page carries the id the response sent back; a line written
    # outside any request says so.
    code = (
        "import django, logging; django.setup(); from django.test import Client; "
        "print(Client().get('/no/such/page/')['X-Request-ID']); "
        "logging.getLogger('beebeta.timers').warning('outside any request')"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "beebeta.settings",
        "DATA_DIR": str(tmp_path),
        "REQUEST_LOG": "false",
        "ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    request_id = result.stdout.strip().splitlines()[-1]
    assert GENERATED_ID.match(request_id)
    lines = result.stderr.strip().splitlines()
    assert f"WARNING django.request request_id={request_id} Not Found: /no/such/page/" in lines
    assert "WARNING beebeta.timers request_id=- outside any request" in lines
