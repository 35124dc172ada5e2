"""Production differs only by environment: deploy/env.example must pass Django's deploy checks."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def production_env(tmp_path: Path) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)}
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    secret = tmp_path / "secret"
    secret.write_text("p" + os.urandom(40).hex())
    env["SECRET_KEY_FILE"] = str(secret)
    env["EMAIL_HOST_PASSWORD_FILE"] = str(secret)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_checks_pass_with_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 silenced" in result.stdout


def test_embedded_default_is_flagged_by_deploy_checks(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)}
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout  # the embedded secret key


@pytest.mark.parametrize("value", ["ture", "2", "enabled"])
def test_a_malformed_boolean_stops_startup(tmp_path, value):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)}
    result = manage({**env, "DEBUG": value}, "check")
    assert result.returncode != 0
    assert f"DEBUG={value!r} is not a boolean" in result.stderr


def test_production_never_serves_files_from_django(tmp_path):
    # SERVE_FILES is `make run`'s: with HTTPS, nginx and the CDN serve static files and media.
    result = manage({**production_env(tmp_path), "SERVE_FILES": "true"}, "check")
    assert result.returncode != 0
    assert "SERVE_FILES is for a local run" in result.stderr
    assert manage(production_env(tmp_path), "check").returncode == 0


def test_session_and_csrf_cookies_are_host_only_under_https(tmp_path):
    # __Host-: browsers keep them only Secure, without a Domain, for the path /.
    script = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_DOMAIN,"
        " s.CSRF_COOKIE_DOMAIN, s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_PATH)"
    )
    result = manage(production_env(tmp_path), "shell", "--no-imports", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "None",
        "None",
        "/",
        "/",
    ]
    # Plain HTTP (make run): a __Host- cookie would be refused there, so the usual names.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)}
    result = manage(env, "shell", "--no-imports", "-c", script)
    assert result.stdout.split()[:2] == ["sessionid", "csrftoken"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("beebeta.example", "is not an origin"),
        ("https://beebeta.example/polls", "is not an origin"),
        ("http://beebeta.example", "must be https:// with HTTPS"),
    ],
)
def test_public_origin_is_an_https_origin_in_production(tmp_path, value, message):
    # Canonical URLs, share cards and embeds carry it: a wrong one would travel everywhere.
    result = manage({**production_env(tmp_path), "PUBLIC_ORIGIN": value}, "check")
    assert result.returncode != 0
    assert message in result.stderr
